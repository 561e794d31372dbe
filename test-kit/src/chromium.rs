//! Headless Chromium, as the tests open a page in it (installed by
//! `cargo xtask test`), with a bounded run time.

use std::path::Path;
use std::process::{Command, Output};

/// Chromium on the file `page` with `args` (`--dump-dom`, `--screenshot=F`).
pub fn run(args: &[&str], page: &Path) -> Output {
    let out = Command::new("timeout")
        .args([
            "120",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
        ])
        .args(["--hide-scrollbars", "--window-size=1100,2600"])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium is installed by `cargo xtask test`");
    assert!(out.status.success(), "{out:?}");
    out
}

/// The page's DOM once its script has run.
pub fn dom(page: &Path) -> String {
    String::from_utf8(run(&["--dump-dom"], page).stdout).unwrap()
}
