//! `multipart/form-data` bodies (RFC 7578), as a browser's form upload or
//! k6's `FormData` sends them: text fields (templates work) and files the
//! scenario names, read at run time relative to it (the host reads them and
//! passes their bytes to the component, as it does TLS files).
//!
//! ```yaml
//! multipart:
//!   name: "ada ${vu}"
//!   avatar: {file: files/a.png, content_type: image/png}   # filename: a.png (default: the file's name)
//! ```

use std::sync::Arc;

/// The boundary between parts: fixed, so a run's bodies are reproducible;
/// a file or field holding it is refused when the body is built.
pub const BOUNDARY: &str = "wasm-scheduler-form-boundary-7d41c3a9e2b85f06";

#[derive(Clone, Debug, PartialEq)]
pub struct Multipart {
    pub fields: Vec<FormField>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FormField {
    pub name: String,
    pub value: FieldValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// A text field (rendered per call when it is a template).
    Text(String),
    /// A file: its path as written, what the part says, and its bytes
    /// (empty until the files are given: `Scenario::give_files`).
    File {
        path: String,
        filename: String,
        content_type: String,
        bytes: Arc<[u8]>,
    },
}

impl Multipart {
    /// The `Content-Type` header's value.
    pub fn content_type() -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }

    /// Paths of the files it sends.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter_map(|f| match &f.value {
            FieldValue::File { path, .. } => Some(path.as_str()),
            FieldValue::Text(_) => None,
        })
    }

    /// The body; `Err` names a text field that holds the boundary (a
    /// file was checked once, when its bytes were given).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for f in &self.fields {
            out.extend_from_slice(b"--");
            out.extend_from_slice(BOUNDARY.as_bytes());
            out.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
            out.extend_from_slice(quoted(&f.name).as_bytes());
            out.push(b'"');
            let bytes: &[u8] = match &f.value {
                FieldValue::Text(t) => {
                    if holds_boundary(t.as_bytes()) {
                        return Err(format!(
                            "multipart field {:?} holds the form's boundary",
                            f.name
                        ));
                    }
                    out.extend_from_slice(b"\r\n\r\n");
                    t.as_bytes()
                }
                FieldValue::File {
                    filename,
                    content_type,
                    bytes,
                    ..
                } => {
                    out.extend_from_slice(b"; filename=\"");
                    out.extend_from_slice(quoted(filename).as_bytes());
                    out.extend_from_slice(b"\"\r\nContent-Type: ");
                    out.extend_from_slice(content_type.as_bytes());
                    out.extend_from_slice(b"\r\n\r\n");
                    bytes
                }
            };
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(BOUNDARY.as_bytes());
        out.extend_from_slice(b"--\r\n");
        Ok(out)
    }
}

/// The boundary inside `bytes` (a part must not hold it).
pub(crate) fn holds_boundary(bytes: &[u8]) -> bool {
    bytes
        .windows(BOUNDARY.len())
        .any(|w| w == BOUNDARY.as_bytes())
}

/// A name inside a quoted header parameter, escaped as browsers do
/// (WHATWG: `"` → `%22`, CR → `%0D`, LF → `%0A`).
fn quoted(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_encodes_text_and_file_parts_and_refuses_its_boundary() {
        let form = Multipart {
            fields: vec![
                FormField {
                    name: "name".into(),
                    value: FieldValue::Text("ada".into()),
                },
                FormField {
                    name: "av\"atar".into(),
                    value: FieldValue::File {
                        path: "files/a.bin".into(),
                        filename: "a.bin".into(),
                        content_type: "application/octet-stream".into(),
                        bytes: Arc::from(&[0u8, 255, 13, 10][..]),
                    },
                },
            ],
        };
        let mut want = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nada\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"av%22atar\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        want.extend_from_slice(&[0, 255, 13, 10]);
        want.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        assert_eq!(form.encode().unwrap(), want);
        assert_eq!(form.files().collect::<Vec<_>>(), ["files/a.bin"]);
        let bad = Multipart {
            fields: vec![FormField {
                name: "x".into(),
                value: FieldValue::Text(format!("a{BOUNDARY}b")),
            }],
        };
        assert!(bad.encode().unwrap_err().contains("\"x\""));
    }
}
