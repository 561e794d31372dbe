//! A ws step's `params` → its session: url, headers, subprotocols, TLS,
//! `max_message`, and the messages in order.

use super::calls::{decode_hex, headers, origin_known, scalar};
use super::text::{Defaults, Parts, text_template};
use crate::bytesize::ByteSize;
use crate::duration::Dur;
use crate::error::{ScenarioError, field};
use crate::model::Part;
use crate::template::Names;
use crate::tls::TlsBlock;
use crate::ws::{DEFAULT_MAX_MESSAGE, WsCall, WsExpect, WsMessage, WsPayload};
use contract::Endpoint;
use serde::Deserialize;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WsParams {
    url: String,
    #[serde(default)]
    headers: serde_yaml::Mapping,
    #[serde(default)]
    subprotocols: Vec<String>,
    #[serde(default)]
    messages: Vec<serde_yaml::Value>,
    #[serde(default)]
    max_message: Option<ByteSize>,
    /// wss:// settings over the scenario's `tls:`.
    #[serde(default)]
    tls: Option<TlsBlock>,
}

/// One entry of `messages`, as written: exactly one of its verbs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    #[serde(default)]
    send: Option<String>,
    #[serde(default)]
    send_binary: Option<String>,
    #[serde(default)]
    expect: Option<serde_yaml::Value>,
    #[serde(default)]
    receive: Option<u32>,
    #[serde(default)]
    wait: Option<Dur>,
    #[serde(default)]
    ping: Option<bool>,
    #[serde(default)]
    close: Option<u16>,
    #[serde(default)]
    timeout: Option<Dur>,
}

const VERBS: &str = "send, send_binary, receive, wait, ping, close";

pub(super) fn ws(
    at: &str,
    p: WsParams,
    timeout: Duration,
    limits: &mut Defaults,
    parts: &mut Parts,
) -> Result<WsCall, ScenarioError> {
    let url_at = format!("{at}.url");
    let url = text_template(&url_at, &p.url, &limits.names)?;
    if !origin_known(&url, Endpoint::from_ws_url) {
        let why = if url.as_fixed().is_some() {
            "expected ws[s]://host[:port]/path"
        } else {
            "expected ws[s]://host[:port]/path, whose scheme, host and port use no variable but ${env.NAME} (egress rules are fixed before the run)"
        };
        return Err(field(url_at, format!("{:?}: {why}", p.url)));
    }
    let secure = url.prefix().to_ascii_lowercase().starts_with("wss:");
    let url = parts.take(Part::Url, url, &limits.names);
    let headers = headers(at, &p.headers, &limits.names, parts)?;
    for (i, s) in p.subprotocols.iter().enumerate() {
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        {
            return Err(field(
                format!("{at}.subprotocols[{i}]"),
                format!("{s:?} is not a subprotocol name (a token)"),
            ));
        }
    }
    let mut messages = Vec::new();
    let mut waits = Duration::ZERO;
    for (i, m) in p.messages.into_iter().enumerate() {
        let m_at = format!("{at}.messages[{i}]");
        let m = message(&m_at, i, m, &limits.names, parts)?;
        if let WsMessage::Wait(d) = &m {
            waits += *d;
        }
        if matches!(messages.last(), Some(WsMessage::Close(_))) {
            return Err(field(
                format!("{at}.messages[{}]", i - 1),
                "close ends the session: it must be the last message",
            ));
        }
        messages.push(m);
    }
    if waits >= timeout {
        return Err(field(
            format!("{at}.messages"),
            format!(
                "the waits add up to {waits:?}, not less than the step's timeout ({timeout:?}), which bounds the whole session: raise the step's timeout"
            ),
        ));
    }
    let max_message = p.max_message.map_or(DEFAULT_MAX_MESSAGE, |b| b.0);
    if max_message == 0 {
        return Err(field(format!("{at}.max_message"), "must be more than 0"));
    }
    let tls = if secure {
        limits.tls_for(p.tls.as_ref(), &format!("{at}.tls"), true)?
    } else if p.tls.is_some() {
        return Err(field(format!("{at}.tls"), "only a wss:// URL uses TLS"));
    } else {
        None
    };
    Ok(WsCall {
        url,
        headers,
        subprotocols: p.subprotocols,
        messages,
        max_message,
        tls,
    })
}

fn message(
    at: &str,
    i: usize,
    v: serde_yaml::Value,
    names: &Names,
    parts: &mut Parts,
) -> Result<WsMessage, ScenarioError> {
    if !v.is_mapping() {
        return Err(field(at, format!("expected a mapping with one of {VERBS}")));
    }
    let m: RawMessage = super::text::typed(at, v)?;
    let verbs = [
        m.send.is_some(),
        m.send_binary.is_some(),
        m.receive.is_some(),
        m.wait.is_some(),
        m.ping.is_some(),
        m.close.is_some(),
    ];
    if verbs.iter().filter(|v| **v).count() != 1 {
        return Err(field(at, format!("set exactly one of {VERBS}")));
    }
    let sends = m.send.is_some() || m.send_binary.is_some();
    if m.expect.is_some() && !sends {
        return Err(field(
            format!("{at}.expect"),
            "only send and send_binary wait for an answer",
        ));
    }
    let timeout = match m.timeout {
        Some(d) if d.0.is_zero() => {
            return Err(field(format!("{at}.timeout"), "must be longer than 0s"));
        }
        Some(_) if !(m.expect.is_some() || m.receive.is_some() || m.ping.is_some()) => {
            return Err(field(
                format!("{at}.timeout"),
                "only expect, receive and ping wait (wait: is its own time)",
            ));
        }
        d => d.map(|d| d.0),
    };
    if let Some(text) = m.send {
        let t = text_template(&format!("{at}.send"), &text, names)?;
        let payload = WsPayload::Text(parts.take(Part::WsMessage(i, None), t, names));
        let expect = expect(&format!("{at}.expect"), i, m.expect, names, parts)?;
        return Ok(WsMessage::Send {
            payload,
            expect,
            timeout,
        });
    }
    if let Some(hex) = m.send_binary {
        let bytes = decode_hex(&hex)
            .ok_or_else(|| field(format!("{at}.send_binary"), format!("{hex:?} is not hex")))?;
        let expect = expect(&format!("{at}.expect"), i, m.expect, names, parts)?;
        return Ok(WsMessage::Send {
            payload: WsPayload::Binary(bytes),
            expect,
            timeout,
        });
    }
    if let Some(count) = m.receive {
        if count == 0 {
            return Err(field(format!("{at}.receive"), "must be at least 1"));
        }
        return Ok(WsMessage::Receive { count, timeout });
    }
    if let Some(d) = m.wait {
        return Ok(WsMessage::Wait(d.0));
    }
    if let Some(ping) = m.ping {
        if !ping {
            return Err(field(
                format!("{at}.ping"),
                "write ping: true (or leave it out)",
            ));
        }
        return Ok(WsMessage::Ping { timeout });
    }
    let code = m.close.unwrap_or(1000);
    // RFC 6455 7.4: codes an endpoint may send.
    if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
        return Err(field(
            format!("{at}.close"),
            format!(
                "{code} is not a close code a client may send (1000-1003, 1007-1014, 3000-4999)"
            ),
        ));
    }
    Ok(WsMessage::Close(code))
}

/// `expect:` text, `{regex: …}` or `{json: {pointer: value}}`.
fn expect(
    at: &str,
    i: usize,
    v: Option<serde_yaml::Value>,
    names: &Names,
    parts: &mut Parts,
) -> Result<Option<WsExpect>, ScenarioError> {
    let Some(v) = v else { return Ok(None) };
    const FORMS: &str = "expected text, {regex: …} or {json: {/pointer: value}}";
    if let Some(text) = scalar(&v) {
        let t = text_template(at, &text, names)?;
        return Ok(Some(WsExpect::Text(parts.take(
            Part::WsMessage(i, Some(0)),
            t,
            names,
        ))));
    }
    let serde_yaml::Value::Mapping(map) = v else {
        return Err(field(at, FORMS));
    };
    if map.len() != 1 {
        return Err(field(at, FORMS));
    }
    let (k, v) = map.into_iter().next().expect("one entry");
    match k.as_str() {
        Some("regex") => {
            let r_at = format!("{at}.regex");
            let r = scalar(&v).ok_or_else(|| field(&r_at, "expected a regex"))?;
            let t = text_template(&r_at, &r, names)?;
            if let Some(fixed) = t.as_fixed() {
                crate::checks::regex(fixed.to_string()).map_err(|m| field(&r_at, m))?;
            }
            Ok(Some(WsExpect::Regex(parts.take(
                Part::WsMessage(i, Some(0)),
                t,
                names,
            ))))
        }
        Some("json") => {
            let j_at = format!("{at}.json");
            let serde_yaml::Value::Mapping(entries) = v else {
                return Err(field(j_at, "expected a mapping of JSON pointer → value"));
            };
            let mut out = Vec::new();
            for (j, (k, v)) in entries.into_iter().enumerate() {
                let pointer = scalar(&k).unwrap_or_default();
                let e_at = format!("{j_at}.{pointer}");
                let pointer = crate::checks::pointer(pointer).map_err(|m| field(&e_at, m))?;
                // A string is compared as text (a template); any other
                // value as its compact JSON, as answers are given.
                let want = match &v {
                    serde_yaml::Value::String(text) => {
                        let t = text_template(&e_at, text, names)?;
                        parts.take(Part::WsMessage(i, Some(j)), t, names)
                    }
                    other => {
                        serde_json::to_string(other).map_err(|e| field(&e_at, e.to_string()))?
                    }
                };
                out.push((pointer, want));
            }
            if out.is_empty() {
                return Err(field(j_at, "name at least one pointer"));
            }
            Ok(Some(WsExpect::Json(out)))
        }
        _ => Err(field(at, FORMS)),
    }
}
