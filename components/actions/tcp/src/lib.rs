//! The TCP action: connect (from the user's source IP), send a payload,
//! optionally read until N bytes / a delimiter / close, optionally expect.

mod reply;

use action_support::types::{ActionError, CallContext, ErrorKind, Outcome, ReadMode, TcpRequest};
use action_support::{Budget, contains, fail, net_fail, outcome, resolve, show, show_endpoint};

wit_bindgen::generate!({
    world: "scheduler:actions/tcp-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.2.0": action_support::net,
        "scheduler:core-libs/dns@0.2.0": action_support::dns,
        "scheduler:actions/types@0.2.0": action_support::types,
        "scheduler:core-libs/tcp@0.2.0": generate,
        "scheduler:actions/tcp@0.2.0": generate,
    },
});

use scheduler::core_libs::tcp as net;

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
) -> Result<(), ActionError> {
    let budget = Budget::new(ctx.timeout);
    let name = show_endpoint(&req.target);
    let addr = resolve(&req.target, ctx.source_ip)?;
    let conn =
        net::connect(addr, ctx.source_ip, budget.left()).map_err(|e| net_fail(e, true, &name))?;
    if !req.payload.is_empty() {
        conn.write(&req.payload, budget.left())
            .map_err(|e| net_fail(e, false, &name))?;
        *sent = req.payload.len() as u64;
    }
    let mut got = Vec::new();
    let max_read = usize::try_from(req.max_read).unwrap_or(usize::MAX);
    let read = |max| conn.read(max, budget.for_read()?);
    let ended = reply::read(&req.read, max_read, read, &mut got, received)
        .map_err(|e| net_fail(e, false, &name))?;
    if ended == reply::Ended::Full {
        return Err(fail(
            ErrorKind::Protocol,
            format!(
                "{name}: no {} in the first {max_read} bytes (max_read)",
                match &req.read {
                    ReadMode::Delimiter(d) => format!("delimiter {}", show(d)),
                    _ => "end".to_string(),
                }
            ),
        ));
    }
    if ended == reply::Ended::Closed && !matches!(req.read, ReadMode::UntilClose) {
        return Err(fail(
            ErrorKind::Protocol,
            format!(
                "{name}: peer closed after {} bytes: {}",
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
