//! From a scenario file and command-line overrides to a checked plan: every
//! input error surfaces here, before any component runs or any load starts.

use crate::compose::Plug;
use crate::error::Failure;
use crate::parts;
use contract::Endpoint;
use scenario::Scenario;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Command-line values that go over the YAML's.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub vus: Option<u32>,
    pub duration: Option<Duration>,
    pub iterations: Option<u64>,
    /// `--seed`: over the file's `seed`.
    pub seed: Option<u64>,
    pub max_memory_per_user: Option<u64>,
    pub users_per_instance: Option<u32>,
    /// `--env NAME=VALUE`, for `${env.NAME}`.
    pub env: Vec<(String, String)>,
    /// `--shard I/N`: the slice of the run this process runs.
    pub shard: scenario::executor::Shard,
    /// `--start-at`: when the load starts (the clock's zero).
    pub start_at: Option<std::time::SystemTime>,
    /// `--threshold`: (key, expression), added to the scenario's own.
    pub thresholds: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Plan {
    /// The scenario each instance's `vu.init` parses (overrides applied), in
    /// its JSON form.
    pub yaml: String,
    pub scenario: Scenario,
    /// Every address the scenario's destinations resolve to: the egress
    /// allow-list. Filled by `session::prepare`, from what the composed
    /// component's `check` declares.
    pub targets: HashSet<SocketAddr>,
    pub plugs: Vec<Plug>,
    /// Linear memory each user's instance may grow to, in all.
    pub memory_limit: u64,
    /// Users per instance (cells).
    pub per_instance: u32,
    /// The files the scenario names (TLS certificates, keys), as written →
    /// their bytes, read here relative to the scenario file and checked.
    pub files: Vec<(String, Vec<u8>)>,
    /// `--env` values.
    pub env: Vec<(String, String)>,
    /// Each `data:` source's table (in `scenario.data` order), read once
    /// here and shared by every user: instances get one row at a time.
    pub tables: Vec<Arc<scenario::data::Table>>,
    /// When the load starts, if not as soon as every user is ready.
    pub start_at: Option<std::time::SystemTime>,
    /// Where the scenario came from (its file, or the one-line URL), to
    /// begin an error the components find in it, as parse errors begin.
    pub origin: String,
}

pub fn from_file(
    path: &Path,
    o: &Overrides,
    cli_plugs: &[(String, PathBuf)],
) -> Result<Plan, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::input(format!("cannot read scenario file {}: {e}", path.display()))
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut plan = from_text(&text, base, o, cli_plugs).map_err(|e| e.within(path.display()))?;
    plan.origin = path.display().to_string();
    Ok(plan)
}

/// One-line mode: the scenario a URL and its flags describe (`-u`, `-d`,
/// `-i` are part of it, not overrides), relative to the working directory.
pub fn from_url(
    line: &scenario::oneline::OneLine,
    o: &Overrides,
    cli_plugs: &[(String, PathBuf)],
) -> Result<Plan, Failure> {
    let doc = line.document().map_err(Failure::input)?;
    let text = serde_yaml::to_string(&doc).map_err(|e| Failure::internal(e.into()))?;
    let o = Overrides {
        vus: None,
        duration: None,
        iterations: None,
        ..o.clone()
    };
    let mut plan =
        from_text(&text, Path::new("."), &o, cli_plugs).map_err(|e| e.within(&line.url))?;
    plan.origin = line.url.clone();
    Ok(plan)
}

pub fn from_text(
    text: &str,
    base: &Path,
    o: &Overrides,
    cli_plugs: &[(String, PathBuf)],
) -> Result<Plan, Failure> {
    let any_kind = |_: &str| true;
    let env: std::collections::BTreeMap<String, String> = o.env.iter().cloned().collect();
    // Data files are read once, by the one validation below.
    let mut tables: Vec<(String, Arc<scenario::data::Table>)> = Vec::new();
    let mut read = |name: &str, decl: &scenario::data::Decl| -> Result<Vec<String>, String> {
        let file = std::fs::File::open(base.join(&decl.file))
            .map_err(|e| format!("data file {}: cannot read it: {e}", decl.file))?;
        let table = scenario::data::parse(&decl.file, file)?;
        let columns = table.columns.clone();
        tables.push((name.to_string(), Arc::new(table)));
        Ok(columns)
    };
    // The text is parsed once into its document tree; the command line's
    // values go over the tree (typed), which is validated once, and each
    // user's instance gets the same tree as JSON.
    let mut tree = scenario::parse::tree(text).map_err(|e| Failure::input(e.to_string()))?;
    o.load()
        .apply(&mut tree)
        .map_err(|e| Failure::input(e.to_string()))?;
    scenario::overrides::add_thresholds(&mut tree, &o.thresholds)
        .map_err(|e| Failure::input(e.to_string()))?;
    let mut inputs = scenario::parse::Inputs {
        env,
        columns: Some(&mut read),
    };
    let yaml = json_form(&tree);
    let mut scenario = scenario::parse::parse_tree(tree, text, &any_kind, "", &mut inputs)
        .map_err(|e| Failure::input(e.to_string()))?;
    scenario.shard = o.shard;
    let tables = scenario
        .data
        .iter()
        .map(|d| {
            tables
                .iter()
                .find(|(n, _)| *n == d.name)
                .map(|(_, t)| Arc::clone(t))
                .unwrap_or_default()
        })
        .collect();
    // A shard checks only the addresses its users send from: on
    // Kubernetes each pod's node has its slice of the pool, not all of it.
    let sources: Vec<IpAddr> = if scenario.shard.is_whole() {
        scenario.pool.0.clone()
    } else {
        let used: std::collections::BTreeSet<IpAddr> = scenario
            .shard_users()
            .filter_map(|n| scenario.pool.for_vu(n))
            .collect();
        used.into_iter().collect()
    };
    check_pool(&sources, scenario.pool_field())?;
    let mut named: Vec<(String, PathBuf, String)> = scenario
        .components
        .iter()
        .map(|(name, file)| {
            let origin = match &scenario.script {
                Some(_) if name == crate::parts::SCRIPT_SLOT => {
                    let at = if scenario.is_original_form() {
                        "scenario.script".to_string()
                    } else {
                        // The first scenario that runs it (they all name one file).
                        let runs_it = |w: &&scenario::executor::Workload| {
                            scenario
                                .workflow
                                .get(w.steps.start)
                                .is_some_and(|s| matches!(s.call, scenario::model::Call::Script(_)))
                        };
                        let w = scenario
                            .workloads
                            .iter()
                            .find(runs_it)
                            .map_or("", |w| w.name.as_str());
                        format!("scenarios.{w}.script")
                    };
                    format!("scenario field {at}")
                }
                _ => format!("scenario field scenario.components.{name}"),
            };
            (name.clone(), base.join(file), origin)
        })
        .collect();
    for (name, path) in cli_plugs {
        named.retain(|(n, _, _)| n != name);
        let origin = format!("--action {name}={}", path.display());
        named.push((name.clone(), path.clone(), origin));
    }
    let memory_limit = o
        .max_memory_per_user
        .or(scenario.max_memory_per_user)
        .unwrap_or_else(|| crate::engine::default_memory_limit(scenario.shard_vus()));
    if memory_limit < crate::engine::MIN_MEMORY_PER_USER {
        return Err(Failure::input(format!(
            "max_memory_per_user: {} KiB is less than a user's instance needs to start ({} MiB)",
            memory_limit >> 10,
            crate::engine::MIN_MEMORY_PER_USER >> 20
        )));
    }
    let per_instance = match o.users_per_instance.or(scenario.users_per_instance) {
        Some(0) => {
            return Err(Failure::input(
                "scenario field limits.users_per_instance: 0; expected at least 1",
            ));
        }
        Some(k) => k,
        // A script's calls block its instance: each user gets its own, so
        // users run at once (more per instance take turns).
        None if scenario.script.is_some() => 1,
        None => crate::cells::default_per_instance(scenario.shard_vus()),
    };
    let files = read_files(&scenario, base)?;
    Ok(Plan {
        per_instance,
        yaml,
        scenario,
        targets: HashSet::new(),
        plugs: slots(named)?,
        memory_limit,
        files,
        env: o.env.clone(),
        tables,
        start_at: o.start_at,
        origin: String::new(),
    })
}

/// Reads every file the scenario names, once each, and checks each holds
/// what its field needs (the same check a component's `check` runs).
fn read_files(scenario: &Scenario, base: &Path) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let mut files = scenario
        .files()
        .into_iter()
        .map(|path| match std::fs::read(base.join(&path)) {
            Ok(bytes) => Ok((path, bytes)),
            Err(e) => Err(Failure::input(format!(
                "scenario file {path}: cannot read it: {e}"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // What each grpc step's proto imports, resolved beside it; a file
    // already read (a proto itself, one another step imports) is not read
    // again.
    for g in scenario.grpc_calls() {
        scenario::grpc::closure(&g.proto, &mut |path| {
            if let Some((_, bytes)) = files.iter().find(|(p, _)| p == path) {
                return Ok(bytes.clone());
            }
            let bytes =
                std::fs::read(base.join(path)).map_err(|e| format!("cannot read it: {e}"))?;
            files.push((path.to_string(), bytes.clone()));
            Ok(bytes)
        })
        .map_err(Failure::input)?;
    }
    scenario::tls::load_checked(&scenario.tls, &mut |path| {
        files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, bytes)| bytes.clone())
            .ok_or_else(|| "not read".to_string())
    })
    .map_err(|e| Failure::input(format!("scenario file {e}")))?;
    Ok(files)
}

/// Slot names stay; any other name is a step type for the extension slot.
fn slots(named: Vec<(String, PathBuf, String)>) -> Result<Vec<Plug>, Failure> {
    let mut out: Vec<Plug> = Vec::new();
    for (name, path, origin) in named {
        if parts::slot(&name).is_some() {
            out.retain(|p| p.slot != name);
            out.push(Plug {
                slot: name,
                kind: None,
                path,
                origin,
            });
            continue;
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Failure::input(format!(
                "{origin}: unknown action slot {name:?}: use {}, or a step type in kebab-case",
                parts::slot_names().join(", ")
            )));
        }
        match out.iter().find(|q| q.slot == "extension") {
            Some(q) if q.path != path => {
                return Err(Failure::input(format!(
                    "{} and {origin} both want the extension slot: one extension component per run",
                    q.origin
                )));
            }
            Some(_) => {}
            None => out.push(Plug {
                slot: "extension".into(),
                kind: Some(name),
                path,
                origin,
            }),
        }
    }
    Ok(out)
}

/// The scenario as JSON (still valid YAML): each user's instance parses it
/// with serde_json, whose peak memory is far below libyaml's. Written
/// straight from the YAML tree, so every mapping keeps the order it was
/// written in (headers, form and multipart fields go out in that order);
/// falls back to YAML when a mapping has keys JSON cannot hold.
fn json_form(tree: &serde_yaml::Value) -> String {
    serde_json::to_string(tree).unwrap_or_else(|_| serde_yaml::to_string(tree).unwrap_or_default())
}

/// Every pool address must be local: a test bind, never a silent fallback.
pub fn check_pool(pool: &[IpAddr], at: &str) -> Result<(), Failure> {
    for ip in pool {
        if let Err(e) = UdpSocket::bind(SocketAddr::new(*ip, 0)) {
            return Err(Failure::input(format!(
                "scenario field {at}: {ip} is not an address of this machine ({e})"
            )));
        }
    }
    Ok(())
}

/// Destinations → socket addresses; a name that does not resolve is an error.
pub fn resolve(destinations: &[Endpoint]) -> Result<HashSet<SocketAddr>, Failure> {
    let mut out = HashSet::new();
    for d in destinations {
        let addrs = (d.host.as_str(), d.port)
            .to_socket_addrs()
            .map_err(|e| Failure::input(format!("target {d} does not resolve: {e}")))?;
        out.extend(addrs);
    }
    Ok(out)
}

impl Overrides {
    /// The values that go over the scenario's load.
    fn load(&self) -> scenario::overrides::Overrides {
        scenario::overrides::Overrides {
            vus: self.vus,
            duration: self.duration,
            iterations: self.iterations,
            seed: self.seed,
        }
    }
}

impl Plan {
    /// Takes addresses out of the egress allow-list (like k6's blacklistIPs):
    /// steps that target them fail as `egress-denied`, nothing is sent.
    pub fn deny(&mut self, addrs: &[String]) -> Result<(), Failure> {
        for a in addrs {
            if let Ok(sa) = a.parse::<SocketAddr>() {
                self.targets.remove(&sa);
            } else if let Ok(ip) = a.parse::<IpAddr>() {
                self.targets.retain(|t| t.ip() != ip);
            } else {
                return Err(Failure::input(format!(
                    "--deny {a:?}: expected an IP or IP:port"
                )));
            }
        }
        Ok(())
    }

    /// A one-screen description of what `run` will do.
    pub fn describe(&self) -> String {
        let sc = &self.scenario;
        let mut s = format!("scenario {}: {}\n", sc.id, sc.description);
        s += &format!(
            "  users:      at most {} ({} made before the start)\n",
            sc.max_vus(),
            sc.initial_vus()
        );
        s += &format!(
            "  memory:     at most {} MiB of linear memory per user\n",
            self.memory_limit >> 20
        );
        let pool: Vec<String> = sc.pool.0.iter().map(ToString::to_string).collect();
        s += &format!(
            "  ip_pool:    {}\n",
            if pool.is_empty() {
                "none (unspecified source)".into()
            } else {
                pool.join(", ")
            }
        );
        for (d, t) in sc.data.iter().zip(&self.tables) {
            s += &format!(
                "  data {}:    {} ({}, {} rows; fields {})\n",
                d.name,
                d.file,
                d.mode.name(),
                t.rows(),
                d.columns.join(", ")
            );
        }
        for hook in [
            scenario::model::Hook::Setup,
            scenario::model::Hook::Teardown,
        ] {
            if let Some(steps) = sc.hook_steps(hook) {
                let ids: Vec<&str> = sc.workflow[steps].iter().map(|st| st.id.as_str()).collect();
                s += &format!(
                    "  {:<11} {} (once)\n",
                    format!("{}:", hook.name()),
                    ids.join(", ")
                );
            }
        }
        for w in &sc.workloads {
            s += &format!(
                "  scenario {}: {}, users {}..{}, starts at {}, runs {}, graceful stop {}, {}\n",
                w.name,
                w.kind.name(),
                w.first_vu,
                w.first_vu + w.max_vus(),
                human(w.start_time),
                if w.duration() >= scenario::model::UNTIL_DONE {
                    "until its iterations are done".to_string()
                } else {
                    human(w.duration())
                },
                human(w.graceful_stop),
                if w.weighted {
                    "weighted workflow (one pick per iteration)"
                } else {
                    "ordered workflow"
                }
            );
            for st in &sc.workflow[w.steps.clone()] {
                // Only what was set: a weight matters only when weighted,
                // and a zero think time is no think time.
                let mut facts = vec![st.kind.clone()];
                if w.weighted {
                    facts.push(format!("weight {}", st.weight));
                }
                if !st.think_time.is_zero() {
                    facts.push(format!("think {}", st.think_time));
                }
                facts.push(format!("timeout {}", human(st.timeout)));
                s += &format!("    - {} ({})\n", st.id, facts.join(", "));
            }
        }
        for t in &sc.thresholds {
            s += &format!("  threshold:  {} {}\n", t.key, t.expr);
        }
        let mut t: Vec<String> = self.targets.iter().map(ToString::to_string).collect();
        t.sort();
        s += &format!("  egress:     {}\n", t.join(", "));
        for p in &self.plugs {
            s += &format!("  plugged:    {} slot = {}\n", p.slot, p.path.display());
        }
        s
    }
}

/// "1500ms", "30s": as a scenario would write it.
fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}
