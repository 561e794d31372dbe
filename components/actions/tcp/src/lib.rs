//! The TCP action: connect (from the user's source IP), send a payload,
//! optionally read until N bytes / a delimiter / close, optionally expect.

use action_support::types::{CallContext, ErrorKind, Outcome, ReadMode, TcpRequest};
use action_support::{Budget, contains, fail, net_fail, outcome, resolve_target, show};

wit_bindgen::generate!({
    world: "scheduler:actions/tcp-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.1.0": action_support::net,
        "scheduler:core-libs/dns@0.1.0": action_support::dns,
        "scheduler:actions/types@0.1.0": action_support::types,
        "scheduler:core-libs/tcp@0.1.0": generate,
        "scheduler:actions/tcp@0.1.0": generate,
    },
});

use scheduler::core_libs::tcp as net;

/// Largest read per call; replies past this still count, in more calls.
const READ_CHUNK: u32 = 64 * 1024;

struct TcpAction;

impl exports::scheduler::actions::tcp::Guest for TcpAction {
    fn execute(ctx: CallContext, req: TcpRequest) -> Outcome {
        let (mut sent, mut received) = (0, 0);
        let result = exchange(&ctx, &req, &mut sent, &mut received);
        outcome(None, sent, received, result)
    }
}

fn exchange(
    ctx: &CallContext,
    req: &TcpRequest,
    sent: &mut u64,
    received: &mut u64,
) -> Result<(), action_support::types::ActionError> {
    let budget = Budget::new(ctx.timeout_ms);
    let target = resolve_target(&req.target, ctx.source_ip.as_deref())?;
    let conn = net::connect(&target, ctx.source_ip.as_deref(), budget.left_ms())
        .map_err(|e| net_fail(e, true, &req.target))?;
    if !req.payload.is_empty() {
        conn.write(&req.payload, budget.left_ms())
            .map_err(|e| net_fail(e, false, &req.target))?;
        *sent = req.payload.len() as u64;
    }
    let mut got = Vec::new();
    let done = |got: &[u8]| match &req.read {
        ReadMode::None => true,
        ReadMode::Bytes(n) => got.len() >= *n as usize,
        ReadMode::Delimiter(d) => contains(got, d),
        ReadMode::UntilClose => false,
    };
    while !done(&got) {
        match conn.read(READ_CHUNK, budget.left_ms()) {
            Ok(chunk) if chunk.is_empty() => break, // peer closed
            Ok(chunk) => {
                *received += chunk.len() as u64;
                got.extend_from_slice(&chunk);
            }
            Err(e) => return Err(net_fail(e, false, &req.target)),
        }
    }
    if !done(&got) && !matches!(req.read, ReadMode::UntilClose) {
        return Err(fail(
            ErrorKind::Protocol,
            format!(
                "{}: peer closed after {} bytes: {}",
                req.target,
                got.len(),
                show(&got)
            ),
        ));
    }
    match &req.expect {
        Some(expect) if !contains(&got, expect) => Err(fail(
            ErrorKind::CheckFailed,
            format!("expected {} in reply {}", show(expect), show(&got)),
        )),
        _ => Ok(()),
    }
}

export!(TcpAction);
