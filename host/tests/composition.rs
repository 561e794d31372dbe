//! The component graph has one source of truth (compositions/*.wac and
//! compositions/parts.toml): what scheduler-host composes at run time has
//! the same WIT as what `wac compose` makes of the same files.

use test_kit as common;

use common::host::{line_ping, scratch};
use scheduler_host::compose::{Plug, compose};
use scheduler_host::parts::slot_names;
use std::process::Command;

/// The component's WIT, every package printed, in name order.
fn wit(bytes: &[u8]) -> String {
    let decoded = wit_component::decode(bytes).expect("a component");
    let resolve = decoded.resolve();
    let main = decoded.package();
    let mut others: Vec<_> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != main)
        .collect();
    others.sort_by_key(|id| resolve.packages[*id].name.to_string());
    let mut printer = wit_component::WitPrinter::default();
    printer
        .print(resolve, main, &others)
        .expect("printable WIT");
    printer.output.to_string()
}

/// The component's world: what it imports and exports, by name.
fn world(bytes: &[u8]) -> String {
    let text = wit(bytes);
    let start = text.find("world root {").expect("a root world");
    let end = start + text[start..].find('}').expect("the world's end");
    text[start..end].to_string()
}

/// `wac compose FILE --deps-dir target/parts [--dep …]`, as the book says.
fn wac_compose(file: &str, deps: &[String]) -> Vec<u8> {
    let out = scratch("wac-golden").join(format!("{}.wasm", file.replace('/', "_")));
    let st = Command::new("wac")
        .current_dir(test_kit::root())
        .args([
            "compose",
            file,
            "--deps-dir",
            scheduler_host::parts::DIR,
            "-o",
        ])
        .arg(&out)
        .args(deps.iter().flat_map(|d| ["--dep", d.as_str()]))
        .status()
        .expect("wac is installed by `cargo xtask test`");
    assert!(st.success());
    std::fs::read(out).unwrap()
}

#[test]
fn the_host_composes_what_wac_compose_makes_of_scheduler_wac() {
    let host = compose(&[], &slot_names()).expect("the built-in parts compose");
    let cli = wac_compose("compositions/scheduler.wac", &[]);
    let (host, cli) = (wit(&host), wit(&cli));
    assert!(cli.contains("export scheduler:main/vu@"), "{cli}");
    assert_eq!(host, cli);
    // And that is what `cargo xtask build` ships.
    assert_eq!(wit(&std::fs::read(common::wasm()).unwrap()), cli);
}

#[test]
fn a_plugged_extension_that_uses_sockets_gets_the_with_extension_composition() {
    let plug = Plug {
        slot: "extension".into(),
        kind: Some("line-ping".into()),
        path: line_ping(),
        origin: "--action line-ping".into(),
    };
    let host = compose(&[plug], &slot_names()).expect("line-ping composes");
    let dep = format!("component:extension={}", line_ping().display());
    let cli = wac_compose("compositions/scheduler-with-extension.wac", &[dep]);
    assert_eq!(wit(&host), wit(&cli));
}

#[test]
fn every_part_in_the_table_is_instantiated_by_both_wac_files() {
    for (file, source) in [
        ("scheduler.wac", scheduler_host::compose::SCHEDULER_WAC),
        (
            "scheduler-with-extension.wac",
            scheduler_host::compose::WITH_EXTENSION_WAC,
        ),
    ] {
        for part in scheduler_host::parts::PARTS {
            let stmt = format!("= new component:{} {{", part.name);
            assert!(source.contains(&stmt), "{file} lacks `{stmt}`");
        }
    }
}

#[test]
fn an_http_only_scenario_gets_stand_ins_for_tcp_and_udp_with_the_same_contract() {
    let full = compose(&[], &slot_names()).unwrap();
    let http_only = compose(&[], &["http"]).unwrap();
    // The same imports and exports: the host links and calls it alike.
    assert_eq!(world(&http_only), world(&full));
    // Without the tcp and udp actions' code, data and memories.
    let parts = |name: &str| {
        scheduler_host::parts::PARTS
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .bytes
            .len()
    };
    let dropped = parts("tcp") + parts("udp");
    assert!(
        http_only.len() + dropped * 3 / 4 < full.len(),
        "{} bytes against {} (tcp and udp: {dropped})",
        http_only.len(),
        full.len()
    );
    // And it runs only what the scenario uses: a tcp-only scenario gets a
    // stand-in for http instead.
    let tcp_only = compose(&[], &["tcp"]).unwrap();
    // (Its WIT lists core-libs' types in another order: the order in which
    // the parts first use them.)
    assert_eq!(world(&tcp_only), world(&full));
    assert!(tcp_only.len() + parts("http") * 3 / 4 < full.len());
}
