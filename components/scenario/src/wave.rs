//! WAVE string literals, for plain mode (stock wasmtime): `wasmtime run --invoke
//! 'run-scenario("…")'` takes its argument as WAVE and prints the result as
//! WAVE (`ok("…")`), so the YAML must be escaped and the JSON unescaped.

/// `text` as a WAVE string literal, quotes included.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `--invoke` argument that runs `yaml`.
pub fn invocation(yaml: &str) -> String {
    format!("run-scenario({})", quote(yaml))
}

/// Decodes wasmtime's printed result `ok("…")` / `err("…")`.
pub fn result(printed: &str) -> Result<Result<String, String>, String> {
    let p = printed.trim();
    let (ok, inner) = if let Some(rest) = p.strip_prefix("ok(") {
        (true, rest)
    } else if let Some(rest) = p.strip_prefix("err(") {
        (false, rest)
    } else {
        return Err(format!("not a WAVE result: {}", &p[..p.len().min(80)]));
    };
    let lit = inner.strip_suffix(')').ok_or("unterminated WAVE result")?;
    let text = unquote(lit)?;
    Ok(if ok { Ok(text) } else { Err(text) })
}

/// Decodes one WAVE string literal.
pub fn unquote(lit: &str) -> Result<String, String> {
    let body = lit
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .ok_or("not a WAVE string")?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(c @ ('"' | '\\' | '\'')) => out.push(c),
            Some('u') => {
                let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                let cp = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("bad \\u escape")?;
                out.push(cp);
            }
            other => return Err(format!("bad escape \\{other:?}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let text = "a: \"b\"\n\tc: \\d\r\u{1}é";
        assert_eq!(unquote(&quote(text)).unwrap(), text);
        assert_eq!(quote("x\ny"), r#""x\ny""#);
    }

    #[test]
    fn results() {
        assert_eq!(
            result("ok(\"{\\\"a\\\": 1}\")\n").unwrap(),
            Ok("{\"a\": 1}".into())
        );
        assert_eq!(result("err(\"bad\")").unwrap(), Err("bad".into()));
        assert!(result("garbage").is_err());
    }
}
