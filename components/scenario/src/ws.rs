//! A ws step: one WebSocket session, its messages in order.

use std::time::Duration;

/// The default `max_message`: 1 MiB, like `max_body`.
pub const DEFAULT_MAX_MESSAGE: u64 = 1 << 20;

/// A ws step's session, ready to send (templates already rendered).
#[derive(Clone, Debug, PartialEq)]
pub struct WsCall {
    /// "ws[s]://host[:port]/path?query".
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub subprotocols: Vec<String>,
    pub messages: Vec<WsMessage>,
    /// The longest message accepted.
    pub max_message: u64,
    /// Index into `Scenario::tls` (wss:// always has one).
    pub tls: Option<usize>,
}

/// One thing a session does.
#[derive(Clone, Debug, PartialEq)]
pub enum WsMessage {
    Send {
        payload: WsPayload,
        expect: Option<WsExpect>,
        timeout: Option<Duration>,
    },
    Receive {
        count: u32,
        timeout: Option<Duration>,
    },
    Wait(Duration),
    Ping {
        timeout: Option<Duration>,
    },
    Close(u16),
}

#[derive(Clone, Debug, PartialEq)]
pub enum WsPayload {
    Text(String),
    Binary(Vec<u8>),
}

/// What a received message must be.
#[derive(Clone, Debug, PartialEq)]
pub enum WsExpect {
    Text(String),
    Regex(String),
    /// (JSON pointer, expected value as text).
    Json(Vec<(String, String)>),
}

impl WsCall {
    /// Where a template's rendered value goes: message `i`'s payload text
    /// (`j` none) or its expect (`j`: the json entry, 0 for text and regex).
    pub fn set(&mut self, i: usize, j: Option<usize>, v: String) {
        let Some(WsMessage::Send {
            payload, expect, ..
        }) = self.messages.get_mut(i)
        else {
            return;
        };
        match (j, expect) {
            (None, _) => *payload = WsPayload::Text(v),
            (Some(_), Some(WsExpect::Text(t) | WsExpect::Regex(t))) => *t = v,
            (Some(j), Some(WsExpect::Json(entries))) => {
                if let Some(e) = entries.get_mut(j) {
                    e.1 = v;
                }
            }
            (Some(_), None) => {}
        }
    }

    /// True when some message checks what the server sent.
    pub fn checks(&self) -> bool {
        self.messages.iter().any(|m| {
            matches!(
                m,
                WsMessage::Send {
                    expect: Some(_),
                    ..
                }
            )
        })
    }
}
