//! The one place `generate!` runs for the scheduler component: the
//! `scheduler:main/scheduler` world (the action slots and core-libs it
//! imports, `run-scenario` and `vu` it exports).

wit_bindgen::generate!({
    world: "scheduler:main/scheduler",
    path: "../../wit/main",
    // The actions' waits are wasi:io pollables; `poll` waits on them.
    with: { "wasi:io/poll@0.2.12": wasip2::io::poll },
    generate_all,
});
