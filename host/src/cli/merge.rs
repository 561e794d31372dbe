use crate::error::Failure;
use crate::{merge, report};
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
    crate::report::emit(
        &merged,
        false,
        report::Destinations {
            out: Some(&a.out),
            html: a.html.as_deref(),
            baseline: None,
            junit: a.junit.as_deref(),
        },
    )?;
    Ok(crate::report::exit_code(&merged))
}
