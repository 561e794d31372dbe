//! What run, validate and demo share: from a plan to a ready engine (compose,
//! compile, probe), and from a finished run to its summary and report.

use crate::bindings::VuDriverPre;
use crate::error::Failure;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::report;
use crate::run::{self, GRACE, Outcome};
use crate::vu::{self, Shared};
use crate::vu_state::VuState;
use crate::{compose, engine};
use std::path::Path;
use std::sync::Arc;

/// A compiled, linked and probed component, ready for `total_users` users.
pub struct Ready {
    engine: wasmtime::Engine,
    pre: VuDriverPre<VuState>,
}

/// Composes (or reads) the component, compiles it, and has one instance
/// `check` the scenario; fills `plan.targets` with what its destinations
/// resolve to. Any problem here is bad input: nothing has been sent.
pub async fn prepare(plan: &mut Plan, component: Option<&Path>) -> Result<Ready, Failure> {
    let from_user = component.is_some() || !plan.plugs.is_empty();
    let bytes = match component {
        Some(_) if !plan.plugs.is_empty() => {
            return Err(Failure::input(
                "--component runs a finished composition; plug actions (--action, components:) into the built-in parts instead",
            ));
        }
        Some(path) => std::fs::read(path).map_err(|e| {
            Failure::input(format!("cannot read component {}: {e}", path.display()))
        })?,
        None => compose::compose(&plan.plugs, &used_slots(&plan.scenario))?,
    };
    let cells = crate::cells::plan(&plan.scenario, plan.per_instance).len() as u32;
    engine::check_map_count(cells).map_err(|e| Failure::input(e.to_string()))?;
    let engine = engine::engine(cells)?;
    let pre = engine::load(&engine, &bytes).map_err(|e| {
        if from_user {
            Failure::input(format!("{e:#}"))
        } else {
            Failure::internal(e)
        }
    })?;
    let ready = Ready { engine, pre };
    let probe = shared(plan, &ready);
    let ticker = crate::epoch::Ticker::start(ready.engine.clone());
    let result = vu::check(&probe).await;
    drop(ticker);
    let needs = result.map_err(|m| match plan.origin.as_str() {
        "" => Failure::input(m),
        origin => Failure::input(format!("{origin}: {m}")),
    })?;
    for plug in &plan.plugs {
        let Some(kind) = &plug.kind else { continue };
        if !needs.extension_kinds.contains(kind) {
            return Err(Failure::input(format!(
                "{}: {} handles the step types [{}], not {kind:?}",
                plug.origin,
                plug.path.display(),
                needs.extension_kinds.join(", ")
            )));
        }
    }
    let destinations: Vec<contract::Endpoint> = needs
        .destinations
        .into_iter()
        .map(crate::bindings::endpoint)
        .collect();
    plan.targets = crate::plan::resolve(&destinations)?;
    // A kept-alive connection per user and target, and room for the rest.
    let users = u64::from(plan.scenario.shard_vus());
    let sockets = users * plan.targets.len().max(1) as u64 + 1024;
    if let Some(warning) = crate::limits::raise_open_files(sockets) {
        eprintln!("{warning}");
    }
    Ok(ready)
}

/// The step types the scenario uses (setup and teardown included): a
/// built-in slot's name is its step type. Every slot with
/// `SCHEDULER_HOST_ALL_PARTS=1` (the bench's A/B).
fn used_slots(scenario: &scenario::model::Scenario) -> Vec<&str> {
    if std::env::var_os("SCHEDULER_HOST_ALL_PARTS").is_some_and(|v| v == "1") {
        return crate::parts::slot_names();
    }
    let mut used: Vec<&str> = scenario.workflow.iter().map(|s| s.kind.as_str()).collect();
    if scenario.script.is_some() {
        // A script's requests go through the runtime to these three.
        used.extend(["http", "tcp", "udp"]);
    }
    used
}

fn shared(plan: &Plan, ready: &Ready) -> Arc<Shared> {
    // A guest runs a step at most its timeout plus this margin: the action's
    // own deadline fires first, the interrupt only stops a guest that
    // ignores it (a loop that never yields or returns).
    let budgets = plan
        .scenario
        .workflow
        .iter()
        .map(|s| s.timeout + crate::vu_state::INTERRUPT_MARGIN)
        .collect::<Vec<_>>();
    Arc::new(Shared {
        engine: ready.engine.clone(),
        pre: ready.pre.clone(),
        yaml: plan.yaml.clone(),
        inputs: crate::bindings::Inputs {
            files: plan
                .files
                .iter()
                .map(|(path, bytes)| crate::bindings::File {
                    path: path.clone(),
                    bytes: bytes.clone(),
                })
                .collect(),
            env: plan.env.clone(),
            data: plan
                .scenario
                .data
                .iter()
                .map(|d| crate::bindings::DataSource {
                    name: d.name.clone(),
                    columns: d.columns.clone(),
                })
                .collect(),
        },
        tables: plan.tables.clone(),
        setup: std::sync::OnceLock::new(),
        targets: plan.targets.clone(),
        pool: plan.scenario.pool.clone(),
        budgets,
        grace: GRACE,
        trace_user: plan.scenario.trace_user,
        memory_limit: usize::try_from(plan.memory_limit).unwrap_or(usize::MAX),
    })
}

/// Runs the plan, prints the summary, writes the report; returns the exit code.
/// Where a run's outputs go.
#[derive(Clone, Copy, Default)]
pub struct Outputs<'a> {
    /// The JSON report ("-": stdout, instead of the summary).
    pub out: Option<&'a Path>,
    /// One JUnit testcase per threshold.
    pub junit: Option<&'a Path>,
    /// Per-second rows as JSON lines, with histograms.
    pub timeline: Option<&'a Path>,
    /// Per-second rows as CSV.
    pub csv: Option<&'a Path>,
    /// Every request as CSV.
    pub samples: Option<&'a Path>,
    /// The HTML report.
    pub html: Option<&'a Path>,
    /// A saved report the HTML report draws beside this run.
    pub baseline: Option<&'a Path>,
    /// Where to serve live metrics (`GET /metrics`).
    pub metrics: Option<std::net::SocketAddr>,
    /// How long to keep serving the final metrics after the run.
    pub metrics_hold: Option<std::time::Duration>,
    pub quiet: bool,
    /// `--har`: the traced user's requests (`Scenario::trace_user`).
    pub har: Option<&'a Path>,
}

pub async fn execute(
    plan: &Plan,
    ready: Ready,
    outputs: Outputs<'_>,
) -> Result<(u8, Outcome), Failure> {
    let Outputs {
        out,
        junit,
        timeline,
        csv,
        samples,
        html,
        baseline,
        metrics,
        metrics_hold,
        quiet,
        har,
    } = outputs;
    // Read before the run: a bad baseline should not cost a run.
    let baseline = baseline.map(crate::report::read).transpose()?;
    let mut files = crate::series_files::Files::create(timeline, csv, samples)?;
    files.har = har.map(Path::to_path_buf);
    let exposition = Arc::new(crate::metrics::Exposition::default());
    // Serves until the report is written (dropped at the end of this call).
    let _listener = match metrics {
        Some(addr) => Some(crate::metrics_server::start(addr, Arc::clone(&exposition)).await?),
        None => None,
    };
    // The progress line's total: when the last workload's schedule ends
    // (graceful stops come after, only if iterations are still in flight).
    // (none when a workload runs until its iterations are done).
    let scheduled = plan
        .scenario
        .workloads
        .iter()
        .map(|w| w.scheduled_end())
        .collect::<Option<Vec<_>>>()
        .and_then(|ends| ends.into_iter().max());
    let progress = Progress::new(&plan.scenario, scheduled, quiet);
    let outcome = run::execute(
        plan,
        shared(plan, &ready),
        &progress,
        files,
        metrics.map(|_| exposition.as_ref()),
    )
    .await;
    progress.finish();
    for problem in &outcome.file_problems {
        eprintln!("warning: {problem}");
    }
    let report = report::build(&plan.scenario, &outcome);
    report::emit(
        &report,
        plan.scenario.skips_tls_verification(),
        report::Destinations {
            out,
            html,
            baseline: baseline.as_ref(),
            junit,
        },
    )?;
    if let (Some(addr), Some(hold)) = (metrics, metrics_hold) {
        // A scraper's last scrape may come up to its interval after the
        // run: keep the final figures up that long (Ctrl-C ends it).
        eprintln!(
            "serving the final metrics at http://{addr}/metrics for {:.0}s (Ctrl-C to stop)",
            hold.as_secs_f64()
        );
        tokio::select! {
            _ = tokio::time::sleep(hold) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    let code = report::exit_code(&report);
    Ok((code, outcome))
}
