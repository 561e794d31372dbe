use crate::error::Failure;
use crate::{html, report};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct ReportArgs {
    /// A saved report (`run --out`)
    pub report: PathBuf,
    /// Write the self-contained HTML report here
    #[arg(long, value_name = "FILE.html")]
    pub html: PathBuf,
    /// Draw this saved report beside it, as the baseline
    #[arg(long, value_name = "BASE.json")]
    pub baseline: Option<PathBuf>,
}

pub fn main(a: ReportArgs) -> Result<u8, Failure> {
    let run = report::read(&a.report)?;
    let baseline = a.baseline.as_deref().map(report::read).transpose()?;
    let page = html::render(&run, baseline.as_ref());
    crate::atomic::write_atomically(&a.html, page.as_bytes())?;
    Ok(0)
}
