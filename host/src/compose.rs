//! Composes the scheduler with its action slots at run time (wac-graph): the
//! wiring of compositions/scheduler.wac, with any slot's part replaced by a
//! third-party component. No rebuild of the scheduler or of this host.

use crate::error::Failure;
use crate::parts;
use std::path::PathBuf;
use wac_graph::types::{ItemKind, Package};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// A component plugged into a slot (`--action http=./my-http.wasm`).
#[derive(Clone, Debug)]
pub struct Plug {
    pub slot: String,
    pub path: PathBuf,
}

/// The composed component's bytes.
pub fn compose(plugs: &[Plug]) -> Result<Vec<u8>, Failure> {
    let mut parts: Vec<(String, String, Vec<u8>)> = vec![(
        "core-libs".into(),
        "built-in core-libs".into(),
        parts::CORE_LIBS.to_vec(),
    )];
    for (slot, _, builtin) in parts::SLOTS {
        let (origin, bytes) = match plugs.iter().find(|p| p.slot == slot) {
            Some(p) => {
                let bytes = std::fs::read(&p.path).map_err(|e| {
                    Failure::input(format!(
                        "--action {slot}: cannot read {}: {e}",
                        p.path.display()
                    ))
                })?;
                (p.path.display().to_string(), bytes)
            }
            None => (format!("built-in {slot} action"), builtin.to_vec()),
        };
        parts.push((slot.to_string(), origin, bytes));
    }
    parts.push((
        "scheduler".into(),
        "built-in scheduler".into(),
        parts::SCHEDULER.to_vec(),
    ));
    wire(parts)
}

/// Instantiates the parts in order; each import is taken from the latest
/// earlier part that exports the same name (the `...spread` rule of the
/// .wac file); WASI and types-only imports stay open for the runtime.
fn wire(parts: Vec<(String, String, Vec<u8>)>) -> Result<Vec<u8>, Failure> {
    let mut graph = CompositionGraph::new();
    let mut placed: Vec<(NodeId, PackageId)> = Vec::new();
    for (label, origin, bytes) in parts {
        let pkg = Package::from_bytes(
            &format!("component:{label}"),
            None,
            bytes,
            graph.types_mut(),
        )
        .map_err(|e| {
            Failure::input(format!(
                "{origin}: not a usable WebAssembly component: {e:#}"
            ))
        })?;
        let id = graph
            .register_package(pkg)
            .map_err(|e| Failure::input(format!("{origin}: {e:#}")))?;
        if let Some((_, iface, _)) = parts::SLOTS.iter().find(|(slot, _, _)| *slot == label) {
            check_fits(&graph, id, &label, iface, &origin)?;
        }
        let node = graph.instantiate(id);
        let imports: Vec<(String, ItemKind)> = graph.types()[graph[id].ty()]
            .imports
            .iter()
            .map(|(n, k)| (n.clone(), *k))
            .collect();
        for (name, kind) in imports {
            let provider = placed
                .iter()
                .rev()
                .find(|(_, p)| graph.types()[graph[*p].ty()].exports.contains_key(&name));
            match provider {
                Some((from, _)) => {
                    let export = graph
                        .alias_instance_export(*from, &name)
                        .map_err(|e| Failure::internal(e.into()))?;
                    graph.set_instantiation_argument(node, &name, export).map_err(|e| {
                        Failure::input(format!("{origin}: its import {name} does not match what the composition provides: {e:#}"))
                    })?;
                }
                None if name.starts_with("wasi:") || types_only(&graph, kind) => {}
                None => {
                    return Err(Failure::input(format!(
                        "{origin} imports {name}, which neither core-libs nor the runtime provides"
                    )));
                }
            }
        }
        placed.push((node, id));
    }
    let (scheduler, id) = *placed.last().expect("the scheduler part is last");
    let exports: Vec<String> = graph.types()[graph[id].ty()]
        .exports
        .keys()
        .cloned()
        .collect();
    for name in exports {
        let alias = graph
            .alias_instance_export(scheduler, &name)
            .map_err(|e| Failure::internal(e.into()))?;
        graph
            .export(alias, &name)
            .map_err(|e| Failure::internal(e.into()))?;
    }
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| Failure::input(format!("the composition does not validate: {e:#}")))
}

/// A plugged component must export its slot's interface.
fn check_fits(
    graph: &CompositionGraph,
    id: PackageId,
    slot: &str,
    iface: &str,
    origin: &str,
) -> Result<(), Failure> {
    let exports = &graph.types()[graph[id].ty()].exports;
    if exports.contains_key(iface) {
        return Ok(());
    }
    let has: Vec<&str> = exports.keys().map(String::as_str).collect();
    Err(Failure::input(format!(
        "{origin} does not fit the {slot} slot: it does not export {iface} (it exports: {})",
        if has.is_empty() {
            "nothing".to_string()
        } else {
            has.join(", ")
        }
    )))
}

/// An instance import that carries only types (e.g. scheduler:actions/types).
fn types_only(graph: &CompositionGraph, kind: ItemKind) -> bool {
    match kind {
        ItemKind::Instance(i) => graph.types()[i]
            .exports
            .values()
            .all(|k| matches!(k, ItemKind::Type(_))),
        _ => false,
    }
}
