//! HAR 1.2 as DevTools (Chromium, Firefox), Charles and Fiddler export it:
//! only the fields an import reads; anything else is ignored.

use serde::Deserialize;

#[derive(Deserialize)]
pub struct Har {
    pub log: Log,
}

#[derive(Deserialize)]
pub struct Log {
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub started_date_time: String,
    /// Milliseconds, start to end of the exchange.
    #[serde(default)]
    pub time: f64,
    pub request: Request,
    pub response: Response,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: Vec<Pair>,
    #[serde(default)]
    pub post_data: Option<PostData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub params: Vec<Pair>,
}

#[derive(Deserialize)]
pub struct Response {
    #[serde(default)]
    pub status: i64,
    #[serde(default)]
    pub headers: Vec<Pair>,
    #[serde(default)]
    pub content: Content,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub text: Option<String>,
    /// "base64" when `text` is encoded.
    #[serde(default)]
    pub encoding: Option<String>,
}

#[derive(Clone, Deserialize)]
pub struct Pair {
    pub name: String,
    pub value: String,
}

impl Content {
    /// The body as text (base64 decoded), when the HAR has it.
    pub fn body(&self) -> Option<String> {
        let text = self.text.as_ref()?;
        if self.encoding.as_deref() == Some("base64") {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?;
            return Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        Some(text.clone())
    }
}

impl Entry {
    /// Start and end, in milliseconds since the epoch.
    pub fn span_ms(&self) -> Option<(f64, f64)> {
        let start = time::OffsetDateTime::parse(
            &self.started_date_time,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()?;
        let ms = start.unix_timestamp_nanos() as f64 / 1e6;
        Some((ms, ms + self.time.max(0.0)))
    }
}
