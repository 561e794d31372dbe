use crate::error::Failure;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
pub struct ScriptArgs {
    #[command(subcommand)]
    command: ScriptCommand,
}

#[derive(Subcommand)]
enum ScriptCommand {
    /// Compile a JavaScript or Python journey to a component of the scheduler:script world.
    Build {
        /// The script: FILE.js (JavaScript module) or FILE.py
        script: PathBuf,
        /// The component to write
        #[arg(short = 'o', long, value_name = "FILE.wasm")]
        out: PathBuf,
    },
}

pub fn main(a: ScriptArgs) -> Result<u8, Failure> {
    match a.command {
        ScriptCommand::Build { script, out } => {
            crate::script::build(&script, &out)?;
            eprintln!("built {}", out.display());
            Ok(0)
        }
    }
}
