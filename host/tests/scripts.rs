//! `scheduler-host script build`: JavaScript and Python journeys compiled
//! to components of the `scheduler:script` world (the tools installed when
//! missing), and scripts that do not build named by file and line.

use test_kit as common;

use common::host::{cli, ok, scratch};
use std::path::Path;

/// The world a built component targets: its imports and exports by name.
fn world(path: &Path) -> (Vec<String>, Vec<String>) {
    let bytes = std::fs::read(path).unwrap();
    let wit_component::DecodedWasm::Component(resolve, world) =
        wit_component::decode(&bytes).unwrap()
    else {
        panic!("not a component");
    };
    let names = |items: &indexmap::IndexMap<wit_parser::WorldKey, wit_parser::WorldItem>| {
        items
            .keys()
            .map(|k| resolve.name_world_key(k))
            .collect::<Vec<_>>()
    };
    let w = &resolve.worlds[world];
    (names(&w.imports), names(&w.exports))
}

/// The bundled journeys build, and each is a component that imports the
/// SDK and exports the journey (nothing else of ours).
#[test]
fn the_example_journeys_build_to_script_components() {
    let dir = scratch("script-build");
    for (example, out) in [
        ("examples/scripts/js/journey.js", "js.wasm"),
        ("examples/scripts/python/journey.py", "py.wasm"),
    ] {
        let source = common::root().join(example);
        let wasm = dir.join(out);
        ok(&cli(
            &dir,
            &[
                "script",
                "build",
                source.to_str().unwrap(),
                "-o",
                wasm.to_str().unwrap(),
            ],
        ));
        let (imports, exports) = world(&wasm);
        assert!(
            imports.contains(&"scheduler:script/sdk@0.1.0".to_string()),
            "{example}: {imports:?}"
        );
        let ours: Vec<&String> = exports
            .iter()
            .filter(|e| e.starts_with("scheduler:"))
            .collect();
        assert_eq!(
            ours,
            ["scheduler:script/journey@0.1.0"],
            "{example}: {exports:?}"
        );
        assert!(
            !imports.iter().any(|i| i.starts_with("wasi:http")),
            "{example}: the script speaks through the SDK only: {imports:?}"
        );
    }
}

/// The Rust journey is a crate over the SDK crate: `cargo build --target
/// wasm32-wasip2` makes the same kind of component.
#[test]
fn the_rust_journey_builds_with_cargo() {
    let example = common::root().join("examples/scripts/rust");
    let target = common::root().join("target/scripts");
    let out = std::process::Command::new(env!("CARGO"))
        .current_dir(&example)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (imports, exports) = world(&target.join("wasm32-wasip2/release/journey.wasm"));
    assert!(
        imports.contains(&"scheduler:script/sdk@0.1.0".to_string()),
        "{imports:?}"
    );
    assert_eq!(exports, ["scheduler:script/journey@0.1.0"]);
}

/// A script that does not build, or imports what the SDK does not have,
/// is exit 2 with one line naming its file and line.
#[test]
fn a_script_that_does_not_build_is_named_by_file_and_line() {
    let dir = scratch("script-bad");
    let cases = [
        (
            "broken.js",
            "import { http } from \"scheduler:script\";\nexport function iteration() {\n  let x = ;\n}\n",
            "broken.js:3:11 SyntaxError: expected expression",
        ),
        (
            "nope.js",
            "import { nope } from \"scheduler:script\";\nexport function iteration() { nope(); }\n",
            "nope.js:1:10 SyntaxError: The requested module 'scheduler:script' doesn't provide an export named: 'nope'",
        ),
        (
            "broken.py",
            "from scheduler_script import http\n\ndef iteration(ctx)\n    pass\n",
            "broken.py:3: SyntaxError: expected ':'",
        ),
        (
            "nope.py",
            "from scheduler_script import nope\n\ndef iteration(ctx):\n    nope()\n",
            "nope.py:1: ImportError: cannot import name 'nope' from 'scheduler_script'",
        ),
        (
            "journey.rb",
            "puts 1\n",
            "journey.rb: expected a .js or .py script",
        ),
    ];
    for (file, text, want) in cases {
        std::fs::write(dir.join(file), text).unwrap();
        let out = cli(&dir, &["script", "build", file, "-o", "out.wasm"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        let last = err.trim_end().lines().last().unwrap_or_default();
        assert!(last.contains(want), "{file}: {err}\nwanted: {want}");
        assert!(
            !dir.join("out.wasm").exists(),
            "{file}: a component was written"
        );
    }
}
