//! Composes the scheduler with its action slots at run time, from the same
//! `.wac` files `cargo xtask build` gives `wac compose` (parsed and resolved
//! with wac-parser), with plugged components in place of their slot's
//! built-in part. No rebuild of the scheduler or of this host.

use crate::error::Failure;
use crate::parts::{self, PARTS};
use indexmap::IndexMap;
use std::path::PathBuf;
use wac_graph::EncodeOptions;
use wac_graph::types::{BorrowedPackageKey, Package, Types};

/// The default composition: the extension slot's part imports nothing.
pub const SCHEDULER_WAC: &str = include_str!("../../compositions/scheduler.wac");
/// The same with core-libs given to the extension slot.
pub const WITH_EXTENSION_WAC: &str =
    include_str!("../../compositions/scheduler-with-extension.wac");

/// A component plugged into a slot (`--action http=./my-http.wasm`).
#[derive(Clone, Debug)]
pub struct Plug {
    /// The slot it fills (a part of compositions/parts.toml with `slot`).
    pub slot: String,
    /// The step type it was plugged for (`--action line-ping=FILE`), which
    /// the component must list in its `kinds()`.
    pub kind: Option<String>,
    pub path: PathBuf,
    /// How the user named it, for messages: `--action line-ping=FILE` or
    /// `scenario field scenario.components.line-ping`.
    pub origin: String,
}

/// The composed component's bytes. The built-in action slots not in
/// `used` (and not plugged) get a stand-in that is never called.
pub fn compose(plugs: &[Plug], used: &[&str]) -> Result<Vec<u8>, Failure> {
    let mut bytes: IndexMap<&str, Vec<u8>> = IndexMap::new();
    for p in PARTS {
        let idle = p.slot && p.name != "extension" && !used.contains(&p.name);
        let part = if idle {
            crate::stubs::stand_in(p.bytes).map_err(Failure::internal)?
        } else {
            p.bytes.to_vec()
        };
        bytes.insert(p.name, part);
    }
    let mut extension_uses_core = false;
    for plug in plugs {
        let part = parts::slot(&plug.slot).ok_or_else(|| {
            Failure::input(format!("{}: there is no {:?} slot", plug.origin, plug.slot))
        })?;
        let data = std::fs::read(&plug.path).map_err(|e| {
            Failure::input(format!(
                "{}: cannot read {}: {e}",
                plug.origin,
                plug.path.display()
            ))
        })?;
        let imports_core = check_fits(plug, &data)?;
        if part.name == "extension" {
            extension_uses_core = imports_core;
        } else if !imports_core && part.name != parts::SCRIPT_SLOT {
            return Err(Failure::input(format!(
                "{}: {} imports nothing from scheduler:core-libs, but the {} slot's world gives it core-libs' sockets (compositions/scheduler.wac)",
                plug.origin,
                plug.path.display(),
                plug.slot
            )));
        }
        bytes.insert(part.name, data);
    }
    let source = if extension_uses_core {
        WITH_EXTENSION_WAC
    } else {
        SCHEDULER_WAC
    };
    wac(source, bytes).map_err(|e| {
        let e = format!("the composition does not validate: {e}");
        if plugs.is_empty() {
            Failure::internal(anyhow::anyhow!(e))
        } else {
            Failure::input(e)
        }
    })
}

/// Parses and resolves a `.wac` document with `component:<name>` bound to
/// `parts[name]`, as `wac compose --deps-dir` does, and encodes the result.
pub fn wac(source: &str, parts: IndexMap<&str, Vec<u8>>) -> Result<Vec<u8>, String> {
    let names: Vec<String> = parts.keys().map(|n| format!("component:{n}")).collect();
    let doc = wac_parser::Document::parse(source).map_err(one_line)?;
    let packages = names
        .iter()
        .zip(parts.into_values())
        .map(|(name, bytes)| {
            (
                BorrowedPackageKey {
                    name: name.as_str(),
                    version: None,
                },
                bytes,
            )
        })
        .collect();
    let resolution = doc.resolve(packages).map_err(one_line)?;
    resolution
        .encode(EncodeOptions::default())
        .map_err(one_line)
}

/// An error and its sources (anyhow's `{:#}`), on one line.
fn one_line(e: impl Into<anyhow::Error>) -> String {
    format!("{:#}", e.into()).replace('\n', " ")
}

/// A plugged file must be a component exporting its slot's interface.
/// Returns whether it imports anything from scheduler:core-libs.
fn check_fits(plug: &Plug, data: &[u8]) -> Result<bool, Failure> {
    let not = |what: &str| {
        Failure::input(format!(
            "{}: {} is {what}",
            plug.origin,
            plug.path.display()
        ))
    };
    match data.get(..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0, 1, 0]) => {}
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
            return Err(not(
                "a core WebAssembly module, not a WebAssembly component (build it with `cargo build --target wasm32-wasip2`)",
            ));
        }
        _ => return Err(not("not a WebAssembly component")),
    }
    let mut types = Types::default();
    let pkg = Package::from_bytes("component:plug", None, data.to_vec(), &mut types)
        .map_err(|e| not(&format!("not a usable WebAssembly component ({e:#})")))?;
    let world = &types[pkg.ty()];
    let iface = parts::slot_interface(&plug.slot);
    if !world.exports.contains_key(&iface) {
        let has: Vec<&str> = world.exports.keys().map(String::as_str).collect();
        return Err(Failure::input(format!(
            "{}: {} does not fit the {} slot: it does not export {iface} (it exports: {})",
            plug.origin,
            plug.path.display(),
            plug.slot,
            if has.is_empty() {
                "nothing".to_string()
            } else {
                has.join(", ")
            }
        )));
    }
    if plug.slot == parts::SCRIPT_SLOT {
        script_imports(plug, world.imports.keys().map(String::as_str))?;
    }
    Ok(world
        .imports
        .keys()
        .any(|name| name.starts_with("scheduler:core-libs/")))
}

/// What a script may import: the sdk, and the WASI a language runtime
/// needs (the host gives it no files, and sockets only to the scenario's
/// destinations). Anything else is refused before the run.
fn script_imports<'a>(plug: &Plug, imports: impl Iterator<Item = &'a str>) -> Result<(), Failure> {
    let sdk = format!("scheduler:script/sdk@{}", parts::SCRIPT_VERSION);
    let allowed = |name: &str| {
        name == sdk
            || ["cli", "clocks", "filesystem", "io", "random", "sockets"]
                .iter()
                .any(|p| name.starts_with(&format!("wasi:{p}/")))
    };
    match imports.into_iter().find(|name| !allowed(name)) {
        None => Ok(()),
        Some(name) => Err(Failure::input(format!(
            "{}: {} imports {name}, which no script is given: a script imports {sdk} (its \
             requests go through it) and WASI's cli, clocks, filesystem, io, random and sockets",
            plug.origin,
            plug.path.display()
        ))),
    }
}
