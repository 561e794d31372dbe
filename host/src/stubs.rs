//! Stand-ins for the action slots a scenario does not use. Every built-in
//! part is instantiated with each cell: an http-only scenario would still
//! make the tcp and udp actions' instances, memories and tables. For each
//! unused slot the composition gets instead a component with the same
//! world (the same imports, so WAC wires it exactly as the part, and the
//! same export) whose functions trap: wit-component's dummy module, one
//! small core instance. The scheduler calls a slot only for a step of its
//! type, so a stand-in is never called. The extension slot's default part
//! is already a no-op, and `kinds()` is called on it, so it stays.

use anyhow::{Context, Result, bail};
use wit_component::{ComponentEncoder, DecodedWasm, StringEncoding};
use wit_parser::ManglingAndAbi;

/// A component with `part`'s world whose every function traps.
pub fn stand_in(part: &[u8]) -> Result<Vec<u8>> {
    let DecodedWasm::Component(resolve, world) =
        wit_component::decode(part).context("decoding a built-in part")?
    else {
        bail!("a built-in part is a WIT package, not a component");
    };
    let mut module = wit_component::dummy_module(&resolve, world, ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)?;
    ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()
}
