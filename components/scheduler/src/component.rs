//! The scheduler as a component: WIT bindings, the `Actions` impl over the
//! imported action slots, and the exports (`run-scenario`, `vu`, `wasi:cli/run`).

use crate::model::{HttpCall, ReadMode, TcpCall, UdpCall};
use crate::sample::{Outcome, SampleError};
use crate::workflow::{Actions, CallContext, Vu};
use std::cell::RefCell;
use std::rc::Rc;

wit_bindgen::generate!({
    world: "scheduler:main/scheduler",
    path: "../../wit/main",
    generate_all,
});

use exports::scheduler::main::vu as wit_vu;
use scheduler::actions::{extension, http, tcp, types as t, udp};

/// The imported action slots.
struct Slots;

fn ctx(c: &CallContext) -> t::CallContext {
    t::CallContext {
        source_ip: c.source_ip.clone(),
        timeout_ms: c.timeout_ms,
        vu: c.vu,
    }
}

fn outcome(o: t::Outcome) -> Outcome {
    Outcome {
        status: o.status,
        bytes_sent: o.bytes_sent,
        bytes_received: o.bytes_received,
        error: o.error.map(|e| SampleError {
            kind: kind_name(e.kind).into(),
            message: e.message,
        }),
    }
}

fn kind_name(k: t::ErrorKind) -> &'static str {
    use t::ErrorKind as K;
    match k {
        K::ConnectRefused => "connect-refused",
        K::ConnectTimeout => "connect-timeout",
        K::Timeout => "timeout",
        K::ConnectionReset => "connection-reset",
        K::Unreachable => "unreachable",
        K::NameUnresolvable => "name-unresolvable",
        K::AddressNotBindable => "address-not-bindable",
        K::EgressDenied => "egress-denied",
        K::Protocol => "protocol",
        K::Unsupported => "unsupported",
        K::BadParams => "bad-params",
        K::CheckFailed => "check-failed",
        K::Other => "other",
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
        };
        outcome(http::execute(&ctx(c), &req))
    }

    fn tcp(&mut self, c: &CallContext, call: &TcpCall) -> Outcome {
        let read = match &call.read {
            ReadMode::None => t::ReadMode::None,
            ReadMode::Bytes(n) => t::ReadMode::Bytes(*n),
            ReadMode::Delimiter(d) => t::ReadMode::Delimiter(d.clone()),
            ReadMode::UntilClose => t::ReadMode::UntilClose,
        };
        let req = t::TcpRequest {
            target: call.target.clone(),
            payload: call.payload.clone(),
            read,
            expect: call.expect.clone(),
        };
        outcome(tcp::execute(&ctx(c), &req))
    }

    fn udp(&mut self, c: &CallContext, call: &UdpCall) -> Outcome {
        let req = t::UdpRequest {
            target: call.target.clone(),
            payload: call.payload.clone(),
            await_reply: call.await_reply,
            expect: call.expect.clone(),
        };
        outcome(udp::execute(&ctx(c), &req))
    }

    fn extension(&mut self, c: &CallContext, kind: &str, params_json: &str) -> Outcome {
        let req = t::ExtensionRequest {
            kind: kind.into(),
            params_json: params_json.into(),
        };
        outcome(extension::execute(&ctx(c), &req))
    }
}

fn parse(yaml: &str) -> Result<crate::Scenario, String> {
    crate::parse(yaml, &extension::kinds()).map_err(|e| e.to_string())
}

/// Every pool address must be bindable here: never fall back silently.
fn check_pool(scenario: &crate::Scenario) -> Result<(), String> {
    for ip in &scenario.load.pool.0 {
        use scheduler::core_libs::types::NetError;
        let why = match scheduler::core_libs::addresses::check_local(&ip.to_string()) {
            Ok(()) => continue,
            Err(NetError::AddressNotBindable(_)) => {
                "it is not an address of this machine".to_string()
            }
            Err(NetError::AccessDenied) => "the runtime denies binding it".to_string(),
            Err(other) => format!("{other:?}"),
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
        let scenario = parse(&scenario_yaml)?;
        if let Some(slot) = scenario.components.keys().next() {
            return Err(format!(
                "scenario field scenario.components.{slot}: plain mode runs the actions composed into this file; plug components with scheduler-host or wac"
            ));
        }
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
    fn init(scenario_yaml: String, index: u32, source_ip: Option<String>) -> Result<u32, String> {
        let scenario = Rc::new(parse(&scenario_yaml)?);
        let vu = Vu::new(scenario, index).with_source_ip(source_ip);
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
            let (error_kind, error_message) = s.error.map(|e| (e.kind, e.message)).unzip();
            wit_vu::StepReport {
                sample: wit_vu::Sample {
                    step: s.step,
                    latency_us: s.latency_us,
                    status: s.status,
                    bytes_sent: s.bytes_sent,
                    bytes_received: s.bytes_received,
                    error_kind,
                    error_message,
                },
                think_time_ms: u32::try_from(r.think_time.as_millis()).unwrap_or(u32::MAX),
                iteration_done: r.iteration_done,
                next_step: r.next_step,
            }
        })
    }
}

export!(Component);

/// `wasmtime run -S inherit-network --dir scenarios scheduler-final.wasm scenarios/x.yaml`:
/// reads the file named by the first argument and prints the JSON report.
struct Cli;

impl wasip2::exports::cli::run::Guest for Cli {
    fn run() -> Result<(), ()> {
        let args = wasip2::cli::environment::get_arguments();
        let Some(path) = args.get(1) else {
            eprintln!(
                "usage: wasmtime run -S inherit-network --dir DIR scheduler-final.wasm DIR/scenario.yaml"
            );
            return Err(());
        };
        let yaml = match std::fs::read_to_string(path) {
            Ok(y) => y,
            Err(e) => {
                eprintln!(
                    "error: cannot read scenario file {path}: {e} (did you pass --dir for its folder?)"
                );
                return Err(());
            }
        };
        match Component::run_scenario(yaml) {
            Ok(json) => {
                println!("{json}");
                Ok(())
            }
            Err(e) => {
                eprintln!("error: {path}: {e}");
                Err(())
            }
        }
    }
}

wasip2::cli::command::export!(Cli);
