//! The UDP action: send one datagram from the user's source IP, optionally
//! wait for one reply and check it.

use action_support::task::Task;
use action_support::types::{ActionError, CallContext, ErrorKind, Progress, UdpRequest};
use action_support::{Budget, contains, fail, net_fail, outcome, resolve, show, show_endpoint};

wit_bindgen::generate!({
    world: "scheduler:actions/udp-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.4.0": action_support::net,
        "scheduler:core-libs/dns@0.4.0": action_support::dns,
        "scheduler:actions/types@0.9.0": action_support::types,
        "scheduler:core-libs/udp@0.4.0": action_support::udp,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "scheduler:actions/udp@0.9.0": generate,
    },
});

use action_support::udp as net;

/// The largest UDP payload.
const MAX_DATAGRAM: u32 = 65_507;

struct UdpAction;

impl exports::scheduler::actions::udp::Guest for UdpAction {
    type Call = Call;
}

/// One step: its future, advanced by the scheduler.
struct Call(Task);

impl exports::scheduler::actions::udp::GuestCall for Call {
    fn new(ctx: CallContext, req: UdpRequest) -> Self {
        Call(Task::new(async move {
            let (mut sent, mut received) = (0, 0);
            let result = exchange(&ctx, &req, &mut sent, &mut received).await;
            outcome(None, sent, received, result)
        }))
    }

    fn advance(&self) -> Progress {
        self.0.advance()
    }
}

async fn exchange(
    ctx: &CallContext,
    req: &UdpRequest,
    sent: &mut u64,
    received: &mut u64,
) -> Result<(), ActionError> {
    let budget = Budget::new(ctx.timeout);
    let name = show_endpoint(&req.target);
    let addr = resolve(&req.target, ctx.source_ip)?;
    let socket = net::open(addr, ctx.source_ip).map_err(|e| net_fail(e, true, &name))?;
    socket
        .send(&req.payload, budget.left())
        .map_err(|e| net_fail(e, false, &name))?;
    *sent = req.payload.len() as u64;
    if !req.await_reply {
        return Ok(());
    }
    let reply = action_support::io::receive(&socket, MAX_DATAGRAM, budget.deadline)
        .await
        .map_err(|e| net_fail(e, false, &name))?;
    *received = reply.len() as u64;
    match &req.expect {
        Some(expect) if !contains(&reply, expect) => Err(fail(
            ErrorKind::CheckFailed,
            format!("expected {} in reply {}", show(expect), show(&reply)),
        )),
        _ => Ok(()),
    }
}

export!(UdpAction);
