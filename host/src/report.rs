//! The report file (`stats::Report`, the one report type): the run's
//! statistics with each latency histogram, the run's metadata and the
//! per-second timeline; written atomically, read back by `compare`,
//! `report --html` and `merge`.

use crate::error::{EXIT_INTERRUPTED, EXIT_SETUP_FAILED, EXIT_THRESHOLDS, Failure};
use crate::run::Outcome;
use scenario::Scenario;
use stats::{Bucket, HostRun, Metrics, Report, StepReport};
use std::io::Write;
use std::path::Path;

/// The run's report: the statistics rendered, each histogram attached, the
/// verdicts, and what the host adds (`HostRun`).
pub fn build(scenario: &Scenario, o: &Outcome) -> Report {
    let mut run = o.stats.report(scenario, o.elapsed);
    run.thresholds = o.verdicts.clone();
    run.setup_failed = o.setup_failed.clone();
    attach_histograms(&mut run, scenario, &o.stats);
    run.host = Some(HostRun {
        aborted_by_threshold: o.aborted_by.clone(),
        interrupted: o.interrupted.is_some(),
        interrupted_during: o.interrupted,
        instances_ready_seconds: o
            .all_ready
            .map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0),
        started_at: humantime::format_rfc3339_millis(o.started).to_string(),
        host_version: env!("CARGO_PKG_VERSION").to_string(),
        shard: (!scenario.shard.is_whole())
            .then(|| format!("{}/{}", scenario.shard.index, scenario.shard.count)),
        timeline: o.timeline.clone(),
    });
    run
}

/// Where a finished report goes, besides the summary on stdout.
#[derive(Default)]
pub struct Destinations<'a> {
    /// The JSON report ("-": stdout, instead of the summary).
    pub out: Option<&'a Path>,
    pub html: Option<&'a Path>,
    /// A saved report the HTML draws beside this one.
    pub baseline: Option<&'a Report>,
    pub junit: Option<&'a Path>,
}

/// Prints the summary (unless the JSON goes to stdout) and writes the
/// JSON, HTML and JUnit files asked for: what `run` and `merge` share.
pub fn emit(r: &Report, skip_verify: bool, to: Destinations) -> Result<(), Failure> {
    let host = r.host();
    if to.out != Some(Path::new("-")) {
        print!(
            "{}",
            crate::summary::render(
                r,
                host.interrupted_during,
                skip_verify,
                host.aborted_by_threshold.as_deref(),
            )
        );
    }
    if let Some(path) = to.out {
        write(path, r)?;
    }
    if let Some(path) = to.html {
        write_atomically(path, crate::html::render(r, to.baseline).as_bytes())?;
    }
    if let Some(path) = to.junit {
        let xml = crate::junit::render(&r.scenario_id, &r.thresholds, r.duration_seconds);
        write_atomically(path, xml.as_bytes())?;
    }
    Ok(())
}

/// 130 interrupted, 97 setup failed, 99 a threshold failed, else 0.
pub fn exit_code(r: &Report) -> u8 {
    if r.host().interrupted {
        EXIT_INTERRUPTED
    } else if r.setup_failed.is_some() {
        EXIT_SETUP_FAILED
    } else if !r.thresholds_passed() {
        EXIT_THRESHOLDS
    } else {
        0
    }
}

/// Parses a report's text; `name` (its file) prefixes the error. Fields a
/// report of an older host lacks read as empty.
pub fn parse(text: &str, name: &str) -> Result<Report, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "{name}: not a scheduler-host report ({e}, line {} column {})",
            e.line(),
            e.column()
        )
    })
}

/// Reads and parses a report file.
pub fn read(path: &Path) -> Result<Report, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("report {}: {e}", path.display())))?;
    parse(&text, &path.display().to_string()).map_err(Failure::input)
}

/// `b`'s histograms beside its figures `m` (latency, and service time and
/// phases when it has them); an empty latency histogram without `b`.
pub fn attach(m: &mut Metrics, b: Option<&Bucket>) {
    let empty = stats::histogram();
    let encode = crate::hdr::encode;
    m.latency_histogram = Some(encode(b.map_or(&empty, |b| b.latency_histogram())));
    m.service_time_histogram = b.and_then(|b| b.scheduled_service()).map(encode);
    m.timings_histograms = b.and_then(|b| b.phase_histograms()).map(|hs| {
        contract::Phases::NAMES
            .into_iter()
            .map(str::to_string)
            .zip(hs.iter().map(encode))
            .collect()
    });
}

/// Each figure's histograms beside it (latency, service time, phases): the
/// run's, each named scenario's and each step's (hooks' included).
fn attach_histograms(run: &mut Report, scenario: &Scenario, stats: &stats::Stats) {
    let set = attach;
    set(&mut run.metrics, Some(stats.total()));
    for (i, w) in run.scenarios.iter_mut().enumerate() {
        set(&mut w.metrics, stats.workload(i));
    }
    // The report lists the load's steps in workflow order, hooks apart.
    let load = scenario.load_steps();
    let hooks = [
        (run.setup.as_mut(), scenario::model::Hook::Setup),
        (run.teardown.as_mut(), scenario::model::Hook::Teardown),
    ];
    let mut lists: Vec<(&mut Vec<StepReport>, Vec<usize>)> = vec![(&mut run.steps, load.collect())];
    for (list, hook) in hooks {
        if let (Some(list), Some(range)) = (list, scenario.hook_steps(hook)) {
            lists.push((list, range.collect()));
        }
    }
    for (list, indices) in lists {
        for (step, i) in list.iter_mut().zip(indices) {
            set(&mut step.metrics, stats.steps().get(i));
        }
    }
}

/// Writes `report` to `path` (a temp file beside it, then rename), or to
/// stdout for "-".
pub fn write(path: &Path, report: &Report) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(report)?;
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(&json)?;
        out.write_all(b"\n")?;
        return Ok(());
    }
    write_atomically(path, &json)
}

/// Writes `bytes` to a temp file beside `path`, then renames it over `path`:
/// a reader never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.json".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
