//! The wasmtime engine: async, epoch interruption, a pooling allocator sized
//! for the run's instances (its cells, the hooks' and the probe), the
//! compiled component cached on disk by content hash, and one
//! `InstancePre` every instance is made from.

use crate::bindings::VuDriverPre;
use crate::vu_state::VuState;
use anyhow::{Result, bail};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Per-instance multiples for the pool. The composed scheduler has eight
/// components (core-libs, five actions, the extension slot, the
/// scheduler), each several core instances (adapters and shims included:
/// over 32 in all since the ws slot); `load` checks memories and tables.
pub const MEMORIES_PER_VU: u32 = 16;
pub const TABLES_PER_VU: u32 = 32;
pub const CORE_INSTANCES_PER_VU: u32 = 96;
/// Largest linear memory a guest may grow to when instances are many (an
/// instance per user): 10,000 instances × 8 memories must fit in the
/// address space, so each memory reserves only this, and guest loads and
/// stores are bounds-checked.
pub const MAX_MEMORY: usize = 64 << 20;
/// A wasm32 memory's whole range: reserved (with a guard region behind it)
/// when the run's memories fit in the address space, so compiled code
/// needs no bounds checks.
pub const FULL_MEMORY: u64 = 4 << 30;
/// The guard region behind a full reservation: any 32-bit address plus
/// offset lands inside reservation + guard.
const FULL_GUARD: u64 = 2 << 30;
/// Address space the memory reservations may take (of Linux's 128 TiB).
const ADDRESS_SPACE: u64 = 32 << 40;
/// Linear memory one cell may have, in all its memories.
pub const MAX_MEMORY_PER_CELL: usize = FULL_MEMORY as usize;

/// Whether `instances` instances' memories fit full reservations.
fn full_reservations(instances: u32) -> bool {
    let n = u64::from(spare(instances)) * u64::from(MEMORIES_PER_VU);
    n.saturating_mul(FULL_MEMORY + FULL_GUARD) <= ADDRESS_SPACE
}

/// Instances the pool holds: the run's, plus spares (cells replaced after a
/// trap, setup, teardown, the validation probe).
fn spare(instances: u32) -> u32 {
    instances.saturating_add(instances / 8).saturating_add(8)
}

pub fn engine(instances: u32) -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true).wasm_component_model(true);
    // `cargo xtask profile` sets this so `perf report` can name guest
    // functions (wasmtime writes /tmp/perf-PID.map).
    if std::env::var_os("SCHEDULER_HOST_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    // Small stacks: thousands of users each hold a fiber stack while awaiting I/O.
    config.max_wasm_stack(256 << 10).async_stack_size(512 << 10);
    // SCHEDULER_HOST_BOUNDS_CHECKS=1: small memories whatever the count
    // (`cargo xtask bench` measures both).
    let full =
        full_reservations(instances) && std::env::var_os("SCHEDULER_HOST_BOUNDS_CHECKS").is_none();
    let max_memory = if full {
        // Few instances (cells): whole 4 GiB reservations and a guard, no
        // bounds checks in compiled code.
        config
            .memory_reservation(FULL_MEMORY)
            .memory_guard_size(FULL_GUARD)
            .memory_reservation_for_growth(0);
        FULL_MEMORY as usize
    } else {
        // Many instances: small reservations, bounds checks instead.
        config
            .memory_reservation(MAX_MEMORY as u64)
            .memory_guard_size(64 << 10)
            .memory_reservation_for_growth(0);
        MAX_MEMORY
    };
    let n = spare(instances);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_VU))
        .total_memories(n.saturating_mul(MEMORIES_PER_VU))
        .total_tables(n.saturating_mul(TABLES_PER_VU))
        .total_stacks(n)
        .max_core_instances_per_component(CORE_INSTANCES_PER_VU)
        .max_memories_per_component(MEMORIES_PER_VU)
        .max_tables_per_component(TABLES_PER_VU)
        .max_memory_size(max_memory)
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
pub fn check_map_count(instances: u32) -> Result<()> {
    let Ok(text) = std::fs::read_to_string("/proc/sys/vm/max_map_count") else {
        return Ok(());
    };
    let Ok(max) = text.trim().parse::<u64>() else {
        return Ok(());
    };
    let need = u64::from(instances) * MAPS_PER_VU + 10_000;
    if need > max {
        bail!(
            "{instances} instances need about {need} memory mappings but vm.max_map_count is {max}; raise it (sudo sysctl -w vm.max_map_count={}) or run more users per instance (--users-per-instance)",
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
            // Used now: the last to go when the cache is pruned.
            let _ = std::fs::File::options()
                .append(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
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
        if let Some(dir) = path.parent() {
            prune(dir, CACHE_KEEP);
        }
    }
    Ok(component)
}

/// Compiled compositions kept in the cache. Each scenario shape (which
/// slots are stand-ins, what is plugged) and each build of the parts is an
/// entry of about 10 MB; the least recently used beyond these are removed.
const CACHE_KEEP: usize = 32;

/// Removes the `.cwasm` files in `dir` past the `keep` most recently used.
fn prune(dir: &std::path::Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, old) in files.into_iter().skip(keep) {
        let _ = std::fs::remove_file(old);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn the_cache_keeps_the_most_recently_used_compilations() {
        let dir = std::env::temp_dir().join(format!("cwasm-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let now = SystemTime::now();
        for i in 0..5u64 {
            let f = std::fs::File::create(dir.join(format!("{i}.cwasm"))).unwrap();
            f.set_modified(now - Duration::from_secs(100 * (5 - i)))
                .unwrap();
        }
        std::fs::write(dir.join("notes.txt"), "not ours").unwrap();
        prune(&dir, 3);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["2.cwasm", "3.cwasm", "4.cwasm", "notes.txt"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
