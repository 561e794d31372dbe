//! The UDP action: send one datagram from the user's source IP, optionally
//! wait for one reply and check it.

use action_support::types::{ActionError, CallContext, ErrorKind, Outcome, UdpRequest};
use action_support::{Budget, contains, fail, net_fail, outcome, resolve_target, show};

wit_bindgen::generate!({
    world: "scheduler:actions/udp-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.1.0": action_support::net,
        "scheduler:core-libs/dns@0.1.0": action_support::dns,
        "scheduler:actions/types@0.1.0": action_support::types,
        "scheduler:core-libs/udp@0.1.0": generate,
        "scheduler:actions/udp@0.1.0": generate,
    },
});

use scheduler::core_libs::udp as net;

/// The largest UDP payload.
const MAX_DATAGRAM: u32 = 65_507;

struct UdpAction;

impl exports::scheduler::actions::udp::Guest for UdpAction {
    fn execute(ctx: CallContext, req: UdpRequest) -> Outcome {
        let (mut sent, mut received) = (0, 0);
        let result = exchange(&ctx, &req, &mut sent, &mut received);
        outcome(None, sent, received, result)
    }
}

fn exchange(
    ctx: &CallContext,
    req: &UdpRequest,
    sent: &mut u64,
    received: &mut u64,
) -> Result<(), ActionError> {
    let budget = Budget::new(ctx.timeout_ms);
    let target = resolve_target(&req.target, ctx.source_ip.as_deref())?;
    let socket =
        net::open(&target, ctx.source_ip.as_deref()).map_err(|e| net_fail(e, true, &req.target))?;
    socket
        .send(&req.payload, budget.left_ms())
        .map_err(|e| net_fail(e, false, &req.target))?;
    *sent = req.payload.len() as u64;
    if !req.await_reply {
        return Ok(());
    }
    let reply = socket
        .receive(MAX_DATAGRAM, budget.left_ms())
        .map_err(|e| net_fail(e, false, &req.target))?;
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
