//! The one place `generate!` runs for the scheduler component: the
//! `scheduler:main/scheduler` world (the action slots and core-libs it
//! imports, `run-scenario` and `vu` it exports).

wit_bindgen::generate!({
    world: "scheduler:main/scheduler",
    path: "../../wit/main",
    generate_all,
});
