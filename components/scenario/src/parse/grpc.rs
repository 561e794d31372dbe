//! A grpc step's `params` → its ready call, and its `expect_grpc_status`.

use super::calls::{scalar, target};
use super::text::{Defaults, Parts, fixed_text, text_template};
use crate::error::{ScenarioError, field};
use crate::grpc::GrpcCall;
use crate::model::Part;
use crate::template;
use crate::tls::TcpTls;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrpcParams {
    target: String,
    proto: String,
    method: String,
    /// The request message's JSON mapping (none: the empty message).
    #[serde(default)]
    message: Option<serde_json::Value>,
    #[serde(default)]
    metadata: serde_yaml::Mapping,
    /// `true` (the scenario's `tls:` settings) or a block of its own;
    /// none: h2c (HTTP/2 without TLS).
    #[serde(default)]
    tls: Option<TcpTls>,
    #[serde(default)]
    max_body: Option<crate::bytesize::ByteSize>,
    /// The reply messages a server-streaming call expects.
    #[serde(default)]
    expect_messages: Option<u32>,
}

pub(super) fn grpc(
    at: &str,
    p: GrpcParams,
    expect_status: Option<&serde_yaml::Value>,
    step_at: &str,
    limits: &mut Defaults,
    parts: &mut Parts,
) -> Result<GrpcCall, ScenarioError> {
    let names = &limits.names;
    let target = target(at, &p.target, names)?;
    let proto = fixed_text(&format!("{at}.proto"), &p.proto, names)?;
    if !proto.ends_with(".proto") {
        return Err(field(
            format!("{at}.proto"),
            format!("{proto:?}: expected a .proto file"),
        ));
    }
    let method_at = format!("{at}.method");
    let method = fixed_text(&method_at, &p.method, names)?;
    let method = method.trim_start_matches('/').to_string();
    match method.split_once('/') {
        Some((service, name)) if !service.is_empty() && !name.is_empty() && !name.contains('/') => {
        }
        _ => {
            return Err(field(
                method_at,
                format!("{method:?}: expected package.Service/Method"),
            ));
        }
    }
    let message = p
        .message
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    if !message.is_object() {
        return Err(field(
            format!("{at}.message"),
            "expected a mapping (the message's fields)",
        ));
    }
    let t = template::json(&message, names).map_err(|m| field(format!("{at}.message"), m))?;
    let message = parts.take(Part::Message, t, names);
    let mut metadata = Vec::new();
    for (k, v) in &p.metadata {
        let (Some(k), Some(v)) = (scalar(k), scalar(v)) else {
            return Err(field(
                format!("{at}.metadata"),
                "names and values must be plain text",
            ));
        };
        // gRPC metadata keys are lower-case header names.
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        {
            return Err(field(
                format!("{at}.metadata"),
                format!("{k:?} is not a metadata key (lower-case letters, digits, - _ .)"),
            ));
        }
        let value_at = format!("{at}.metadata.{k}");
        if v.contains(['\r', '\n']) {
            return Err(field(value_at, "value must not contain line breaks"));
        }
        let t = text_template(&value_at, &v, names)?;
        let shown = parts.take(Part::Metadata(metadata.len()), t, names);
        metadata.push((k, shown));
    }
    let expect_status = match expect_status {
        None => 0,
        Some(v) => {
            let at = format!("{step_at}.expect_grpc_status");
            let name = scalar(v).ok_or_else(|| field(&at, "expected a status name or number"))?;
            contract::grpc::status_code(&name).ok_or_else(|| {
                field(
                    &at,
                    format!(
                        "{name:?} is not a grpc-status (one of {})",
                        contract::grpc::status_names()
                    ),
                )
            })?
        }
    };
    let tls = match &p.tls {
        None | Some(TcpTls::On(false)) => None,
        Some(TcpTls::On(true)) => limits.tls_for(None, &format!("{at}.tls"), true)?,
        Some(TcpTls::Block(b)) => limits.tls_for(Some(b), &format!("{at}.tls"), true)?,
    };
    Ok(GrpcCall {
        target,
        tls,
        proto,
        method,
        message,
        metadata,
        expect_status,
        expect_messages: p.expect_messages,
        max_body: p.max_body.map_or(limits.max_body, |b| b.0),
        protos: Default::default(),
    })
}
