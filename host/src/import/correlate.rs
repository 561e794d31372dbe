//! Correlation: a value a response returned (a JSON field, a header, a
//! match in the body) that a later request sends becomes an extraction on
//! the step that received it and `${name}` in the requests after it, so
//! the scenario sends the live service's values, not the recording's.

use super::{Body, Extract, Rule, Step};
use serde_json::Value;

/// Finds every correlated value; returns how many variables it made.
pub fn correlate(steps: &mut [Step]) -> usize {
    let mut made = 0;
    for j in 0..steps.len() {
        for (token, hint) in sent(&steps[j]) {
            for i in (0..j).rev() {
                let Some(rule) = found_in(&steps[i], &token) else {
                    continue;
                };
                // The client sent it before it was answered: not the server's.
                if steps[..=i].iter().any(|s| sends(s, &token)) {
                    break;
                }
                let var = unique(&name_for(&rule, &hint), steps);
                let mut used_by = Vec::new();
                for later in &mut steps[i + 1..] {
                    if replace(later, &token, &format!("${{{var}}}")) {
                        used_by.push(later.id.clone());
                    }
                }
                steps[i].extract.push(Extract {
                    var,
                    rule,
                    recorded: token.clone(),
                    used_by,
                });
                made += 1;
                break;
            }
        }
    }
    made
}

/// A value worth correlating: a token's characters, long enough and not a
/// plain word (a word or a short number is more likely a coincidence).
fn looks_like_a_value(t: &str) -> bool {
    let token_chars = t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._~+/=:-".contains(&b));
    let digit = t.bytes().any(|b| b.is_ascii_digit());
    let letter = t.bytes().any(|b| b.is_ascii_alphabetic());
    token_chars && t.len() >= 5 && ((digit && letter) || t.len() >= 16)
}

/// What a request sends that may be a server's value, with the name it is
/// sent under (a query or form key, a JSON key, a header).
fn sent(step: &Step) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some((_, query)) = step.url.split_once('?') {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            out.push((v.into_owned(), k.into_owned()));
        }
    }
    let path = step.url.split(['?', '#']).next().unwrap_or_default();
    for segment in path.split('/').skip(3) {
        out.push((segment.to_string(), "id".into()));
    }
    for (k, v) in &step.headers {
        out.push((v.clone(), k.clone()));
        for part in v.split([' ', ',', ';']).filter(|p| p.len() < v.len()) {
            out.push((part.to_string(), k.clone()));
        }
    }
    match &step.body {
        Body::Json(v) => leaves(v, "", &mut |_, s, key| {
            out.push((s.to_string(), key.to_string()))
        }),
        Body::Form(pairs) => out.extend(pairs.iter().map(|(k, v)| (v.clone(), k.clone()))),
        Body::Text(_) | Body::None => {}
    }
    out.retain(|(t, _)| looks_like_a_value(t));
    out.dedup();
    out
}

/// Where step `s`'s response has `token`, as an extraction rule.
fn found_in(s: &Step, token: &str) -> Option<Rule> {
    if let Some(json) = &s.reply.json {
        let mut found = None;
        leaves(json, "", &mut |pointer, v, _| {
            if v == token && found.is_none() {
                found = Some(Rule::Json(pointer.to_string()));
            }
        });
        if found.is_some() {
            return found;
        }
    }
    if let Some((name, _)) = s.reply.headers.iter().find(|(_, v)| v == token) {
        return Some(Rule::Header(name.clone()));
    }
    let text = s.reply.text.as_deref()?;
    let at = text.find(token)?;
    // The text just before the value, from a word's start: `name="csrf" value="`.
    let mut from = at.saturating_sub(24);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let before = &text[from..at];
    let before = before
        .find(char::is_whitespace)
        .filter(|_| from > 0)
        .map_or(before, |w| &before[w + 1..]);
    let class = match text[at + token.len()..].chars().next() {
        Some(q @ ('"' | '\'')) => format!("[^{q}]+"),
        _ => "[A-Za-z0-9._~+/=:-]+".into(),
    };
    Some(Rule::Regex(format!(
        "{}({class})",
        regex_lite::escape(before)
    )))
}

/// The request sends `token` (in its URL, a header or its body).
fn sends(s: &Step, token: &str) -> bool {
    s.url.contains(token)
        || s.headers.iter().any(|(_, v)| v.contains(token))
        || match &s.body {
            Body::Json(v) => v.to_string().contains(token),
            Body::Form(pairs) => pairs.iter().any(|(_, v)| v.contains(token)),
            Body::Text(t) => t.contains(token),
            Body::None => false,
        }
}

/// Writes `with` for `token` wherever the request sends it; true if it did.
fn replace(s: &mut Step, token: &str, with: &str) -> bool {
    let mut changed = false;
    let mut swap = |text: &mut String| {
        if text.contains(token) {
            *text = text.replace(token, with);
            changed = true;
        }
    };
    swap(&mut s.url);
    for (_, v) in &mut s.headers {
        swap(v);
    }
    match &mut s.body {
        Body::Json(v) => strings_mut(v, &mut swap),
        Body::Form(pairs) => pairs.iter_mut().for_each(|(_, v)| swap(v)),
        Body::Text(t) => swap(t),
        Body::None => {}
    }
    changed
}

/// Every string leaf of `v`: (its JSON pointer, the string, its key).
fn leaves(v: &Value, at: &str, f: &mut dyn FnMut(&str, &str, &str)) {
    match v {
        Value::String(s) => f(at, s, at.rsplit('/').next().unwrap_or_default()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, &format!("{at}/{i}"), f);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let k = k.replace('~', "~0").replace('/', "~1");
                leaves(item, &format!("{at}/{k}"), f);
            }
        }
        _ => {}
    }
}

fn strings_mut(v: &mut Value, f: &mut dyn FnMut(&mut String)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter_mut().for_each(|i| strings_mut(i, f)),
        Value::Object(map) => map.values_mut().for_each(|i| strings_mut(i, f)),
        _ => {}
    }
}

/// A variable's name from where its value was found.
fn name_for(rule: &Rule, hint: &str) -> String {
    let raw = match rule {
        Rule::Json(pointer) => pointer.rsplit('/').next().unwrap_or_default(),
        Rule::Header(name) => name.as_str(),
        Rule::Regex(_) => hint,
    };
    let mut name = super::snake(raw);
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name = format!("value_{name}");
    }
    name.trim_end_matches('_').to_string()
}

/// `name`, or `name_2`, `name_3`… when a step already extracts it (or it is
/// a name templates reserve).
fn unique(name: &str, steps: &[Step]) -> String {
    const RESERVED: [&str; 9] = [
        "vu",
        "iteration",
        "scenario",
        "uuid",
        "now_ms",
        "env",
        "setup",
        "random_int",
        "random_string",
    ];
    let taken = |n: &str| {
        RESERVED.contains(&n) || steps.iter().any(|s| s.extract.iter().any(|e| e.var == n))
    };
    if !taken(name) {
        return name.to_string();
    }
    (2..)
        .map(|i| format!("{name}_{i}"))
        .find(|n| !taken(n))
        .expect("some suffix is free")
}
