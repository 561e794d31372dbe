use super::Common;
use crate::error::Failure;
use crate::{plan, session};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct ValidateArgs {
    /// Scenario file (YAML)
    pub scenario: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

pub async fn main(a: ValidateArgs) -> Result<u8, Failure> {
    let mut plan = plan::from_file(&a.scenario, &a.common.overrides()?, &a.common.actions)?;
    session::prepare(&mut plan, None).await?;
    print!("{}", plan.describe());
    println!("ok: {} is valid", a.scenario.display());
    Ok(0)
}
