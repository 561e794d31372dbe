//! The TCP action: connect (from the user's source IP), send a payload,
//! optionally read until N bytes / a delimiter / close, optionally expect.
//! With a TLS client (`tls: true` on the step) the connection does a TLS
//! handshake first (SNI: the target's host) and the payload goes inside it.

mod reply;

use action_support::task::Task;
use action_support::tls;
use action_support::types::{
    ActionError, CallContext, ErrorKind, Outcome, Progress, ReadMode, TcpRequest, TlsUse,
};
use action_support::{Budget, contains, fail, io, net_fail, outcome, resolve, show, show_endpoint};

wit_bindgen::generate!({
    world: "scheduler:actions/tcp-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.4.0": action_support::net,
        "scheduler:core-libs/dns@0.4.0": action_support::dns,
        "scheduler:actions/types@0.9.0": action_support::types,
        "scheduler:core-libs/tcp@0.4.0": action_support::tcp,
        "scheduler:core-libs/tls@0.4.0": action_support::tls,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "scheduler:actions/tcp@0.9.0": generate,
    },
});

struct TcpAction;

impl exports::scheduler::actions::tcp::Guest for TcpAction {
    type Call = Call;
}

/// One step: its future, advanced by the scheduler.
struct Call(Task);

impl exports::scheduler::actions::tcp::GuestCall for Call {
    fn new(ctx: CallContext, req: TcpRequest, tls: Option<&tls::Client>) -> Self {
        // The call outlives the borrow: it keeps a handle of its own.
        let tls = tls.map(tls::Client::share);
        Call(Task::new(async move {
            let (mut sent, mut received, mut tls_use) = (0, 0, None);
            let result = exchange(
                &ctx,
                &req,
                tls.as_ref(),
                &mut tls_use,
                &mut sent,
                &mut received,
            )
            .await;
            Outcome {
                tls: tls_use,
                ..outcome(None, sent, received, result)
            }
        }))
    }

    fn advance(&self) -> Progress {
        self.0.advance()
    }
}

async fn exchange(
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
    let deadline = budget.deadline;
    let conn = io::connect(addr, ctx.source_ip, deadline)
        .await
        .map_err(|e| net_fail(e, true, &name))?;
    if let Some(client) = tls {
        let session = io::handshake(&conn, client, &req.target.host, &[], deadline)
            .await
            .map_err(|e| net_fail(e, false, &name))?;
        *tls_use = Some(TlsUse {
            version: session.version,
            handshake: true,
            resumed: session.resumed,
        });
    }
    if !req.payload.is_empty() {
        io::write(&conn, &req.payload, deadline)
            .await
            .map_err(|e| net_fail(e, false, &name))?;
        *sent = req.payload.len() as u64;
    }
    let mut got = Vec::new();
    let max_read = usize::try_from(req.max_read).unwrap_or(usize::MAX);
    // The first read after a payload waits for the reply before reading.
    let replying = std::cell::Cell::new(!req.payload.is_empty());
    let read = async |max| {
        // Bytes that keep coming do not hold the step past its deadline.
        budget.for_read()?;
        if replying.replace(false) {
            io::read_reply(&conn, max, deadline).await
        } else {
            io::read(&conn, max, deadline).await
        }
    };
    let ended = reply::read(&req.read, max_read, read, &mut got, received)
        .await
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
