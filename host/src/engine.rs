//! The wasmtime engine: async, epoch interruption, a pooling allocator sized
//! for the run, the compiled component cached on disk by content hash, and
//! one `InstancePre` every virtual user is instantiated from.

use crate::bindings::VuDriverPre;
use crate::vu_state::VuState;
use anyhow::{Result, bail};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Per-instance multiples for the pool. The composed scheduler has six
/// components; `load` checks the real numbers against these.
pub const MEMORIES_PER_VU: u32 = 8;
pub const TABLES_PER_VU: u32 = 16;
pub const CORE_INSTANCES_PER_VU: u32 = 32;
/// Largest linear memory a guest may grow to. Small on purpose: 10,000
/// users × 8 memories must fit in the address space.
pub const MAX_MEMORY: usize = 64 << 20;
/// Epoch tick; the step budget is enforced in these units.
pub const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(10);

pub fn engine(max_vus: u32) -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true).wasm_component_model(true);
    // `cargo xtask profile` sets this so `perf report` can name guest
    // functions (wasmtime writes /tmp/perf-PID.map).
    if std::env::var_os("SCHEDULER_HOST_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    // Small stacks: thousands of users each hold a fiber stack while awaiting I/O.
    config.max_wasm_stack(256 << 10).async_stack_size(512 << 10);
    // No 4 GiB reservations per memory: bounds checks instead of guard regions.
    config
        .memory_reservation(MAX_MEMORY as u64)
        .memory_guard_size(64 << 10)
        .memory_reservation_for_growth(0);
    // Spare instances: users replaced after a trap, and the validation probe.
    let n = max_vus.saturating_add(max_vus / 8).saturating_add(8);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_VU))
        .total_memories(n.saturating_mul(MEMORIES_PER_VU))
        .total_tables(n.saturating_mul(TABLES_PER_VU))
        .total_stacks(n)
        .max_core_instances_per_component(CORE_INSTANCES_PER_VU)
        .max_memories_per_component(MEMORIES_PER_VU)
        .max_tables_per_component(TABLES_PER_VU)
        .max_memory_size(MAX_MEMORY)
        .table_elements(20_000);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    ctx(Engine::new(&config), "creating the wasmtime engine")
}

/// Linear memory a user's composed instance has when it starts (its six
/// components' initial memories), with headroom: a smaller limit is refused.
pub const MIN_MEMORY_PER_USER: u64 = 16 << 20;
/// The default limit never goes above this.
const MAX_DEFAULT_MEMORY_PER_USER: u64 = 256 << 20;

/// The default `max_memory_per_user`: half this machine's memory shared by
/// the users, between MIN_MEMORY_PER_USER and 256 MiB. Linear memory is
/// reserved, not touched: a user's resident share is far smaller (see the
/// README's figures), so this bounds what a runaway guest can take.
pub fn default_memory_limit(users: u32) -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(8 << 30, |kb| kb << 10);
    (total / 2 / u64::from(users.max(1))).clamp(MIN_MEMORY_PER_USER, MAX_DEFAULT_MEMORY_PER_USER)
}

/// Memory mappings one user needs (memories, stacks, tables, CoW images),
/// measured: about 13; kept with headroom.
const MAPS_PER_VU: u64 = 20;

/// Linux caps mappings per process (vm.max_map_count, often 65530): past it,
/// instantiation fails with ENOMEM. Say so before the run, not 8,000 traps later.
pub fn check_map_count(vus: u32) -> Result<()> {
    let Ok(text) = std::fs::read_to_string("/proc/sys/vm/max_map_count") else {
        return Ok(());
    };
    let Ok(max) = text.trim().parse::<u64>() else {
        return Ok(());
    };
    let need = u64::from(vus) * MAPS_PER_VU + 10_000;
    if need > max {
        bail!(
            "{vus} users need about {need} memory mappings but vm.max_map_count is {max}; raise it: sudo sysctl -w vm.max_map_count={}",
            need.next_power_of_two()
        );
    }
    Ok(())
}

/// Compiles `bytes` (or loads the cached compilation) and pre-links it.
pub fn load(engine: &Engine, bytes: &[u8]) -> Result<VuDriverPre<VuState>> {
    let component = compile_cached(engine, bytes)?;
    if let Some(r) = component.resources_required()
        && (r.num_memories > MEMORIES_PER_VU || r.num_tables > TABLES_PER_VU)
    {
        bail!(
            "the composed component needs {} memories and {} tables per instance; the pool allows {MEMORIES_PER_VU} and {TABLES_PER_VU}",
            r.num_memories,
            r.num_tables
        );
    }
    let mut linker = Linker::<VuState>::new(engine);
    ctx(
        wasmtime_wasi::p2::add_to_linker_async(&mut linker),
        "linking WASI",
    )?;
    // Types-only interfaces the parts share (scheduler:actions/types): the
    // composition leaves them as imports with nothing to provide but a name.
    let imports: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .filter(|name| name.starts_with("scheduler:"))
        .collect();
    for name in imports {
        ctx(linker.instance(&name).map(drop), "linking")?;
    }
    let pre = ctx(
        linker.instantiate_pre(&component),
        "the component cannot be linked",
    )?;
    ctx(
        VuDriverPre::new(pre),
        "the component does not export scheduler:main/vu",
    )
}

fn compile_cached(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    let Some(path) = cache_path(engine, bytes) else {
        return ctx(Component::new(engine, bytes), "compiling the component");
    };
    if path.exists() {
        // SAFETY: the file was written by `serialize` below for this exact
        // engine configuration (its hash is part of the name).
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok(c);
        }
    }
    let component = ctx(Component::new(engine, bytes), "compiling the component")?;
    if let Ok(ser) = component.serialize() {
        // Best effort; a cache that cannot be written only costs time.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, ser).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
    Ok(component)
}

/// `$XDG_CACHE_HOME/scheduler-host/<sha256 of component + engine>.cwasm`.
fn cache_path(engine: &Engine, bytes: &[u8]) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let dir = base.join("scheduler-host");
    std::fs::create_dir_all(&dir).ok()?;
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let mut h = Sha256::new();
    h.update(bytes);
    h.update(engine_hash.finish().to_le_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(dir.join(format!("{hex}.cwasm")))
}

/// wasmtime's errors → anyhow, keeping the whole chain in one line.
fn ctx<T>(r: wasmtime::Result<T>, what: &str) -> Result<T> {
    r.map_err(|e| anyhow::anyhow!("{what}: {e:#}"))
}
