//! The built-in component parts, embedded at build time, and the slots a
//! user may replace.

macro_rules! part {
    ($file:literal) => {
        include_bytes!(concat!(env!("SCHEDULER_PARTS_DIR"), "/", $file)).as_slice()
    };
}

pub const CORE_LIBS: &[u8] = part!("core_libs.wasm");
pub const SCHEDULER: &[u8] = part!("scheduler.wasm");

/// Action slots: (slot name, interface the component must export, built-in part).
pub const SLOTS: [(&str, &str, &[u8]); 4] = [
    (
        "http",
        "scheduler:actions/http@0.1.0",
        part!("action_http.wasm"),
    ),
    (
        "tcp",
        "scheduler:actions/tcp@0.1.0",
        part!("action_tcp.wasm"),
    ),
    (
        "udp",
        "scheduler:actions/udp@0.1.0",
        part!("action_udp.wasm"),
    ),
    (
        "extension",
        "scheduler:actions/extension@0.1.0",
        part!("action_no_extension.wasm"),
    ),
];
