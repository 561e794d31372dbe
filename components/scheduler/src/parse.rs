//! YAML text → validated `Scenario`, with errors that name the field (and,
//! for YAML errors, the line and column).

use crate::forms;
use crate::model::*;
use crate::tls::{TcpTls, TlsBlock, TlsConfig};
use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScenarioError {
    /// Syntax or shape error from the YAML parser, with its location.
    #[error("scenario YAML: {0}")]
    Yaml(String),
    /// A semantic error in a named field.
    #[error("scenario field {field}: {message}")]
    Field { field: String, message: String },
}

fn field(field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Field {
        field: field.into(),
        message: message.into(),
    }
}

/// Parses and validates a scenario. `extension_kinds` are the step types the
/// extension slot handles besides the built-in http, tcp and udp.
pub fn parse(yaml: &str, extension_kinds: &[String]) -> Result<Scenario, ScenarioError> {
    parse_with(
        yaml,
        &|kind| extension_kinds.iter().any(|k| k == kind),
        &extension_kinds.join(", "),
    )
}

/// Like `parse`, with the extension kinds given as a predicate (`known`
/// names them for the error message). The host passes "any kind" and lets
/// the composed component's own `init` judge the kinds.
pub fn parse_with(
    yaml: &str,
    is_extension: &dyn Fn(&str) -> bool,
    known: &str,
) -> Result<Scenario, ScenarioError> {
    // JSON is YAML too; scheduler-host sends each user the JSON form, which
    // serde_json parses with a fraction of libyaml's memory per instance.
    let doc: raw::Document = if yaml.trim_start().starts_with('{') {
        serde_json::from_str(yaml).map_err(|e| ScenarioError::Yaml(format!("(JSON form) {e}")))?
    } else {
        serde_yaml::from_str(yaml).map_err(|e| ScenarioError::Yaml(yaml_error(&e)))?
    };
    let form = forms::normalize(doc)?;
    if form.id.trim().is_empty() {
        return Err(field(form.id_at, "must not be empty"));
    }
    let mut limits = Defaults {
        max_body: form.limits.max_body.map_or(DEFAULT_MAX_KEEP, |b| b.0),
        max_read: form.limits.max_read.map_or(DEFAULT_MAX_KEEP, |b| b.0),
        tls: form.tls,
        cookies: form.cookies.unwrap_or(true),
        configs: Vec::new(),
    };
    let mut workloads = Vec::with_capacity(form.workloads.len());
    let mut workflow = Vec::new();
    let mut first_vu = 0u32;
    for (w, named) in form.workloads.into_iter().enumerate() {
        let forms::Named {
            name,
            mut workload,
            steps,
            steps_at,
        } = named;
        if steps.is_empty() {
            return Err(field(steps_at, "must list at least one step"));
        }
        if steps.len() > MAX_STEPS {
            return Err(field(
                steps_at,
                format!(
                    "{} steps; a workflow may have at most {MAX_STEPS}",
                    steps.len()
                ),
            ));
        }
        if workflow.len() + steps.len() > MAX_STEPS {
            return Err(field(
                steps_at,
                format!("a scenario file may have at most {MAX_STEPS} steps in all"),
            ));
        }
        let begin = workflow.len();
        let mut ids = std::collections::HashSet::with_capacity(steps.len());
        workload.weighted = steps.iter().any(|st| st.weight.is_some());
        for (i, raw) in steps.into_iter().enumerate() {
            let at = format!("{steps_at}[{i}]");
            let step = step(&at, w, raw, is_extension, known, &mut limits)?;
            if !ids.insert(step.id.clone()) {
                return Err(field(
                    format!("{at}.id"),
                    format!("duplicate step id {:?}", step.id),
                ));
            }
            workflow.push(step);
        }
        workload.name = name;
        workload.steps = begin..workflow.len();
        workload.first_vu = first_vu;
        first_vu = first_vu
            .checked_add(workload.max_vus())
            .filter(|n| *n <= MAX_USERS)
            .ok_or_else(|| {
                field(
                    &form.users_at,
                    format!("more than {MAX_USERS} users in all"),
                )
            })?;
        workloads.push(workload);
    }
    let thresholds = crate::thresholds::parse(form.thresholds, &workloads, &workflow)?;
    Ok(Scenario {
        id: form.id,
        description: form.description,
        workloads,
        workflow,
        components: form.components,
        max_memory_per_user: form.limits.max_memory_per_user.map(|b| b.0),
        tls: limits.configs,
        seed: form.seed,
        pool: form.pool,
        thresholds,
    })
}

/// Most users a scenario file may ask for in all (each is an instance).
pub const MAX_USERS: u32 = 1_000_000;

/// Scenario-wide values a step's params fall back to, and the distinct TLS
/// configurations found so far.
struct Defaults {
    max_body: u64,
    max_read: u64,
    tls: Option<TlsBlock>,
    cookies: bool,
    configs: Vec<TlsConfig>,
}

impl Defaults {
    /// The index of `step`'s TLS configuration (the scenario's block with
    /// the step's over it); none when neither sets anything.
    fn tls_for(
        &mut self,
        step: Option<&TlsBlock>,
        at: &str,
        always: bool,
    ) -> Result<Option<usize>, ScenarioError> {
        if !always && step.is_none() && self.tls.is_none() {
            return Ok(None);
        }
        let config = TlsConfig::merge(self.tls.as_ref(), step, at)?;
        Ok(Some(match self.configs.iter().position(|c| *c == config) {
            Some(i) => i,
            None => {
                self.configs.push(config);
                self.configs.len() - 1
            }
        }))
    }
}

/// serde_yaml puts "at line L column C" in its message; keep it on one line.
fn yaml_error(e: &serde_yaml::Error) -> String {
    let msg = e.to_string().replace('\n', " ");
    match e.location() {
        Some(l) if !msg.contains("line") => {
            format!("{msg} at line {} column {}", l.line(), l.column())
        }
        _ => msg,
    }
}

fn step(
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
    let call = match s.kind.as_str() {
        "http" => Call::Http(http(&params_at, typed(&params_at, s.params)?, limits)?),
        "tcp" => Call::Tcp(tcp(&params_at, typed(&params_at, s.params)?, limits)?),
        "udp" => Call::Udp(udp(&params_at, typed(&params_at, s.params)?)?),
        kind if is_extension(kind) => Call::Extension {
            kind: kind.to_string(),
            params_json: serde_json::to_string(&s.params)
                .map_err(|e| field(&params_at, e.to_string()))?,
        },
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
    let timeout = s.timeout.map(|d| d.0).unwrap_or(DEFAULT_STEP_TIMEOUT);
    if timeout.is_zero() || timeout.as_millis() > u128::from(u32::MAX) {
        return Err(field(
            format!("{at}.timeout"),
            "must be between 1ms and 49 days",
        ));
    }
    Ok(Step {
        name: s.name.unwrap_or_else(|| id.clone()),
        id,
        workload,
        kind: s.kind,
        weight: s.weight.unwrap_or(1),
        think_time: s.think_time.map(|d| d.0).unwrap_or_default(),
        timeout,
        expect_status: s.assert_status.unwrap_or_default(),
        call,
    })
}

/// Deserializes a step's `params` into the kind's typed parameters.
fn typed<T: DeserializeOwned>(at: &str, v: serde_yaml::Value) -> Result<T, ScenarioError> {
    let v = if v.is_null() {
        serde_yaml::Value::Mapping(Default::default())
    } else {
        v
    };
    T::deserialize(v).map_err(|e| field(at, e.to_string().replace('\n', " ")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpParams {
    #[serde(default)]
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: serde_yaml::Mapping,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    expect_body: Option<String>,
    #[serde(default)]
    max_body: Option<crate::bytesize::ByteSize>,
    #[serde(default)]
    max_redirects: Option<u32>,
    #[serde(default)]
    tls: Option<TlsBlock>,
    /// A body serialized as JSON (sets Content-Type: application/json).
    #[serde(default)]
    json: Option<serde_json::Value>,
    /// A body urlencoded from this map (sets Content-Type).
    #[serde(default)]
    form: Option<serde_yaml::Mapping>,
    /// Appended to the URL's query, urlencoded.
    #[serde(default)]
    query: Option<serde_yaml::Mapping>,
    #[serde(default)]
    basic_auth: Option<BasicAuth>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicAuth {
    user: String,
    #[serde(default)]
    password: String,
}

fn http(at: &str, p: HttpParams, limits: &mut Defaults) -> Result<HttpCall, ScenarioError> {
    let method = p
        .method
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(field(
            format!("{at}.method"),
            format!("{method:?} is not an HTTP method"),
        ));
    }
    if Endpoint::from_url(&p.url).is_none() {
        return Err(field(
            format!("{at}.url"),
            format!("{:?}: expected http[s]://host[:port]/path", p.url),
        ));
    }
    let mut url = p.url;
    if let Some(query) = &p.query {
        let pairs = pairs(&format!("{at}.query"), query)?;
        let mut enc = form_urlencoded::Serializer::new(String::new());
        enc.extend_pairs(pairs);
        let (url_part, fragment) = match url.split_once('#') {
            Some((u, f)) => (u.to_string(), Some(f.to_string())),
            None => (url.clone(), None),
        };
        let sep = if url_part.contains('?') { '&' } else { '?' };
        url = format!("{url_part}{sep}{}", enc.finish());
        if let Some(f) = fragment {
            url = format!("{url}#{f}");
        }
    }
    let mut headers = Vec::new();
    for (k, v) in p.headers {
        let (Some(k), Some(v)) = (scalar(&k), scalar(&v)) else {
            return Err(field(
                format!("{at}.headers"),
                "names and values must be plain text",
            ));
        };
        if k.is_empty() || k.bytes().any(|b| b <= b' ' || b == b':' || b >= 0x7f) {
            return Err(field(
                format!("{at}.headers"),
                format!("{k:?} is not a valid header name"),
            ));
        }
        if v.contains(['\r', '\n']) {
            return Err(field(
                format!("{at}.headers.{k}"),
                "value must not contain line breaks",
            ));
        }
        headers.push((k, v));
    }
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let body = match (p.body, p.json, p.form) {
        (Some(b), None, None) => Some(b.into_bytes()),
        (None, Some(json), None) => {
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(
                serde_json::to_vec(&json)
                    .map_err(|e| field(format!("{at}.json"), e.to_string()))?,
            )
        }
        (None, None, Some(form)) => {
            if !has(&headers, "content-type") {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            let mut enc = form_urlencoded::Serializer::new(String::new());
            enc.extend_pairs(pairs(&format!("{at}.form"), &form)?);
            Some(enc.finish().into_bytes())
        }
        (None, None, None) => None,
        _ => return Err(field(at, "set one of body, json, form")),
    };
    if let Some(auth) = p.basic_auth {
        if has(&headers, "authorization") {
            return Err(field(
                format!("{at}.basic_auth"),
                "the headers already set Authorization",
            ));
        }
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", auth.user, auth.password));
        headers.push(("Authorization".into(), format!("Basic {token}")));
    }
    let https = url.starts_with("https:");
    let tls = limits.tls_for(p.tls.as_ref(), &format!("{at}.tls"), false)?;
    Ok(HttpCall {
        method,
        url,
        headers,
        body,
        expect_body: p.expect_body.map(String::into_bytes),
        max_body: p.max_body.map_or(limits.max_body, |b| b.0),
        // A plain http:// step needs no client unless it may redirect to https.
        tls: tls.filter(|_| https || p.max_redirects != Some(0)),
        max_redirects: p.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS),
        cookies: limits.cookies,
    })
}

/// A map of plain values as (name, value) pairs, for query strings and forms.
fn pairs(at: &str, map: &serde_yaml::Mapping) -> Result<Vec<(String, String)>, ScenarioError> {
    map.iter()
        .map(|(k, v)| match (scalar(k), scalar(v)) {
            (Some(k), Some(v)) => Ok((k, v)),
            _ => Err(field(at, "names and values must be plain text or numbers")),
        })
        .collect()
}

fn scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TcpParams {
    target: String,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    payload_hex: Option<String>,
    #[serde(default)]
    read_bytes: Option<u32>,
    #[serde(default)]
    read_until: Option<String>,
    #[serde(default)]
    read_until_close: bool,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default)]
    max_read: Option<crate::bytesize::ByteSize>,
    /// `true` (the scenario's `tls:` settings) or a block of its own.
    #[serde(default)]
    tls: Option<TcpTls>,
}

fn tcp(at: &str, p: TcpParams, limits: &mut Defaults) -> Result<TcpCall, ScenarioError> {
    let max_read = p.max_read.map_or(limits.max_read, |b| b.0);
    if let Some(n) = p.read_bytes.filter(|n| u64::from(*n) > max_read) {
        return Err(field(
            format!("{at}.read_bytes"),
            format!("{n} is more than max_read ({max_read} bytes): raise max_read"),
        ));
    }
    let target = target(at, &p.target)?;
    let payload = payload(at, p.payload, p.payload_hex)?;
    let expect = p.expect.map(String::into_bytes);
    let read = match (p.read_bytes, p.read_until, p.read_until_close) {
        (None, None, false) => match &expect {
            // Read until the expected bytes show up (or the step times out).
            Some(e) => ReadMode::Delimiter(e.clone()),
            None => ReadMode::None,
        },
        (Some(0), None, false) => {
            return Err(field(format!("{at}.read_bytes"), "must be at least 1"));
        }
        (Some(n), None, false) => ReadMode::Bytes(n),
        (None, Some(d), false) if !d.is_empty() => ReadMode::Delimiter(d.into_bytes()),
        (None, Some(_), false) => {
            return Err(field(format!("{at}.read_until"), "must not be empty"));
        }
        (None, None, true) => ReadMode::UntilClose,
        _ => {
            return Err(field(
                at,
                "set at most one of read_bytes, read_until, read_until_close",
            ));
        }
    };
    let tls = match &p.tls {
        None | Some(TcpTls::On(false)) => None,
        Some(TcpTls::On(true)) => limits.tls_for(None, &format!("{at}.tls"), true)?,
        Some(TcpTls::Block(b)) => limits.tls_for(Some(b), &format!("{at}.tls"), true)?,
    };
    Ok(TcpCall {
        target,
        payload,
        read,
        expect,
        max_read,
        tls,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UdpParams {
    target: String,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    payload_hex: Option<String>,
    #[serde(default)]
    await_reply: Option<bool>,
    #[serde(default)]
    expect: Option<String>,
}

fn udp(at: &str, p: UdpParams) -> Result<UdpCall, ScenarioError> {
    let target = target(at, &p.target)?;
    let payload = payload(at, p.payload, p.payload_hex)?;
    let await_reply = p.await_reply.unwrap_or(true);
    if !await_reply && p.expect.is_some() {
        return Err(field(format!("{at}.expect"), "needs await_reply: true"));
    }
    Ok(UdpCall {
        target,
        payload,
        await_reply,
        expect: p.expect.map(String::into_bytes),
    })
}

fn target(at: &str, t: &str) -> Result<Endpoint, ScenarioError> {
    Endpoint::parse(t).map_err(|m| field(format!("{at}.target"), m))
}

fn payload(at: &str, text: Option<String>, hex: Option<String>) -> Result<Vec<u8>, ScenarioError> {
    match (text, hex) {
        (Some(_), Some(_)) => Err(field(at, "set payload or payload_hex, not both")),
        (Some(t), None) => Ok(t.into_bytes()),
        (None, Some(h)) => decode_hex(&h)
            .ok_or_else(|| field(format!("{at}.payload_hex"), format!("{h:?} is not hex"))),
        (None, None) => Ok(Vec::new()),
    }
}

fn decode_hex(h: &str) -> Option<Vec<u8>> {
    let h: String = h.chars().filter(|c| !c.is_whitespace()).collect();
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}
