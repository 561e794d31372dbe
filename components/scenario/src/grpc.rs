//! A gRPC step's call (`type: grpc`), and the .proto files it needs: its
//! `proto` and, transitively, what that imports, resolved beside it.

use crate::Endpoint;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub struct GrpcCall {
    pub target: Endpoint,
    /// Index into `Scenario::tls`: set when the call goes over TLS.
    pub tls: Option<usize>,
    /// The step's `proto`, as written (relative to the scenario file).
    pub proto: String,
    /// "package.Service/Method".
    pub method: String,
    /// The request message's JSON mapping (templates rendered per call).
    pub message: String,
    pub metadata: Vec<(String, String)>,
    /// The grpc-status the step expects (0: OK).
    pub expect_status: u16,
    pub expect_messages: Option<u32>,
    /// Reply bytes kept for extraction and checks.
    pub max_body: u64,
    /// `proto` and what it imports, once the files are given.
    pub protos: Arc<Vec<ProtoFile>>,
}

/// A .proto file: its name as imports spell it (relative to the directory
/// of the step's `proto`), where the scenario reads it from, and its text.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtoFile {
    pub name: String,
    pub path: String,
    pub source: String,
}

/// Imports protox compiles from its own copy (the well-known types).
fn built_in(name: &str) -> bool {
    name.starts_with("google/protobuf/")
}

/// `main` (a path relative to the scenario) and every file it imports,
/// transitively, each read once through `read` (by its path relative to
/// the scenario). `Err` names the file that could not be read.
pub fn closure(
    main: &str,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<ProtoFile>, String> {
    let (dir, name) = match main.rsplit_once('/') {
        Some((dir, name)) => (format!("{dir}/"), name.to_string()),
        None => (String::new(), main.to_string()),
    };
    let mut out: Vec<ProtoFile> = Vec::new();
    let mut todo = vec![name];
    // Each file is read once, so an import cycle ends here (protox
    // reports the cycle itself).
    while let Some(name) = todo.pop() {
        if out.iter().any(|f| f.name == name) {
            continue;
        }
        let path = format!("{dir}{name}");
        let bytes = read(&path).map_err(|e| format!("scenario file {path}: {e}"))?;
        let source = String::from_utf8(bytes)
            .map_err(|_| format!("scenario file {path}: not UTF-8 text"))?;
        todo.extend(imports(&source).filter(|i| !built_in(i)));
        out.push(ProtoFile { name, path, source });
    }
    Ok(out)
}

/// The files a .proto's `import` statements name (`import "a.proto";`,
/// `import public …`, `import weak …`), in order.
fn imports(source: &str) -> impl Iterator<Item = String> + '_ {
    source.lines().filter_map(|line| {
        let rest = line.trim_start().strip_prefix("import")?;
        let rest = rest.trim_start();
        let rest = rest
            .strip_prefix("public")
            .or_else(|| rest.strip_prefix("weak"))
            .unwrap_or(rest)
            .trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let (name, _) = rest[1..].split_once(quote)?;
        Some(name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_read_beside_the_main_proto_once_each() {
        let files = [
            (
                "protos/a.proto",
                "syntax = \"proto3\";\nimport \"b.proto\";\nimport public 'c/d.proto';\nimport \"google/protobuf/empty.proto\";",
            ),
            ("protos/b.proto", "import \"c/d.proto\";"),
            ("protos/c/d.proto", "syntax = \"proto3\";"),
        ];
        let mut reads = Vec::new();
        let got = closure("protos/a.proto", &mut |p| {
            reads.push(p.to_string());
            files
                .iter()
                .find(|(f, _)| *f == p)
                .map(|(_, s)| s.as_bytes().to_vec())
                .ok_or_else(|| "not found".to_string())
        })
        .unwrap();
        let names: Vec<&str> = got.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.proto", "c/d.proto", "b.proto"]);
        assert_eq!(reads.len(), 3, "each file read once: {reads:?}");
        let e = closure("protos/missing.proto", &mut |_| Err("no such file".into())).unwrap_err();
        assert_eq!(e, "scenario file protos/missing.proto: no such file");
    }
}
