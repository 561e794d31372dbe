//! The built-in component parts (compositions/parts.toml), embedded at build
//! time, and the slots a user may replace.

/// One part: `component:<name>` in compositions/*.wac.
#[derive(Debug)]
pub struct Part {
    pub name: &'static str,
    /// An action slot: exports `scheduler:actions/<name>`, replaceable.
    pub slot: bool,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/parts.rs"));

/// The slot called `name`, if there is one.
pub fn slot(name: &str) -> Option<&'static Part> {
    PARTS.iter().find(|p| p.slot && p.name == name)
}

/// The interface a component in slot `name` must export.
pub fn slot_interface(name: &str) -> String {
    format!("scheduler:actions/{name}@{ACTIONS_VERSION}")
}

/// The names of every slot, for messages.
pub fn slot_names() -> Vec<&'static str> {
    PARTS.iter().filter(|p| p.slot).map(|p| p.name).collect()
}
