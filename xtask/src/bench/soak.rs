//! `cargo xtask bench soak [MINUTES]`: 2,000 users with a 1 s think time for
//! 10 minutes (by default) against nginx; RSS and PSS every 10 s. Memory is
//! flat when RSS at the last minute is within 5% of minute 2.

use super::measure::{self, thousands};
use super::nginx::Nginx;
use super::{Bench, get_step, path};
use anyhow::{Context, Result};
use std::path::Path;
use std::time::Duration;

const USERS: u32 = 2000;

pub fn run(bench: &Bench, root: &Path, minutes: u32) -> Result<()> {
    let nginx = Nginx::start(&bench.work)?;
    let s = bench.scenario("soak", USERS, minutes * 60, &get_step(Some("1s")), "")?;
    let report = bench.work.join("soak.json");
    let cmd = bench.host_cmd(&s, &["--out", &path(&report)]);
    let mut samples = Vec::new();
    let ((rss, pss), served) =
        nginx.count(|| measure::peak_memory(&cmd, Duration::from_secs(10), &mut samples))?;
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
    let mut csv = "seconds,rss_kb,pss_kb\n".to_string();
    for (t, r, p) in &samples {
        csv += &format!("{t:.0},{r},{p}\n");
    }
    std::fs::write(bench.work.join("soak.csv"), csv)?;
    // The sample nearest each whole minute.
    let at = |minute: u32| {
        samples
            .iter()
            .min_by_key(|(t, _, _)| ((t - f64::from(minute * 60)).abs() * 1000.0) as u64)
            .copied()
            .context("no memory samples")
    };
    let mut md = format!(
        "Soak: {} users, 1 s think time, {minutes} min against nginx: {} requests (nginx's count), {} failed; peak RSS {:.1} MB, peak PSS {:.1} MB.\n\n| minute | RSS | PSS |\n|---|---|---|\n",
        thousands(f64::from(USERS), 0),
        thousands(served as f64, 0),
        r["failed"].as_u64().unwrap_or(0),
        rss as f64 / 1024.0,
        pss as f64 / 1024.0
    );
    for minute in 1..=minutes {
        let (_, r, p) = at(minute)?;
        md += &format!(
            "| {minute} | {:.1} MB | {:.1} MB |\n",
            r as f64 / 1024.0,
            p as f64 / 1024.0
        );
    }
    // Against minute 2 (after start-up), or the only minute of a shorter soak.
    let reference = 2.min(minutes);
    let (base, last) = (at(reference)?.1, at(minutes)?.1);
    let change = (last as f64 - base as f64) / base as f64 * 100.0;
    md += &format!(
        "\nRSS at minute {minutes} against minute {reference}: {change:+.1}% ({}).\n",
        if change.abs() <= 5.0 {
            "flat: within 5%"
        } else {
            "not flat: more than 5%"
        }
    );
    println!("{md}");
    std::fs::write(root.join("target/soak.md"), &md)?;
    Ok(())
}
