//! The HTTP action: any method, headers and body, over TCP or TLS, in
//! HTTP/1.1 (responses framed by Content-Length, chunked encoding or
//! close, parsed with `httparse`) or HTTP/2 (`h2`; by ALPN, or h2c with
//! prior knowledge); one kept-alive connection per (user, target, source
//! IP, TLS name) reused across steps; redirects followed hop by hop; a cookie jar
//! per user; gzip, deflate, br and zstd bodies decoded for checks.

mod cookies;
mod decode;
mod exchange;
mod http2;
mod pool;
mod request;
mod response;

use action_support::answers;
use action_support::task::Task;
use action_support::tls;
use action_support::types::{
    ActionError, CallContext, ErrorKind, Exchange, Hop, HttpRequest, Outcome, Progress, Query,
};
use action_support::{Budget, contains, fail, show};
use std::borrow::Cow;

wit_bindgen::generate!({
    world: "scheduler:actions/http-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.4.0": action_support::net,
        "scheduler:core-libs/dns@0.4.0": action_support::dns,
        "scheduler:actions/types@0.9.0": action_support::types,
        "scheduler:core-libs/tcp@0.4.0": action_support::tcp,
        "scheduler:core-libs/tls@0.4.0": action_support::tls,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "scheduler:actions/http@0.9.0": generate,
    },
});

struct HttpAction;

impl exports::scheduler::actions::http::Guest for HttpAction {
    type Call = Call;
}

/// One step: its future, advanced by the scheduler.
struct Call(Task);

impl exports::scheduler::actions::http::GuestCall for Call {
    fn new(ctx: CallContext, req: HttpRequest, tls: Option<&tls::Client>) -> Self {
        // The call outlives the borrow: it keeps a handle of its own.
        let tls = tls.map(tls::Client::share);
        Call(Task::new(async move { execute(ctx, req, tls).await }))
    }

    fn advance(&self) -> Progress {
        self.0.advance()
    }
}

async fn execute(ctx: CallContext, req: HttpRequest, tls: Option<tls::Client>) -> Outcome {
    {
        let tls = tls.as_ref();
        let budget = Budget::new(ctx.timeout);
        let mut earlier = Vec::new();
        let mut tally = exchange::Tally::default();
        let followed = follow(&ctx, &req, tls, &budget, &mut earlier, &mut tally).await;
        let (error, answers, body_cut, trace) = match followed {
            Ok(resp) => {
                let body = body_of(&req, &resp);
                let trace = traced(&mut tally, Some(&resp), &body);
                let answered = answers::Answered {
                    status: resp.status.into(),
                    headers: &resp.headers,
                    body: &body,
                };
                let answers = answers::answer(&req.queries, answered);
                let decoded = matches!(body, Cow::Owned(_));
                let cut = resp.truncated().then_some(resp.body_len);
                let error = check_body(&req, &resp, &body, decoded).err();
                (error, answers, cut, trace)
            }
            Err(e) => (Some(e), Vec::new(), None, traced(&mut tally, None, &[])),
        };
        Outcome {
            status: tally.status,
            http_version: tally.version,
            body_cut,
            grpc: None,
            ws: None,
            trace,
            bytes_sent: tally.sent,
            bytes_received: tally.received,
            error,
            phases: tally.phases,
            tls: tally.tls,
            earlier,
            answers,
        }
    }
}

/// Runs the step's request and the redirects it leads to; every request but
/// the last goes to `earlier`, the last one's counts stay in `tally`.
async fn follow(
    ctx: &CallContext,
    req: &HttpRequest,
    tls: Option<&tls::Client>,
    budget: &Budget,
    earlier: &mut Vec<Hop>,
    tally: &mut exchange::Tally,
) -> Result<response::Response, ActionError> {
    // The body streams through; only a check or a query keeps (part of) it.
    let reads_body = req.trace
        || req.expect_body.is_some()
        || req
            .queries
            .iter()
            .any(|q| matches!(q, Query::Json(_) | Query::Regex(_)));
    let headers: Vec<String> = match req.trace {
        true => vec![response::ALL_HEADERS.to_string()],
        false => req
            .queries
            .iter()
            .filter_map(|q| match q {
                Query::Header(h) => Some(h.clone()),
                _ => None,
            })
            .collect(),
    };
    let keep = response::Keep {
        body: if reads_body {
            usize::try_from(req.max_body).unwrap_or(usize::MAX)
        } else {
            0
        },
        headers: &headers,
    };
    let mut url = Cow::Borrowed(req.url.as_str());
    let mut method = Cow::Borrowed(req.method.as_str());
    let mut body = req.body.as_deref();
    let mut headers = Cow::Borrowed(&req.headers[..]);
    let via = match &req.proxy {
        Some(p) => Some(pool::proxy(p, ctx.source_ip)?),
        None => None,
    };
    // A Digest challenge is answered once per step (a second 401 is the answer).
    let mut challenged = false;
    loop {
        let route = pool::route(&url, ctx.source_ip)?;
        let cookie = if req.cookies && !request::has(&headers, "cookie") {
            cookies::header(ctx.vu, &url)
        } else {
            None
        };
        let one = request::Request {
            method: &method,
            headers: &headers,
            body,
            cookie,
            // Plain HTTP goes to the proxy in absolute form; HTTPS tunnels.
            proxy: via
                .as_deref()
                .filter(|_| !route.target.tls)
                .map(|p| p.auth.as_deref()),
            trace: req.trace,
        };
        if req.trace {
            let max = usize::try_from(req.max_body).unwrap_or(usize::MAX);
            let sent = body.unwrap_or_default();
            tally.traced = Some(Exchange {
                method: method.to_string(),
                url: url.to_string(),
                request_headers: Vec::new(),
                request_body: sent[..sent.len().min(max)].to_vec(),
                response_headers: Vec::new(),
                response_body: Vec::new(),
                server: None,
                connection: 0,
            });
        }
        let how = (tls, via.as_deref());
        let resp = exchange::run(ctx, &route, &one, keep, how, req.version, budget, tally).await?;
        if req.cookies {
            cookies::store(ctx.vu, &url, &resp.set_cookies);
        }
        if let (401, Some(creds), Some(challenge), false) =
            (resp.status, &req.digest, &resp.digest_challenge, challenged)
        {
            let answer = digest(creds, challenge, &method, &route.target.path, body)
                .map_err(|why| fail(ErrorKind::Protocol, format!("{url}: {why}")))?;
            earlier.push(hop(&resp, tally));
            let mut with = without(&headers, &["authorization"]).into_owned();
            with.push(("Authorization".into(), answer));
            headers = Cow::Owned(with);
            challenged = true;
            continue;
        }
        let next = match (&resp.location, redirect_method(resp.status, &method)) {
            (Some(location), Some(next_method)) if req.max_redirects > 0 => (location, next_method),
            _ => return Ok(resp),
        };
        if earlier.len() >= req.max_redirects as usize {
            return Err(fail(
                ErrorKind::TooManyRedirects,
                format!(
                    "stopped after {} redirects (max_redirects), at {url} → {}",
                    earlier.len(),
                    next.0
                ),
            ));
        }
        let to = url::Url::parse(&url)
            .and_then(|u| u.join(next.0))
            .map_err(|e| {
                fail(
                    ErrorKind::Protocol,
                    format!("{url}: bad Location {:?}: {e}", next.0),
                )
            })?;
        earlier.push(hop(&resp, tally));
        if next.1 != method {
            // 301/302/303 after a POST: the next request is a GET without a body.
            body = None;
            headers = without(&headers, &["content-type", "content-length"]);
            method = Cow::Owned(next.1);
        }
        if !same_origin(&url, &to) {
            // Credentials the user wrote for one origin do not follow a redirect to another.
            headers = without(&headers, &["authorization", "cookie"]);
        }
        url = Cow::Owned(to.into());
    }
}

/// A request before the step's last one, from its tally (which starts
/// over for the next).
fn hop(resp: &response::Response, tally: &mut exchange::Tally) -> Hop {
    let trace = traced(tally, Some(resp), &resp.body);
    let done = std::mem::take(tally);
    Hop {
        status: resp.status,
        trace,
        bytes_sent: done.sent,
        bytes_received: done.received,
        // The request's own time on the wire (no clock read of its own).
        duration: done.phases.map_or(0, |p| {
            p.connecting + p.tls_handshaking + p.sending + p.waiting + p.receiving
        }),
        phases: done.phases,
        tls: done.tls,
        http_version: done.version,
    }
}

/// The request `tally` traced (none unless the step asked for a trace),
/// with what came back: the response's headers and `body` (as the checks
/// read it).
fn traced(
    tally: &mut exchange::Tally,
    resp: Option<&response::Response>,
    body: &[u8],
) -> Option<Exchange> {
    let mut x = tally.traced.take()?;
    x.request_headers = tally.sent_headers.take().unwrap_or_default();
    x.server = tally.server.clone();
    x.connection = tally.connection;
    if let Some(r) = resp {
        x.response_headers = r.headers.clone();
        x.response_body = body.to_vec();
    }
    Some(x)
}

/// The `Authorization` answering a Digest `challenge` (RFC 7616) for this
/// request.
fn digest(
    creds: &action_support::types::Credentials,
    challenge: &str,
    method: &str,
    uri: &str,
    body: Option<&[u8]>,
) -> Result<String, String> {
    let mut prompt = digest_auth::parse(challenge)
        .map_err(|e| format!("bad Digest challenge {challenge:?}: {e}"))?;
    let context = digest_auth::AuthContext::new_with_method(
        creds.user.as_str(),
        creds.password.as_str(),
        uri,
        body,
        digest_auth::HttpMethod(Cow::Borrowed(method)),
    );
    prompt
        .respond(&context)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot answer the Digest challenge {challenge:?}: {e}"))
}

/// The method a redirect's next request uses, or none when `status` is not
/// a redirect this client follows.
fn redirect_method(status: u16, method: &str) -> Option<String> {
    match status {
        301..=303
            if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD") =>
        {
            Some("GET".into())
        }
        301..=303 | 307 | 308 => Some(method.to_string()),
        _ => None,
    }
}

/// `headers` without those named in `names` (any case).
fn without<'a>(headers: &[(String, String)], names: &[&str]) -> Cow<'a, [(String, String)]> {
    headers
        .iter()
        .filter(|(k, _)| !names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        .cloned()
        .collect::<Vec<_>>()
        .into()
}

fn same_origin(from: &str, to: &url::Url) -> bool {
    url::Url::parse(from).is_ok_and(|f| f.origin() == to.origin())
}

/// The kept body, decoded as its `Content-Encoding` says (as k6 does).
fn body_of<'a>(req: &HttpRequest, resp: &'a response::Response) -> Cow<'a, [u8]> {
    resp.content_encoding
        .as_deref()
        .filter(|_| !resp.body.is_empty())
        .and_then(|enc| decode::decode(enc, &resp.body, req.max_body))
        .map_or(Cow::Borrowed(&resp.body[..]), Cow::Owned)
}

fn check_body(
    req: &HttpRequest,
    resp: &response::Response,
    body: &[u8],
    decoded: bool,
) -> Result<(), ActionError> {
    let Some(want) = &req.expect_body else {
        return Ok(());
    };
    if contains(body, want) {
        return Ok(());
    }
    let truncated = if resp.truncated() {
        format!(
            " (the first {} of {} bytes: max_body)",
            resp.body.len(),
            resp.body_len
        )
    } else {
        String::new()
    };
    let what = if decoded { "decoded body" } else { "body" };
    Err(fail(
        ErrorKind::CheckFailed,
        format!(
            "expected {} in {what} {}{truncated}",
            show(want),
            show(body)
        ),
    ))
}

export!(HttpAction);
