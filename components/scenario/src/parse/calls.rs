//! Each built-in kind's `params` → its ready call (http, tcp, udp).

use super::text::{Defaults, Parts, fixed_text, text_template};
use crate::error::{ScenarioError, field};
use crate::model::*;
use crate::multipart::{FieldValue, FormField, Multipart};
use crate::template::{self, Names, Template};
use crate::tls::{TcpTls, TlsBlock};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HttpParams {
    #[serde(default)]
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: serde_yaml::Mapping,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    expect_body: Option<String>,
    #[serde(default)]
    max_body: Option<crate::bytesize::ByteSize>,
    #[serde(default)]
    max_redirects: Option<u32>,
    #[serde(default)]
    tls: Option<TlsBlock>,
    /// A body serialized as JSON (sets Content-Type: application/json).
    #[serde(default)]
    json: Option<serde_json::Value>,
    /// A body urlencoded from this map (sets Content-Type).
    #[serde(default)]
    form: Option<serde_yaml::Mapping>,
    /// Appended to the URL's query, urlencoded.
    #[serde(default)]
    query: Option<serde_yaml::Mapping>,
    #[serde(default)]
    basic_auth: Option<BasicAuth>,
    /// A multipart/form-data body: field name → text, or a file.
    #[serde(default)]
    multipart: Option<serde_yaml::Mapping>,
    /// "1.1" or "2" (none: the scenario's, else negotiated).
    #[serde(default)]
    http_version: Option<serde_yaml::Value>,
    /// An HTTP proxy (none: the scenario's); `direct` bypasses the scenario's.
    #[serde(default)]
    proxy: Option<String>,
    #[serde(default)]
    digest_auth: Option<BasicAuth>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileField {
    file: String,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BasicAuth {
    user: String,
    #[serde(default)]
    password: String,
}

pub(super) fn http(
    at: &str,
    p: HttpParams,
    limits: &mut Defaults,
    parts: &mut Parts,
) -> Result<HttpCall, ScenarioError> {
    let names = &limits.names;
    let method = fixed_text(
        &format!("{at}.method"),
        p.method.as_deref().unwrap_or("GET"),
        names,
    )?
    .to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(field(
            format!("{at}.method"),
            format!("{method:?} is not an HTTP method"),
        ));
    }
    let url_at = format!("{at}.url");
    let (url_part, fragment) = match p.url.split_once('#') {
        Some((u, f)) if p.query.is_some() => (u, Some(f)),
        _ => (p.url.as_str(), None),
    };
    let mut url = text_template(&url_at, url_part, names)?;
    if let Some(query) = &p.query {
        let pairs = pairs(&format!("{at}.query"), query)?;
        let sep = if url_part.contains('?') { "&" } else { "?" };
        url.append(Template::fixed(sep));
        url.append(template::form(&pairs, names).map_err(|m| field(format!("{at}.query"), m))?);
        if let Some(f) = fragment {
            url.append(Template::fixed(format!("#{f}")));
        }
    }
    // The origin must be known before the run: egress rules are made from it.
    if !origin_known(&url, Endpoint::from_url) {
        let shown = url.as_fixed().map_or_else(|| p.url.clone(), str::to_string);
        let why = if url.as_fixed().is_some() {
            "expected http[s]://host[:port]/path"
        } else {
            "expected http[s]://host[:port]/path, whose scheme, host and port use no variable but ${env.NAME} (egress rules are fixed before the run)"
        };
        return Err(field(url_at, format!("{shown:?}: {why}")));
    }
    let https = url.prefix().starts_with("https:");
    let url = parts.take(Part::Url, url, names);
    let mut headers = headers(at, &p.headers, names, parts)?;
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let multipart = match p.multipart {
        Some(_) if p.body.is_some() || p.json.is_some() || p.form.is_some() => {
            return Err(field(at, "set one of body, json, form, multipart"));
        }
        Some(m) => {
            if has(&headers, "content-type") {
                return Err(field(
                    format!("{at}.multipart"),
                    "the headers already set Content-Type (multipart sets it with its boundary)",
                ));
            }
            headers.push(("Content-Type".into(), Multipart::content_type()));
            Some(multipart(&format!("{at}.multipart"), &m, names, parts)?)
        }
        None => None,
    };
    let body = match (p.body, p.json, p.form) {
        (Some(b), None, None) => Some(text_template(&format!("{at}.body"), &b, names)?),
        (None, Some(json), None) => {
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(template::json(&json, names).map_err(|m| field(format!("{at}.json"), m))?)
        }
        (None, None, Some(form)) => {
            if !has(&headers, "content-type") {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            let pairs = pairs(&format!("{at}.form"), &form)?;
            Some(template::form(&pairs, names).map_err(|m| field(format!("{at}.form"), m))?)
        }
        (None, None, None) => None,
        _ => return Err(field(at, "set one of body, json, form, multipart")),
    };
    let body = body.map(|t| parts.take(Part::Body, t, names).into_bytes());
    if let Some(auth) = p.basic_auth {
        if has(&headers, "authorization") {
            return Err(field(
                format!("{at}.basic_auth"),
                "the headers already set Authorization",
            ));
        }
        let user = fixed_text(&format!("{at}.basic_auth.user"), &auth.user, names)?;
        let password = fixed_text(&format!("{at}.basic_auth.password"), &auth.password, names)?;
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.push(("Authorization".into(), format!("Basic {token}")));
    }
    let digest = match p.digest_auth {
        Some(_) if has(&headers, "authorization") => {
            return Err(field(
                format!("{at}.digest_auth"),
                "the headers (or basic_auth) already set Authorization",
            ));
        }
        Some(auth) => Some((
            fixed_text(&format!("{at}.digest_auth.user"), &auth.user, names)?,
            fixed_text(&format!("{at}.digest_auth.password"), &auth.password, names)?,
        )),
        None => None,
    };
    let expect_body = match p.expect_body {
        Some(e) => {
            let t = text_template(&format!("{at}.expect_body"), &e, names)?;
            Some(parts.take(Part::ExpectBody, t, names).into_bytes())
        }
        None => None,
    };
    let tls = limits.tls_for(p.tls.as_ref(), &format!("{at}.tls"), false)?;
    Ok(HttpCall {
        method,
        url,
        headers,
        body,
        expect_body,
        max_body: p.max_body.map_or(limits.max_body, |b| b.0),
        // A plain http:// step needs no client unless it may redirect to https.
        tls: tls.filter(|_| https || p.max_redirects != Some(0)),
        max_redirects: p.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS),
        cookies: limits.cookies,
        http_version: crate::http_options::version(
            p.http_version.as_ref(),
            &format!("{at}.http_version"),
        )?
        .or(limits.http_version),
        proxy: match p.proxy.as_deref() {
            Some("direct") => None,
            Some(v) => crate::http_options::proxy(Some(v), &format!("{at}.proxy"))?,
            None => limits.proxy.clone(),
        },
        digest,
        multipart,
    })
}

/// Whether a URL template's scheme, host and port are fixed (what
/// `endpoint` reads from a URL), so egress rules can be made before the run.
pub(super) fn origin_known(url: &Template, endpoint: fn(&str) -> Option<Endpoint>) -> bool {
    match url.as_fixed() {
        Some(u) => endpoint(u).is_some(),
        None => {
            let prefix = url.prefix();
            endpoint(prefix).is_some()
                && prefix
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.contains(['/', '?', '#']))
        }
    }
}

/// `headers:` in order, each value a template (`Part::Header(i)`).
pub(super) fn headers(
    at: &str,
    map: &serde_yaml::Mapping,
    names: &Names,
    parts: &mut Parts,
) -> Result<Vec<(String, String)>, ScenarioError> {
    let mut headers = Vec::new();
    for (k, v) in map {
        let (Some(k), Some(v)) = (scalar(k), scalar(v)) else {
            return Err(field(
                format!("{at}.headers"),
                "names and values must be plain text",
            ));
        };
        if k.is_empty() || k.bytes().any(|b| b <= b' ' || b == b':' || b >= 0x7f) {
            return Err(field(
                format!("{at}.headers"),
                format!("{k:?} is not a valid header name"),
            ));
        }
        let value_at = format!("{at}.headers.{k}");
        if v.contains(['\r', '\n']) {
            return Err(field(value_at, "value must not contain line breaks"));
        }
        let t = text_template(&value_at, &v, names)?;
        let shown = parts.take(Part::Header(headers.len()), t, names);
        headers.push((k, shown));
    }
    Ok(headers)
}

/// `multipart:`'s fields in order: a text value (a template), or
/// `{file, content_type, filename}`.
fn multipart(
    at: &str,
    map: &serde_yaml::Mapping,
    names: &Names,
    parts: &mut Parts,
) -> Result<Multipart, ScenarioError> {
    let mut fields = Vec::new();
    for (k, v) in map {
        let Some(name) = scalar(k) else {
            return Err(field(at, "field names must be plain text"));
        };
        let field_at = format!("{at}.{name}");
        let value = match v {
            serde_yaml::Value::Mapping(_) => {
                let f: FileField = super::text::typed(&field_at, v.clone())?;
                if f.file.trim().is_empty() {
                    return Err(field(format!("{field_at}.file"), "must name a file"));
                }
                let filename = f.filename.unwrap_or_else(|| {
                    std::path::Path::new(&f.file)
                        .file_name()
                        .map_or_else(|| f.file.clone(), |n| n.to_string_lossy().into_owned())
                });
                FieldValue::File {
                    path: f.file,
                    filename,
                    content_type: f
                        .content_type
                        .unwrap_or_else(|| "application/octet-stream".into()),
                    bytes: Default::default(),
                }
            }
            other => {
                let Some(text) = scalar(other) else {
                    return Err(field(
                        field_at,
                        "a field is text, or {file: PATH, content_type: …, filename: …}",
                    ));
                };
                let t = text_template(&field_at, &text, names)?;
                FieldValue::Text(parts.take(Part::Field(fields.len()), t, names))
            }
        };
        fields.push(FormField { name, value });
    }
    Ok(Multipart { fields })
}

/// A map of plain values as (name, value) pairs, for query strings and forms.
pub(super) fn pairs(
    at: &str,
    map: &serde_yaml::Mapping,
) -> Result<Vec<(String, String)>, ScenarioError> {
    map.iter()
        .map(|(k, v)| match (scalar(k), scalar(v)) {
            (Some(k), Some(v)) => Ok((k, v)),
            _ => Err(field(at, "names and values must be plain text or numbers")),
        })
        .collect()
}

pub(super) fn scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TcpParams {
    target: String,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    payload_hex: Option<String>,
    #[serde(default)]
    read_bytes: Option<u32>,
    #[serde(default)]
    read_until: Option<String>,
    #[serde(default)]
    read_until_close: bool,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default)]
    max_read: Option<crate::bytesize::ByteSize>,
    /// `true` (the scenario's `tls:` settings) or a block of its own.
    #[serde(default)]
    tls: Option<TcpTls>,
}

pub(super) fn tcp(
    at: &str,
    p: TcpParams,
    limits: &mut Defaults,
    parts: &mut Parts,
) -> Result<TcpCall, ScenarioError> {
    let max_read = p.max_read.map_or(limits.max_read, |b| b.0);
    if let Some(n) = p.read_bytes.filter(|n| u64::from(*n) > max_read) {
        return Err(field(
            format!("{at}.read_bytes"),
            format!("{n} is more than max_read ({max_read} bytes): raise max_read"),
        ));
    }
    let names = &limits.names;
    let target = target(at, &p.target, names)?;
    let payload = payload(at, p.payload, p.payload_hex, names, parts)?;
    let expect = expect(at, p.expect, names, parts)?;
    let read_until = match p.read_until {
        Some(d) => Some(fixed_text(&format!("{at}.read_until"), &d, names)?),
        None => None,
    };
    let read = match (p.read_bytes, read_until, p.read_until_close) {
        (None, None, false) => match &expect {
            // Read until the expected bytes show up (or the step times out).
            Some(e) => ReadMode::Delimiter(e.clone()),
            None => ReadMode::None,
        },
        (Some(0), None, false) => {
            return Err(field(format!("{at}.read_bytes"), "must be at least 1"));
        }
        (Some(n), None, false) => ReadMode::Bytes(n),
        (None, Some(d), false) if !d.is_empty() => ReadMode::Delimiter(d.into_bytes()),
        (None, Some(_), false) => {
            return Err(field(format!("{at}.read_until"), "must not be empty"));
        }
        (None, None, true) => ReadMode::UntilClose,
        _ => {
            return Err(field(
                at,
                "set at most one of read_bytes, read_until, read_until_close",
            ));
        }
    };
    let tls = match &p.tls {
        None | Some(TcpTls::On(false)) => None,
        Some(TcpTls::On(true)) => limits.tls_for(None, &format!("{at}.tls"), true)?,
        Some(TcpTls::Block(b)) => limits.tls_for(Some(b), &format!("{at}.tls"), true)?,
    };
    Ok(TcpCall {
        target,
        payload,
        read,
        expect,
        max_read,
        tls,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UdpParams {
    target: String,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    payload_hex: Option<String>,
    #[serde(default)]
    await_reply: Option<bool>,
    #[serde(default)]
    expect: Option<String>,
}

pub(super) fn udp(
    at: &str,
    p: UdpParams,
    names: &Names,
    parts: &mut Parts,
) -> Result<UdpCall, ScenarioError> {
    let target = target(at, &p.target, names)?;
    let payload = payload(at, p.payload, p.payload_hex, names, parts)?;
    let await_reply = p.await_reply.unwrap_or(true);
    if !await_reply && p.expect.is_some() {
        return Err(field(format!("{at}.expect"), "needs await_reply: true"));
    }
    Ok(UdpCall {
        target,
        payload,
        await_reply,
        expect: expect(at, p.expect, names, parts)?,
    })
}

pub(super) fn target(at: &str, t: &str, names: &Names) -> Result<Endpoint, ScenarioError> {
    let at = format!("{at}.target");
    let t = fixed_text(&at, t, names)?;
    Endpoint::parse(&t).map_err(|m| field(at, m))
}

pub(super) fn expect(
    at: &str,
    e: Option<String>,
    names: &Names,
    parts: &mut Parts,
) -> Result<Option<Vec<u8>>, ScenarioError> {
    let Some(e) = e else { return Ok(None) };
    let t = text_template(&format!("{at}.expect"), &e, names)?;
    Ok(Some(parts.take(Part::Expect, t, names).into_bytes()))
}

pub(super) fn payload(
    at: &str,
    text: Option<String>,
    hex: Option<String>,
    names: &Names,
    parts: &mut Parts,
) -> Result<Vec<u8>, ScenarioError> {
    match (text, hex) {
        (Some(_), Some(_)) => Err(field(at, "set payload or payload_hex, not both")),
        (Some(t), None) => {
            let t = text_template(&format!("{at}.payload"), &t, names)?;
            Ok(parts.take(Part::Payload, t, names).into_bytes())
        }
        (None, Some(h)) => decode_hex(&h)
            .ok_or_else(|| field(format!("{at}.payload_hex"), format!("{h:?} is not hex"))),
        (None, None) => Ok(Vec::new()),
    }
}

pub(super) fn decode_hex(h: &str) -> Option<Vec<u8>> {
    let h: String = h.chars().filter(|c| !c.is_whitespace()).collect();
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}
