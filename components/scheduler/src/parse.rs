//! YAML text → validated `Scenario`, with errors that name the field (and,
//! for YAML errors, the line and column).

use crate::checks::{Expect, Extract, Query};
use crate::forms;
use crate::model::*;
use crate::template::{self, DataNames, Escape, Names, Ref, Template};
use crate::tls::{TcpTls, TlsBlock, TlsConfig};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

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
/// extension slot handles besides the built-in http, tcp and udp. No
/// `--env` values; a `data:` source is an error (use `parse_with`).
pub fn parse(yaml: &str, extension_kinds: &[String]) -> Result<Scenario, ScenarioError> {
    parse_with(
        yaml,
        &|kind| extension_kinds.iter().any(|k| k == kind),
        &extension_kinds.join(", "),
        &mut Inputs::default(),
    )
}

/// Gives a `data:` source's fields (name, declaration).
pub type Columns<'a> = &'a mut dyn FnMut(&str, &crate::data::Decl) -> Result<Vec<String>, String>;

/// What a scenario is parsed with besides its text.
#[derive(Default)]
pub struct Inputs<'a> {
    /// `--env NAME=VALUE` values, for `${env.NAME}`.
    pub env: BTreeMap<String, String>,
    /// The fields of a `data:` source (name, declaration): whoever parses
    /// reads the file (the host, plain mode) or was given its fields (an
    /// instance the host feeds). None: data files are not available here.
    pub columns: Option<Columns<'a>>,
}

/// Like `parse`, with the extension kinds given as a predicate (`known`
/// names them for the error message). The host passes "any kind" and lets
/// the composed component's own `init` judge the kinds.
pub fn parse_with(
    yaml: &str,
    is_extension: &dyn Fn(&str) -> bool,
    known: &str,
    inputs: &mut Inputs,
) -> Result<Scenario, ScenarioError> {
    // JSON is YAML too; scheduler-host sends each user the JSON form, which
    // serde_json parses with a fraction of libyaml's memory per instance.
    let doc: raw::Document = if yaml.trim_start().starts_with('{') {
        serde_json::from_str(yaml).map_err(|e| ScenarioError::Yaml(format!("(JSON form) {e}")))?
    } else {
        serde_yaml::from_str(yaml).map_err(|e| ScenarioError::Yaml(yaml_error(&e)))?
    };
    let mut doc = doc;
    let data_decls = std::mem::take(&mut doc.data);
    let hooks = [
        (Hook::Setup, doc.setup.take()),
        (Hook::Teardown, doc.teardown.take()),
    ];
    let form = forms::normalize(doc)?;
    let data = data_sources(data_decls, inputs)?;
    let data_names: Vec<DataNames> = data
        .iter()
        .map(|d| DataNames {
            name: &d.name,
            file: &d.file,
            columns: &d.columns,
        })
        .collect();
    let (variables, setup_slots) = variables(&form, &hooks, &data)?;
    if form.id.trim().is_empty() {
        return Err(field(form.id_at, "must not be empty"));
    }
    let mut limits = Defaults {
        max_body: form.limits.max_body.map_or(DEFAULT_MAX_KEEP, |b| b.0),
        max_read: form.limits.max_read.map_or(DEFAULT_MAX_KEEP, |b| b.0),
        tls: form.tls,
        cookies: form.cookies.unwrap_or(true),
        configs: Vec::new(),
        names: Names {
            env: &inputs.env,
            variables: &variables,
            setup: &setup_slots,
            data: &data_names,
            in_hook: false,
        },
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
        if steps.len() > MAX_STEPS {
            return Err(field(
                steps_at,
                format!(
                    "{} steps; a workflow may have at most {MAX_STEPS}",
                    steps.len()
                ),
            ));
        }
        workload.weighted = steps.iter().any(|st| st.weight.is_some());
        let owner = Owner {
            workload: w,
            at: &steps_at,
        };
        let range = push_steps(
            &mut workflow,
            steps,
            owner,
            is_extension,
            known,
            &mut limits,
        )?;
        workload.name = name;
        workload.data = data_used(&workflow[range.clone()]);
        workload.steps = range;
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
    let mut ranges = [None, None];
    limits.names.in_hook = true;
    for (slot, (hook, steps)) in ranges.iter_mut().zip(hooks) {
        let Some(steps) = steps else { continue };
        let owner = Owner {
            workload: HOOK,
            at: hook.name(),
        };
        *slot = Some(push_steps(
            &mut workflow,
            steps,
            owner,
            is_extension,
            known,
            &mut limits,
        )?);
    }
    let [setup, teardown] = ranges;
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
        variables,
        data,
        setup,
        teardown,
        shard: Default::default(),
    })
}

/// Whose steps a list is: a workload's (or `HOOK`), written at `at`.
struct Owner<'a> {
    workload: usize,
    at: &'a str,
}

/// Parses one list of steps (a workload's, setup's or teardown's) onto the
/// end of `workflow`: at least one, no more than the file may have in all,
/// ids unique within the list. Returns where they landed.
fn push_steps(
    workflow: &mut Vec<Step>,
    steps: Vec<raw::Step>,
    owner: Owner,
    is_extension: &dyn Fn(&str) -> bool,
    known: &str,
    limits: &mut Defaults,
) -> Result<std::ops::Range<usize>, ScenarioError> {
    if steps.is_empty() {
        return Err(field(owner.at, "must list at least one step"));
    }
    if workflow.len() + steps.len() > MAX_STEPS {
        return Err(field(
            owner.at,
            format!("a scenario file may have at most {MAX_STEPS} steps in all"),
        ));
    }
    let begin = workflow.len();
    let mut ids = std::collections::HashSet::with_capacity(steps.len());
    for (i, raw) in steps.into_iter().enumerate() {
        let at = format!("{}[{i}]", owner.at);
        let step = step(&at, owner.workload, raw, is_extension, known, limits)?;
        if !ids.insert(step.id.clone()) {
            return Err(field(
                format!("{at}.id"),
                format!("duplicate step id {:?}", step.id),
            ));
        }
        workflow.push(step);
    }
    Ok(begin..workflow.len())
}

/// Reads each `data:` source's fields through `inputs`.
fn data_sources(
    decls: BTreeMap<String, crate::data::Decl>,
    inputs: &mut Inputs,
) -> Result<Vec<crate::data::Source>, ScenarioError> {
    let mut out = Vec::with_capacity(decls.len());
    for (name, decl) in decls {
        let at = format!("data.{name}");
        if !is_name(&name) || crate::template::RESERVED.contains(&name.as_str()) {
            return Err(field(
                at,
                "a data source's name is letters, digits and _ (not a built-in name)",
            ));
        }
        let Some(columns) = inputs.columns.as_mut() else {
            return Err(field(
                format!("{at}.file"),
                "data files are not available to this parse",
            ));
        };
        let columns = columns(&name, &decl).map_err(|m| field(format!("{at}.file"), m))?;
        out.push(crate::data::Source {
            name,
            file: decl.file,
            mode: decl.mode,
            columns,
        });
    }
    Ok(out)
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every variable some step extracts (their slots), and the slots setup
/// extracts.
fn variables(
    form: &forms::Form,
    hooks: &[(Hook, Option<Vec<raw::Step>>)],
    data: &[crate::data::Source],
) -> Result<(Vec<String>, Vec<usize>), ScenarioError> {
    let mut all: Vec<String> = Vec::new();
    let mut setup = Vec::new();
    let lists = form
        .workloads
        .iter()
        .map(|w| (None, w.steps_at.clone(), &w.steps))
        .chain(
            hooks
                .iter()
                .filter_map(|(h, s)| s.as_ref().map(|s| (Some(*h), h.name().to_string(), s))),
        );
    for (hook, at, steps) in lists {
        for (i, st) in steps.iter().enumerate() {
            for k in st.extract.keys() {
                let name = k.as_str().unwrap_or_default();
                if !is_name(name)
                    || crate::template::RESERVED.contains(&name)
                    || data.iter().any(|d| d.name == name)
                {
                    return Err(field(
                        format!("{at}[{i}].extract"),
                        format!(
                            "{k:?}: a variable's name is letters, digits and _, and not a built-in or data source name"
                        ),
                    ));
                }
                let slot = match all.iter().position(|v| v == name) {
                    Some(s) => s,
                    None => {
                        all.push(name.to_string());
                        all.len() - 1
                    }
                };
                if hook == Some(Hook::Setup) && !setup.contains(&slot) {
                    setup.push(slot);
                }
            }
        }
    }
    Ok((all, setup))
}

/// The data sources steps' templates name.
fn data_used(steps: &[Step]) -> Vec<usize> {
    let mut out: Vec<usize> = steps
        .iter()
        .flat_map(|s| {
            let call = s.template.iter().flat_map(|t| t.0.iter().map(|(_, t)| t));
            let expect = s
                .expect
                .headers
                .iter()
                .chain(&s.expect.json)
                .map(|(_, t, _)| t);
            call.chain(expect)
                .flat_map(|t| t.refs())
                .filter_map(|r| match r {
                    Ref::Data { source, .. } => Some(*source),
                    _ => None,
                })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Most users a scenario file may ask for in all (each is an instance).
pub const MAX_USERS: u32 = 1_000_000;

/// Scenario-wide values a step's params fall back to, the distinct TLS
/// configurations found so far, and the names templates may use.
struct Defaults<'a> {
    max_body: u64,
    max_read: u64,
    tls: Option<TlsBlock>,
    cookies: bool,
    configs: Vec<TlsConfig>,
    names: Names<'a>,
}

impl Defaults<'_> {
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
    let mut parts = Parts::default();
    let call = match s.kind.as_str() {
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
    let timeout = s.timeout.map(|d| d.0).unwrap_or(DEFAULT_STEP_TIMEOUT);
    if timeout.is_zero() || timeout.as_millis() > u128::from(u32::MAX) {
        return Err(field(
            format!("{at}.timeout"),
            "must be between 1ms and 49 days",
        ));
    }
    let answers = matches!(call, Call::Http(_) | Call::Extension { .. });
    let mut queries = Vec::new();
    let mut extract = Vec::new();
    for (k, v) in s.extract {
        let name = k.as_str().unwrap_or_default().to_string();
        let rule_at = format!("{at}.extract.{name}");
        if !answers {
            return Err(field(
                rule_at,
                "only http and extension steps answer extraction rules",
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
                "only http and extension steps have headers",
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
                "only http and extension steps answer JSON checks",
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
        think_time: s.think_time.map(|d| d.0).unwrap_or_default(),
        timeout,
        expect_status: s.assert_status.unwrap_or_default(),
        call,
        queries,
        extract,
        expect,
        template: (!parts.0.0.is_empty()).then_some(parts.0),
    })
}

/// The templated parts of a call being parsed.
#[derive(Default)]
struct Parts(CallTemplate);

impl Parts {
    /// The text the call holds for `part`: `t` itself when fixed; otherwise
    /// the template is kept for rendering and the call holds a readable
    /// placeholder (`${name}`), which validation and egress rules see.
    fn take(&mut self, part: Part, t: Template, names: &Names) -> String {
        if let Some(fixed) = t.as_fixed() {
            return fixed.to_string();
        }
        let shown = t
            .render(&mut Placeholder(names))
            .map(|c| c.into_owned())
            .unwrap_or_default();
        self.0.0.push((part, t));
        shown
    }
}

/// Writes each reference as it was written.
struct Placeholder<'a, 'b>(&'a Names<'b>);

impl template::Scope for Placeholder<'_, '_> {
    fn write(&mut self, r: &Ref, out: &mut String) -> Result<(), String> {
        let n = self.0;
        let name = match r {
            Ref::Vu => "vu".into(),
            Ref::Iteration => "iteration".into(),
            Ref::Scenario => "scenario".into(),
            Ref::Uuid => "uuid".into(),
            Ref::NowMs => "now_ms".into(),
            Ref::RandomInt(a, b) => format!("random_int({a},{b})"),
            Ref::RandomString(len) => format!("random_string({len})"),
            Ref::Setup(slot) => format!("setup.{}", n.variables[*slot]),
            Ref::Var(slot) => n.variables[*slot].clone(),
            Ref::Data { source, column } => {
                let d = &n.data[*source];
                format!("{}.{}", d.name, d.columns[*column])
            }
        };
        out.push_str("${");
        out.push_str(&name);
        out.push('}');
        Ok(())
    }
}

/// Text that may use `${env.*}` but nothing that varies during the run
/// (targets decide egress rules, which are fixed before it starts).
fn fixed_text(at: &str, text: &str, names: &Names) -> Result<String, ScenarioError> {
    let t = Template::parse(text, Escape::Raw, names).map_err(|m| field(at, m))?;
    t.as_fixed().map(str::to_string).ok_or_else(|| {
        field(
            at,
            "may use ${env.NAME} but no variable: where a step sends is fixed before the run (egress rules)",
        )
    })
}

fn text_template(at: &str, text: &str, names: &Names) -> Result<Template, ScenarioError> {
    Template::parse(text, Escape::Raw, names).map_err(|m| field(at, m))
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

fn http(
    at: &str,
    p: HttpParams,
    limits: &mut Defaults,
    parts: &mut Parts,
) -> Result<HttpCall, ScenarioError> {
    let names = &limits.names;
    let method = fixed_text(
        &format!("{at}.method"),
        p.method.as_deref().unwrap_or("GET"),
        names,
    )?
    .to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(field(
            format!("{at}.method"),
            format!("{method:?} is not an HTTP method"),
        ));
    }
    let url_at = format!("{at}.url");
    let (url_part, fragment) = match p.url.split_once('#') {
        Some((u, f)) if p.query.is_some() => (u, Some(f)),
        _ => (p.url.as_str(), None),
    };
    let mut url = text_template(&url_at, url_part, names)?;
    if let Some(query) = &p.query {
        let pairs = pairs(&format!("{at}.query"), query)?;
        let sep = if url_part.contains('?') { "&" } else { "?" };
        url.append(Template::fixed(sep));
        url.append(template::form(&pairs, names).map_err(|m| field(format!("{at}.query"), m))?);
        if let Some(f) = fragment {
            url.append(Template::fixed(format!("#{f}")));
        }
    }
    // The origin must be known before the run: egress rules are made from it.
    let origin_known = match url.as_fixed() {
        Some(u) => Endpoint::from_url(u).is_some(),
        None => {
            let prefix = url.prefix();
            Endpoint::from_url(prefix).is_some()
                && prefix
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.contains(['/', '?', '#']))
        }
    };
    if !origin_known {
        let shown = url.as_fixed().map_or_else(|| p.url.clone(), str::to_string);
        let why = if url.as_fixed().is_some() {
            "expected http[s]://host[:port]/path"
        } else {
            "expected http[s]://host[:port]/path, whose scheme, host and port use no variable but ${env.NAME} (egress rules are fixed before the run)"
        };
        return Err(field(url_at, format!("{shown:?}: {why}")));
    }
    let https = url.prefix().starts_with("https:");
    let url = parts.take(Part::Url, url, names);
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
        let value_at = format!("{at}.headers.{k}");
        if v.contains(['\r', '\n']) {
            return Err(field(value_at, "value must not contain line breaks"));
        }
        let t = text_template(&value_at, &v, names)?;
        let shown = parts.take(Part::Header(headers.len()), t, names);
        headers.push((k, shown));
    }
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let body = match (p.body, p.json, p.form) {
        (Some(b), None, None) => Some(text_template(&format!("{at}.body"), &b, names)?),
        (None, Some(json), None) => {
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(template::json(&json, names).map_err(|m| field(format!("{at}.json"), m))?)
        }
        (None, None, Some(form)) => {
            if !has(&headers, "content-type") {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            let pairs = pairs(&format!("{at}.form"), &form)?;
            Some(template::form(&pairs, names).map_err(|m| field(format!("{at}.form"), m))?)
        }
        (None, None, None) => None,
        _ => return Err(field(at, "set one of body, json, form")),
    };
    let body = body.map(|t| parts.take(Part::Body, t, names).into_bytes());
    if let Some(auth) = p.basic_auth {
        if has(&headers, "authorization") {
            return Err(field(
                format!("{at}.basic_auth"),
                "the headers already set Authorization",
            ));
        }
        let user = fixed_text(&format!("{at}.basic_auth.user"), &auth.user, names)?;
        let password = fixed_text(&format!("{at}.basic_auth.password"), &auth.password, names)?;
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.push(("Authorization".into(), format!("Basic {token}")));
    }
    let expect_body = match p.expect_body {
        Some(e) => {
            let t = text_template(&format!("{at}.expect_body"), &e, names)?;
            Some(parts.take(Part::ExpectBody, t, names).into_bytes())
        }
        None => None,
    };
    let tls = limits.tls_for(p.tls.as_ref(), &format!("{at}.tls"), false)?;
    Ok(HttpCall {
        method,
        url,
        headers,
        body,
        expect_body,
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

fn tcp(
    at: &str,
    p: TcpParams,
    limits: &mut Defaults,
    parts: &mut Parts,
) -> Result<TcpCall, ScenarioError> {
    let max_read = p.max_read.map_or(limits.max_read, |b| b.0);
    if let Some(n) = p.read_bytes.filter(|n| u64::from(*n) > max_read) {
        return Err(field(
            format!("{at}.read_bytes"),
            format!("{n} is more than max_read ({max_read} bytes): raise max_read"),
        ));
    }
    let names = &limits.names;
    let target = target(at, &p.target, names)?;
    let payload = payload(at, p.payload, p.payload_hex, names, parts)?;
    let expect = expect(at, p.expect, names, parts)?;
    let read_until = match p.read_until {
        Some(d) => Some(fixed_text(&format!("{at}.read_until"), &d, names)?),
        None => None,
    };
    let read = match (p.read_bytes, read_until, p.read_until_close) {
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

fn udp(at: &str, p: UdpParams, names: &Names, parts: &mut Parts) -> Result<UdpCall, ScenarioError> {
    let target = target(at, &p.target, names)?;
    let payload = payload(at, p.payload, p.payload_hex, names, parts)?;
    let await_reply = p.await_reply.unwrap_or(true);
    if !await_reply && p.expect.is_some() {
        return Err(field(format!("{at}.expect"), "needs await_reply: true"));
    }
    Ok(UdpCall {
        target,
        payload,
        await_reply,
        expect: expect(at, p.expect, names, parts)?,
    })
}

fn target(at: &str, t: &str, names: &Names) -> Result<Endpoint, ScenarioError> {
    let at = format!("{at}.target");
    let t = fixed_text(&at, t, names)?;
    Endpoint::parse(&t).map_err(|m| field(at, m))
}

fn expect(
    at: &str,
    e: Option<String>,
    names: &Names,
    parts: &mut Parts,
) -> Result<Option<Vec<u8>>, ScenarioError> {
    let Some(e) = e else { return Ok(None) };
    let t = text_template(&format!("{at}.expect"), &e, names)?;
    Ok(Some(parts.take(Part::Expect, t, names).into_bytes()))
}

fn payload(
    at: &str,
    text: Option<String>,
    hex: Option<String>,
    names: &Names,
    parts: &mut Parts,
) -> Result<Vec<u8>, ScenarioError> {
    match (text, hex) {
        (Some(_), Some(_)) => Err(field(at, "set payload or payload_hex, not both")),
        (Some(t), None) => {
            let t = text_template(&format!("{at}.payload"), &t, names)?;
            Ok(parts.take(Part::Payload, t, names).into_bytes())
        }
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
