use crate::error::Failure;
use crate::import::{self, Options};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct ImportArgs {
    /// The recording: HAR 1.2, as browser DevTools, Charles or Fiddler export it
    pub har: PathBuf,
    /// Write the scenario here (default: stdout)
    #[arg(short = 'o', long, value_name = "FILE.yaml")]
    pub out: Option<PathBuf>,
    /// Keep only requests to this origin, HOST or HOST:PORT (repeatable; default: every origin)
    #[arg(long = "host", value_name = "HOST[:PORT]")]
    pub hosts: Vec<String>,
    /// Drop images, fonts, stylesheets and scripts
    #[arg(long)]
    pub skip_static: bool,
}

pub fn main(a: ImportArgs) -> Result<u8, Failure> {
    let shown = a.har.display().to_string();
    let text = std::fs::read_to_string(&a.har)
        .map_err(|e| Failure::input(format!("{shown}: cannot read it: {e}")))?;
    let id = a
        .har
        .file_stem()
        .map_or("imported".into(), |s| s.to_string_lossy().into_owned());
    let o = Options {
        hosts: a.hosts.clone(),
        skip_static: a.skip_static,
        id,
        source: shown.clone(),
    };
    let done = import::import(&text, &o).map_err(|e| Failure::input(format!("{shown}: {e}")))?;
    match &a.out {
        Some(path) => crate::atomic::write_atomically(path, done.yaml.as_bytes())
            .map_err(|e| Failure::input(format!("{}: {e:#}", path.display())))?,
        None => print!("{}", done.yaml),
    }
    let origins: Vec<String> = done
        .origins
        .iter()
        .map(|(o, n)| format!("{o}: {n}"))
        .collect();
    eprintln!(
        "imported {} requests; the recording's origins: {}",
        done.steps,
        origins.join(", ")
    );
    if !done.correlated.is_empty() {
        eprintln!("correlated: {}", done.correlated.join(", "));
    }
    Ok(0)
}
