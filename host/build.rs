//! The host embeds the built-in component parts so `scheduler-host` is one
//! file; `cargo xtask build` makes them (it runs before any host build).

use std::path::PathBuf;

const PARTS: [&str; 6] = [
    "core_libs.wasm",
    "action_http.wasm",
    "action_tcp.wasm",
    "action_udp.wasm",
    "action_no_extension.wasm",
    "scheduler.wasm",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../target"));
    let dir = target.join("wasm32-wasip2/wasm");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    for part in PARTS {
        let path = dir.join(part);
        println!("cargo:rerun-if-changed={}", path.display());
        if !path.exists() {
            eprintln!(
                "error: {} is missing: build the components first with `cargo xtask build`",
                path.display()
            );
            std::process::exit(1);
        }
    }
    println!("cargo:rustc-env=SCHEDULER_PARTS_DIR={}", dir.display());
}
