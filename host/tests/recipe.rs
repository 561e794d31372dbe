//! The book's "Write your own action" recipe, followed as written by a
//! third party: its shell lines run inside this checkout (where a crate
//! without its own `[workspace]` is refused), its Cargo.toml and lib.rs
//! copied out of the page, and the component it builds plugged into a run
//! with `--action`; the server counts the recipe's connects.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use test_kit::host::{bin, ok};
use test_kit::root;

/// The page's fenced blocks of `lang`, in order.
fn blocks(page: &str, lang: &str) -> Vec<String> {
    test_kit::fenced(page, lang)
        .into_iter()
        .map(|f| f.body)
        .collect()
}

/// Runs one shell line of the recipe in `dir`.
fn sh(dir: &Path, line: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{line}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_write_your_own_action_recipe_builds_as_written_and_plugs_in() {
    let page = std::fs::read_to_string(root().join("docs/src/write-your-own-action.md")).unwrap();
    let toml = blocks(&page, "toml")
        .into_iter()
        .find(|b| b.starts_with("# my-action/Cargo.toml"))
        .expect("the recipe's Cargo.toml");
    let lib = blocks(&page, "rust")
        .into_iter()
        .find(|b| b.starts_with("// my-action/src/lib.rs"))
        .expect("the recipe's lib.rs");
    let steps: Vec<String> = blocks(&page, "sh")[0]
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split("  #").next().unwrap().trim().to_string())
        .collect();
    assert_eq!(steps.len(), 2, "{steps:?}");

    // Inside the checkout, as a contributor trying it would be.
    let dir = root().join("target/recipe-test");
    let _ = std::fs::remove_dir_all(dir.join("my-action/src"));
    std::fs::create_dir_all(&dir).unwrap();
    sh(&dir, &steps[0]);
    std::fs::create_dir_all(dir.join("my-action/src")).unwrap();
    std::fs::write(dir.join("my-action/Cargo.toml"), toml).unwrap();
    std::fs::write(dir.join("my-action/src/lib.rs"), lib).unwrap();
    sh(&dir, &steps[1]);
    let wasm = dir.join("my-action/target/wasm32-wasip2/release/my_action.wasm");
    assert!(wasm.exists());

    // A server that counts the connects it accepts.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for _ in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    std::fs::write(
        dir.join("my.yaml"),
        format!("scenario:\n  id: probe\n  load: {{total_users: 2, iterations: 5}}\n  workflow:\n    - {{id: probe, type: tcp-connect, params: {{server: \"{addr}\"}}}}\n"),
    )
    .unwrap();
    let plug = format!("tcp-connect={}", wasm.display());
    let out = Command::new(bin())
        .current_dir(&dir)
        .args([
            "run", "my.yaml", "--action", &plug, "--quiet", "--out", "r.json",
        ])
        .output()
        .unwrap();
    ok(&out);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(r["total_requests"], 10);
    assert_eq!(r["failed"], 0);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        10,
        "the server's own count"
    );
    // Its validate names the param.
    std::fs::write(
        dir.join("bad.yaml"),
        "scenario:\n  id: bad\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {id: probe, type: tcp-connect, params: {server: nowhere}}\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .current_dir(&dir)
        .args(["run", "bad.yaml", "--action", &plug])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("params.server \"nowhere\" is not host:port"),
        "{err}"
    );
}
