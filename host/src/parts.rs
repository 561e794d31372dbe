//! The built-in component parts (compositions/parts.toml), embedded at build
//! time, and the slots a user may replace.

/// One part: `component:<name>` in compositions/*.wac.
#[derive(Debug)]
pub struct Part {
    pub name: &'static str,
    /// A slot: exports `scheduler:actions/<name>` (the script slot:
    /// `scheduler:script/journey`), replaceable.
    pub slot: bool,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/parts.rs"));

/// The slot called `name`, if there is one.
pub fn slot(name: &str) -> Option<&'static Part> {
    PARTS.iter().find(|p| p.slot && p.name == name)
}

/// The slot a script scenario's script fills (`script:`).
pub const SCRIPT_SLOT: &str = "script";

/// The interface a component in slot `name` must export.
pub fn slot_interface(name: &str) -> String {
    if name == SCRIPT_SLOT {
        return format!("scheduler:script/journey@{SCRIPT_VERSION}");
    }
    format!("scheduler:actions/{name}@{ACTIONS_VERSION}")
}

/// The names of every slot, for messages.
pub fn slot_names() -> Vec<&'static str> {
    PARTS.iter().filter(|p| p.slot).map(|p| p.name).collect()
}
