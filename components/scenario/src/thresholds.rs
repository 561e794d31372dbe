//! Thresholds: pass/fail criteria on the run's metrics, in k6's syntax
//! (`"p(95)<200"` under a metric key like `latency{step:login}`), plus a
//! sliding `window` k6 does not have. Parsed with the scenario (a metric,
//! step or scenario that does not exist is a validation error), evaluated
//! from `Stats` (the whole run) or from per-second tallies (windows).

use crate::duration::Dur;
use crate::error::{ScenarioError, field};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What a threshold measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Step latency in ms (from the scheduled time under arrival rates).
    Latency,
    /// Send-to-response time in ms (equals latency under closed executors).
    ServiceTime,
    /// Failed requests: `rate` is failed / all.
    Errors,
    /// Step responses that passed their checks: `rate` is passed / checked.
    Checks,
    Requests,
    Iterations,
    DroppedIterations,
    /// WebSocket: a `send … expect` or `ping` round trip, in ms.
    WsRoundTrip,
    /// WebSocket: connect, TLS and upgrade to the 101, in ms.
    WsHandshake,
    /// WebSocket data messages sent / received.
    WsMessagesSent,
    WsMessagesReceived,
    /// A script's custom metric (`Filter::custom` names it): a trend's
    /// values (avg, min, max, med, p(N); count: how many), or a counter's
    /// sum (count; rate: per second).
    Custom,
}

const METRICS: [(&str, Metric); 11] = [
    ("latency", Metric::Latency),
    ("service_time", Metric::ServiceTime),
    ("errors", Metric::Errors),
    ("checks", Metric::Checks),
    ("requests", Metric::Requests),
    ("iterations", Metric::Iterations),
    ("dropped_iterations", Metric::DroppedIterations),
    ("ws_round_trip", Metric::WsRoundTrip),
    ("ws_handshake", Metric::WsHandshake),
    ("ws_messages_sent", Metric::WsMessagesSent),
    ("ws_messages_received", Metric::WsMessagesReceived),
];

impl Metric {
    /// The aggregations it has, as written.
    fn aggregations(self) -> &'static str {
        match self {
            Metric::Latency | Metric::ServiceTime | Metric::WsRoundTrip | Metric::WsHandshake => {
                "avg, min, max, med, p(N), count"
            }
            Metric::Errors | Metric::Checks => "rate (a fraction), count",
            Metric::Custom => "avg, min, max, med, p(N), count, rate (per second)",
            Metric::Requests
            | Metric::Iterations
            | Metric::DroppedIterations
            | Metric::WsMessagesSent
            | Metric::WsMessagesReceived => "count, rate (per second)",
        }
    }

    fn allows(self, agg: Agg) -> bool {
        match self {
            Metric::Latency | Metric::ServiceTime | Metric::WsRoundTrip | Metric::WsHandshake => {
                !matches!(agg, Agg::Rate)
            }
            Metric::Custom => true,
            _ => matches!(agg, Agg::Count | Agg::Rate),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Agg {
    Avg,
    Min,
    Max,
    Med,
    /// A percentile, 0..=100.
    P(f64),
    Count,
    Rate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }

    /// True when a larger value is the worse one.
    pub fn larger_is_worse(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }
}

/// Which samples a threshold reads: a scenario's, some steps', or all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub workload: Option<usize>,
    /// Global step indices (`Scenario::workflow`).
    pub steps: Option<Vec<usize>>,
    /// A script's requests by name (`step:NAME` in a script scenario,
    /// where names are only known as the script runs).
    pub names: Option<Vec<String>>,
    /// A script's custom metric, by name (`Metric::Custom`).
    pub custom: Option<String>,
}

impl Filter {
    /// Whether a sample of step `step` (a script's request `name`) of
    /// `workload` counts.
    pub fn matches_step(&self, step: usize, name: Option<&str>, workload: usize) -> bool {
        self.workload.is_none_or(|w| w == workload)
            && self.steps.as_ref().is_none_or(|s| s.contains(&step))
            && self
                .names
                .as_ref()
                .is_none_or(|n| name.is_some_and(|name| n.iter().any(|x| x == name)))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// The key as written, e.g. `latency{step:login}` or `errors:window`.
    pub key: String,
    /// The expression as written, e.g. `p(95)<200`.
    pub expr: String,
    pub metric: Metric,
    pub filter: Filter,
    pub agg: Agg,
    pub op: Op,
    pub limit: f64,
    pub abort_on_fail: bool,
    pub delay_abort_eval: Duration,
    /// Judged over every sliding window this long, not the whole run.
    pub window: Option<Duration>,
}

pub mod raw {
    use super::*;

    /// One key's value as written: an expression, a rule, or a list of
    /// them. Read by `list` where the key is known, so a wrong shape is an
    /// error naming `thresholds.<key>` that says what a threshold looks
    /// like (serde's untagged enums could only say "did not match").
    #[derive(Deserialize)]
    #[serde(transparent)]
    pub struct Rules(pub serde_json::Value);

    pub enum Rule {
        Expr(String),
        Full(Full),
    }

    const EXPECTED: &str = "expected an expression like \"p(95)<200\", a list of them, or a mapping like {threshold: \"p(95)<200\", abort_on_fail: true, window: 10s}";

    impl Rules {
        pub fn list(self) -> Result<Vec<Rule>, String> {
            match self.0 {
                serde_json::Value::Array(items) => {
                    items.into_iter().map(Rule::from_value).collect()
                }
                v => Rule::from_value(v).map(|r| vec![r]),
            }
        }
    }

    impl Rule {
        fn from_value(v: serde_json::Value) -> Result<Rule, String> {
            match v {
                serde_json::Value::String(s) => Ok(Rule::Expr(s)),
                v @ serde_json::Value::Object(_) => serde_json::from_value(v)
                    .map(Rule::Full)
                    .map_err(|e| format!("{e}: {EXPECTED}")),
                other => Err(format!("{other} is not a threshold: {EXPECTED}")),
            }
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Full {
        pub threshold: String,
        #[serde(default)]
        pub abort_on_fail: bool,
        #[serde(default)]
        pub delay_abort_eval: Option<Dur>,
        #[serde(default)]
        pub window: Option<Dur>,
    }
}

/// Validates `thresholds:` against the scenario's workload names and its
/// steps (id, workload index); the one parser, also of a report's
/// thresholds when `merge` judges them again.
pub fn parse(
    raw: BTreeMap<String, raw::Rules>,
    workloads: &[&str],
    steps: &[(&str, usize)],
    script: bool,
) -> Result<Vec<Threshold>, ScenarioError> {
    let mut out = Vec::new();
    for (key, rules) in raw {
        let at = format!("thresholds.{key}");
        let (metric, filter) = parse_key(&key, &at, workloads, steps, script)?;
        let rules = rules.list().map_err(|m| field(&at, m))?;
        if rules.is_empty() {
            return Err(field(&at, "lists no threshold"));
        }
        for (i, rule) in rules.into_iter().enumerate() {
            let full = match rule {
                raw::Rule::Expr(threshold) => raw::Full {
                    threshold,
                    abort_on_fail: false,
                    delay_abort_eval: None,
                    window: None,
                },
                raw::Rule::Full(f) => f,
            };
            let (agg, op, limit) =
                parse_expr(&full.threshold).map_err(|m| field(format!("{at}[{i}]"), m))?;
            if !metric.allows(agg) {
                return Err(field(
                    format!("{at}[{i}]"),
                    format!(
                        "{:?} does not apply to {}: it has {}",
                        full.threshold,
                        METRICS
                            .iter()
                            .find(|m| m.1 == metric)
                            .map_or(key.as_str(), |m| m.0),
                        metric.aggregations()
                    ),
                ));
            }
            if metric == Metric::Custom && full.window.is_some() {
                return Err(field(
                    format!("{at}[{i}].window"),
                    "a custom metric is judged over the whole run (no window)",
                ));
            }
            if full.window.is_some_and(|w| w.0 < Duration::from_secs(1)) {
                return Err(field(
                    format!("{at}[{i}].window"),
                    "must be at least 1s (windows slide by the second)",
                ));
            }
            out.push(Threshold {
                key: key.clone(),
                expr: full.threshold,
                metric,
                filter: filter.clone(),
                agg,
                op,
                limit,
                abort_on_fail: full.abort_on_fail,
                delay_abort_eval: full.delay_abort_eval.map(|d| d.0).unwrap_or_default(),
                window: full.window.map(|d| d.0),
            });
        }
    }
    Ok(out)
}

/// `metric{tag:value,…}` split into the metric and its tags (unresolved).
fn split_key(key: &str) -> Result<(Metric, Vec<(String, String)>), String> {
    let (head, tags) = match key.find('{') {
        Some(open) => {
            let close = key[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or("a '{' without its '}'")?;
            (&key[..open], Some(&key[open + 1..close]))
        }
        None => (key.split(':').next().unwrap_or(key), None),
    };
    let metric = METRICS
        .iter()
        .find(|(n, _)| *n == head.trim())
        .map(|m| m.1)
        .unwrap_or(Metric::Custom);
    let mut out = Vec::new();
    for tag in tags
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.trim().is_empty())
    {
        let (name, value) = tag
            .split_once(':')
            .map(|(n, v)| (n.trim(), v.trim()))
            .ok_or_else(|| format!("tag {tag:?}: expected name:value"))?;
        if name != "scenario" && name != "step" {
            return Err(format!("unknown tag {name:?}: use step or scenario"));
        }
        if name == "step" && matches!(metric, Metric::Iterations | Metric::DroppedIterations) {
            return Err("iterations belong to scenarios, not steps".into());
        }
        out.push((name.to_string(), value.to_string()));
    }
    Ok((metric, out))
}

impl Threshold {
    /// Whether `value` passes.
    pub fn holds(&self, value: f64) -> bool {
        self.op.holds(value, self.limit)
    }

    /// Whether a window of it can be judged from per-second latency and
    /// error counts alone (what a report's timeline has).
    pub fn needs_only_latency_and_errors(&self) -> bool {
        matches!(
            self.metric,
            Metric::Latency | Metric::Errors | Metric::Requests
        )
    }
}

/// `metric{tag:value,…}` with an optional `:label` after it (the label only
/// makes keys unique, as in `latency:abort`).
fn parse_key(
    key: &str,
    at: &str,
    workloads: &[&str],
    steps: &[(&str, usize)],
    script: bool,
) -> Result<(Metric, Filter), ScenarioError> {
    let (metric, tags) = split_key(key).map_err(|m| field(at, m))?;
    let mut filter = Filter::default();
    if metric == Metric::Custom {
        let head = key.split(['{', ':']).next().unwrap_or(key).trim();
        if !script {
            let names: Vec<&str> = METRICS.iter().map(|m| m.0).collect();
            return Err(field(
                at,
                format!("unknown metric {head:?} (known: {})", names.join(", ")),
            ));
        }
        if !tags.is_empty() {
            return Err(field(
                at,
                format!(
                    "{head:?}: a script's custom metric is the run's, with no step or scenario"
                ),
            ));
        }
        // Any other name is a custom metric the script records (checked
        // when the run ends: one it never recorded reads 0).
        filter.custom = Some(head.to_string());
        return Ok((metric, filter));
    }
    let mut step_id = None;
    for (name, value) in &tags {
        match name.as_str() {
            "scenario" => {
                let w = workloads.iter().position(|w| *w == value).ok_or_else(|| {
                    field(
                        at,
                        format!(
                            "no scenario named {value:?} (scenarios: {})",
                            workloads.join(", ")
                        ),
                    )
                })?;
                filter.workload = Some(w);
            }
            _ => step_id = Some(value.as_str()),
        }
    }
    if let Some(id) = step_id {
        let matching: Vec<usize> = steps
            .iter()
            .enumerate()
            .filter(|(_, (step_id, workload))| {
                *step_id == id
                    && *workload != crate::executor::HOOK
                    && filter.workload.is_none_or(|w| *workload == w)
            })
            .map(|(i, _)| i)
            .collect();
        if matching.is_empty() && script {
            // A script's requests are named as it runs: matched by name.
            filter.names = Some(vec![id.to_string()]);
        } else if matching.is_empty() {
            return Err(field(at, format!("no step with id {id:?}")));
        } else {
            filter.steps = Some(matching);
        }
    }
    Ok((metric, filter))
}

/// `p(95)<200`, `rate<0.01`, `count==0`.
/// `--threshold TEXT` → (key, expression). `EXPR` alone is on `latency`
/// (`p(95)<200`, `avg<100`) or, for `rate`, on `errors` (`rate<0.01`, as
/// k6's `http_req_failed`); any other metric is written `KEY=EXPR`, e.g.
/// `latency{step:home}=p(99)<500` or `dropped_iterations=count==0`.
pub fn from_flag(text: &str) -> Result<(String, String), String> {
    let text = text.trim();
    if let Ok((agg, ..)) = parse_expr(text) {
        let metric = match agg {
            Agg::Rate => "errors",
            Agg::Count => {
                return Err(format!(
                    "--threshold {text:?}: count of what? Name the metric, like requests={text}"
                ));
            }
            _ => "latency",
        };
        return Ok((metric.to_string(), text.to_string()));
    }
    match text.split_once('=') {
        Some((key, expr)) if !key.trim().is_empty() && !expr.trim().is_empty() => {
            parse_expr(expr).map_err(|e| format!("--threshold {text:?}: {e}"))?;
            Ok((key.trim().to_string(), expr.trim().to_string()))
        }
        _ => Err(format!(
            "--threshold {text:?}: expected an expression like p(95)<200 (on latency) or rate<0.01 (on errors), or METRIC=EXPRESSION like checks=rate>0.99"
        )),
    }
}

fn parse_expr(text: &str) -> Result<(Agg, Op, f64), String> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bad = || {
        format!(
            "{text:?} is not a threshold: expected AGGREGATION OPERATOR NUMBER, like p(95)<200 or rate<0.01"
        )
    };
    let pos = t.find(['<', '>', '=', '!']).ok_or_else(bad)?;
    let (agg_text, rest) = t.split_at(pos);
    let (op, number) = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ]
    .into_iter()
    .find_map(|(s, op)| rest.strip_prefix(s).map(|n| (op, n)))
    .ok_or_else(bad)?;
    let limit: f64 = number.parse().map_err(|_| bad())?;
    if !limit.is_finite() {
        return Err(bad());
    }
    let agg = match agg_text {
        "avg" => Agg::Avg,
        "min" => Agg::Min,
        "max" => Agg::Max,
        "med" => Agg::Med,
        "count" => Agg::Count,
        "rate" => Agg::Rate,
        p if p.starts_with("p(") && p.ends_with(')') => {
            let n: f64 = p[2..p.len() - 1].parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&n) {
                return Err(format!("{text:?}: a percentile is between 0 and 100"));
            }
            Agg::P(n)
        }
        other => {
            return Err(format!(
                "{text:?}: unknown aggregation {other:?} (avg, min, max, med, p(N), count, rate)"
            ));
        }
    };
    Ok((agg, op, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_flag_names_its_metric_or_takes_latency_and_errors() {
        let f = |t: &str| from_flag(t);
        assert_eq!(
            f("p(95)<200").unwrap(),
            ("latency".into(), "p(95)<200".into())
        );
        assert_eq!(
            f("rate<0.01").unwrap(),
            ("errors".into(), "rate<0.01".into())
        );
        assert_eq!(
            f("latency{step:home}=p(99)<500").unwrap(),
            ("latency{step:home}".into(), "p(99)<500".into())
        );
        assert_eq!(
            f("dropped_iterations=count==0").unwrap(),
            ("dropped_iterations".into(), "count==0".into())
        );
        assert!(f("count==0").unwrap_err().contains("Name the metric"));
        assert!(f("fast").unwrap_err().contains("expected an expression"));
        assert!(
            f("latency=p(95)<")
                .unwrap_err()
                .contains("is not a threshold")
        );
    }

    #[test]
    fn expressions_parse_in_k6_syntax() {
        assert_eq!(
            parse_expr("p(95)<200").unwrap(),
            (Agg::P(95.0), Op::Lt, 200.0)
        );
        assert_eq!(
            parse_expr("rate < 0.01").unwrap(),
            (Agg::Rate, Op::Lt, 0.01)
        );
        assert_eq!(parse_expr("count==0").unwrap(), (Agg::Count, Op::Eq, 0.0));
        assert_eq!(
            parse_expr("p(99.9)>=1").unwrap(),
            (Agg::P(99.9), Op::Ge, 1.0)
        );
        assert!(
            parse_expr("p95<200")
                .unwrap_err()
                .contains("unknown aggregation")
        );
        assert!(parse_expr("avg<").is_err());
        assert!(parse_expr("avg 200").is_err());
        assert!(parse_expr("p(101)<2").is_err());
    }
}
