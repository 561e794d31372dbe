//! The init phase: every cell's instance is created and initialised before
//! the clock starts (as k6 initialises its VUs), so instantiation never
//! competes with measured requests for the CPU and never inflates latencies.
//!
//! It runs on one thread of its own while the runtime's workers sleep:
//! creating an instance maps and protects memory dozens of times, and each
//! such change sends a TLB-shootdown interrupt to every other core running
//! this process. One busy thread is faster than two.

use crate::cells::{self, Cell};
use crate::progress::Progress;
use crate::vu::Shared;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the init phase produced.
#[derive(Default)]
pub struct Cells {
    /// Ready cells, in plan order.
    pub ready: Vec<(cells::Plan, Cell)>,
    /// Users whose cell could not be created: (source IP, one-line reason).
    pub failed: Vec<(Option<IpAddr>, String)>,
    /// How long creating all instances took.
    pub took: Duration,
    /// A signal came before every cell was ready.
    pub interrupted: bool,
}

pub async fn cells(
    shared: &Arc<Shared>,
    plans: Vec<cells::Plan>,
    progress: &Progress,
    interrupt: &watch::Receiver<bool>,
) -> Cells {
    let began = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let mut cells = match rt {
        Ok(rt) => {
            let (shared, progress, interrupt) =
                (Arc::clone(shared), progress.clone(), interrupt.clone());
            let one_thread = move || rt.block_on(create_all(&shared, plans, &progress, &interrupt));
            tokio::task::spawn_blocking(one_thread)
                .await
                .unwrap_or_else(|e| Cells {
                    failed: vec![(None, format!("the init phase failed: {e}"))],
                    ..Cells::default()
                })
        }
        // No runtime of its own: share the workers instead.
        Err(_) => create_all(shared, plans, progress, interrupt).await,
    };
    cells.took = began.elapsed();
    cells
}

async fn create_all(
    shared: &Shared,
    plans: Vec<cells::Plan>,
    progress: &Progress,
    interrupt: &watch::Receiver<bool>,
) -> Cells {
    let total: usize = plans.iter().map(|p| p.users.len()).sum();
    let mut cells = Cells {
        ready: Vec::with_capacity(plans.len()),
        ..Cells::default()
    };
    let mut shown = Instant::now();
    let mut made = 0;
    for plan in plans {
        if *interrupt.borrow() {
            cells.interrupted = true;
            break;
        }
        match cells::create(shared, &plan, None).await {
            Ok(cell) => {
                made += plan.users.len();
                cells.ready.push((plan, cell));
            }
            Err(why) => {
                // Every user of the cell is one that could not be made.
                for user in &plan.users {
                    cells.failed.push((shared.pool.for_vu(*user), why.clone()));
                }
            }
        }
        if shown.elapsed() >= Duration::from_millis(250) {
            shown = Instant::now();
            progress.initializing(made, total);
        }
    }
    cells
}
