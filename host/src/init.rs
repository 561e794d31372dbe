//! The init phase: every user's instance is created and initialised before
//! the clock starts (as k6 initialises its VUs), so instantiation never
//! competes with measured requests for the CPU and never inflates latencies.
//!
//! It runs on one thread of its own while the runtime's workers sleep:
//! creating an instance maps and protects memory dozens of times, and each
//! such change sends a TLB-shootdown interrupt to every other core running
//! this process. One busy thread is faster than two (10,000 users: 1.5 s
//! against 2.1 s on this 2-core VM).

use crate::progress::Progress;
use crate::vu::{self, Live, Shared, Spec};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the init phase produced.
#[derive(Default)]
pub struct Users {
    /// Ready users, in index order.
    pub ready: Vec<(Spec, Live)>,
    /// Users whose instance could not be created: (source IP, one-line reason).
    pub failed: Vec<(Option<IpAddr>, String)>,
    /// How long creating all instances took.
    pub took: Duration,
    /// A signal came before every user was ready.
    pub interrupted: bool,
}

pub async fn users(
    shared: &Arc<Shared>,
    specs: Vec<Spec>,
    progress: &Progress,
    interrupt: &watch::Receiver<bool>,
) -> Users {
    let began = Instant::now();
    let total = specs.len();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let mut users = match rt {
        Ok(rt) => {
            let (shared, progress, interrupt) =
                (Arc::clone(shared), progress.clone(), interrupt.clone());
            let one_thread = move || rt.block_on(create_all(&shared, specs, &progress, &interrupt));
            tokio::task::spawn_blocking(one_thread)
                .await
                .unwrap_or_else(|e| Users {
                    failed: vec![(None, format!("the init phase failed: {e}")); total],
                    ..Users::default()
                })
        }
        // No runtime of its own: share the workers instead.
        Err(_) => create_all(shared, specs, progress, interrupt).await,
    };
    users.took = began.elapsed();
    users
}

async fn create_all(
    shared: &Shared,
    specs: Vec<Spec>,
    progress: &Progress,
    interrupt: &watch::Receiver<bool>,
) -> Users {
    let total = specs.len();
    let mut users = Users {
        ready: Vec::with_capacity(total),
        ..Users::default()
    };
    let mut shown = Instant::now();
    for spec in specs {
        if *interrupt.borrow() {
            users.interrupted = true;
            break;
        }
        match vu::create(shared, &spec).await {
            Ok(live) => users.ready.push((spec, live)),
            Err(why) => users.failed.push((spec.source, why)),
        }
        if shown.elapsed() >= Duration::from_millis(250) {
            shown = Instant::now();
            progress.initializing(users.ready.len(), total);
        }
    }
    users
}
