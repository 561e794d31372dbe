//! Every YAML block of the README and the book is a scenario that
//! `scheduler-host validate` accepts, unless the line before it says it is
//! meant to fail (`<!-- fails validation: … -->`); then validate must
//! refuse it with exit 2. A block that needs options says so the same way
//! (`<!-- validate with: --env HOST=… -->`, `{root}` standing for the
//! checkout). Blocks are validated from
//! `scenarios/`, so the data files they name resolve as they do for the
//! bundled scenarios.

use test_kit as common;

use common::host::{bin, scratch};
use common::root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The line that marks a block meant to fail.
const FAILS: &str = "<!-- fails validation";
/// The line that gives a block's `validate` options.
const WITH: &str = "<!-- validate with:";

struct Block {
    file: PathBuf,
    line: usize,
    yaml: String,
    meant_to_fail: bool,
    args: Vec<String>,
}

fn documents() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut book: Vec<PathBuf> = std::fs::read_dir(root().join("docs/src"))
        .expect("docs/src")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    book.sort();
    files.extend(book);
    files
}

fn yaml_blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap();
    common::fenced(&text, "yaml")
        .into_iter()
        .map(|f| Block {
            file: file.to_path_buf(),
            line: f.line,
            args: f
                .before
                .strip_prefix(WITH)
                .and_then(|a| a.strip_suffix("-->"))
                .map(|a| {
                    // `{root}`: the checkout (a built part, say).
                    let root = root().display().to_string();
                    a.split_whitespace()
                        .map(|w| w.replace("{root}", &root))
                        .collect()
                })
                .unwrap_or_default(),
            meant_to_fail: f.before.starts_with(FAILS),
            yaml: f.body,
        })
        .collect()
}

#[test]
fn every_yaml_block_of_the_readme_and_the_book_validates() {
    let blocks: Vec<Block> = documents().iter().flat_map(|f| yaml_blocks(f)).collect();
    assert!(
        blocks.iter().any(|b| b.file.ends_with("README.md")),
        "the README shows a first scenario"
    );
    assert!(blocks.len() >= 5, "found only {} YAML blocks", blocks.len());
    let dir = scratch("docs");
    let mut wrong = Vec::new();
    for (n, b) in blocks.iter().enumerate() {
        // Beside the bundled scenarios, so `data/…` paths resolve.
        let file = root()
            .join("scenarios")
            .join(format!(".docs-block-{n}.yaml"));
        std::fs::write(&file, &b.yaml).unwrap();
        let out = Command::new(bin())
            .arg("validate")
            .arg(&file)
            .args(&b.args)
            .current_dir(&dir)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&file);
        let code = out.status.code();
        let expected = if b.meant_to_fail { Some(2) } else { Some(0) };
        if code != expected {
            wrong.push(format!(
                "{}:{}: exit {code:?}, expected {expected:?}: {}",
                b.file.strip_prefix(root()).unwrap_or(&b.file).display(),
                b.line,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every option `scheduler-host run --help` lists is in the book's table.
#[test]
fn every_run_option_is_documented() {
    let help = Command::new(bin())
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let book = std::fs::read_to_string(root().join("docs/src/getting-started.md")).unwrap();
    let flags: std::collections::BTreeSet<&str> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect();
    assert!(
        flags.contains("--vus") && flags.contains("--deny"),
        "{help}"
    );
    let missing: Vec<&&str> = flags
        .iter()
        .filter(|f| **f != "--help" && !book.contains(&format!("`{f}")))
        .collect();
    assert!(missing.is_empty(), "not in getting-started.md: {missing:?}");
}

/// The field names of every `Deserialize` struct in `src` (their serde
/// names: `rename` applied): every key a scenario file may hold.
fn scenario_keys(src: &Path, out: &mut std::collections::BTreeSet<String>) {
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            scenario_keys(&path, out);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let derive = lines[i].trim();
            i += 1;
            if !(derive.starts_with("#[derive(") && derive.contains("Deserialize")) {
                continue;
            }
            // Past the struct's attributes, to its opening line.
            while i < lines.len() && lines[i].trim().starts_with("#[") {
                i += 1;
            }
            if i >= lines.len() || !lines[i].contains("struct ") || !lines[i].ends_with('{') {
                continue;
            }
            let indent = lines[i].len() - lines[i].trim_start().len();
            i += 1;
            let mut rename = None;
            let depth = |l: &str| l.len() - l.trim_start().len();
            while i < lines.len() && (lines[i].trim() != "}" || depth(lines[i]) > indent) {
                let l = lines[i].trim();
                i += 1;
                if let Some(r) = l.split("rename = \"").nth(1) {
                    rename = r.split('"').next().map(str::to_string);
                    continue;
                }
                if l.starts_with("//") || l.starts_with('#') {
                    continue;
                }
                let l = l
                    .trim_start_matches("pub(super) ")
                    .trim_start_matches("pub(crate) ");
                let l = l.trim_start_matches("pub ");
                if let Some((name, _)) = l.split_once(':')
                    && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && !name.is_empty()
                {
                    out.insert(rename.take().unwrap_or_else(|| name.to_string()));
                }
            }
        }
    }
}

/// The Scenario reference names every key the parser accepts.
#[test]
fn the_scenario_reference_names_every_key() {
    let mut keys = std::collections::BTreeSet::new();
    scenario_keys(&root().join("components/scenario/src"), &mut keys);
    for expected in [
        "total_users",
        "executor",
        "pre_allocated_vus",
        "read_until_close",
        "abort_on_fail",
        "type",
    ] {
        assert!(
            keys.contains(expected),
            "the key reader missed {expected}: {keys:?}"
        );
    }
    let book = std::fs::read_to_string(root().join("docs/src/scenario-reference.md")).unwrap();
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !book.contains(&format!("`{k}`")) && !book.contains(&format!("{k}:")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in scenario-reference.md: {missing:?}"
    );
}
