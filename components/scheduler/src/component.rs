//! The scheduler as a component: WIT bindings, the `Actions` impl over the
//! imported action slots, and the exports (`run-scenario`, `vu`, `wasi:cli/run`).

use crate::endpoint::Endpoint;
use crate::model::{Call, HttpCall, ReadMode, TcpCall, UdpCall};
use crate::sample::{ErrorKind, Outcome, SampleError};
use crate::workflow::{Actions, CallContext, Vu};
use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

wit_bindgen::generate!({
    world: "scheduler:main/scheduler",
    path: "../../wit/main",
    generate_all,
});

use exports::scheduler::main::vu as wit_vu;
use scheduler::actions::{extension, http, tcp, types as t, udp};
use scheduler::core_libs::types::{IpAddress, NetError};

/// The imported action slots.
struct Slots;

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn wit_ip(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

fn std_ip(ip: IpAddress) -> IpAddr {
    match ip {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::from([a, b, c, d]),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => IpAddr::from([a, b, c, d, e, f, g, h]),
    }
}

fn wit_endpoint(e: &Endpoint) -> t::Endpoint {
    t::Endpoint {
        host: e.host.clone(),
        port: e.port,
    }
}

fn ctx(c: &CallContext) -> t::CallContext {
    t::CallContext {
        source_ip: c.source_ip.map(wit_ip),
        timeout: nanos(c.timeout),
        vu: c.vu,
    }
}

fn outcome(o: t::Outcome) -> Outcome {
    Outcome {
        status: o.status,
        bytes_sent: o.bytes_sent,
        bytes_received: o.bytes_received,
        error: o.error.map(|e| SampleError {
            kind: kind(e.kind),
            message: e.message,
        }),
    }
}

/// The contract's kinds are ours; a kind added to the WIT fails to compile here.
fn kind(k: t::ErrorKind) -> ErrorKind {
    use t::ErrorKind as K;
    match k {
        K::ConnectRefused => ErrorKind::ConnectRefused,
        K::ConnectTimeout => ErrorKind::ConnectTimeout,
        K::Timeout => ErrorKind::Timeout,
        K::ConnectionReset => ErrorKind::ConnectionReset,
        K::Unreachable => ErrorKind::Unreachable,
        K::NameUnresolvable => ErrorKind::NameUnresolvable,
        K::AddressNotBindable => ErrorKind::AddressNotBindable,
        K::EgressDenied => ErrorKind::EgressDenied,
        K::Protocol => ErrorKind::Protocol,
        K::Unsupported => ErrorKind::Unsupported,
        K::BadParams => ErrorKind::BadParams,
        K::CheckFailed => ErrorKind::CheckFailed,
        K::Other => ErrorKind::Other,
    }
}

fn wit_kind(k: ErrorKind) -> t::ErrorKind {
    use t::ErrorKind as K;
    match k {
        ErrorKind::ConnectRefused => K::ConnectRefused,
        ErrorKind::ConnectTimeout => K::ConnectTimeout,
        ErrorKind::Timeout => K::Timeout,
        ErrorKind::ConnectionReset => K::ConnectionReset,
        ErrorKind::Unreachable => K::Unreachable,
        ErrorKind::NameUnresolvable => K::NameUnresolvable,
        ErrorKind::AddressNotBindable => K::AddressNotBindable,
        ErrorKind::EgressDenied => K::EgressDenied,
        ErrorKind::Protocol => K::Protocol,
        ErrorKind::Unsupported => K::Unsupported,
        ErrorKind::BadParams => K::BadParams,
        ErrorKind::CheckFailed => K::CheckFailed,
        // Only a host counts traps and interruptions; the scheduler never makes one.
        ErrorKind::Other | ErrorKind::Trap | ErrorKind::Interrupted => K::Other,
    }
}

impl Actions for Slots {
    fn http(&mut self, c: &CallContext, call: &HttpCall) -> Outcome {
        let req = t::HttpRequest {
            method: call.method.clone(),
            url: call.url.clone(),
            headers: call.headers.clone(),
            body: call.body.clone(),
            expect_body: call.expect_body.clone(),
            max_body: call.max_body,
        };
        outcome(http::execute(ctx(c), &req))
    }

    fn tcp(&mut self, c: &CallContext, call: &TcpCall) -> Outcome {
        let read = match &call.read {
            ReadMode::None => t::ReadMode::None,
            ReadMode::Bytes(n) => t::ReadMode::Bytes(*n),
            ReadMode::Delimiter(d) => t::ReadMode::Delimiter(d.clone()),
            ReadMode::UntilClose => t::ReadMode::UntilClose,
        };
        let req = t::TcpRequest {
            target: wit_endpoint(&call.target),
            payload: call.payload.clone(),
            read,
            expect: call.expect.clone(),
            max_read: call.max_read,
        };
        outcome(tcp::execute(ctx(c), &req))
    }

    fn udp(&mut self, c: &CallContext, call: &UdpCall) -> Outcome {
        let req = t::UdpRequest {
            target: wit_endpoint(&call.target),
            payload: call.payload.clone(),
            await_reply: call.await_reply,
            expect: call.expect.clone(),
        };
        outcome(udp::execute(ctx(c), &req))
    }

    fn extension(&mut self, c: &CallContext, kind: &str, params_json: &str) -> Outcome {
        let req = t::ExtensionRequest {
            kind: kind.into(),
            params_json: params_json.into(),
        };
        outcome(extension::execute(ctx(c), &req))
    }
}

fn parse(yaml: &str) -> Result<crate::Scenario, String> {
    crate::parse(yaml, &extension::kinds()).map_err(|e| e.to_string())
}

/// A step of the extension's, as its contract takes it.
fn extension_request(step: &crate::model::Step) -> Option<t::ExtensionRequest> {
    let Call::Extension { kind, params_json } = &step.call else {
        return None;
    };
    Some(t::ExtensionRequest {
        kind: kind.clone(),
        params_json: params_json.clone(),
    })
}

/// Parses, then has the extension validate each of its steps' params.
fn check(yaml: &str) -> Result<crate::Scenario, String> {
    let scenario = parse(yaml)?;
    for (i, step) in scenario.workflow.iter().enumerate() {
        let Some(req) = extension_request(step) else {
            continue;
        };
        extension::validate(&req).map_err(|m| {
            let m = m.replace('\n', " ");
            format!("scenario field scenario.workflow[{i}].params: {m}")
        })?;
    }
    Ok(scenario)
}

/// Every destination a checked scenario's steps declare.
fn destinations(scenario: &crate::Scenario) -> Vec<Endpoint> {
    let mut out = scenario.builtin_destinations();
    for req in scenario.workflow.iter().filter_map(extension_request) {
        out.extend(extension::destinations(&req).into_iter().map(|e| Endpoint {
            host: e.host,
            port: e.port,
        }));
    }
    out.sort();
    out.dedup();
    out
}

/// Plain mode needs the runtime's network: a test bind of the unspecified
/// address tells whether wasmtime was started with `-S inherit-network`.
fn check_network() -> Result<(), String> {
    match scheduler::core_libs::addresses::check_local(IpAddress::Ipv4((0, 0, 0, 0))) {
        Err(NetError::AccessDenied(_)) => Err(
            "the runtime gives this component no network: run it with `wasmtime run -S inherit-network …`"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// Every pool address must be bindable here: never fall back silently.
fn check_pool(scenario: &crate::Scenario) -> Result<(), String> {
    for ip in &scenario.load.pool.0 {
        let why = match scheduler::core_libs::addresses::check_local(wit_ip(*ip)) {
            Ok(()) => continue,
            Err(NetError::AddressNotBindable(_)) => "it is not an address of this machine",
            Err(NetError::AccessDenied(_)) => "the runtime denies binding it",
            Err(_) => "a test bind failed",
        };
        return Err(format!(
            "scenario field scenario.load.ip_pool: {ip} cannot be a source address: {why}"
        ));
    }
    Ok(())
}

struct Component;

impl Guest for Component {
    fn run_scenario(scenario_yaml: String) -> Result<String, String> {
        let scenario = check(&scenario_yaml)?;
        if let Some(slot) = scenario.components.keys().next() {
            return Err(format!(
                "scenario field scenario.components.{slot}: plain mode runs the actions composed into this file; plug components with scheduler-host or wac"
            ));
        }
        check_network()?;
        check_pool(&scenario)?;
        let report = crate::local::run(scenario, &mut Slots);
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())
    }
}

thread_local! {
    /// This instance's virtual user, once `init` succeeded.
    static VU: RefCell<Option<Vu>> = const { RefCell::new(None) };
}

impl wit_vu::Guest for Component {
    fn check(scenario_yaml: String) -> Result<wit_vu::ScenarioNeeds, String> {
        let scenario = check(&scenario_yaml)?;
        Ok(wit_vu::ScenarioNeeds {
            destinations: destinations(&scenario).iter().map(wit_endpoint).collect(),
            extension_kinds: extension::kinds(),
        })
    }

    fn init(
        scenario_yaml: String,
        index: u32,
        source_ip: Option<IpAddress>,
    ) -> Result<u32, String> {
        let scenario = Rc::new(parse(&scenario_yaml)?);
        let vu = Vu::new(scenario, index).with_source_ip(source_ip.map(std_ip));
        let first = vu.upcoming_step();
        VU.with(|v| *v.borrow_mut() = Some(vu));
        Ok(first)
    }

    fn next_step() -> wit_vu::StepReport {
        VU.with(|v| {
            let mut v = v.borrow_mut();
            let vu = v
                .as_mut()
                .expect("vu.next-step called before a successful vu.init");
            let r = vu.next_step(&mut Slots);
            let s = r.sample;
            wit_vu::StepReport {
                sample: wit_vu::Sample {
                    step: s.step,
                    latency: s.latency_us.saturating_mul(1_000),
                    status: s.status,
                    bytes_sent: s.bytes_sent,
                    bytes_received: s.bytes_received,
                    error: s.error.map(|e| t::ActionError {
                        kind: wit_kind(e.kind),
                        message: e.message,
                    }),
                },
                think_time: nanos(r.think_time),
                iteration_done: r.iteration_done,
                next_step: r.next_step,
            }
        })
    }
}

export!(Component);

/// `wasi:cli/run`: how stock `wasmtime run` starts the file without
/// `--invoke` before it. Every form prints the JSON report on stdout:
///   wasmtime run -S inherit-network scheduler-final.wasm --invoke run-scenario < scenario.yaml
///   wasmtime run -S inherit-network scheduler-final.wasm --invoke run-scenario -- "$(cat scenario.yaml)"
///   wasmtime run -S inherit-network --dir DIR scheduler-final.wasm DIR/scenario.yaml
struct Cli;

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
                Ok(text) => (text, path),
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
        match Component::run_scenario(yaml) {
            Ok(json) => {
                println!("{json}");
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
