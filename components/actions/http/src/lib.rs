//! The HTTP/1.1 action: any method, headers and body; responses framed by
//! Content-Length, chunked encoding or close, parsed with `httparse`;
//! one kept-alive connection per (target, source IP) reused across steps.

mod pool;
mod request;
mod response;

use action_support::types::{ActionError, CallContext, ErrorKind, HttpRequest, Outcome};
use action_support::{Budget, contains, fail, net_fail, outcome, show};

wit_bindgen::generate!({
    world: "scheduler:actions/http-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.2.0": action_support::net,
        "scheduler:core-libs/dns@0.2.0": action_support::dns,
        "scheduler:actions/types@0.2.0": action_support::types,
        "scheduler:core-libs/tcp@0.2.0": generate,
        "scheduler:actions/http@0.2.0": generate,
    },
});

use response::ReadError;
use scheduler::core_libs::tcp as net;

struct HttpAction;

impl exports::scheduler::actions::http::Guest for HttpAction {
    fn execute(ctx: CallContext, req: HttpRequest) -> Outcome {
        let mut tally = Tally::default();
        let result = exchange(&ctx, &req, &mut tally);
        outcome(tally.status, tally.sent, tally.received, result)
    }
}

#[derive(Default)]
struct Tally {
    status: Option<u16>,
    sent: u64,
    received: u64,
}

fn exchange(ctx: &CallContext, req: &HttpRequest, tally: &mut Tally) -> Result<(), ActionError> {
    let budget = Budget::new(ctx.timeout);
    let route = pool::route(&req.url, ctx.source_ip)?;
    let target = &route.target;
    let key = pool::Key::new(route.addr, ctx.source_ip);
    let bytes = request::encode(req, target);
    // A kept-alive connection may have been closed by the server since its
    // last use; then (and only then) retry once on a fresh connection.
    for attempt in 0..2 {
        let (conn, reused) = match pool::take(&key) {
            Some(c) if attempt == 0 => (c, true),
            _ => {
                let c = net::connect(route.addr, ctx.source_ip, budget.left())
                    .map_err(|e| net_fail(e, true, &target.authority))?;
                (c, false)
            }
        };
        if let Err(e) = conn.write(&bytes, budget.left()) {
            if reused && !budget.expired() {
                continue;
            }
            return Err(net_fail(e, false, &target.authority));
        }
        tally.sent += bytes.len() as u64;
        let head_only = req.method.eq_ignore_ascii_case("HEAD");
        // The body streams through; only a check keeps (part of) it.
        let keep = match req.expect_body {
            Some(_) => usize::try_from(req.max_body).unwrap_or(usize::MAX),
            None => 0,
        };
        let mut wire = Wire {
            conn: &conn,
            budget: &budget,
        };
        match response::read(&mut wire, head_only, keep, &mut tally.received) {
            Ok(resp) => {
                tally.status = Some(resp.status);
                if resp.keep_alive {
                    pool::put(key, conn);
                }
                return check_body(req, &resp);
            }
            Err(ReadError::NothingReceived { .. }) if reused && !budget.expired() => continue,
            Err(ReadError::NothingReceived { reset: true }) => {
                return Err(fail(
                    ErrorKind::ConnectionReset,
                    format!("{}: connection reset before any response", target.authority),
                ));
            }
            Err(ReadError::NothingReceived { reset: false }) => {
                return Err(fail(
                    ErrorKind::Protocol,
                    format!(
                        "{}: connection closed before any response",
                        target.authority
                    ),
                ));
            }
            Err(ReadError::Net(e)) => return Err(net_fail(e, false, &target.authority)),
            Err(ReadError::Protocol(why)) => {
                return Err(fail(
                    ErrorKind::Protocol,
                    format!("{}: {why}", target.authority),
                ));
            }
        }
    }
    Err(fail(
        ErrorKind::ConnectionReset,
        format!(
            "{}: connection closed twice before a response",
            target.authority
        ),
    ))
}

/// A connection read within the step's budget.
struct Wire<'a> {
    conn: &'a net::Connection,
    budget: &'a Budget,
}

impl response::Source for Wire<'_> {
    fn read(&mut self, max: u32) -> Result<Vec<u8>, action_support::net::NetError> {
        self.conn.read(max, self.budget.for_read()?)
    }
}

fn check_body(req: &HttpRequest, resp: &response::Response) -> Result<(), ActionError> {
    match &req.expect_body {
        Some(want) if !contains(&resp.body, want) => {
            let truncated = if resp.truncated() {
                format!(
                    " (the first {} of {} bytes: max_body)",
                    resp.body.len(),
                    resp.body_len
                )
            } else {
                String::new()
            };
            Err(fail(
                ErrorKind::CheckFailed,
                format!(
                    "expected {} in body {}{truncated}",
                    show(want),
                    show(&resp.body)
                ),
            ))
        }
        _ => Ok(()),
    }
}

export!(HttpAction);
