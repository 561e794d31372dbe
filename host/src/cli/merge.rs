use crate::error::{EXIT_INTERRUPTED, EXIT_SETUP_FAILED, EXIT_THRESHOLDS, Failure};
use crate::{html, junit, merge, report, saved, summary};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct MergeArgs {
    /// The reports to add up (`run --out` of each shard)
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged JSON report here ("-" for stdout, instead of the summary)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write the merged HTML report here
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Also write one JUnit testcase per threshold here
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

pub fn main(a: MergeArgs) -> Result<u8, Failure> {
    let mut inputs = Vec::new();
    for path in &a.reports {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::input(format!("report {}: {e}", path.display())))?;
        inputs.push((path.display().to_string(), text));
    }
    let merged = merge::merge(&inputs).map_err(Failure::input)?;
    if a.out != std::path::Path::new("-") {
        print!(
            "{}",
            summary::render(
                &merged.run,
                merged.interrupted_during,
                false,
                merged.aborted_by_threshold.as_deref()
            )
        );
    }
    report::write(&a.out, &merged)?;
    if let Some(path) = &a.html {
        let saved = serde_json::to_value(&merged)
            .and_then(serde_json::from_value::<saved::Report>)
            .map_err(|e| Failure::internal(e.into()))?;
        report::write_atomically(path, html::render(&saved, None).as_bytes())?;
    }
    if let Some(path) = &a.junit {
        let xml = junit::render(
            &merged.run.scenario_id,
            &merged.run.thresholds,
            merged.run.duration_seconds,
        );
        report::write_atomically(path, xml.as_bytes())?;
    }
    Ok(if merged.interrupted {
        EXIT_INTERRUPTED
    } else if merged.run.setup_failed.is_some() {
        EXIT_SETUP_FAILED
    } else if !merged.run.thresholds_passed() {
        EXIT_THRESHOLDS
    } else {
        0
    })
}
