//! The ws action: one WebSocket session per step (RFC 6455). The
//! connection is core-libs' (TCP, TLS for wss://, the user's source
//! address); tungstenite does the upgrade (`upgrade`) and the framing over
//! it (`wire`), and `session` runs the step's messages in order.

mod expect;
mod session;
mod upgrade;
mod wire;

use action_support::task::Task;
use action_support::tls;
use action_support::types::{CallContext, Progress, WsRequest};

wit_bindgen::generate!({
    world: "scheduler:actions/ws-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.4.0": action_support::net,
        "scheduler:core-libs/dns@0.4.0": action_support::dns,
        "scheduler:actions/types@0.9.0": action_support::types,
        "scheduler:core-libs/tcp@0.4.0": action_support::tcp,
        "scheduler:core-libs/tls@0.4.0": action_support::tls,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "scheduler:actions/ws@0.9.0": generate,
    },
});

use exports::scheduler::actions::ws;

struct WsAction;

impl ws::Guest for WsAction {
    type Call = Call;
}

/// One step's session: its future, advanced by the scheduler.
struct Call(Task);

impl ws::GuestCall for Call {
    fn new(ctx: CallContext, req: WsRequest, tls: Option<&tls::Client>) -> Self {
        // The call outlives the borrow: it keeps a handle of its own.
        let tls = tls.map(tls::Client::share);
        Call(Task::new(async move { session::run(ctx, req, tls).await }))
    }

    fn advance(&self) -> Progress {
        self.0.advance()
    }
}

export!(WsAction);
