//! Before users run: parsing with the extension's kinds, checks of the
//! network, the pool and the TLS files, and the destinations for egress.

use super::bindings::exports::scheduler::main::vu as wit_vu;
use super::bindings::scheduler::actions::{extension, types as t};
use super::bindings::scheduler::core_libs::addresses::check_local;
use super::bindings::scheduler::core_libs::types::{IpAddress, NetError};
use super::convert::{wit_ip, wit_query};
use contract::Endpoint;
use scenario::Scenario;
use scenario::tls::TlsMaterial;

/// Parses with the extension's kinds, `env` and a way to a data source's fields.
pub fn parse(
    yaml: &str,
    env: &[(String, String)],
    columns: scenario::parse::Columns,
) -> Result<Scenario, String> {
    let kinds = extension::kinds();
    let mut inputs = scenario::parse::Inputs {
        env: env.iter().cloned().collect(),
        columns: Some(columns),
    };
    scenario::parse_with(
        yaml,
        &|kind| kinds.iter().any(|k| k == kind),
        &kinds.join(", "),
        &mut inputs,
    )
    .map_err(|e| e.to_string())
}

/// The fields of the data sources a host read (it keeps the rows).
pub fn given_columns(
    data: &[wit_vu::DataSource],
) -> impl FnMut(&str, &scenario::data::Decl) -> Result<Vec<String>, String> + '_ {
    |name, _| {
        data.iter()
            .find(|d| d.name == name)
            .map(|d| d.columns.clone())
            .ok_or_else(|| "not among the data sources the host passed".to_string())
    }
}

/// A step of the extension's, as its contract takes it.
fn extension_request(step: &scenario::model::Step) -> Option<t::ExtensionRequest> {
    let scenario::model::Call::Extension { kind, params_json } = &step.call else {
        return None;
    };
    Some(t::ExtensionRequest {
        kind: kind.clone(),
        params_json: params_json.clone(),
        queries: step.queries.iter().map(wit_query).collect(),
    })
}

/// Parses, then has the extension validate each of its steps' params.
pub fn check(
    yaml: &str,
    env: &[(String, String)],
    columns: scenario::parse::Columns,
) -> Result<Scenario, String> {
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
pub fn destinations(scenario: &Scenario) -> Vec<Endpoint> {
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
pub fn check_network() -> Result<(), String> {
    match check_local(IpAddress::Ipv4((0, 0, 0, 0))) {
        Err(NetError::AccessDenied(_)) => Err(
            "the runtime gives this component no network: run it with `wasmtime run -S inherit-network …`"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// Every pool address must be bindable here: never fall back silently.
pub fn check_pool(scenario: &Scenario) -> Result<(), String> {
    for ip in &scenario.pool.0 {
        let why = match check_local(wit_ip(*ip)) {
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
pub fn read_files(
    scenario: &mut Scenario,
    base: &std::path::Path,
) -> Result<Vec<TlsMaterial>, String> {
    let mut unread = None;
    scenario.give_files(&mut |path| match std::fs::read(base.join(path)) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            unread.get_or_insert_with(|| {
                format!("scenario file {path}: cannot read it: {e} (plain mode reads files through `wasmtime run --dir DIR`)")
            });
            None
        }
    })
    .map_err(|e| unread.unwrap_or(e))?;
    scenario::tls::load_checked(&scenario.tls, &mut |path| {
        std::fs::read(base.join(path)).map_err(|e| {
            format!("cannot read it: {e} (plain mode reads files through `wasmtime run --dir DIR`)")
        })
    })
    .map_err(|e| format!("scenario file {e}"))
}

/// The material from the files the host read (each must be there);
/// unchecked: `check` (and the host) checked them once.
pub fn given_files(
    scenario: &mut Scenario,
    files: Vec<wit_vu::File>,
) -> Result<Vec<TlsMaterial>, String> {
    scenario.give_files(&mut |path| {
        files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.bytes.clone())
    })?;
    scenario::tls::load(&scenario.tls, &mut |path| {
        files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.bytes.clone())
            .ok_or_else(|| "not among the files the host passed to init".to_string())
    })
    .map_err(|e| format!("scenario file {e}"))
}
