//! The parts table (`compositions/parts.toml`), read by `cargo xtask build`
//! (what to build and where to lay it out) and by the host's build script
//! (what to embed). See the table's own comments for the fields.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One part of the composition.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// `component:<name>` in the .wac files; `<name>.wasm` in the parts dir.
    pub name: String,
    /// The cargo package that builds it.
    #[serde(rename = "crate")]
    pub krate: String,
    /// An action slot a user may replace.
    #[serde(default)]
    pub slot: bool,
}

impl Part {
    /// The file cargo builds for wasm32-wasip2 (`action-http` → `action_http.wasm`).
    pub fn built_file(&self) -> String {
        format!("{}.wasm", self.krate.replace('-', "_"))
    }

    /// Where `cargo xtask build` leaves it under `parts_dir`, so that
    /// `wac compose --deps-dir <parts_dir>` finds `component:<name>`.
    pub fn laid_out(&self, parts_dir: &Path) -> PathBuf {
        parts_dir
            .join("component")
            .join(format!("{}.wasm", self.name))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    part: Vec<Part>,
}

/// `compositions/parts.toml` under the workspace root.
pub fn path(root: &Path) -> PathBuf {
    root.join("compositions/parts.toml")
}

/// `target/parts` under a target directory: the `--deps-dir` of `wac compose`.
pub fn parts_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("parts")
}

/// The parts, in the table's order.
pub fn read(root: &Path) -> Result<Vec<Part>, String> {
    let file = path(root);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", file.display()))
}

pub fn parse(text: &str) -> Result<Vec<Part>, String> {
    let table: Table = toml::from_str(text).map_err(|e| e.to_string())?;
    Ok(table.part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_table_reads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let parts = read(&root).unwrap();
        assert_eq!(parts.first().map(|p| p.name.as_str()), Some("core-libs"));
        assert_eq!(parts.last().map(|p| p.name.as_str()), Some("scheduler"));
        let slots: Vec<&str> = parts
            .iter()
            .filter(|p| p.slot)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            slots,
            ["http", "tcp", "udp", "grpc", "ws", "extension", "script"]
        );
        assert_eq!(parts[1].built_file(), "action_http.wasm");
    }

    #[test]
    fn unknown_fields_are_errors() {
        assert!(parse("[[part]]\nname = \"x\"\ncrate = \"y\"\nslto = true\n").is_err());
    }
}
