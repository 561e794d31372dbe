//! One gRPC call: the request message encoded from its JSON mapping, sent
//! on a new stream of the user's HTTP/2 connection to the target (made
//! on first use, kept for the next call), the reply messages counted and
//! decoded for the step's queries, and the grpc-status from the trailers
//! checked against the one the step expects.

use crate::frame::{self, Decoder};
use crate::schema::{self, Schema};
use action_support::answers::{self, Answered};
use action_support::h2::{self as link, Failed, Link};
use action_support::net::{NetError, ProtocolVersion};
use action_support::tls::Client;
use action_support::types::{
    ActionError, CallContext, ErrorKind, GrpcRequest, GrpcResult, HttpVersion, Outcome, Phases,
    TlsUse,
};
use action_support::{
    Budget, fail, io, net_fail, phases, resolve, show_endpoint, std_ip, std_socket,
};
use bytes::Bytes;
use prost_reflect::{DynamicMessage, MethodDescriptor, SerializeOptions};
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Instant;

const USER_AGENT: &str = concat!("wasm-scheduler-grpc/", env!("CARGO_PKG_VERSION"));

/// A kept-alive connection's owner: one per (user, address, source, TLS).
#[derive(Clone, PartialEq)]
struct Key {
    vu: u32,
    addr: SocketAddr,
    source: Option<IpAddr>,
    tls: bool,
}

thread_local! {
    /// Idle connections, with the TLS version each went over.
    static IDLE: RefCell<Vec<(Key, Link, Option<ProtocolVersion>)>> = const { RefCell::new(Vec::new()) };
}

/// What one call measured, whether it succeeded or not.
#[derive(Default)]
struct Tally {
    sent: u64,
    received: u64,
    phases: Option<Phases>,
    tls: Option<TlsUse>,
}

/// A reply: its HTTP status, the metadata kept for queries (headers,
/// then trailers), the messages, and the grpc-status.
struct Reply {
    http_status: u16,
    metadata: Vec<(String, String)>,
    messages: Decoder,
    grpc_status: u16,
    grpc_message: String,
}

pub async fn execute(
    ctx: CallContext,
    req: GrpcRequest,
    schema: Rc<Schema>,
    tls: Option<Client>,
) -> Outcome {
    let budget = Budget::new(ctx.timeout);
    let mut tally = Tally::default();
    let result = call(&ctx, &req, &schema, tls.as_ref(), &budget, &mut tally).await;
    let (reply, method) = match result {
        Ok(r) => r,
        Err(e) => return outcome(&tally, None, Some(e), Vec::new()),
    };
    let answers = match req.queries.is_empty() {
        true => Vec::new(),
        false => {
            let json = reply_json(&method, &reply.messages);
            let answered = Answered {
                status: u32::from(reply.grpc_status),
                headers: &reply.metadata,
                body: json.as_bytes(),
            };
            answers::answer(&req.queries, answered)
        }
    };
    let error = verdict(&req, &reply);
    outcome(&tally, Some(&reply), error, answers)
}

fn outcome(
    tally: &Tally,
    reply: Option<&Reply>,
    error: Option<ActionError>,
    answers: Vec<Option<String>>,
) -> Outcome {
    Outcome {
        status: reply.map(|r| r.http_status),
        http_version: tally.phases.map(|_| HttpVersion::Http2),
        bytes_sent: tally.sent,
        bytes_received: tally.received,
        error,
        phases: tally.phases,
        tls: tally.tls,
        earlier: Vec::new(),
        answers,
        body_cut: None,
        // gRPC calls are not in a HAR trace.
        trace: None,
        ws: None,
        grpc: reply.map(|r| GrpcResult {
            status: r.grpc_status,
            messages: r.messages.count,
        }),
    }
}

/// The step's own checks: the grpc-status it expects, then the reply count.
fn verdict(req: &GrpcRequest, reply: &Reply) -> Option<ActionError> {
    let name = contract::grpc::status_name;
    if reply.grpc_status != req.expect_status {
        let said = match reply.grpc_message.is_empty() {
            true => String::new(),
            false => format!(" ({:?})", reply.grpc_message),
        };
        return Some(fail(
            ErrorKind::CheckFailed,
            format!(
                "grpc-status {}{said}, expected {}",
                name(reply.grpc_status),
                name(req.expect_status)
            ),
        ));
    }
    match req.expect_messages {
        Some(n) if n != reply.messages.count => Some(fail(
            ErrorKind::CheckFailed,
            format!(
                "expect_messages: {} reply messages, expected {n}",
                reply.messages.count
            ),
        )),
        _ => None,
    }
}

/// The reply decoded to its JSON mapping (field names as the .proto writes
/// them, default values included): a unary call's message, a streaming
/// call's messages as an array. A message that does not decode is null.
fn reply_json(method: &MethodDescriptor, messages: &Decoder) -> String {
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false);
    let one = |bytes: &Vec<u8>| -> serde_json::Value {
        DynamicMessage::decode(method.output(), bytes.as_slice())
            .ok()
            .and_then(|m| {
                m.serialize_with_options(serde_json::value::Serializer, &options)
                    .ok()
            })
            .unwrap_or(serde_json::Value::Null)
    };
    let value = match method.is_server_streaming() {
        true => serde_json::Value::Array(messages.kept.iter().map(one).collect()),
        false => messages.kept.first().map_or(serde_json::Value::Null, one),
    };
    value.to_string()
}

/// Encodes the request, then sends it on the user's connection (a kept one
/// the server closed meanwhile is retried once on a fresh one).
async fn call(
    ctx: &CallContext,
    req: &GrpcRequest,
    schema: &Schema,
    tls: Option<&Client>,
    budget: &Budget,
    tally: &mut Tally,
) -> Result<(Reply, MethodDescriptor), ActionError> {
    let bad = |m: String| fail(ErrorKind::BadParams, m);
    let method = schema.method(&req.method).map_err(bad)?;
    let body = frame::encode(&schema::encode(&method, &req.message_json).map_err(bad)?);
    let authority = show_endpoint(&req.target);
    let addr = resolve(&req.target, ctx.source_ip)?;
    let key = Key {
        vu: ctx.vu,
        addr: std_socket(addr),
        source: ctx.source_ip.map(std_ip),
        tls: req.tls,
    };
    for attempt in 0..2 {
        let mut phases = phases::zero();
        let idle = IDLE.with(|m| {
            let mut m = m.borrow_mut();
            let i = m.iter().position(|(k, ..)| *k == key)?;
            let (_, link, version) = m.swap_remove(i);
            Some((link, version))
        });
        let (mut link, version, reused) = match idle {
            Some((link, version)) if attempt == 0 => {
                tally.tls = version.map(|version| TlsUse {
                    version,
                    handshake: false,
                    resumed: false,
                });
                (link, version, true)
            }
            _ => {
                let link = open(ctx, req, addr, tls, budget, &mut phases, tally).await?;
                (link, tally.tls.map(|t| t.version), false)
            }
        };
        let sent_from = budget.now();
        let mut timing = Timing::default();
        let r = exchange(&mut link, req, &authority, &body, budget, &mut timing).await;
        let (sent, received) = link.take_counts();
        tally.sent += sent;
        tally.received += received;
        let end = timing.last.unwrap_or_else(Instant::now);
        let sent_at = timing.sent.unwrap_or(end);
        tally.phases = Some(phases::timed(phases, sent_from, sent_at, timing.first, end));
        if link.open() && !matches!(r, Err(Failed::Stale(_))) {
            IDLE.with(|m| m.borrow_mut().push((key.clone(), link, version)));
        }
        match r {
            Ok(reply) => return Ok((reply, method)),
            Err(Failed::Stale(_)) if reused && !budget.expired() => continue,
            Err(f) => return Err(f.into_inner()),
        }
    }
    Err(fail(
        ErrorKind::ConnectionReset,
        format!("{authority}: connection closed twice before a reply"),
    ))
}

/// A fresh connection: TCP, TLS with ALPN `h2` when the step asks for it,
/// then HTTP/2's preface and SETTINGS.
async fn open(
    ctx: &CallContext,
    req: &GrpcRequest,
    addr: action_support::net::IpSocketAddress,
    tls: Option<&Client>,
    budget: &Budget,
    phases: &mut Phases,
    tally: &mut Tally,
) -> Result<Link, ActionError> {
    let authority = show_endpoint(&req.target);
    let h2 = ["h2".to_string()];
    let secure = req.tls.then(|| io::Secure {
        client: tls,
        vu: ctx.vu,
        host: &req.target.host,
        alpn: &h2,
    });
    let (conn, used) = io::open(
        addr,
        ctx.source_ip,
        secure,
        budget.deadline,
        phases,
        &authority,
    )
    .await?;
    if let Some((used, alpn)) = used {
        tally.tls = Some(used);
        if alpn.as_deref() != Some("h2") {
            return Err(fail(
                ErrorKind::Unsupported,
                format!(
                    "{authority}: the server did not agree to h2 by ALPN (it chose {}); gRPC needs HTTP/2",
                    alpn.as_deref().unwrap_or("nothing")
                ),
            ));
        }
    }
    link::start(conn, budget, &authority).await
}

/// When the request went out and the reply began and ended arriving.
#[derive(Default)]
struct Timing {
    sent: Option<Instant>,
    first: Option<Instant>,
    last: Option<Instant>,
}

/// The call on a new stream of `link`.
async fn exchange(
    link: &mut Link,
    req: &GrpcRequest,
    authority: &str,
    body: &[u8],
    budget: &Budget,
    timing: &mut Timing,
) -> Result<Reply, Failed> {
    link.meter.deadline.set(budget.deadline);
    let meter = Rc::clone(&link.meter);
    let failed = |e: h2::Error| link::error(e, &meter, authority);
    let timed_out = |e: NetError| Failed::Final(net_fail(e, false, authority));
    let request = build(req, authority).map_err(Failed::Final)?;
    let deadline = budget.deadline;
    let driver = &mut link.driver;
    let ready = link::drive(Some(driver), link.send.clone().ready(), deadline)
        .await
        .map_err(timed_out)?;
    let mut send = ready.map_err(failed)?;
    let (answer, mut stream) = send.send_request(request, false).map_err(failed)?;
    stream
        .send_data(Bytes::copy_from_slice(body), true)
        .map_err(failed)?;
    timing.sent = Some(Instant::now());
    let head = link::drive(Some(driver), answer, deadline)
        .await
        .map_err(timed_out)?
        .map_err(failed)?;
    timing.first = Some(Instant::now());
    timing.last = timing.first;
    // Once the reply has begun, nothing is retried.
    let begun = |e: h2::Error| Failed::Final(failed(e).into_inner());
    let (parts, mut recv) = head.into_parts();
    let mut messages = Decoder::new(req.max_body);
    while !recv.is_end_stream() {
        let chunk = link::drive(Some(driver), recv.data(), deadline)
            .await
            .map_err(timed_out)?;
        let Some(chunk) = chunk else { break };
        let chunk = chunk.map_err(begun)?;
        timing.last = Some(Instant::now());
        let _ = recv.flow_control().release_capacity(chunk.len());
        messages.push(&chunk).map_err(|why| {
            Failed::Final(fail(ErrorKind::Protocol, format!("{authority}: {why}")))
        })?;
    }
    let trailers = match recv.is_end_stream() {
        true => None,
        false => link::drive(Some(driver), recv.trailers(), deadline)
            .await
            .map_err(timed_out)?
            .map_err(begun)?,
    };
    timing.last = Some(Instant::now());
    reply(parts, trailers, messages, authority).map_err(Failed::Final)
}

/// The request's head: POST to the method's path, gRPC's content type,
/// `te: trailers`, and the step's metadata.
fn build(req: &GrpcRequest, authority: &str) -> Result<http::Request<()>, ActionError> {
    let scheme = if req.tls { "https" } else { "http" };
    let mut b = http::Request::builder()
        .method("POST")
        .uri(format!(
            "{scheme}://{authority}/{}",
            req.method.trim_start_matches('/')
        ))
        .version(http::Version::HTTP_2)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", USER_AGENT);
    for (k, v) in &req.metadata {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(())
        .map_err(|e| fail(ErrorKind::BadParams, format!("gRPC request: {e}")))
}

/// The reply's grpc-status: from the trailers, or from the headers of a
/// trailers-only reply. An HTTP status other than 200 is not a gRPC reply.
fn reply(
    parts: http::response::Parts,
    trailers: Option<http::HeaderMap>,
    messages: Decoder,
    authority: &str,
) -> Result<Reply, ActionError> {
    let http_status = parts.status.as_u16();
    let text = |v: &http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).to_string();
    let mut metadata: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), text(v)))
        .collect();
    metadata.extend(
        trailers
            .iter()
            .flat_map(|t| t.iter().map(|(k, v)| (k.to_string(), text(v)))),
    );
    let find = |name: &str| {
        metadata
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if http_status != 200 {
        return Err(fail(
            ErrorKind::Protocol,
            format!("{authority}: HTTP status {http_status}, not a gRPC reply"),
        ));
    }
    let Some(status) = find("grpc-status") else {
        return Err(fail(
            ErrorKind::Protocol,
            format!("{authority}: the reply ended without a grpc-status"),
        ));
    };
    let grpc_status = status.trim().parse::<u16>().map_err(|_| {
        fail(
            ErrorKind::Protocol,
            format!("{authority}: grpc-status {status:?} is not a number"),
        )
    })?;
    if messages.partial() > 0 {
        return Err(fail(
            ErrorKind::Protocol,
            format!(
                "{authority}: the reply ended inside a message ({} bytes of it)",
                messages.partial()
            ),
        ));
    }
    // grpc-message is percent-encoded (gRPC over HTTP/2, "Responses").
    let grpc_message = find("grpc-message")
        .map(|m| {
            percent_encoding::percent_decode_str(&m)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    Ok(Reply {
        http_status,
        metadata,
        messages,
        grpc_status,
        grpc_message,
    })
}
