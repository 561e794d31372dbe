//! The command line (clap): one file per subcommand.

mod compare;
mod demo;
mod import;
mod merge;
mod report;
mod run;
mod script;
mod serve;
mod validate;

use crate::error::Failure;
use crate::plan::Overrides;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "scheduler-host",
    version,
    about = "Load tests from WebAssembly components: one instance per virtual user"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario.
    #[command(
        after_help = "Examples (start `scheduler-host serve` first for the bundled scenarios):\n  scheduler-host run scenarios/demo.yaml -u 10 -d 5s --out report.json\n  scheduler-host run http://127.0.0.1:18080/ -u 20 -d 10s --threshold 'p(95)<50'\n  scheduler-host run http://127.0.0.1:18080/echo -m POST --body @order.json --rate 200 -d 30s"
    )]
    Run(Box<run::RunArgs>),
    /// Parse and validate a scenario, print the plan; exit 2 on error.
    #[command(after_help = "Example:\n  scheduler-host validate scenarios/demo.yaml")]
    Validate(validate::ValidateArgs),
    /// Start the built-in loopback target (HTTP, TCP echo, UDP echo) and run the bundled demo scenario against it.
    #[command(after_help = "Example:\n  scheduler-host demo --vus 20 --duration 5s")]
    Demo(demo::DemoArgs),
    /// Keep the built-in loopback target up until Ctrl-C: HTTP on 18080, TCP echo on 18081, UDP echo on 18082, HTTPS on 18443 (the ports the bundled scenarios name).
    #[command(
        after_help = "Example:\n  scheduler-host serve &\n  scheduler-host run scenarios/demo.yaml"
    )]
    Serve(serve::ServeArgs),
    /// Compare two reports in total and per step; exit 99 when a change passes a --fail-if limit.
    #[command(
        after_help = "Example:\n  scheduler-host compare base.json new.json --fail-if \"p95 > +10%\" --fail-if \"errors > +0.5pp\" --fail-if \"rps < -5%\""
    )]
    Compare(compare::CompareArgs),
    /// Render a saved report (`run --out`) as a self-contained HTML page.
    #[command(
        after_help = "Example:\n  scheduler-host report run.json --html report.html --baseline base.json"
    )]
    Report(report::ReportArgs),
    /// Add up reports of the shards of one run (or of runs of one scenario) into one report, exactly: histograms bucket by bucket, timelines by wall-clock second; thresholds judged again (exit 99 on a failure).
    #[command(
        after_help = "Example:\n  scheduler-host merge shard-0.json shard-1.json shard-2.json --out run.json --html run.html"
    )]
    Merge(merge::MergeArgs),
    /// Write a scenario from a recorded browser session (HAR 1.2): its requests in order, the recorded gaps as think time, and the values the server handed out (tokens, CSRF fields) extracted and sent back as ${variables}.
    #[command(
        after_help = "Example:\n  scheduler-host import session.har --host shop.example.com --skip-static -o shop.yaml"
    )]
    Import(import::ImportArgs),
    /// Scripted users: compile a JavaScript or Python journey to a component (`script build`).
    #[command(
        after_help = "Example:\n  scheduler-host script build examples/scripts/js/journey.js -o journey.wasm"
    )]
    Script(script::ScriptArgs),
}

/// Options shared by run and validate: what to run, with which components.
#[derive(Args, Clone)]
pub struct Common {
    /// Replace an action (http, grpc, ws, tcp, udp, extension) or add a step type: SLOT=FILE.wasm
    #[arg(long = "action", value_name = "SLOT=FILE", value_parser = parse_plug)]
    pub actions: Vec<(String, PathBuf)>,
    /// Virtual users (over scenario.load.total_users; on named scenarios, every scenario's, as k6 does)
    #[arg(long, short = 'u')]
    pub vus: Option<u32>,
    /// Test duration, like 30s or 2m (over scenario.load.test_duration; on named scenarios, every scenario's)
    #[arg(long, short = 'd', value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Iterations per user (over scenario.load.iterations; on named scenarios, every scenario's)
    #[arg(long, short = 'i')]
    pub iterations: Option<u64>,
    /// Seed for every random choice (weighted steps, random rows, random_int, random_string, uuid), per user: the same seed gives each user the same choices (over the scenario's seed)
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Linear memory one user's instance may grow to, like 64MB (over scenario.limits.max_memory_per_user)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory_per_user: Option<u64>,
    /// Users one instance runs with its own event loop (over scenario.limits.users_per_instance; 1: an instance per user, the most isolation; default: the users over one instance per core, at most 100 each)
    #[arg(long, value_name = "K", env = "SCHEDULER_USERS_PER_INSTANCE", value_parser = clap::value_parser!(u32).range(1..))]
    pub users_per_instance: Option<u32>,
    /// A value templates read as ${env.NAME} (repeatable); the host's own environment is never read
    #[arg(long = "env", short = 'e', value_name = "NAME=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Run slice I (0-based) of N of the scenario, like 0/4; "auto" reads Kubernetes' JOB_COMPLETION_INDEX and --shards (or SHARDS)
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
    /// How many shards there are, for --shard auto (else the SHARDS environment variable)
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// Start the load at this time, once every user is ready: RFC 3339 (2026-12-01T10:00:00Z) or +DURATION from now (+30s); shards given the same time start together
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    pub start_at: Option<std::time::SystemTime>,
    /// A pass/fail threshold added to the scenario's (repeatable): p(95)<200 (latency), rate<0.01 (errors), or METRIC=EXPR like checks=rate>0.99; exit 99 when one fails
    #[arg(long = "threshold", value_name = "EXPR", value_parser = scenario::thresholds::from_flag)]
    pub thresholds: Vec<(String, String)>,
}

impl Common {
    pub fn overrides(&self) -> Result<Overrides, Failure> {
        Ok(Overrides {
            vus: self.vus,
            duration: self.duration,
            iterations: self.iterations,
            seed: self.seed,
            max_memory_per_user: self.max_memory_per_user,
            users_per_instance: self.users_per_instance,
            env: self.env.clone(),
            shard: self.shard()?,
            start_at: self.start_at,
            thresholds: self.thresholds.clone(),
        })
    }

    /// `--shard I/N`, or with `auto` the index Kubernetes gives an Indexed
    /// Job's pod (JOB_COMPLETION_INDEX) of `--shards` (or SHARDS).
    fn shard(&self) -> Result<scenario::executor::Shard, Failure> {
        let bad = |m: String| Failure::input(format!("--shard: {m}"));
        match self.shard.as_deref() {
            None => Ok(Default::default()),
            Some("auto") => {
                let var = |name: &str| {
                    std::env::var(name)
                        .map_err(|_| bad(format!("auto needs the environment variable {name}")))
                };
                let index = var("JOB_COMPLETION_INDEX")?;
                let count = match self.shards {
                    Some(n) => n.to_string(),
                    None => var("SHARDS")?,
                };
                scenario::executor::Shard::parse(&format!("{index}/{count}")).map_err(bad)
            }
            Some(text) => scenario::executor::Shard::parse(text).map_err(bad),
        }
    }
}

/// RFC 3339, or `+DURATION` from now.
fn parse_start_at(s: &str) -> Result<std::time::SystemTime, String> {
    match s.strip_prefix('+') {
        Some(d) => Ok(std::time::SystemTime::now() + scenario::duration::parse(d)?),
        None => humantime::parse_rfc3339_weak(s)
            .map_err(|e| format!("{e}: expected RFC 3339 like 2026-12-01T10:00:00Z, or +30s")),
    }
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or("expected NAME=VALUE, like HOST=staging.example")?;
    if name.is_empty() {
        return Err("expected NAME=VALUE: the name is empty".into());
    }
    Ok((name.to_string(), value.to_string()))
}

fn parse_plug(s: &str) -> Result<(String, PathBuf), String> {
    let (slot, file) = s
        .split_once('=')
        .ok_or("expected SLOT=FILE, like http=./my-http.wasm")?;
    Ok((slot.to_string(), PathBuf::from(file)))
}

fn parse_size(s: &str) -> Result<u64, String> {
    scenario::bytesize::parse(s)
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    scenario::duration::parse(s)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(Failure::internal(e.into())),
    };
    // Spawned, not run on the main thread by `block_on`: the aggregator then
    // shares the workers with the users instead of being woken across
    // threads (a futex pair) for every sample.
    let work = rt.spawn(async move {
        match cli.command {
            Command::Run(a) => run::main(*a).await,
            Command::Validate(a) => validate::main(a).await,
            Command::Demo(a) => demo::main(a).await,
            Command::Serve(a) => serve::main(a).await,
            Command::Compare(a) => compare::main(a),
            Command::Report(a) => report::main(a),
            Command::Merge(a) => merge::main(a),
            Command::Import(a) => import::main(a),
            Command::Script(a) => script::main(a),
        }
    });
    let result = match rt.block_on(work) {
        Ok(r) => r,
        Err(e) => Err(Failure::internal(e.into())),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => fail(f),
    }
}

fn fail(f: Failure) -> ExitCode {
    eprintln!("error: {f}");
    ExitCode::from(f.exit_code())
}
