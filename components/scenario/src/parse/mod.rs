//! YAML text → validated `Scenario`, with errors that name the field (and,
//! for YAML errors, the line and column).

pub use crate::error::ScenarioError;
use crate::error::field;
use crate::forms;
use step::step;
use text::Defaults;

mod calls;
mod grpc;
mod step;
mod text;
mod ws;
use crate::model::*;
use crate::template::{DataNames, Names, Ref};
use std::collections::BTreeMap;

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
    from_document(doc, is_extension, known, inputs)
}

/// The document tree of a scenario's text (YAML or JSON): what overrides
/// edit (`crate::overrides`) before `parse_tree` validates it.
pub fn tree(yaml: &str) -> Result<serde_yaml::Value, ScenarioError> {
    serde_yaml::from_str(yaml).map_err(|e| ScenarioError::Yaml(yaml_error(&e)))
}

/// Validates a document tree `tree` read from `text` (as `tree` gives it,
/// perhaps edited since). A shape error is reported as the text's own
/// parse reports it, with its line and column, when the text has it.
pub fn parse_tree(
    tree: serde_yaml::Value,
    text: &str,
    is_extension: &dyn Fn(&str) -> bool,
    known: &str,
    inputs: &mut Inputs,
) -> Result<Scenario, ScenarioError> {
    let doc: raw::Document =
        serde_yaml::from_value(tree).map_err(|e| {
            match serde_yaml::from_str::<raw::Document>(text) {
                Err(located) => ScenarioError::Yaml(yaml_error(&located)),
                Ok(_) => ScenarioError::Yaml(yaml_error(&e)),
            }
        })?;
    from_document(doc, is_extension, known, inputs)
}

/// Validates a document: the scenario model from the raw form.
fn from_document(
    mut doc: raw::Document,
    is_extension: &dyn Fn(&str) -> bool,
    known: &str,
    inputs: &mut Inputs,
) -> Result<Scenario, ScenarioError> {
    let data_decls = std::mem::take(&mut doc.data);
    let hooks = [
        (Hook::Setup, doc.setup.take()),
        (Hook::Teardown, doc.teardown.take()),
    ];
    let mut form = forms::normalize(doc)?;
    let (script, hooks) = script(&mut form, hooks)?;
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
        http_version: form.http_version,
        proxy: form.proxy,
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
        // A script reads any source (`data.row(NAME)`): it gets a row of each.
        workload.data = if script.is_some() {
            (0..data.len()).collect()
        } else {
            data_used(&workflow[range.clone()])
        };
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
    let step_owners: Vec<(&str, usize)> = workflow
        .iter()
        .map(|s| (s.id.as_str(), s.workload))
        .collect();
    let names: Vec<&str> = workloads.iter().map(|w| w.name.as_str()).collect();
    let thresholds =
        crate::thresholds::parse(form.thresholds, &names, &step_owners, script.is_some())?;
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
    let mut script = script;
    if let Some(s) = &mut script {
        let at = if form.id_at == "scenario.id" {
            "scenario.tls"
        } else {
            "tls"
        };
        s.tls = limits.tls_for(None, at, false)?;
        s.max_body = limits.max_body;
        s.env = inputs.env.clone().into_iter().collect();
    }
    Ok(Scenario {
        id: form.id,
        description: form.description,
        workloads,
        workflow,
        components: form.components,
        max_memory_per_user: form.limits.max_memory_per_user.map(|b| b.0),
        users_per_instance: form.limits.users_per_instance,
        tls: limits.configs,
        seed: form.seed,
        pool: form.pool,
        thresholds,
        variables,
        data,
        setup,
        teardown,
        shard: Default::default(),
        trace_user: None,
        script,
    })
}

type Hooks = [(Hook, Option<Vec<raw::Step>>); 2];

/// A script scenario's script, and the hooks that run its setup and
/// teardown (a script has both; YAML `setup:`/`teardown:` do not mix with
/// it). `destinations:` belongs to a script scenario only.
fn script(form: &mut forms::Form, hooks: Hooks) -> Result<(Option<Script>, Hooks), ScenarioError> {
    let destinations = form.destinations.take();
    let Some(file) = form.script.take() else {
        if let Some((_, at)) = destinations {
            return Err(field(
                at,
                "only a script scenario declares destinations (a workflow's are its steps' targets)",
            ));
        }
        return Ok((None, hooks));
    };
    for (hook, steps) in &hooks {
        if steps.is_some() {
            return Err(field(
                hook.name(),
                format!(
                    "a script scenario's {} is the script's own `{}` export",
                    hook.name(),
                    hook.name()
                ),
            ));
        }
    }
    if form.components.contains_key("script") {
        return Err(field(
            "components.script",
            "a script scenario names its script with `script:`",
        ));
    }
    form.components.insert("script".into(), file.clone());
    let original = form.id_at == "scenario.id";
    let at = if original {
        "scenario.destinations"
    } else {
        "destinations"
    };
    let (list, at) = destinations.unwrap_or((Vec::new(), at));
    if list.is_empty() {
        return Err(field(
            at,
            "a script scenario lists where its requests may go (\"host:port\", …): the egress allow-list",
        ));
    }
    let destinations = list
        .iter()
        .enumerate()
        .map(|(i, d)| Endpoint::parse(d).map_err(|m| field(format!("{at}[{i}]"), m)))
        .collect::<Result<_, _>>()?;
    let hooks = [
        (
            Hook::Setup,
            Some(vec![raw::Step::script(ScriptPart::Setup)]),
        ),
        (
            Hook::Teardown,
            Some(vec![raw::Step::script(ScriptPart::Teardown)]),
        ),
    ];
    let tls = None;
    Ok((
        Some(Script {
            file,
            destinations,
            tls,
            max_body: DEFAULT_MAX_KEEP,
            env: Vec::new(),
        }),
        hooks,
    ))
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
