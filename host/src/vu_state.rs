//! What each virtual user's `Store` holds: its WASI context (sockets scoped
//! by `egress`) and its step timer for epoch interruption.

use crate::egress::Egress;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// How far past its timeout a step may run in the guest before the epoch
/// callback interrupts it.
pub const INTERRUPT_MARGIN: Duration = Duration::from_millis(500);
/// Budget of what runs outside any step: instantiation, `init`, `check`.
pub const SETUP_BUDGET: Duration = Duration::from_secs(30);

pub struct VuState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// Epoch ticks during which guest code ran since the call began: its
    /// running time, not its wall time (a call waiting in `poll`, or for a
    /// CPU on a loaded machine, is not charged). The epoch callback
    /// interrupts guest code running past `budget`.
    ticks: u32,
    budget: Duration,
    /// Linear memory, summed over the instance's memories, and its limit.
    memory: usize,
    memory_limit: usize,
}

impl ResourceLimiter for VuState {
    /// Counts every memory's size (from its creation) against one per-user
    /// limit: a user past it traps, alone, saying why.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let mib = |b: usize| b as f64 / f64::from(1 << 20);
        // A grow past one memory's maximum would fail in the guest as a
        // bare `unreachable`: say which limit it met instead.
        if let Some(max) = maximum.filter(|m| desired > *m) {
            wasmtime::bail!(
                "memory limit: one linear memory asked for {:.1} MiB, past the {:.1} MiB one memory may have with this many instances (run more users per instance)",
                mib(desired),
                mib(max)
            );
        }
        let after = self.memory - current + desired;
        if after > self.memory_limit {
            wasmtime::bail!(
                "memory limit: the instance asked for {:.1} MiB of linear memory, past its users' max_memory_per_user ({:.1} MiB)",
                mib(after),
                mib(self.memory_limit)
            );
        }
        // Counted once the grow cannot fail for a limit of ours.
        self.memory = after;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

impl WasiView for VuState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl VuState {
    /// No filesystem, no environment, no stdin/stdout; stderr for guest logs;
    /// TCP and UDP only where `egress` allows.
    pub fn store(
        engine: &wasmtime::Engine,
        egress: Arc<Egress>,
        memory_limit: usize,
    ) -> Store<VuState> {
        let mut b = WasiCtxBuilder::new();
        b.inherit_stderr()
            .allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(true);
        b.socket_addr_check(move |addr, use_| {
            let ok = egress.allows(addr, use_);
            Box::pin(async move { ok })
        });
        let state = VuState {
            wasi: b.build(),
            table: ResourceTable::new(),
            ticks: 0,
            budget: SETUP_BUDGET,
            memory: 0,
            memory_limit,
        };
        let mut store = Store::new(engine, state);
        store.limiter(|s| s);
        store.set_epoch_deadline(1);
        // Every tick the guest runs through: yield to other instances, and
        // past the budget, interrupt (a trap).
        store.epoch_deadline_callback(|mut ctx| {
            let s = ctx.data_mut();
            s.ticks += 1;
            if crate::epoch::EPOCH_TICK * s.ticks > s.budget {
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// A step starts that may run `budget` in the guest.
    pub fn start_step(&mut self, budget: Duration) {
        self.ticks = 0;
        self.budget = budget;
    }
}
