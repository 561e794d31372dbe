use crate::compare::{self, Limit};
use crate::error::{EXIT_THRESHOLDS, Failure};
use crate::report;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct CompareArgs {
    /// The baseline report (`run --out`)
    pub base: PathBuf,
    /// The report to compare with it
    pub new: PathBuf,
    /// Exit 99 when a change passes this limit, in total or for any step (repeatable):
    /// METRIC > CHANGE or METRIC < CHANGE; METRIC is rps, errors, mean, p50, p90, p95, p99 or max;
    /// CHANGE is ±N% (relative), ±Npp (error-rate points) or ±Nms
    #[arg(long = "fail-if", value_name = "LIMIT")]
    pub fail_if: Vec<Limit>,
}

pub fn main(a: CompareArgs) -> Result<u8, Failure> {
    let (base, new) = (report::read(&a.base)?, report::read(&a.new)?);
    let c = compare::lineup(base, new);
    print!("{}", compare::render(&c));
    let breaches = compare::breaches(&c, &a.fail_if);
    for b in &breaches {
        println!("FAIL {b}");
    }
    if breaches.is_empty() {
        if !a.fail_if.is_empty() {
            println!("ok: no change passes a limit");
        }
        Ok(0)
    } else {
        Ok(EXIT_THRESHOLDS)
    }
}
