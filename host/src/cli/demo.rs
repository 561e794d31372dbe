use crate::error::Failure;
use crate::loopback::LoopbackTarget;
use crate::plan::{self, Overrides};
use crate::session;
use clap::Args;
use std::path::{Path, PathBuf};

/// The bundled demo; its fixed ports are rewritten to the target's.
const DEMO: &str = include_str!("../../../scenarios/demo.yaml");

#[derive(Args)]
pub struct DemoArgs {
    /// Virtual users (default: the demo's 4)
    #[arg(long)]
    pub vus: Option<u32>,
    /// Test duration (default: the demo's 5s)
    #[arg(long, value_parser = super::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Write the JSON report here
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the HTML report here
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// No live progress
    #[arg(long)]
    pub quiet: bool,
}

pub async fn main(a: DemoArgs) -> Result<u8, Failure> {
    let t = LoopbackTarget::start([127, 0, 0, 1].into(), 0, 0, 0)
        .map_err(|e| Failure::internal(anyhow::anyhow!("starting the loopback target: {e}")))?;
    let yaml = DEMO
        .replace("127.0.0.1:18080", &t.http.to_string())
        .replace("127.0.0.1:18081", &t.tcp.to_string())
        .replace("127.0.0.1:18082", &t.udp.to_string());
    println!(
        "loopback target: http {} tcp {} udp {}",
        t.http, t.tcp, t.udp
    );
    let o = Overrides {
        vus: a.vus,
        duration: a.duration,
        iterations: None,
        ..Overrides::default()
    };
    let mut plan = plan::from_text(&yaml, Path::new("."), &o, &[])?;
    let ready = session::prepare(&mut plan, None).await?;
    let outputs = session::Outputs {
        out: a.out.as_deref(),
        html: a.html.as_deref(),
        quiet: a.quiet,
        ..Default::default()
    };
    let (code, _) = session::execute(&plan, ready, outputs).await?;
    println!(
        "the target saw: http {}; tcp {}; udp {}",
        t.http_seen, t.tcp_seen, t.udp_seen
    );
    Ok(code)
}
