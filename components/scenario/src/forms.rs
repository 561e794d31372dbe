//! The two ways to write a scenario file, brought to one shape: the
//! original `scenario: {load, workflow}` (one ramping scenario, exactly as
//! before executors existed) and named `scenarios:` with k6's executors.

use crate::error::ScenarioError;
use crate::executor::{Budget, Closed, Curve, ExecutorKind, Model, Open, Workload};
use crate::model::raw;
use crate::model::{DEFAULT_WORKLOAD, UNTIL_DONE};
use crate::pool::IpPool;
use std::collections::BTreeMap;
use std::time::Duration;

/// k6's defaults.
const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);
const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);

fn field(field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Field {
        field: field.into(),
        message: message.into(),
    }
}

/// A scenario file, whichever form it was written in.
pub struct Form {
    pub id: String,
    pub id_at: &'static str,
    pub description: String,
    pub workloads: Vec<Named>,
    /// Where a too-large user count is reported.
    pub users_at: String,
    pub components: BTreeMap<String, String>,
    pub limits: raw::Limits,
    pub tls: Option<crate::tls::TlsBlock>,
    pub cookies: Option<bool>,
    pub http_version: Option<contract::HttpVersion>,
    pub proxy: Option<String>,
    pub seed: Option<u64>,
    pub pool: IpPool,
    pub thresholds: BTreeMap<String, crate::thresholds::raw::Rules>,
    /// `script:` (the component, as written), when the workloads run one.
    pub script: Option<String>,
    /// `destinations:` as written, and where.
    pub destinations: Option<(Vec<String>, &'static str)>,
}

/// One workload before its steps are parsed.
pub struct Named {
    pub name: String,
    /// Name, steps, first user and `weighted` are filled in by the parser.
    pub workload: Workload,
    pub steps: Vec<raw::Step>,
    /// Where its steps are written (`scenario.workflow`, `workflows.NAME`).
    pub steps_at: String,
}

pub fn normalize(mut doc: raw::Document) -> Result<Form, ScenarioError> {
    match (doc.scenario.take(), doc.scenarios.is_some()) {
        (Some(_), true) => Err(field(
            "scenarios",
            "write either `scenario:` (one load) or `scenarios:` (named executors), not both",
        )),
        (None, false) => Err(field(
            "scenario",
            "missing: write `scenario:` with a load and a workflow, or named `scenarios:` with executors",
        )),
        (Some(s), false) => original(s, doc),
        (None, true) => named(doc),
    }
}

/// The original form: its settings live inside `scenario:`; only
/// `thresholds` may sit beside it.
fn original(s: raw::Scenario, doc: raw::Document) -> Result<Form, ScenarioError> {
    let beside = [
        ("id", doc.id.is_some()),
        ("description", doc.description.is_some()),
        ("workflows", !doc.workflows.is_empty()),
        ("destinations", doc.destinations.is_some()),
        ("components", !doc.components.is_empty()),
        ("tls", doc.tls.is_some()),
        ("cookies", doc.cookies.is_some()),
        ("http_version", doc.http_version.is_some()),
        ("proxy", doc.proxy.is_some()),
        ("seed", doc.seed.is_some()),
        ("ip_pool", !doc.ip_pool.is_empty()),
        (
            "limits",
            doc.limits.max_body.is_some()
                || doc.limits.max_read.is_some()
                || doc.limits.max_memory_per_user.is_some()
                || doc.limits.users_per_instance.is_some(),
        ),
    ];
    if s.thresholds.is_some() {
        return Err(field(
            "scenario.thresholds",
            "thresholds go at the top level, beside `scenario:` (not inside it), as in k6's options",
        ));
    }
    if let Some((name, _)) = beside.iter().find(|b| b.1) {
        return Err(field(
            *name,
            "belongs inside `scenario:` in the original form (top-level settings go with `scenarios:`)",
        ));
    }
    let l = s.load;
    if l.total_users == 0 {
        return Err(field("scenario.load.total_users", "must be at least 1"));
    }
    let duration = l.test_duration.map(|d| d.0);
    if duration.is_some_and(|d| d.is_zero()) {
        return Err(field(
            "scenario.load.test_duration",
            "must be longer than 0s",
        ));
    }
    if l.iterations == Some(0) {
        return Err(field("scenario.load.iterations", "must be at least 1"));
    }
    if duration.is_none() && l.iterations.is_none() {
        return Err(field(
            "scenario.load",
            "set test_duration, iterations, or both (the run ends at the first)",
        ));
    }
    let ramp = l.ramp_duration.map(|d| d.0).unwrap_or_default();
    if let Some(d) = duration.filter(|d| ramp > *d) {
        return Err(field(
            "scenario.load.ramp_duration",
            format!("{ramp:?} is longer than test_duration {d:?}: later users would never start"),
        ));
    }
    let n = f64::from(l.total_users);
    let end = duration.unwrap_or(UNTIL_DONE);
    // User i of n starts at ramp·i/n: the curve rises from 0 to n.
    let vus = if ramp.is_zero() {
        Curve::flat(n, end)
    } else {
        Curve {
            start: 0.0,
            stages: vec![(ramp, n), (end - ramp, n)],
        }
    };
    let workload = Workload {
        name: DEFAULT_WORKLOAD.into(),
        kind: if ramp.is_zero() {
            ExecutorKind::ConstantVus
        } else {
            ExecutorKind::RampingVus
        },
        model: Model::Closed(Closed {
            vus,
            budget: l.iterations.map(Budget::PerVu),
            graceful_ramp_down: Duration::ZERO,
            pacing: None,
        }),
        steps: 0..0,
        weighted: false,
        first_vu: 0,
        start_time: Duration::ZERO,
        // As before executors: no step starts past test_duration.
        graceful_stop: Duration::ZERO,
        data: Vec::new(),
    };
    let (steps, script) = steps_or_script(s.workflow, s.script, "scenario")?;
    Ok(Form {
        id: s.id,
        id_at: "scenario.id",
        description: s.description,
        workloads: vec![Named {
            name: DEFAULT_WORKLOAD.into(),
            workload,
            steps,
            steps_at: "scenario.workflow".into(),
        }],
        script,
        destinations: s.destinations.map(|d| (d, "scenario.destinations")),
        users_at: "scenario.load.total_users".into(),
        components: s.components,
        limits: s.limits,
        tls: s.tls,
        cookies: s.cookies,
        http_version: crate::http_options::version(
            s.http_version.as_ref(),
            "scenario.http_version",
        )?,
        proxy: crate::http_options::proxy(s.proxy.as_deref(), "scenario.proxy")?,
        seed: l.seed,
        pool: pool(&l.ip_pool, "scenario.load.ip_pool")?,
        thresholds: doc.thresholds,
    })
}

/// A workload's steps: its `workflow:`, or the one step that runs the
/// script's iteration (then the script's file).
fn steps_or_script(
    workflow: Option<Vec<raw::Step>>,
    script: Option<String>,
    at: &str,
) -> Result<(Vec<raw::Step>, Option<String>), ScenarioError> {
    match (workflow, script) {
        (Some(_), Some(_)) => Err(field(
            format!("{at}.script"),
            "write either `workflow:` (steps) or `script:` (a component), not both",
        )),
        (None, None) => Err(field(
            format!("{at}.workflow"),
            "missing: write `workflow:` (a list of steps) or `script:` (a script component, .wasm)",
        )),
        (Some(steps), None) => Ok((steps, None)),
        (None, Some(file)) if file.trim().is_empty() => {
            Err(field(format!("{at}.script"), "must name a .wasm file"))
        }
        (None, Some(file)) => Ok((
            vec![raw::Step::script(crate::model::ScriptPart::Iteration)],
            Some(file),
        )),
    }
}

fn named(doc: raw::Document) -> Result<Form, ScenarioError> {
    let scenarios = doc.scenarios.unwrap_or_default();
    if scenarios.is_empty() {
        return Err(field("scenarios", "must name at least one scenario"));
    }
    let workflows = doc.workflows;
    let mut shared_used = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(scenarios.len());
    let mut script = None;
    for (name, n) in scenarios {
        let at = format!("scenarios.{name}");
        if name.trim().is_empty() || name.contains(['{', '}', ',', ':']) {
            return Err(field(
                &at,
                "a scenario name must not be empty or hold { } , :",
            ));
        }
        let (steps, steps_at) = match &n.workflow {
            None => {
                let (steps, file) = steps_or_script(None, n.script.clone(), &at)?;
                match (&script, file) {
                    (Some(first), Some(file)) if *first != file => {
                        return Err(field(
                            format!("{at}.script"),
                            format!("a run has one script; another scenario names {first:?}"),
                        ));
                    }
                    (_, file) => script = file,
                }
                (steps, format!("{at}.script"))
            }
            Some(_) if n.script.is_some() => {
                return Err(field(
                    format!("{at}.script"),
                    "write either `workflow:` (steps) or `script:` (a component), not both",
                ));
            }
            Some(serde_yaml::Value::String(w)) => match workflows.get(w) {
                // Copied for each scenario that uses it, so each has its
                // own step statistics.
                Some(steps) => {
                    shared_used.insert(w.clone());
                    (steps.clone(), format!("workflows.{w}"))
                }
                None => {
                    let names: Vec<&String> = workflows.keys().collect();
                    return Err(field(
                        format!("{at}.workflow"),
                        format!("no workflow named {w:?} under workflows: (found {names:?})"),
                    ));
                }
            },
            Some(steps) => {
                let steps: Vec<raw::Step> = serde_yaml::from_value(steps.clone()).map_err(|e| {
                    field(
                        format!("{at}.workflow"),
                        format!(
                            "expected a list of steps or the name of one of workflows: ({})",
                            e.to_string().replace('\n', " ")
                        ),
                    )
                })?;
                (steps, format!("{at}.workflow"))
            }
        };
        let workload = executor(&at, n)?;
        out.push(Named {
            name,
            workload,
            steps,
            steps_at,
        });
    }
    if let Some(unused) = workflows.keys().find(|w| !shared_used.contains(*w)) {
        return Err(field(
            format!("workflows.{unused}"),
            "no scenario uses it (refer to it with `workflow: NAME`)",
        ));
    }
    Ok(Form {
        id: doc.id.unwrap_or_else(|| "scenarios".into()),
        id_at: "id",
        description: doc.description.unwrap_or_default(),
        workloads: out,
        users_at: "scenarios".into(),
        components: doc.components,
        limits: doc.limits,
        tls: doc.tls,
        cookies: doc.cookies,
        http_version: crate::http_options::version(doc.http_version.as_ref(), "http_version")?,
        proxy: crate::http_options::proxy(doc.proxy.as_deref(), "proxy")?,
        seed: doc.seed,
        pool: pool(&doc.ip_pool, "ip_pool")?,
        thresholds: doc.thresholds,
        script,
        destinations: doc.destinations.map(|d| (d, "destinations")),
    })
}

fn pool(entries: &[crate::pool::PoolEntry], at: &str) -> Result<IpPool, ScenarioError> {
    let pool = IpPool::from_entries(entries).map_err(|m| field(at, m))?;
    if let Some(v6) = pool
        .0
        .iter()
        .find(|ip| ip.is_ipv6())
        .filter(|_| pool.0.iter().any(|ip| ip.is_ipv4()))
    {
        return Err(field(
            at,
            format!("mixes IPv4 and IPv6 ({v6}); use one family"),
        ));
    }
    Ok(pool)
}

/// The fields each executor takes (beside start_time, graceful_stop and
/// workflow, which all take).
fn fields_of(kind: ExecutorKind) -> &'static [&'static str] {
    match kind {
        ExecutorKind::ConstantVus => &["vus", "duration", "pacing"],
        ExecutorKind::RampingVus => &["start_vus", "stages", "graceful_ramp_down", "pacing"],
        ExecutorKind::PerVuIterations | ExecutorKind::SharedIterations => {
            &["vus", "iterations", "max_duration", "pacing"]
        }
        ExecutorKind::ConstantArrivalRate => &[
            "rate",
            "time_unit",
            "duration",
            "pre_allocated_vus",
            "max_vus",
        ],
        ExecutorKind::RampingArrivalRate => &[
            "start_rate",
            "time_unit",
            "stages",
            "pre_allocated_vus",
            "max_vus",
        ],
    }
}

fn executor(at: &str, n: raw::Named) -> Result<Workload, ScenarioError> {
    let kind = n.executor;
    let set = [
        ("vus", n.vus.is_some()),
        ("duration", n.duration.is_some()),
        ("start_vus", n.start_vus.is_some()),
        ("stages", n.stages.is_some()),
        ("graceful_ramp_down", n.graceful_ramp_down.is_some()),
        ("iterations", n.iterations.is_some()),
        ("max_duration", n.max_duration.is_some()),
        ("rate", n.rate.is_some()),
        ("start_rate", n.start_rate.is_some()),
        ("time_unit", n.time_unit.is_some()),
        ("pre_allocated_vus", n.pre_allocated_vus.is_some()),
        ("max_vus", n.max_vus.is_some()),
        ("pacing", n.pacing.is_some()),
    ];
    let allowed = fields_of(kind);
    if let Some((name, _)) = set.iter().find(|(f, on)| *on && !allowed.contains(f)) {
        return Err(field(
            format!("{at}.{name}"),
            format!(
                "not a field of {} (its fields: {}, start_time, graceful_stop, workflow)",
                kind.name(),
                allowed.join(", ")
            ),
        ));
    }
    let positive =
        |d: Option<crate::duration::Dur>, name: &str| -> Result<Duration, ScenarioError> {
            match d {
                Some(d) if !d.0.is_zero() => Ok(d.0),
                Some(_) => Err(field(format!("{at}.{name}"), "must be longer than 0s")),
                None => Err(field(
                    format!("{at}.{name}"),
                    format!("{} needs it", kind.name()),
                )),
            }
        };
    let at_least_one = |v: Option<u32>, name: &str| -> Result<u32, ScenarioError> {
        match v {
            Some(0) => Err(field(format!("{at}.{name}"), "must be at least 1")),
            v => Ok(v.unwrap_or(1)),
        }
    };
    let stages = |start: f64| -> Result<Curve, ScenarioError> {
        let raw = n.stages.as_ref().filter(|s| !s.is_empty()).ok_or_else(|| {
            field(
                format!("{at}.stages"),
                format!("{} needs at least one stage", kind.name()),
            )
        })?;
        let mut out = Vec::with_capacity(raw.len());
        for (i, s) in raw.iter().enumerate() {
            if !s.target.is_finite() || s.target < 0.0 {
                return Err(field(
                    format!("{at}.stages[{i}].target"),
                    "must be a number, 0 or more",
                ));
            }
            out.push((s.duration.0, s.target));
        }
        let curve = Curve { start, stages: out };
        if curve.end().is_zero() {
            return Err(field(format!("{at}.stages"), "last no time in all"));
        }
        Ok(curve)
    };
    let time_unit = n.time_unit.map(|d| d.0).unwrap_or(Duration::from_secs(1));
    if time_unit.is_zero() {
        return Err(field(format!("{at}.time_unit"), "must be longer than 0s"));
    }
    let per_second = |v: f64| v / time_unit.as_secs_f64();
    let pool = |kind: ExecutorKind| -> Result<(u32, u32), ScenarioError> {
        let pre = n.pre_allocated_vus.ok_or_else(|| {
            field(
                format!("{at}.pre_allocated_vus"),
                format!("{} needs it (users made before the start)", kind.name()),
            )
        })?;
        let max = n.max_vus.unwrap_or(pre);
        if max < pre || max == 0 {
            return Err(field(
                format!("{at}.max_vus"),
                format!("must be at least pre_allocated_vus ({pre}) and 1"),
            ));
        }
        Ok((pre, max))
    };
    let pacing = match n.pacing {
        Some(p) if p.0.is_zero() => {
            return Err(field(format!("{at}.pacing"), "must be longer than 0s"));
        }
        p => p.map(|p| p.0),
    };
    let closed = |vus: Curve, budget, graceful_ramp_down| {
        Model::Closed(Closed {
            vus,
            budget,
            graceful_ramp_down,
            pacing,
        })
    };
    let model = match kind {
        ExecutorKind::ConstantVus => {
            let vus = at_least_one(n.vus, "vus")?;
            let d = positive(n.duration, "duration")?;
            closed(Curve::flat(f64::from(vus), d), None, Duration::ZERO)
        }
        ExecutorKind::RampingVus => {
            let start = f64::from(n.start_vus.unwrap_or(1));
            let grace = n.graceful_ramp_down.map_or(DEFAULT_GRACEFUL_STOP, |d| d.0);
            closed(stages(start)?, None, grace)
        }
        ExecutorKind::PerVuIterations | ExecutorKind::SharedIterations => {
            let vus = at_least_one(n.vus, "vus")?;
            let iterations = match n.iterations {
                Some(0) => return Err(field(format!("{at}.iterations"), "must be at least 1")),
                i => i.unwrap_or(1),
            };
            let max = match n.max_duration {
                Some(d) if d.0.is_zero() => {
                    return Err(field(
                        format!("{at}.max_duration"),
                        "must be longer than 0s",
                    ));
                }
                d => d.map_or(DEFAULT_MAX_DURATION, |d| d.0),
            };
            let budget = if kind == ExecutorKind::PerVuIterations {
                Budget::PerVu(iterations)
            } else {
                if iterations < u64::from(vus) {
                    return Err(field(
                        format!("{at}.iterations"),
                        format!(
                            "{iterations} shared iterations for {vus} users: some would never run one (set iterations ≥ vus)"
                        ),
                    ));
                }
                Budget::Shared(iterations)
            };
            closed(
                Curve::flat(f64::from(vus), max),
                Some(budget),
                Duration::ZERO,
            )
        }
        ExecutorKind::ConstantArrivalRate => {
            let rate = n
                .rate
                .filter(|r| r.is_finite() && *r > 0.0)
                .ok_or_else(|| {
                    field(
                        format!("{at}.rate"),
                        "constant-arrival-rate needs a rate above 0",
                    )
                })?;
            let d = positive(n.duration, "duration")?;
            let (pre, max) = pool(kind)?;
            Model::Open(Open {
                rate: Curve::flat(per_second(rate), d),
                pre_allocated_vus: pre,
                max_vus: max,
            })
        }
        ExecutorKind::RampingArrivalRate => {
            let start = n.start_rate.unwrap_or(0.0);
            if !start.is_finite() || start < 0.0 {
                return Err(field(
                    format!("{at}.start_rate"),
                    "must be a number, 0 or more",
                ));
            }
            let mut curve = stages(per_second(start))?;
            for s in &mut curve.stages {
                s.1 = per_second(s.1);
            }
            let (pre, max) = pool(kind)?;
            Model::Open(Open {
                rate: curve,
                pre_allocated_vus: pre,
                max_vus: max,
            })
        }
    };
    Ok(Workload {
        name: String::new(),
        kind,
        model,
        steps: 0..0,
        weighted: false,
        first_vu: 0,
        start_time: n.start_time.map(|d| d.0).unwrap_or_default(),
        graceful_stop: n.graceful_stop.map_or(DEFAULT_GRACEFUL_STOP, |d| d.0),
        data: Vec::new(),
    })
}
