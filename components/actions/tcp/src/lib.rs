//! The TCP action: connect (from the user's source IP), send a payload,
//! optionally read until N bytes / a delimiter / close, optionally expect.
//! With a TLS client (`tls: true` on the step) the connection does a TLS
//! handshake first (SNI: the target's host) and the payload goes inside it.

mod reply;

use action_support::types::{
    ActionError, CallContext, ErrorKind, Outcome, ReadMode, TcpRequest, TlsUse,
};
use action_support::{Budget, contains, fail, net_fail, outcome, resolve, show, show_endpoint};

wit_bindgen::generate!({
    world: "scheduler:actions/tcp-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.3.0": action_support::net,
        "scheduler:core-libs/dns@0.3.0": action_support::dns,
        "scheduler:actions/types@0.4.0": action_support::types,
        "scheduler:core-libs/tcp@0.3.0": generate,
        "scheduler:core-libs/tls@0.3.0": generate,
        "scheduler:actions/tcp@0.4.0": generate,
    },
});

use scheduler::core_libs::tcp as net;
use scheduler::core_libs::tls;

struct TcpAction;

impl exports::scheduler::actions::tcp::Guest for TcpAction {
    fn execute(ctx: CallContext, req: TcpRequest, tls: Option<&tls::Client>) -> Outcome {
        let (mut sent, mut received, mut tls_use) = (0, 0, None);
        let result = exchange(&ctx, &req, tls, &mut tls_use, &mut sent, &mut received);
        Outcome {
            tls: tls_use,
            ..outcome(None, sent, received, result)
        }
    }
}

fn exchange(
    ctx: &CallContext,
    req: &TcpRequest,
    tls: Option<&tls::Client>,
    tls_use: &mut Option<TlsUse>,
    sent: &mut u64,
    received: &mut u64,
) -> Result<(), ActionError> {
    let budget = Budget::new(ctx.timeout);
    let name = show_endpoint(&req.target);
    let addr = resolve(&req.target, ctx.source_ip)?;
    let conn =
        net::connect(addr, ctx.source_ip, budget.left()).map_err(|e| net_fail(e, true, &name))?;
    if let Some(client) = tls {
        let session = tls::handshake(&conn, client, &req.target.host, &[], budget.left())
            .map_err(|e| net_fail(e, false, &name))?;
        *tls_use = Some(TlsUse {
            version: session.version,
            handshake: true,
            resumed: session.resumed,
        });
    }
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
