//! The scheduler as a component: the exports (`run-scenario`, `vu`,
//! `wasi:cli/run`) over the bindings (`bindings`), the conversions
//! (`convert`), the checks before users run (`setup`) and the `Actions`
//! impl over the imported action slots (`slots`).

use crate::workflow::Vu;
use convert::{ip, wit_endpoint, wit_sample};
use scenario::model::Hook;
use setup::{
    check, check_network, check_pool, destinations, given_columns, given_files, parse, read_files,
};
use slots::Slots;
use std::cell::RefCell;
use std::rc::Rc;

use bindings::exports::scheduler::main::vu as wit_vu;
use bindings::scheduler::actions::extension;

mod bindings;
mod cell;
mod convert;
mod poll;
mod script;
mod setup;
mod slots;

struct Component;

/// Plain mode's run, with files relative to `base` (data files are read
/// here, once, and held in this one instance for every user).
fn run_plain(scenario_yaml: &str, base: &std::path::Path) -> Result<(String, Verdict), String> {
    let mut tables = Vec::new();
    // `${env.NAME}`: what the runtime was told to pass (`wasmtime run --env
    // NAME=VALUE`); a component sees no other environment.
    let env: Vec<(String, String)> = std::env::vars().collect();
    let mut scenario = check(scenario_yaml, &env, &mut |_, decl| {
        let file = std::fs::File::open(base.join(&decl.file)).map_err(|e| {
            format!(
                "data file {}: cannot read it: {e} (plain mode reads files through `wasmtime run --dir DIR`)",
                decl.file
            )
        })?;
        let table = scenario::data::parse(&decl.file, file)?;
        let columns = table.columns.clone();
        tables.push(std::sync::Arc::new(table));
        Ok(columns)
    })?;
    // A script scenario's script is the one composed into this file (the
    // `script` slot: `wac compose --dep component:script=FILE`).
    let composed = |slot: &str| scenario.script.is_some() && slot == "script";
    if let Some(slot) = scenario.components.keys().find(|s| !composed(s)) {
        return Err(format!(
            "scenario field scenario.components.{slot}: plain mode runs the actions composed into this file; plug components with scheduler-host or wac"
        ));
    }
    if let Some(t) = scenario.thresholds.iter().find(|t| t.abort_on_fail) {
        return Err(format!(
            "scenario field thresholds.{}: abort_on_fail needs live evaluation, which scheduler-host does; plain mode judges thresholds at the end",
            t.key
        ));
    }
    check_network()?;
    check_pool(&scenario)?;
    let material = read_files(&mut scenario, base)?;
    let slots = Slots::new(material);
    slots.check_tls()?;
    slots.check_grpc(&scenario)?;
    if scenario.skips_tls_verification() {
        eprintln!("warning: insecure_skip_verify is on: TLS certificates are not verified");
    }
    let rows = scenario.rows(tables);
    let report = crate::local::run(scenario, &slots, &rows);
    let verdict = if let Some(why) = &report.setup_failed {
        Verdict::SetupFailed(why.clone())
    } else if report.thresholds_passed() {
        Verdict::Passed
    } else {
        Verdict::ThresholdsFailed
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    Ok((json, verdict))
}

/// How a plain-mode run ended.
enum Verdict {
    Passed,
    ThresholdsFailed,
    SetupFailed(String),
}

impl bindings::Guest for Component {
    fn run_scenario(scenario_yaml: String) -> Result<String, String> {
        // The verdict is in the JSON (`thresholds`): an export returns data.
        run_plain(&scenario_yaml, std::path::Path::new(".")).map(|r| r.0)
    }
}

thread_local! {
    /// This instance's virtual user and its action slots, once `init` succeeded.
    static VU: RefCell<Option<(Vu, Slots)>> = const { RefCell::new(None) };
}

impl wit_vu::Guest for Component {
    fn check(
        scenario_yaml: String,
        inputs: wit_vu::Inputs,
    ) -> Result<wit_vu::ScenarioNeeds, String> {
        let wit_vu::Inputs { files, env, data } = inputs;
        let mut scenario = check(&scenario_yaml, &env, &mut given_columns(&data))?;
        let needed = scenario.files();
        if !needed.is_empty() && needed.iter().all(|n| files.iter().any(|f| f.path == *n)) {
            let material = given_files(&mut scenario, files)?;
            material
                .iter()
                .try_for_each(scenario::tls::TlsMaterial::check)
                .map_err(|e| format!("scenario file {e}"))?;
            let slots = Slots::new(material);
            slots.check_tls()?;
            slots.check_grpc(&scenario)?;
        }
        Ok(wit_vu::ScenarioNeeds {
            destinations: destinations(&scenario).iter().map(wit_endpoint).collect(),
            extension_kinds: extension::kinds(),
            files: scenario.files(),
        })
    }

    fn init(
        scenario_yaml: String,
        inputs: wit_vu::Inputs,
        user: wit_vu::User,
    ) -> Result<u32, String> {
        let wit_vu::Inputs { files, env, data } = inputs;
        let mut scenario = parse(&scenario_yaml, &env, &mut given_columns(&data))?;
        let slots = Slots::new(given_files(&mut scenario, files)?);
        let scenario = Rc::new(scenario);
        // The host chose the user's source address (`IpPool::for_vu`).
        let mut vu = match user.role {
            wit_vu::Role::User(index) => Vu::new(scenario, index, user.source_ip.map(ip)),
            wit_vu::Role::Setup => {
                Vu::hook(scenario, Hook::Setup).ok_or("the scenario has no setup:")?
            }
            wit_vu::Role::Teardown => {
                Vu::hook(scenario, Hook::Teardown).ok_or("the scenario has no teardown:")?
            }
        };
        vu.set_setup(user.setup);
        let first = vu.upcoming_step();
        VU.with(|v| *v.borrow_mut() = Some((vu, slots)));
        Ok(first)
    }

    fn variables() -> Vec<(String, String)> {
        VU.with(|v| {
            v.borrow()
                .as_ref()
                .map(|(vu, _)| vu.variables())
                .unwrap_or_default()
        })
    }

    fn next_step(rows: Vec<wit_vu::DataRow>) -> wit_vu::StepReport {
        VU.with(|v| {
            let mut v = v.borrow_mut();
            let (vu, slots) = v
                .as_mut()
                .expect("vu.next-step called before a successful vu.init");
            for row in rows {
                vu.set_row(row.source as usize, row.values);
            }
            let r = crate::reactor::block_on(&*slots, vu.next_step(&*slots));
            wit_vu::StepReport {
                samples: r.samples.into_iter().map(wit_sample).collect(),
                think_time: contract::wit::nanos(r.think_time),
                iteration_done: r.iteration_done,
                next_step: r.next_step,
            }
        })
    }
}

impl bindings::exports::scheduler::main::cell::Guest for Component {
    fn init(
        scenario_yaml: String,
        inputs: wit_vu::Inputs,
        spec: bindings::exports::scheduler::main::cell::Spec,
    ) -> Result<(), String> {
        cell::init(scenario_yaml, inputs, spec)
    }

    fn run(
        now: u64,
        span: u64,
        stop: u64,
        grace: u64,
    ) -> bindings::exports::scheduler::main::cell::Batch {
        cell::run(now, span, stop, grace)
    }
}

bindings::export!(Component with_types_in bindings);

/// `wasi:cli/run`: how stock `wasmtime run` starts the file without
/// `--invoke` before it. Every form prints the JSON report on stdout:
///   wasmtime run -S inherit-network scheduler-final.wasm --invoke run-scenario < scenario.yaml
///   wasmtime run -S inherit-network scheduler-final.wasm --invoke run-scenario -- "$(cat scenario.yaml)"
///   wasmtime run -S inherit-network --dir DIR scheduler-final.wasm DIR/scenario.yaml
struct Cli;

/// The exit code of a run whose thresholds failed (k6's).
const THRESHOLDS_FAILED: u8 = 99;
/// The exit code of a run whose setup failed (no load ran).
const SETUP_FAILED: u8 = 97;

const USAGE: &str = "usage: wasmtime run -S inherit-network scheduler-final.wasm --invoke run-scenario < scenario.yaml (or: … --invoke run-scenario -- \"$(cat scenario.yaml)\", or: wasmtime run -S inherit-network --dir DIR scheduler-final.wasm DIR/scenario.yaml)";

/// Where the scenario text comes from, by the arguments after the program name.
enum Input {
    Stdin,
    Text(String),
    File(String),
}

fn input(args: &[String]) -> Result<Input, String> {
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--")
        .collect();
    match args.as_slice() {
        ["--invoke", "run-scenario"] => Ok(Input::Stdin),
        ["--invoke", "run-scenario", text] => Ok(Input::Text(text.to_string())),
        ["--invoke", other, ..] => Err(format!(
            "unknown export {other:?}: this component's command form runs `run-scenario`; {USAGE}"
        )),
        [path] if !path.starts_with('-') => Ok(Input::File(path.to_string())),
        _ => Err(USAGE.into()),
    }
}

impl wasip2::exports::cli::run::Guest for Cli {
    fn run() -> Result<(), ()> {
        let args = wasip2::cli::environment::get_arguments();
        let mut base = std::path::PathBuf::from(".");
        let (yaml, origin) = match input(args.get(1..).unwrap_or_default()) {
            Ok(Input::Stdin) => {
                let mut text = String::new();
                if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
                    eprintln!("error: cannot read the scenario from stdin: {e}");
                    return Err(());
                }
                if text.trim().is_empty() {
                    eprintln!("error: no scenario on stdin; {USAGE}");
                    return Err(());
                }
                (text, "stdin".to_string())
            }
            Ok(Input::Text(text)) => (text, "the scenario argument".to_string()),
            Ok(Input::File(path)) => match std::fs::read_to_string(&path) {
                Ok(text) => {
                    if let Some(dir) = std::path::Path::new(&path).parent() {
                        base = dir.to_path_buf();
                    }
                    (text, path)
                }
                Err(e) => {
                    eprintln!(
                        "error: cannot read scenario file {path}: {e} (did you pass --dir for its folder?)"
                    );
                    return Err(());
                }
            },
            Err(usage) => {
                eprintln!("error: {usage}");
                return Err(());
            }
        };
        match run_plain(&yaml, &base) {
            Ok((json, verdict)) => {
                println!("{json}");
                match verdict {
                    Verdict::Passed => {}
                    Verdict::ThresholdsFailed => {
                        eprintln!(
                            "error: some thresholds failed (see \"thresholds\" in the report)"
                        );
                        // k6's code, so CI recipes written for it carry over.
                        wasip2::cli::exit::exit_with_code(THRESHOLDS_FAILED);
                    }
                    Verdict::SetupFailed(why) => {
                        eprintln!("error: {why}: no load ran");
                        wasip2::cli::exit::exit_with_code(SETUP_FAILED);
                    }
                }
                Ok(())
            }
            Err(e) => {
                eprintln!("error: {origin}: {e}");
                Err(())
            }
        }
    }
}

wasip2::cli::command::export!(Cli);
