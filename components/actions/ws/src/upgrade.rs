//! The opening of a session: the connection (TLS for wss://) and the HTTP
//! upgrade, tungstenite's client handshake over core-libs' connection.

use crate::expect::Answers;
use crate::wire::{Meter, Wire};
use action_support::task::ready;
use action_support::tcp::Connection;
use action_support::tls::Client;
use action_support::types::{ActionError, CallContext, ErrorKind, Phases, TlsUse, WsRequest};
use action_support::{Budget, fail, io, net_fail, phases, resolve};
use std::rc::Rc;
use std::time::Instant;
use tungstenite::client::IntoClientRequest;
use tungstenite::error::ProtocolError;
use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error as WsError, WebSocket};

/// What the upgrade found out, for the outcome.
#[derive(Default)]
pub struct Tally {
    pub status: Option<u16>,
    pub phases: Option<Phases>,
    pub tls: Option<TlsUse>,
}

/// Connects (TLS for wss://, ALPN http/1.1) and upgrades.
pub async fn open(
    ctx: &CallContext,
    req: &WsRequest,
    tls: Option<&Client>,
    budget: &Budget,
    meter: &Rc<Meter>,
    tally: &mut Tally,
) -> Result<(WebSocket<Wire>, Rc<Connection>, Answers), ActionError> {
    let Some(target) = contract::Endpoint::from_ws_url(&req.url) else {
        return Err(fail(
            ErrorKind::BadParams,
            format!("{:?}: expected ws[s]://host[:port]/path", req.url),
        ));
    };
    let authority = target.to_string();
    let secure = req.url.to_ascii_lowercase().starts_with("wss:");
    let target = action_support::types::Endpoint {
        host: target.host,
        port: target.port,
    };
    let addr = resolve(&target, ctx.source_ip)?;
    let mut p = phases::zero();
    let alpn = ["http/1.1".to_string()];
    let tls = secure.then(|| io::Secure {
        client: tls,
        vu: ctx.vu,
        host: &target.host,
        alpn: &alpn,
    });
    let (conn, used) = io::open(
        addr,
        ctx.source_ip,
        tls,
        budget.deadline,
        &mut p,
        &authority,
    )
    .await?;
    tally.tls = used.map(|(used, _)| used);
    let request = upgrade_request(req)?;
    let conn = Rc::new(conn);
    let wire = Wire {
        conn: Rc::clone(&conn),
        meter: Rc::clone(meter),
    };
    // Frames past max-message are refused at their header, before their
    // payload is read.
    let max = usize::try_from(req.max_message).unwrap_or(usize::MAX);
    let config = WebSocketConfig::default()
        .read_buffer_size(16 << 10)
        .write_buffer_size(0)
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let sending = Instant::now();
    let mut mid = match ClientHandshake::start(wire, request, Some(config)) {
        Ok(mid) => mid,
        Err(e) => return Err(upgrade_failed(e, meter, &authority, tally)),
    };
    let mut sent_at = None;
    let (ws, response) = loop {
        match mid.handshake() {
            Ok(done) => break done,
            Err(HandshakeError::Interrupted(m)) => {
                sent_at.get_or_insert_with(Instant::now);
                mid = m;
                ready(conn.subscribe(), budget.deadline)
                    .await
                    .map_err(|e| net_fail(e, false, &authority))?;
            }
            Err(HandshakeError::Failure(e)) => {
                return Err(upgrade_failed(e, meter, &authority, tally));
            }
        }
    };
    let end = Instant::now();
    tally.status = Some(response.status().as_u16());
    tally.phases = Some(phases::timed(p, sending, sent_at.unwrap_or(end), None, end));
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let answers = Answers::new(req.queries.clone(), 101, &headers);
    Ok((ws, conn, answers))
}

/// The upgrade request: the url (encoded as the http action sends URLs),
/// the step's headers, its subprotocols.
fn upgrade_request(
    req: &WsRequest,
) -> Result<tungstenite::handshake::client::Request, ActionError> {
    let bad = |why: String| fail(ErrorKind::BadParams, why);
    let url = contract::url::wire(&req.url);
    let mut request = url
        .as_ref()
        .into_client_request()
        .map_err(|e| bad(format!("{:?}: {e}", req.url)))?;
    let headers = request.headers_mut();
    for (k, v) in &req.headers {
        let name = tungstenite::http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| bad(format!("header {k:?}: not a header name")))?;
        let value = tungstenite::http::HeaderValue::from_str(v)
            .map_err(|_| bad(format!("header {k}: {v:?} is not a header value")))?;
        headers.append(name, value);
    }
    if !req.subprotocols.is_empty() {
        let value = tungstenite::http::HeaderValue::from_str(&req.subprotocols.join(", "))
            .map_err(|_| bad("subprotocols: not header text".into()))?;
        headers.insert("sec-websocket-protocol", value);
    }
    Ok(request)
}

/// Why the upgrade failed: the server's answer was not a 101 (a failed
/// check, with its status), it broke the protocol, or the socket failed.
fn upgrade_failed(e: WsError, meter: &Meter, authority: &str, tally: &mut Tally) -> ActionError {
    match e {
        WsError::Http(resp) => {
            let status = resp.status();
            tally.status = Some(status.as_u16());
            fail(
                ErrorKind::CheckFailed,
                format!(
                    "{authority}: the server refused the upgrade: HTTP {status} (expected 101 Switching Protocols)"
                ),
            )
        }
        WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(why)) => fail(
            ErrorKind::CheckFailed,
            format!("{authority}: the server's answer to the subprotocols offered: {why}"),
        ),
        WsError::Io(_) => match meter.error.take() {
            Some(e) => net_fail(e, false, authority),
            None => fail(
                ErrorKind::Protocol,
                format!("{authority}: the server closed the connection during the upgrade"),
            ),
        },
        other => fail(
            ErrorKind::Protocol,
            format!("{authority}: upgrade: {other}"),
        ),
    }
}
