//! One step: its common keys (id, name, weight, think time, checks,
//! extraction), then its call by kind.

use super::calls::{http, scalar, tcp, udp};
use super::text::{Defaults, Parts, typed};
use crate::checks::{Expect, Extract, Query};
use crate::error::{ScenarioError, field};
use crate::model::*;
use crate::template::{self, Escape, Template};

pub(super) fn step(
    at: &str,
    workload: usize,
    s: raw::Step,
    is_extension: &dyn Fn(&str) -> bool,
    known: &str,
    limits: &mut Defaults,
) -> Result<Step, ScenarioError> {
    let i = at
        .rsplit_once('[')
        .and_then(|(_, n)| n.trim_end_matches(']').parse::<usize>().ok())
        .unwrap_or(0);
    let id = s.id.unwrap_or_else(|| format!("step{}", i + 1));
    if id.trim().is_empty() {
        return Err(field(format!("{at}.id"), "must not be empty"));
    }
    if s.weight == Some(0) {
        return Err(field(
            format!("{at}.weight"),
            "must be at least 1 (remove the step to disable it)",
        ));
    }
    let params_at = format!("{at}.params");
    let mut parts = Parts::default();
    let call = match s.kind.as_str() {
        _ if s.script.is_some() => Call::Script(s.script.expect("checked")),
        "http" => Call::Http(http(
            &params_at,
            typed(&params_at, s.params)?,
            limits,
            &mut parts,
        )?),
        "tcp" => Call::Tcp(tcp(
            &params_at,
            typed(&params_at, s.params)?,
            limits,
            &mut parts,
        )?),
        "udp" => Call::Udp(udp(
            &params_at,
            typed(&params_at, s.params)?,
            &limits.names,
            &mut parts,
        )?),
        "grpc" => Call::Grpc(super::grpc::grpc(
            &params_at,
            typed(&params_at, s.params)?,
            s.expect_grpc_status.as_ref(),
            at,
            limits,
            &mut parts,
        )?),
        "ws" => Call::Ws(super::ws::ws(
            &params_at,
            typed(&params_at, s.params)?,
            s.timeout.map(|d| d.0).unwrap_or(DEFAULT_STEP_TIMEOUT),
            limits,
            &mut parts,
        )?),
        kind if is_extension(kind) => {
            let value =
                serde_json::to_value(&s.params).map_err(|e| field(&params_at, e.to_string()))?;
            let t = template::json(&value, &limits.names).map_err(|m| field(&params_at, m))?;
            Call::Extension {
                kind: kind.to_string(),
                params_json: parts.take(Part::Params, t, &limits.names),
            }
        }
        other => {
            let mut all = BUILTIN_KINDS.join(", ");
            if !known.is_empty() {
                all = format!("{all}, {known}");
            }
            return Err(field(
                format!("{at}.type"),
                format!("unknown step type {other:?} (known: {all})"),
            ));
        }
    };
    if s.assert_status.is_some() && !matches!(call, Call::Http(_)) {
        return Err(field(
            format!("{at}.assert_status"),
            "only http steps have a status",
        ));
    }
    if s.expect_grpc_status.is_some() && !matches!(call, Call::Grpc(_)) {
        return Err(field(
            format!("{at}.expect_grpc_status"),
            "only grpc steps have a grpc-status",
        ));
    }
    let timeout = s.timeout.map(|d| d.0).unwrap_or(DEFAULT_STEP_TIMEOUT);
    if timeout.is_zero() || timeout.as_millis() > u128::from(u32::MAX) {
        return Err(field(
            format!("{at}.timeout"),
            "must be between 1ms and 49 days",
        ));
    }
    let answers = matches!(
        call,
        Call::Http(_) | Call::Grpc(_) | Call::Ws(_) | Call::Extension { .. }
    );
    let mut queries = Vec::new();
    let mut extract = Vec::new();
    for (k, v) in s.extract {
        let name = k.as_str().unwrap_or_default().to_string();
        let rule_at = format!("{at}.extract.{name}");
        if !answers {
            return Err(field(
                rule_at,
                "only http, grpc, ws and extension steps answer extraction rules",
            ));
        }
        let rule: crate::checks::RawRule = serde_yaml::from_value(v)
            .map_err(|e| field(&rule_at, e.to_string().replace('\n', " ")))?;
        let query = rule.query().map_err(|m| field(&rule_at, m))?;
        let slot = limits
            .names
            .variables
            .iter()
            .position(|v| *v == name)
            .unwrap_or_default();
        extract.push(Extract {
            name,
            slot,
            query: queries.len(),
        });
        queries.push(query);
    }
    let mut expect = Expect::default();
    for (k, v) in s.expect_header {
        let name = scalar(&k).unwrap_or_default();
        let check_at = format!("{at}.expect_header.{name}");
        if !answers {
            return Err(field(
                check_at,
                "only http, grpc, ws and extension steps have headers",
            ));
        }
        let want = scalar(&v).ok_or_else(|| field(&check_at, "expected plain text"))?;
        let want =
            Template::parse(&want, Escape::Raw, &limits.names).map_err(|m| field(&check_at, m))?;
        expect.headers.push((name.clone(), want, queries.len()));
        queries.push(Query::Header(name));
    }
    for (k, v) in s.expect_json {
        let pointer = scalar(&k).unwrap_or_default();
        let check_at = format!("{at}.expect_json.{pointer}");
        if !answers {
            return Err(field(
                check_at,
                "only http, grpc, ws and extension steps answer JSON checks",
            ));
        }
        let pointer = crate::checks::pointer(pointer).map_err(|m| field(&check_at, m))?;
        let want = match &v {
            serde_yaml::Value::String(text) => Template::parse(text, Escape::Raw, &limits.names)
                .map_err(|m| field(&check_at, m))?,
            other => Template::fixed(
                serde_json::to_string(other).map_err(|e| field(&check_at, e.to_string()))?,
            ),
        };
        expect.json.push((pointer.clone(), want, queries.len()));
        queries.push(Query::Json(pointer));
    }
    expect.max_latency = match s.max_latency {
        Some(d) if d.0.is_zero() => {
            return Err(field(format!("{at}.max_latency"), "must be longer than 0s"));
        }
        d => d.map(|d| d.0),
    };
    Ok(Step {
        name: s.name.unwrap_or_else(|| id.clone()),
        id,
        workload,
        kind: s.kind,
        weight: s.weight.unwrap_or(1),
        think_time: s.think_time.unwrap_or_default(),
        timeout,
        expect_status: s.assert_status.unwrap_or_default(),
        call,
        queries,
        extract,
        expect,
        template: (!parts.0.0.is_empty()).then_some(parts.0),
    })
}
