//! The report file (`stats::Report`, the one report type): the run's
//! statistics with each latency histogram, the run's metadata and the
//! per-second timeline; written atomically, read back by `compare`,
//! `report --html` and `merge`.

use crate::atomic::write_atomically;
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
    } else if let Some(w) = crate::summary::failure_warning(r) {
        // The JSON has stdout: the warning still reaches the terminal.
        eprintln!("{w}");
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
    if let (Some(stat), Some(w)) = (m.ws.as_mut(), b.and_then(|b| b.ws())) {
        stat.handshake_histogram = Some(encode(&w.handshake));
        stat.round_trip_histogram = Some(encode(&w.round_trip));
    }
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
        let buckets = indices
            .into_iter()
            .flat_map(|i| stats.report_buckets(scenario, i));
        for (step, b) in list.iter_mut().zip(buckets) {
            set(&mut step.metrics, b);
        }
    }
    crate::custom::attach(&mut run.custom, stats.custom());
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use stats::report::{PhaseStat, ServiceTime, TlsStat, WsStat};
    use stats::{Phase, Row, Verdict, WorkloadReport};
    use std::collections::BTreeSet;

    /// Every field filled: what a report can hold.
    fn full() -> Report {
        let metrics = Metrics {
            service_time: Some(ServiceTime::default()),
            timings: Some([("connecting".to_string(), PhaseStat::default())].into()),
            tls: Some(TlsStat::default()),
            http_versions: [("HTTP/2".to_string(), 1)].into(),
            grpc_statuses: [("NOT_FOUND".to_string(), 1)].into(),
            grpc_messages: 3,
            ws: Some(WsStat {
                closes: [("1000".to_string(), 1)].into(),
                handshake_histogram: Some("h".into()),
                round_trip_histogram: Some("h".into()),
                ..WsStat::default()
            }),
            latency_histogram: Some("h".into()),
            service_time_histogram: Some("h".into()),
            timings_histograms: Some([("connecting".to_string(), "h".to_string())].into()),
            ..Metrics::default()
        };
        let step = StepReport {
            id: "a".into(),
            name: "a".into(),
            kind: "http".into(),
            scenario: "default".into(),
            metrics: metrics.clone(),
        };
        Report {
            scenario_id: "s".into(),
            vus: 1,
            duration_seconds: 1.0,
            iterations: 1,
            dropped_iterations: 0,
            out_of_data: 0,
            metrics: metrics.clone(),
            source_ips: Default::default(),
            scenarios: vec![WorkloadReport {
                name: "default".into(),
                executor: scenario::executor::ExecutorKind::ConstantVus,
                vus_max: 1,
                iterations: 1,
                dropped_iterations: 0,
                out_of_data: 0,
                metrics: metrics.clone(),
            }],
            steps: vec![step.clone()],
            setup: Some(vec![step.clone()]),
            teardown: Some(vec![step]),
            setup_failed: Some("why".into()),
            custom: [(
                "cart_ms".to_string(),
                stats::CustomStat {
                    kind: "trend".into(),
                    histogram: Some("h".into()),
                    ..Default::default()
                },
            )]
            .into(),
            thresholds: vec![Verdict {
                metric: "latency".into(),
                threshold: "p(95)<1".into(),
                ok: true,
                value: 0.0,
                window_seconds: Some(1.0),
                aborted_run: false,
            }],
            host: Some(HostRun {
                interrupted_during: Some(Phase::Load),
                instances_ready_seconds: Some(1.0),
                aborted_by_threshold: Some("x".into()),
                shard: Some("0/2".into()),
                timeline: vec![Row {
                    second: 0,
                    unix_ms: 0,
                    scenario: None,
                    step: None,
                    requests: 0,
                    errors: 0,
                    errors_by_kind: Default::default(),
                    status_codes: Default::default(),
                    p50_ms: 0.0,
                    p95_ms: 0.0,
                    p99_ms: 0.0,
                    max_ms: 0.0,
                    active_users: 0,
                    histogram: Some("h".into()),
                }],
                ..HostRun::default()
            }),
        }
    }

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    /// The schema's field names are the report type's: a field added to
    /// one and not the other fails here (the tests' reports are checked
    /// against the schema's types).
    #[test]
    fn the_schema_names_every_field_of_the_report_type() {
        let schema: Value = serde_json::from_str(include_str!("../report.schema.json")).unwrap();
        let report = serde_json::to_value(full()).unwrap();
        let metrics = keys(&schema["$defs"]["metrics"]["properties"]);
        let without_metrics =
            |v: &Value| -> BTreeSet<String> { keys(v).difference(&metrics).cloned().collect() };
        assert_eq!(without_metrics(&report), keys(&schema["properties"]));
        let written_metrics: BTreeSet<String> =
            keys(&report).intersection(&metrics).cloned().collect();
        assert_eq!(written_metrics, metrics, "metrics fields");
        let items = |name: &str| &schema["properties"][name]["items"]["properties"];
        assert_eq!(without_metrics(&report["steps"][0]), keys(items("steps")));
        assert_eq!(
            without_metrics(&report["scenarios"][0]),
            keys(items("scenarios"))
        );
        assert_eq!(keys(&report["thresholds"][0]), keys(items("thresholds")));
        assert_eq!(
            keys(&report["custom"]["cart_ms"]),
            keys(&schema["properties"]["custom"]["additionalProperties"]["properties"])
        );
        assert_eq!(
            keys(&report["timeline"][0]),
            keys(&schema["$defs"]["row"]["properties"])
        );
        // And it reads back as the same report.
        let back: Report = serde_json::from_value(report).unwrap();
        assert_eq!(back, full());
    }
}
