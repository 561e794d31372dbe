//! Reproducible runs: `--seed` (or the scenario's `seed`) makes every
//! random choice a user makes the same from run to run, whatever the
//! timing and however users are spread over instances. Compared from what
//! the server received.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::web::Web;
use std::collections::BTreeMap;

/// The paths the server saw in one run with `args`: each user's random
/// choices are in its paths (`/s/VU/…`; the server has none of them, so
/// 404 is what the steps expect).
fn paths(name: &str, args: &[&str]) -> BTreeMap<String, u64> {
    let web = Web::plain();
    let dir = scratch(name);
    let a = web.addr;
    let steps = format!(
        "    - {{id: one, type: http, weight: 3, assert_status: 404, params: {{url: \"http://{a}/s/${{vu}}/one/${{random_int(1,1000000000)}}/${{random_string(12)}}/${{uuid}}\"}}}}\n    - {{id: two, type: http, weight: 1, assert_status: 404, params: {{url: \"http://{a}/s/${{vu}}/two/${{random_int(1,1000000000)}}\"}}}}\n"
    );
    let yaml = common::workflow("seeds", "", 4, 5, &steps);
    let (out, report) = run(&dir, &yaml, args);
    ok(&out);
    assert_eq!(report.unwrap()["failed"], 0);
    let seen = web.seen.paths.lock().unwrap().clone();
    assert_eq!(seen.values().sum::<u64>(), 20);
    seen
}

#[test]
fn the_same_seed_gives_every_user_the_same_choices_and_another_seed_others() {
    let a = paths("seed-a", &["--seed", "7", "--users-per-instance", "1"]);
    // Another spread of users over instances: the same choices.
    let b = paths("seed-b", &["--seed", "7", "--users-per-instance", "4"]);
    assert_eq!(a, b);
    let c = paths("seed-c", &["--seed", "8", "--users-per-instance", "4"]);
    assert_ne!(a, c);
    // Weighted picks are among the choices: both steps ran.
    assert!(a.keys().any(|p| p.contains("/one/")) && a.keys().any(|p| p.contains("/two/")));
}
