//! The socket adapter: the one component that imports `wasi:sockets`.
//! Actions get bind-before-connect, connect/read/write timeouts and name
//! resolution from here, as `scheduler:core-libs`.

mod addr;
mod addresses;
mod deadline;
mod dns;
mod error;
mod stream;
mod tcp;
mod tls;
mod udp;

wit_bindgen::generate!({
    world: "scheduler:core-libs/core-libs",
    path: "../../wit/core-libs",
    // Pollables are wasi:io's own, so the ones core-libs makes are the
    // ones an action hands on to the scheduler's event loop.
    with: { "wasi:io/poll@0.2.12": wasip2::io::poll },
});

struct CoreLibs;

export!(CoreLibs);
