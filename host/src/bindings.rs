//! The one place `bindgen!` runs: the `vu` export the host drives.

wasmtime::component::bindgen!({
    world: "scheduler:main/vu-driver",
    path: "../wit/main",
    exports: { default: async },
});

pub use exports::scheduler::main::vu::{Sample, StepReport};
