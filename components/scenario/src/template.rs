//! `${…}` templates: parsed once, when the scenario is, into literal text
//! and references; rendering appends to one output string. `${env.NAME}`
//! is folded into the literal text at parse time (its values are fixed for
//! the run), so a URL's host may use it and still be known for egress.

use std::collections::BTreeMap;

/// How a reference's value is written into its surroundings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// As is (URLs, headers, raw bodies, payloads).
    Raw,
    /// Inside a JSON string (a `json:` body).
    Json,
    /// application/x-www-form-urlencoded (`form:` and `query:`).
    Form,
}

/// What a `${…}` names.
#[derive(Clone, Debug, PartialEq)]
pub enum Ref {
    /// The user's index.
    Vu,
    /// The user's iteration count, from 0.
    Iteration,
    /// The user's scenario (workload) name.
    Scenario,
    Uuid,
    NowMs,
    RandomInt(i64, i64),
    RandomString(u32),
    /// A variable `setup:` extracted, by slot in `Scenario::variables`.
    Setup(usize),
    /// A field of the user's current row of a data source.
    Data {
        source: usize,
        column: usize,
    },
    /// A variable this user extracted, by slot in `Scenario::variables`.
    Var(usize),
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    /// Already escaped for where it sits.
    Lit(String),
    Ref(Ref, Escape),
    /// `${urlencode(…)}`: the value percent-encoded as one URL component,
    /// then escaped for where it sits.
    Encoded(Ref, Escape),
}

/// A parsed template. One with no reference renders without allocating.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Template {
    segments: Vec<Segment>,
}

/// A data source's name and fields, as templates may name them.
pub struct DataNames<'a> {
    pub name: &'a str,
    pub file: &'a str,
    pub columns: &'a [String],
}

/// What names a template may use.
pub struct Names<'a> {
    pub env: &'a BTreeMap<String, String>,
    /// Every variable some step extracts (slots).
    pub variables: &'a [String],
    /// The slots `setup:` extracts.
    pub setup: &'a [usize],
    pub data: &'a [DataNames<'a>],
    /// In `setup:` or `teardown:`: no user, so no `${vu}` and no data rows.
    pub in_hook: bool,
}

/// Names a step may not extract into (they mean something already).
pub const RESERVED: [&str; 9] = [
    "vu",
    "iteration",
    "scenario",
    "uuid",
    "now_ms",
    "random_int",
    "random_string",
    "env",
    "setup",
];

/// Where a rendering gets values from (a user's variables and rows).
pub trait Scope {
    /// Appends the value of `r` to `out`; `Err(name)` when it is not set.
    fn write(&mut self, r: &Ref, out: &mut String) -> Result<(), String>;
}

impl Template {
    /// Fixed text.
    pub fn fixed(text: impl Into<String>) -> Self {
        Template {
            segments: vec![Segment::Lit(text.into())],
        }
    }

    /// Parses `text` whose references are written with `escape` (and whose
    /// literal text is already written for its place).
    pub fn parse(text: &str, escape: Escape, names: &Names) -> Result<Self, String> {
        let mut t = Template::default();
        t.push_parsed(text, escape, names, &|s| s.to_string())?;
        Ok(t)
    }

    /// Appends `text`'s literal parts escaped by `lit` and its references
    /// with `escape`.
    fn push_parsed(
        &mut self,
        text: &str,
        escape: Escape,
        names: &Names,
        lit: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            let (before, after) = rest.split_at(at);
            if let Some(tail) = after.strip_prefix("$${") {
                // `$${` writes a literal `${`.
                self.push_lit(&lit(&format!("{before}${{")));
                rest = tail;
                continue;
            }
            let Some(body) = after.strip_prefix("${") else {
                self.push_lit(&lit(&format!("{before}$")));
                rest = &after[1..];
                continue;
            };
            self.push_lit(&lit(before));
            let end = body
                .find('}')
                .ok_or_else(|| format!("{text:?}: `${{` without a closing `}}`"))?;
            let name = body[..end].trim();
            let (name, encoded) = match call(name, "urlencode") {
                Some(args) => match args.as_slice() {
                    [inner] if !inner.contains('(') => (*inner, true),
                    _ => {
                        return Err(format!(
                            "${{{name}}}: urlencode takes one reference (urlencode(name))"
                        ));
                    }
                },
                None => (name, false),
            };
            match reference(name, names)? {
                Resolved::Ref(r) if encoded => self.segments.push(Segment::Encoded(r, escape)),
                Resolved::Ref(r) => self.segments.push(Segment::Ref(r, escape)),
                Resolved::Text(mut v) => {
                    if encoded {
                        let mut e = String::new();
                        contract::url::push_component(&v, &mut e);
                        v = e;
                    }
                    let v = match escape {
                        Escape::Raw => v,
                        Escape::Json => json_escape(&v),
                        Escape::Form => form_escape(&v),
                    };
                    self.push_lit(&v);
                }
            }
            rest = &body[end + 1..];
        }
        self.push_lit(&lit(rest));
        Ok(())
    }

    fn push_lit(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Segment::Lit(last)) = self.segments.last_mut() {
            last.push_str(s);
        } else {
            self.segments.push(Segment::Lit(s.to_string()));
        }
    }

    /// Appends another template (concatenation).
    pub fn append(&mut self, other: Template) {
        for s in other.segments {
            match s {
                Segment::Lit(l) => self.push_lit(&l),
                r => self.segments.push(r),
            }
        }
    }

    /// The text, when no reference is left in it.
    pub fn as_fixed(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [] => Some(""),
            [Segment::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// The literal text before the first reference.
    pub fn prefix(&self) -> &str {
        match self.segments.first() {
            Some(Segment::Lit(s)) => s,
            _ => "",
        }
    }

    /// Every reference, in order.
    pub fn refs(&self) -> impl Iterator<Item = &Ref> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Ref(r, _) | Segment::Encoded(r, _) => Some(r),
            Segment::Lit(_) => None,
        })
    }

    /// The rendered text; `Err(name)` names a variable that is not set.
    pub fn render(&self, scope: &mut dyn Scope) -> Result<std::borrow::Cow<'_, str>, String> {
        if let Some(fixed) = self.as_fixed() {
            return Ok(std::borrow::Cow::Borrowed(fixed));
        }
        let mut out = String::with_capacity(self.len_hint());
        let mut scratch = String::new();
        for s in &self.segments {
            match s {
                Segment::Lit(l) => out.push_str(l),
                Segment::Ref(r, Escape::Raw) => scope.write(r, &mut out)?,
                Segment::Ref(r, escape) => {
                    scratch.clear();
                    scope.write(r, &mut scratch)?;
                    match escape {
                        Escape::Json => push_json_escaped(&scratch, &mut out),
                        _ => push_form_escaped(&scratch, &mut out),
                    }
                }
                Segment::Encoded(r, escape) => {
                    scratch.clear();
                    scope.write(r, &mut scratch)?;
                    let mut encoded = String::with_capacity(scratch.len() * 3);
                    contract::url::push_component(&scratch, &mut encoded);
                    // Only `%` and unreserved characters are left: nothing
                    // to escape in JSON; a form escapes the `%`.
                    match escape {
                        Escape::Form => push_form_escaped(&encoded, &mut out),
                        _ => out.push_str(&encoded),
                    }
                }
            }
        }
        Ok(std::borrow::Cow::Owned(out))
    }

    fn len_hint(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Lit(l) => l.len(),
                Segment::Ref(..) | Segment::Encoded(..) => 16,
            })
            .sum()
    }
}

/// A JSON value whose strings (and keys) are templates, as one template of
/// its JSON text: references inside strings are JSON-escaped when rendered.
pub fn json(value: &serde_json::Value, names: &Names) -> Result<Template, String> {
    let mut t = Template::default();
    json_into(value, names, &mut t)?;
    Ok(t)
}

fn json_into(value: &serde_json::Value, names: &Names, t: &mut Template) -> Result<(), String> {
    use serde_json::Value;
    match value {
        Value::String(s) => json_string(s, names, t)?,
        Value::Array(items) => {
            t.push_lit("[");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    t.push_lit(",");
                }
                json_into(v, names, t)?;
            }
            t.push_lit("]");
        }
        Value::Object(map) => {
            t.push_lit("{");
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    t.push_lit(",");
                }
                json_string(k, names, t)?;
                t.push_lit(":");
                json_into(v, names, t)?;
            }
            t.push_lit("}");
        }
        other => t.push_lit(&other.to_string()),
    }
    Ok(())
}

fn json_string(s: &str, names: &Names, t: &mut Template) -> Result<(), String> {
    t.push_lit("\"");
    t.push_parsed(s, Escape::Json, names, &json_escape)?;
    t.push_lit("\"");
    Ok(())
}

/// `pairs` urlencoded (`a=1&b=2`), names and values templates.
pub fn form(pairs: &[(String, String)], names: &Names) -> Result<Template, String> {
    let mut t = Template::default();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            t.push_lit("&");
        }
        t.push_parsed(k, Escape::Form, names, &form_escape)?;
        t.push_lit("=");
        t.push_parsed(v, Escape::Form, names, &form_escape)?;
    }
    Ok(t)
}

/// The text of `s` inside a JSON string (without the quotes).
fn json_escape(s: &str) -> String {
    let mut out = String::new();
    push_json_escaped(s, &mut out);
    out
}

fn push_json_escaped(s: &str, out: &mut String) {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    out.push_str(&quoted[1..quoted.len() - 1]);
}

fn form_escape(s: &str) -> String {
    let mut out = String::new();
    push_form_escaped(s, &mut out);
    out
}

fn push_form_escaped(s: &str, out: &mut String) {
    out.extend(form_urlencoded::byte_serialize(s.as_bytes()));
}

enum Resolved {
    Ref(Ref),
    /// Known now (`env.*`).
    Text(String),
}

const BUILTINS: &str = "vu, iteration, scenario, uuid, now_ms, random_int(a,b), random_string(n), env.NAME, setup.NAME, DATA.FIELD or a variable a step extracts; urlencode(any of these)";

fn reference(name: &str, names: &Names) -> Result<Resolved, String> {
    let bad = |why: String| Err(format!("${{{name}}}: {why}"));
    if name.is_empty() {
        return bad(format!("empty reference (known: {BUILTINS})"));
    }
    let user_only = |r: Ref| {
        if names.in_hook {
            Err(format!(
                "${{{name}}}: setup and teardown run outside any user, so they have no {name}"
            ))
        } else {
            Ok(Resolved::Ref(r))
        }
    };
    match name {
        "vu" => return user_only(Ref::Vu),
        "iteration" => return Ok(Resolved::Ref(Ref::Iteration)),
        "scenario" => return user_only(Ref::Scenario),
        "uuid" => return Ok(Resolved::Ref(Ref::Uuid)),
        "now_ms" => return Ok(Resolved::Ref(Ref::NowMs)),
        _ => {}
    }
    if let Some(args) = call(name, "random_int") {
        let parsed: Vec<Option<i64>> = args.iter().map(|a| a.parse().ok()).collect();
        return match parsed.as_slice() {
            [Some(a), Some(b)] if a <= b => Ok(Resolved::Ref(Ref::RandomInt(*a, *b))),
            _ => {
                bad("random_int takes two integers, the first no larger (random_int(1,100))".into())
            }
        };
    }
    if let Some(args) = call(name, "random_string") {
        return match args.as_slice() {
            [n] => match n.parse::<u32>() {
                Ok(n) if (1..=4096).contains(&n) => Ok(Resolved::Ref(Ref::RandomString(n))),
                _ => bad("random_string takes a length from 1 to 4096".into()),
            },
            _ => bad("random_string takes one length (random_string(12))".into()),
        };
    }
    if name.contains('(') {
        return bad(format!("unknown function (known: {BUILTINS})"));
    }
    if let Some(var) = name.strip_prefix("env.") {
        return match names.env.get(var) {
            Some(v) => Ok(Resolved::Text(v.clone())),
            None => bad(format!(
                "{var} is not set: pass --env {var}=VALUE (the host's environment is never read)"
            )),
        };
    }
    if let Some(var) = name.strip_prefix("setup.") {
        return match names.variables.iter().position(|v| v == var) {
            Some(slot) if names.setup.contains(&slot) => Ok(Resolved::Ref(Ref::Setup(slot))),
            _ => bad(format!("no setup: step extracts {var}")),
        };
    }
    if let Some((source, field)) = name.split_once('.') {
        let Some((i, d)) = names
            .data
            .iter()
            .enumerate()
            .find(|(_, d)| d.name == source)
        else {
            let known: Vec<&str> = names.data.iter().map(|d| d.name).collect();
            return bad(format!(
                "no data source named {source} (data: {known:?}; also env.NAME, setup.NAME)"
            ));
        };
        if names.in_hook {
            return bad(
                "setup and teardown run outside any user, so they have no data rows".into(),
            );
        }
        return match d.columns.iter().position(|c| c == field) {
            Some(column) => Ok(Resolved::Ref(Ref::Data { source: i, column })),
            None => bad(format!(
                "data {source} ({} line 1) has no field {field} (its fields: {})",
                d.file,
                d.columns.join(", ")
            )),
        };
    }
    match names.variables.iter().position(|v| v == name) {
        Some(slot) => Ok(Resolved::Ref(Ref::Var(slot))),
        None => bad(format!(
            "no step extracts {name}, and it is not a built-in ({BUILTINS})"
        )),
    }
}

/// `f(a, b)` → the arguments, when `name` calls `f`.
fn call<'a>(name: &'a str, f: &str) -> Option<Vec<&'a str>> {
    let args = name
        .strip_prefix(f)?
        .trim()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    Some(args.split(',').map(str::trim).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Scope for Fixed {
        fn write(&mut self, r: &Ref, out: &mut String) -> Result<(), String> {
            match r {
                Ref::Vu => out.push('7'),
                Ref::Var(0) => out.push_str("a\"b&c"),
                Ref::Data { column, .. } => out.push_str(&format!("col{column}")),
                _ => return Err("token".into()),
            }
            Ok(())
        }
    }

    fn names<'a>(env: &'a BTreeMap<String, String>, data: &'a [DataNames<'a>]) -> Names<'a> {
        with_vars(env, VARS, data)
    }
    const VARS: &[String] = &[];

    fn with_vars<'a>(
        env: &'a BTreeMap<String, String>,
        variables: &'a [String],
        data: &'a [DataNames<'a>],
    ) -> Names<'a> {
        Names {
            env,
            variables,
            setup: &[],
            data,
            in_hook: false,
        }
    }

    #[test]
    fn renders_references_and_folds_env() {
        let env = BTreeMap::from([("HOST".to_string(), "app".to_string())]);
        let cols = ["name".to_string(), "password".to_string()];
        let data = [DataNames {
            name: "users",
            file: "u.csv",
            columns: &cols,
        }];
        let t = Template::parse(
            "http://${env.HOST}/u/${vu}/${users.password}",
            Escape::Raw,
            &names(&env, &data),
        )
        .unwrap();
        assert_eq!(t.prefix(), "http://app/u/");
        assert_eq!(t.render(&mut Fixed).unwrap(), "http://app/u/7/col1");
        let fixed = Template::parse("plain $5 $${x}", Escape::Raw, &names(&env, &data)).unwrap();
        assert_eq!(fixed.as_fixed(), Some("plain $5 ${x}"));
    }

    #[test]
    fn json_and_form_escape_values() {
        let env = BTreeMap::new();
        let vars = ["t".to_string()];
        let n = with_vars(&env, &vars, &[]);
        let v: serde_json::Value =
            serde_json::json!({"user": "${t}", "n": 3, "l": ["x\"", "${vu}"]});
        let t = json(&v, &n).unwrap();
        let out = t.render(&mut Fixed).unwrap().into_owned();
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"user": "a\"b&c", "n": 3, "l": ["x\"", "7"]})
        );
        let f = form(&[("q".into(), "${t} x".into())], &n).unwrap();
        assert_eq!(f.render(&mut Fixed).unwrap(), "q=a%22b%26c+x");
    }

    #[test]
    fn urlencode_percent_encodes_one_component_wherever_it_sits() {
        let env = BTreeMap::from([("Q".to_string(), "x y/z".to_string())]);
        let vars = ["t".to_string()];
        let n = with_vars(&env, &vars, &[]);
        let url = Template::parse(
            "http://a/p/${urlencode(t)}?q=${urlencode(env.Q)}&raw=${t}",
            Escape::Raw,
            &n,
        )
        .unwrap();
        assert_eq!(
            url.render(&mut Fixed).unwrap(),
            "http://a/p/a%22b%26c?q=x%20y%2Fz&raw=a\"b&c"
        );
        // In a form the encoded value is form-escaped in turn.
        let f = form(&[("q".into(), "${urlencode(t)}".into())], &n).unwrap();
        assert_eq!(f.render(&mut Fixed).unwrap(), "q=a%2522b%2526c");
        for bad in [
            "${urlencode()}",
            "${urlencode(a,b)}",
            "${urlencode(uuid())}",
        ] {
            let e = Template::parse(bad, Escape::Raw, &n).unwrap_err();
            assert!(e.contains("urlencode"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_references_name_themselves() {
        let env = BTreeMap::new();
        let n = names(&env, &[]);
        for (text, want) in [
            ("${", "closing"),
            ("${}", "empty"),
            ("${nope}", "no step extracts nope"),
            ("${env.X}", "--env X=VALUE"),
            ("${random_int(5,1)}", "random_int"),
            ("${users.name}", "no data source named users"),
            ("${setup.t}", "no setup: step extracts t"),
            ("${f(1)}", "unknown function"),
        ] {
            let e = Template::parse(text, Escape::Raw, &n).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        let mut missing = Template::parse("x", Escape::Raw, &n).unwrap();
        missing.append(Template {
            segments: vec![Segment::Ref(Ref::Uuid, Escape::Raw)],
        });
        assert_eq!(missing.render(&mut Fixed).unwrap_err(), "token");
    }
}
