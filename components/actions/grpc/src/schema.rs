//! .proto files compiled at run time (`protox`: no protoc, no generated
//! code), and what a step's method and message must fit.

use action_support::types::ProtoFile;
use miette::Diagnostic;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, MethodDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::Value;

pub struct Schema {
    pool: DescriptorPool,
}

/// The step's files, by the names imports use.
struct Given(Vec<(String, String)>);

impl FileResolver for Given {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.0.iter().find(|(n, _)| n == name) {
            Some((n, source)) => File::from_source(n, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

impl Schema {
    /// Compiles `main` and what it imports (the well-known types come with
    /// protox). The error is one line: the file, the line and column of a
    /// syntax error, and what is wrong.
    pub fn compile(files: &[ProtoFile], main: &str) -> Result<Schema, String> {
        let given = Given(
            files
                .iter()
                .map(|f| (f.name.clone(), f.source.clone()))
                .collect(),
        );
        let mut resolver = ChainFileResolver::new();
        resolver.add(given);
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        compiler.open_file(main).map_err(|e| one_line(&e, files))?;
        Ok(Schema {
            pool: compiler.descriptor_pool(),
        })
    }

    /// The method "package.Service/Method" names.
    pub fn method(&self, name: &str) -> Result<MethodDescriptor, String> {
        let name = name.trim_start_matches('/');
        let (service, method) = name
            .split_once('/')
            .ok_or_else(|| format!("method: {name:?}: expected package.Service/Method"))?;
        let Some(s) = self.pool.get_service_by_name(service) else {
            let known: Vec<String> = self
                .pool
                .services()
                .map(|s| s.full_name().to_string())
                .collect();
            return Err(format!(
                "method: no service {service} in the proto (it has: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        };
        let found = s.methods().find(|m| m.name() == method);
        found.ok_or_else(|| {
            let known: Vec<String> = s.methods().map(|m| m.name().to_string()).collect();
            format!(
                "method: no method {method} in service {service} (it has: {})",
                known.join(", ")
            )
        })
    }

    /// `method` exists, takes one request (unary or server-streaming), and
    /// `message_json` fits its request message. A string holding `${` is a
    /// template: it fits any scalar field.
    pub fn check(&self, method: &str, message_json: &str) -> Result<(), String> {
        let m = self.method(method)?;
        if m.is_client_streaming() {
            return Err(format!(
                "method: {} streams requests from the client; unary and server-streaming calls are supported",
                m.full_name()
            ));
        }
        let mut value: Value =
            serde_json::from_str(message_json).map_err(|e| format!("message: not JSON: {e}"))?;
        untemplate(&m.input(), &mut value, "message")?;
        match encode(&m, &value.to_string()) {
            Ok(_) => Ok(()),
            Err(e) => Err(blame(&m.input(), &value, "message").unwrap_or(e)),
        }
    }
}

/// The request message `json` stands for, encoded.
pub fn encode(m: &MethodDescriptor, json: &str) -> Result<Vec<u8>, String> {
    let mut de = serde_json::Deserializer::from_str(json);
    let msg = DynamicMessage::deserialize(m.input(), &mut de)
        .map_err(|e| format!("message: does not fit {}: {e}", m.input().full_name()))?;
    Ok(prost::Message::encode_to_vec(&msg))
}

/// Checks every key of `value` names a field of `desc` (naming the path of
/// one that does not), and takes out the templated strings, which only
/// the run fills in.
fn untemplate(desc: &MessageDescriptor, value: &mut Value, at: &str) -> Result<(), String> {
    let Value::Object(map) = value else {
        return Ok(());
    };
    let mut templated = Vec::new();
    for (k, v) in map.iter_mut() {
        let field = desc
            .get_field_by_name(k)
            .or_else(|| desc.get_field_by_json_name(k))
            .ok_or_else(|| {
                let known: Vec<String> = desc.fields().map(|f| f.name().to_string()).collect();
                format!(
                    "{at}.{k}: no field {k} in {} (it has: {})",
                    desc.full_name(),
                    known.join(", ")
                )
            })?;
        match v {
            Value::String(s) if s.contains("${") => templated.push(k.clone()),
            Value::Object(_) if !field.is_map() => {
                if let Kind::Message(inner) = field.kind() {
                    untemplate(&inner, v, &format!("{at}.{k}"))?;
                }
            }
            Value::Array(items) => {
                if let Kind::Message(inner) = field.kind() {
                    for (i, item) in items.iter_mut().enumerate() {
                        untemplate(&inner, item, &format!("{at}.{k}[{i}]"))?;
                    }
                } else {
                    items.retain(|i| !matches!(i, Value::String(s) if s.contains("${")));
                }
            }
            _ => {}
        }
    }
    for k in templated {
        map.remove(&k);
    }
    Ok(())
}

/// The first field of `value` that does not fit `desc`, as
/// "message.meta.source: what is wrong" (serde's error names no field).
fn blame(desc: &MessageDescriptor, value: &Value, at: &str) -> Option<String> {
    let Value::Object(map) = value else {
        return None;
    };
    for (k, v) in map {
        let one = serde_json::json!({ k: v }).to_string();
        let mut de = serde_json::Deserializer::from_str(&one);
        let Err(e) = DynamicMessage::deserialize(desc.clone(), &mut de) else {
            continue;
        };
        let field = desc
            .get_field_by_name(k)
            .or_else(|| desc.get_field_by_json_name(k));
        if let (Some(f), Value::Object(_)) = (&field, v)
            && let Kind::Message(inner) = f.kind()
            && !f.is_map()
            && let Some(deeper) = blame(&inner, v, &format!("{at}.{k}"))
        {
            return Some(deeper);
        }
        // serde's position is in the JSON text made here, not the YAML.
        let why = e.to_string();
        let why = why
            .rsplit_once(" at line ")
            .map_or(why.as_str(), |(w, _)| w);
        return Some(format!("{at}.{k}: {why}"));
    }
    None
}

/// protox's error as one line: "greeter.proto:4:7: expected ';'".
fn one_line(e: &protox::Error, files: &[ProtoFile]) -> String {
    let message = e.to_string().replace('\n', " ");
    let (Some(file), Some(label)) = (e.file(), e.labels().and_then(|mut l| l.next())) else {
        return message;
    };
    let Some(f) = files.iter().find(|f| f.name == file) else {
        return format!("{file}: {message}");
    };
    let before = &f.source[..label.offset().min(f.source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{}:{line}:{column}: {message}", f.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeter() -> Schema {
        let file = |name: &str, source: &str| ProtoFile {
            name: name.into(),
            source: source.into(),
        };
        let files = [
            file(
                "greeter.proto",
                include_str!("../../../../scenarios/protos/greeter.proto"),
            ),
            file(
                "common/meta.proto",
                include_str!("../../../../scenarios/protos/common/meta.proto"),
            ),
        ];
        Schema::compile(&files, "greeter.proto").unwrap()
    }

    #[test]
    fn a_message_is_encoded_from_its_json_mapping_with_either_field_name() {
        let s = greeter();
        let m = s.method("bar.greeter.v1.Greeter/SayHello").unwrap();
        let a = encode(&m, r#"{"name": "x", "times": 2, "meta": {"source": "y"}}"#).unwrap();
        // A number field takes the text a template renders.
        let b = encode(
            &m,
            r#"{"name": "x", "times": "2", "meta": {"source": "y"}}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        let msg = DynamicMessage::decode(m.input(), a.as_slice()).unwrap();
        assert_eq!(msg.get_field_by_name("times").unwrap().as_i32(), Some(2));
        assert!(
            s.method("/bar.greeter.v1.Greeter/Countdown")
                .unwrap()
                .is_server_streaming()
        );
    }

    #[test]
    fn check_names_the_field_and_lets_templates_through() {
        let s = greeter();
        let m = "bar.greeter.v1.Greeter/SayHello";
        s.check(
            m,
            r#"{"name": "vu${vu}", "times": "${n}", "tags": ["${a}"]}"#,
        )
        .unwrap();
        let e = s.check(m, r#"{"times": "many"}"#).unwrap_err();
        assert!(e.starts_with("message.times: "), "{e}");
        let e = s.check(m, r#"{"meta": {"sauce": 1}}"#).unwrap_err();
        assert!(
            e.starts_with("message.meta.sauce: no field sauce in bar.common.v1.Meta"),
            "{e}"
        );
        let e = s.check("bar.greeter.v1.Greeter/Nope", "{}").unwrap_err();
        assert!(e.starts_with("method: no method Nope"), "{e}");
    }

    #[test]
    fn a_syntax_error_is_one_line_with_its_position() {
        let files = [ProtoFile {
            name: "a.proto".into(),
            source: "syntax = \"proto3\";\nmessage A {\n  string name = 1\n}\n".into(),
        }];
        let e = Schema::compile(&files, "a.proto").err().unwrap();
        assert!(e.starts_with("a.proto:4:1: "), "{e}");
        assert!(!e.contains('\n'));
        let missing = [ProtoFile {
            name: "b.proto".into(),
            source: "syntax = \"proto3\";\nimport \"gone.proto\";\n".into(),
        }];
        let e = Schema::compile(&missing, "b.proto").err().unwrap();
        assert!(e.contains("gone.proto"), "{e}");
    }
}
