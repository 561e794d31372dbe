//! Goose running the bench's scenario: each transaction is one `GET /`, and
//! `THINK_MS` (default 0) is the wait between transactions. Every other
//! setting is Goose's own command line (`--host`, `--users`, `--hatch-rate`,
//! `--run-time`, `--report-file`).

use goose::prelude::*;
use std::time::Duration;

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _ = user.get("/").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    let think: u64 = std::env::var("THINK_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut scenario = scenario!("bench").register_transaction(transaction!(get_root));
    if think > 0 {
        let t = Duration::from_millis(think);
        scenario = scenario.set_wait_time(t, t)?;
    }
    GooseAttack::initialize()?
        .register_scenario(scenario)
        .execute()
        .await?;
    Ok(())
}
