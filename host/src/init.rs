//! The init phase: every user's instance is created and initialised before
//! the clock starts (as k6 initialises its VUs), so instantiation never
//! competes with measured requests for the CPU and never inflates latencies.

use crate::progress::Progress;
use crate::vu::{self, Live, Shared, Spec};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What the init phase produced.
pub struct Users {
    /// Ready users, in no particular order.
    pub ready: Vec<(Spec, Live)>,
    /// Users whose instance could not be created: (spec, one-line reason).
    pub failed: Vec<(Spec, String)>,
    /// How long creating all instances took.
    pub took: Duration,
    /// A signal came before every user was ready.
    pub interrupted: bool,
}

pub async fn users(
    shared: &Arc<Shared>,
    specs: Vec<Spec>,
    progress: &Progress,
    interrupt: &mut watch::Receiver<bool>,
) -> Users {
    let began = Instant::now();
    let total = specs.len();
    let mut set = JoinSet::new();
    for spec in specs {
        let shared = Arc::clone(shared);
        set.spawn(async move {
            let live = vu::create(&shared, &spec).await;
            (spec, live)
        });
    }
    let mut users = Users {
        ready: Vec::with_capacity(total),
        failed: Vec::new(),
        took: Duration::ZERO,
        interrupted: false,
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            joined = set.join_next() => match joined {
                Some(Ok((spec, Ok(live)))) => users.ready.push((spec, live)),
                Some(Ok((spec, Err(why)))) => users.failed.push((spec, why)),
                // A panic inside wasmtime is a bug; that user does not run.
                Some(Err(_)) => {}
                None => break,
            },
            _ = tick.tick() => progress.initializing(users.ready.len(), total),
            _ = interrupt.changed() => {
                set.abort_all();
                users.interrupted = true;
                break;
            }
        }
    }
    users.took = began.elapsed();
    users
}
