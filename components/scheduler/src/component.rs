//! The scheduler as a component: WIT bindings, the `Actions` impl over the
//! imported action slots, and the exports (`run-scenario`, `vu`, `wasi:cli/run`).

use crate::checks::Query;
use crate::endpoint::Endpoint;
use crate::model::{Call, Hook, HttpCall, ReadMode, TcpCall, UdpCall};
use crate::sample::{ErrorKind, Hop, Outcome, Phases, Sample, SampleError, TlsUse};
use crate::tls::{TlsMaterial, TlsVersion};
use crate::workflow::{Actions, CallContext, Vu};
use std::borrow::Cow;
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
use scheduler::core_libs::tls;
use scheduler::core_libs::types::{IpAddress, NetError, ProtocolVersion};

/// The imported action slots, and each user's TLS clients: made on a
/// user's first step that needs one, never shared between users (a
/// client's session cache is what resumption draws on).
struct Slots {
    material: Vec<TlsMaterial>,
    /// (user, index into `material`) → client.
    clients: std::collections::BTreeMap<(u32, usize), tls::Client>,
}

impl Slots {
    fn new(material: Vec<TlsMaterial>) -> Self {
        Slots {
            material,
            clients: Default::default(),
        }
    }

    /// Builds one client per configuration (then drops them): what core-libs
    /// refuses (a key that does not match its certificate, a key type rustls
    /// does not sign with) fails validation instead of every user's steps.
    fn check_tls(&mut self) -> Result<(), String> {
        for i in 0..self.material.len() {
            if let Err(o) = self.client(u32::MAX, Some(i)) {
                let why = o.error.map(|e| e.message).unwrap_or_default();
                let files: Vec<&str> = self.material[i].config.files().collect();
                return Err(format!("scenario file {}: {why}", files.join(", ")));
            }
        }
        self.clients.clear();
        Ok(())
    }

    fn client(&mut self, vu: u32, config: Option<usize>) -> Result<Option<&tls::Client>, Outcome> {
        let Some(i) = config else { return Ok(None) };
        if !self.clients.contains_key(&(vu, i)) {
            let m = &self.material[i];
            let client = tls::Client::create(&tls::ClientConfig {
                extra_roots_pem: m.ca_pem.clone(),
                skip_verify: m.config.insecure_skip_verify,
                server_name: m.config.server_name.clone(),
                client_cert_pem: m.client_cert_pem.clone(),
                client_key_pem: m.client_key_pem.clone(),
                versions: m
                    .config
                    .versions
                    .iter()
                    .map(|v| wit_version_of(*v))
                    .collect(),
            })
            .map_err(|message| Outcome {
                error: Some(SampleError {
                    kind: ErrorKind::Tls,
                    message: format!("TLS settings: {message}"),
                }),
                ..Outcome::default()
            })?;
            self.clients.insert((vu, i), client);
        }
        Ok(self.clients.get(&(vu, i)))
    }
}

fn wit_version_of(v: TlsVersion) -> ProtocolVersion {
    match v {
        TlsVersion::Tls12 => ProtocolVersion::Tls12,
        TlsVersion::Tls13 => ProtocolVersion::Tls13,
    }
}

fn version(v: ProtocolVersion) -> TlsVersion {
    match v {
        ProtocolVersion::Tls12 => TlsVersion::Tls12,
        ProtocolVersion::Tls13 => TlsVersion::Tls13,
    }
}

fn micros(ns: u64) -> u64 {
    ns / 1_000
}

fn phases(p: t::Phases) -> Phases {
    Phases {
        connecting_us: micros(p.connecting),
        tls_handshaking_us: micros(p.tls_handshaking),
        sending_us: micros(p.sending),
        waiting_us: micros(p.waiting),
        receiving_us: micros(p.receiving),
    }
}

fn wit_phases(p: Phases) -> t::Phases {
    t::Phases {
        connecting: p.connecting_us.saturating_mul(1_000),
        tls_handshaking: p.tls_handshaking_us.saturating_mul(1_000),
        sending: p.sending_us.saturating_mul(1_000),
        waiting: p.waiting_us.saturating_mul(1_000),
        receiving: p.receiving_us.saturating_mul(1_000),
    }
}

fn tls_use(u: t::TlsUse) -> TlsUse {
    TlsUse {
        version: version(u.version),
        handshake: u.handshake,
        resumed: u.resumed,
    }
}

fn wit_tls_use(u: TlsUse) -> t::TlsUse {
    t::TlsUse {
        version: wit_version_of(u.version),
        handshake: u.handshake,
        resumed: u.resumed,
    }
}

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
        phases: o.phases.map(phases),
        tls: o.tls.map(tls_use),
        answers: o.answers,
        earlier: o
            .earlier
            .into_iter()
            .map(|h| Hop {
                status: h.status,
                bytes_sent: h.bytes_sent,
                bytes_received: h.bytes_received,
                latency_us: micros(h.duration),
                phases: h.phases.map(phases),
                tls: h.tls.map(tls_use),
            })
            .collect(),
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
        K::Tls => ErrorKind::Tls,
        K::Protocol => ErrorKind::Protocol,
        K::TooManyRedirects => ErrorKind::TooManyRedirects,
        K::Unsupported => ErrorKind::Unsupported,
        K::BadParams => ErrorKind::BadParams,
        K::CheckFailed => ErrorKind::CheckFailed,
        K::ExtractFailed => ErrorKind::ExtractFailed,
        K::MissingVariable => ErrorKind::MissingVariable,
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
        ErrorKind::Tls => K::Tls,
        ErrorKind::Protocol => K::Protocol,
        ErrorKind::TooManyRedirects => K::TooManyRedirects,
        ErrorKind::Unsupported => K::Unsupported,
        ErrorKind::BadParams => K::BadParams,
        ErrorKind::CheckFailed => K::CheckFailed,
        ErrorKind::ExtractFailed => K::ExtractFailed,
        ErrorKind::MissingVariable => K::MissingVariable,
        // Only a host counts traps and interruptions; the scheduler never makes one.
        ErrorKind::Other | ErrorKind::Trap | ErrorKind::Interrupted => K::Other,
    }
}

fn wit_query(q: &Query) -> t::Query {
    match q {
        Query::Json(p) => t::Query::Json(p.clone()),
        Query::Regex(r) => t::Query::Regex(r.clone()),
        Query::Header(h) => t::Query::Header(h.clone()),
        Query::Status => t::Query::Status,
    }
}

impl Actions for Slots {
    fn http(&mut self, c: &CallContext, call: Cow<'_, HttpCall>, queries: &[Query]) -> Outcome {
        let HttpCall {
            method,
            url,
            headers,
            body,
            expect_body,
            max_body,
            tls,
            max_redirects,
            cookies,
        } = call.into_owned();
        let req = t::HttpRequest {
            method,
            url,
            headers,
            body,
            expect_body,
            max_body,
            max_redirects,
            cookies,
            queries: queries.iter().map(wit_query).collect(),
        };
        match self.client(c.vu, tls) {
            Ok(client) => outcome(http::execute(ctx(c), &req, client)),
            Err(failed) => failed,
        }
    }

    fn tcp(&mut self, c: &CallContext, call: Cow<'_, TcpCall>) -> Outcome {
        let tls = call.tls;
        let call = call.into_owned();
        let read = match call.read {
            ReadMode::None => t::ReadMode::None,
            ReadMode::Bytes(n) => t::ReadMode::Bytes(n),
            ReadMode::Delimiter(d) => t::ReadMode::Delimiter(d),
            ReadMode::UntilClose => t::ReadMode::UntilClose,
        };
        let req = t::TcpRequest {
            target: t::Endpoint {
                host: call.target.host,
                port: call.target.port,
            },
            payload: call.payload,
            read,
            expect: call.expect,
            max_read: call.max_read,
        };
        match self.client(c.vu, tls) {
            Ok(client) => outcome(tcp::execute(ctx(c), &req, client)),
            Err(failed) => failed,
        }
    }

    fn udp(&mut self, c: &CallContext, call: Cow<'_, UdpCall>) -> Outcome {
        let call = call.into_owned();
        let req = t::UdpRequest {
            target: t::Endpoint {
                host: call.target.host,
                port: call.target.port,
            },
            payload: call.payload,
            await_reply: call.await_reply,
            expect: call.expect,
        };
        outcome(udp::execute(ctx(c), &req))
    }

    fn extension(
        &mut self,
        c: &CallContext,
        kind: &str,
        params_json: &str,
        queries: &[Query],
    ) -> Outcome {
        let req = t::ExtensionRequest {
            kind: kind.into(),
            params_json: params_json.into(),
            queries: queries.iter().map(wit_query).collect(),
        };
        outcome(extension::execute(ctx(c), &req))
    }
}

/// Parses with the extension's kinds, `env` and a way to a data source's fields.
fn parse(
    yaml: &str,
    env: &[(String, String)],
    columns: crate::parse::Columns,
) -> Result<crate::Scenario, String> {
    let kinds = extension::kinds();
    let mut inputs = crate::parse::Inputs {
        env: env.iter().cloned().collect(),
        columns: Some(columns),
    };
    crate::parse_with(
        yaml,
        &|kind| kinds.iter().any(|k| k == kind),
        &kinds.join(", "),
        &mut inputs,
    )
    .map_err(|e| e.to_string())
}

/// The fields of the data sources a host read (it keeps the rows).
fn given_columns(
    data: &[wit_vu::DataSource],
) -> impl FnMut(&str, &crate::data::Decl) -> Result<Vec<String>, String> + '_ {
    |name, _| {
        data.iter()
            .find(|d| d.name == name)
            .map(|d| d.columns.clone())
            .ok_or_else(|| "not among the data sources the host passed".to_string())
    }
}

/// A step of the extension's, as its contract takes it.
fn extension_request(step: &crate::model::Step) -> Option<t::ExtensionRequest> {
    let Call::Extension { kind, params_json } = &step.call else {
        return None;
    };
    Some(t::ExtensionRequest {
        kind: kind.clone(),
        params_json: params_json.clone(),
        queries: step.queries.iter().map(wit_query).collect(),
    })
}

/// Parses, then has the extension validate each of its steps' params.
fn check(
    yaml: &str,
    env: &[(String, String)],
    columns: crate::parse::Columns,
) -> Result<crate::Scenario, String> {
    let scenario = parse(yaml, env, columns)?;
    for (i, step) in scenario.workflow.iter().enumerate() {
        let Some(req) = extension_request(step) else {
            continue;
        };
        extension::validate(&req).map_err(|m| {
            let m = m.replace('\n', " ");
            format!("scenario field {}.params: {m}", scenario.step_field(i))
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
    for ip in &scenario.pool.0 {
        let why = match scheduler::core_libs::addresses::check_local(wit_ip(*ip)) {
            Ok(()) => continue,
            Err(NetError::AddressNotBindable(_)) => "it is not an address of this machine",
            Err(NetError::AccessDenied(_)) => "the runtime denies binding it",
            Err(_) => "a test bind failed",
        };
        return Err(format!(
            "scenario field {}: {ip} cannot be a source address: {why}",
            scenario.pool_field()
        ));
    }
    Ok(())
}

/// Reads the files a scenario names (plain mode: through the runtime's
/// preopened `--dir`), relative to `base`.
fn read_files(
    scenario: &crate::Scenario,
    base: &std::path::Path,
) -> Result<Vec<TlsMaterial>, String> {
    crate::tls::load_checked(&scenario.tls, &mut |path| {
        std::fs::read(base.join(path)).map_err(|e| {
            format!("cannot read it: {e} (plain mode reads files through `wasmtime run --dir DIR`)")
        })
    })
    .map_err(|e| format!("scenario file {e}"))
}

/// The material from the files the host read (each must be there);
/// unchecked: `check` (and the host) checked them once.
fn given_files(
    scenario: &crate::Scenario,
    files: Vec<wit_vu::File>,
) -> Result<Vec<TlsMaterial>, String> {
    crate::tls::load(&scenario.tls, &mut |path| {
        files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.bytes.clone())
            .ok_or_else(|| "not among the files the host passed to init".to_string())
    })
    .map_err(|e| format!("scenario file {e}"))
}

struct Component;

/// Plain mode's run, with files relative to `base` (data files are read
/// here, once, and held in this one instance for every user).
fn run_plain(scenario_yaml: &str, base: &std::path::Path) -> Result<(String, Verdict), String> {
    let mut tables = Vec::new();
    // `${env.NAME}`: what the runtime was told to pass (`wasmtime run --env
    // NAME=VALUE`); a component sees no other environment.
    let env: Vec<(String, String)> = std::env::vars().collect();
    let scenario = check(scenario_yaml, &env, &mut |_, decl| {
        let file = std::fs::File::open(base.join(&decl.file)).map_err(|e| {
            format!(
                "data file {}: cannot read it: {e} (plain mode reads files through `wasmtime run --dir DIR`)",
                decl.file
            )
        })?;
        let table = crate::data::parse(&decl.file, file)?;
        let columns = table.columns.clone();
        tables.push(std::sync::Arc::new(table));
        Ok(columns)
    })?;
    if let Some(slot) = scenario.components.keys().next() {
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
    let material = read_files(&scenario, base)?;
    Slots::new(material.clone()).check_tls()?;
    if scenario.skips_tls_verification() {
        eprintln!("warning: insecure_skip_verify is on: TLS certificates are not verified");
    }
    let rows = crate::data::Rows::new(&scenario, tables);
    let report = crate::local::run(scenario, &mut Slots::new(material), &rows);
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

impl Guest for Component {
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
        let scenario = check(&scenario_yaml, &env, &mut given_columns(&data))?;
        let needed = scenario.files();
        if !needed.is_empty() && needed.iter().all(|n| files.iter().any(|f| f.path == *n)) {
            let material = given_files(&scenario, files)?;
            material
                .iter()
                .try_for_each(crate::tls::TlsMaterial::check)
                .map_err(|e| format!("scenario file {e}"))?;
            Slots::new(material).check_tls()?;
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
        let scenario = Rc::new(parse(&scenario_yaml, &env, &mut given_columns(&data))?);
        let slots = Slots::new(given_files(&scenario, files)?);
        let mut vu = match user.role {
            wit_vu::Role::User(index) => Vu::new(scenario, index),
            wit_vu::Role::Setup => {
                Vu::hook(scenario, Hook::Setup).ok_or("the scenario has no setup:")?
            }
            wit_vu::Role::Teardown => {
                Vu::hook(scenario, Hook::Teardown).ok_or("the scenario has no teardown:")?
            }
        }
        .with_source_ip(user.source_ip.map(std_ip));
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
            let r = vu.next_step(slots);
            wit_vu::StepReport {
                samples: r.samples.into_iter().map(wit_sample).collect(),
                think_time: nanos(r.think_time),
                iteration_done: r.iteration_done,
                next_step: r.next_step,
            }
        })
    }
}

fn wit_sample(s: Sample) -> wit_vu::Sample {
    wit_vu::Sample {
        step: s.step,
        latency: s.latency_us.saturating_mul(1_000),
        status: s.status,
        bytes_sent: s.bytes_sent,
        bytes_received: s.bytes_received,
        error: s.error.map(|e| t::ActionError {
            kind: wit_kind(e.kind),
            message: e.message,
        }),
        phases: s.phases.map(wit_phases),
        tls: s.tls.map(wit_tls_use),
        checks_passed: s.checks_passed,
        checks_failed: s.checks_failed,
    }
}

export!(Component);

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
