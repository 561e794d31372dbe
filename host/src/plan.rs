//! From a scenario file and command-line overrides to a checked plan: every
//! input error surfaces here, before any component runs or any load starts.

use crate::compose::Plug;
use crate::error::Failure;
use crate::parts;
use scheduler::Scenario;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Command-line values that go over the YAML's.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub vus: Option<u32>,
    pub duration: Option<Duration>,
    pub iterations: Option<u64>,
}

#[derive(Debug)]
pub struct Plan {
    /// The scenario each instance's `vu.init` parses (overrides applied), in
    /// its JSON form.
    pub yaml: String,
    pub scenario: Scenario,
    /// Every address the targets resolve to: the egress allow-list.
    pub targets: HashSet<SocketAddr>,
    pub plugs: Vec<Plug>,
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
    from_text(&text, base, o, cli_plugs).map_err(|e| match e {
        Failure::BadInput(m) => Failure::BadInput(format!("{}: {m}", path.display())),
        other => other,
    })
}

pub fn from_text(
    text: &str,
    base: &Path,
    o: &Overrides,
    cli_plugs: &[(String, PathBuf)],
) -> Result<Plan, Failure> {
    let any_kind = |_: &str| true;
    // Parse as written first, so YAML line/column numbers match the file.
    scheduler::parse_with(text, &any_kind, "").map_err(|e| Failure::input(e.to_string()))?;
    let yaml = apply(text, o)?;
    let scenario =
        scheduler::parse_with(&yaml, &any_kind, "").map_err(|e| Failure::input(e.to_string()))?;
    check_pool(&scenario.load.pool.0)?;
    let targets = resolve(&scenario.targets())?;
    let mut plugs: Vec<Plug> = scenario
        .components
        .iter()
        .map(|(slot, file)| Plug {
            slot: slot.clone(),
            path: base.join(file),
        })
        .collect();
    for (slot, path) in cli_plugs {
        plugs.retain(|p| &p.slot != slot);
        plugs.push(Plug {
            slot: slot.clone(),
            path: path.clone(),
        });
    }
    Ok(Plan {
        yaml: json_form(&yaml),
        scenario,
        targets,
        plugs: slots(plugs)?,
    })
}

/// Built-in slot names stay; any other name is a kind for the extension slot.
fn slots(plugs: Vec<Plug>) -> Result<Vec<Plug>, Failure> {
    let builtin = |s: &str| parts::SLOTS.iter().any(|(name, _, _)| *name == s);
    let mut out: Vec<Plug> = plugs.iter().filter(|p| builtin(&p.slot)).cloned().collect();
    for p in plugs.iter().filter(|p| !builtin(&p.slot)) {
        if !p
            .slot
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || p.slot.is_empty()
        {
            return Err(Failure::input(format!(
                "unknown action slot {:?}: use http, tcp, udp, extension, or a step type in kebab-case",
                p.slot
            )));
        }
        match out.iter().find(|q| q.slot == "extension") {
            Some(q) if q.path != p.path => {
                return Err(Failure::input(format!(
                    "{} and {} both want the extension slot (kinds {:?}): one extension component per run",
                    q.path.display(),
                    p.path.display(),
                    p.slot
                )));
            }
            Some(_) => {}
            None => out.push(Plug {
                slot: "extension".into(),
                path: p.path.clone(),
            }),
        }
    }
    Ok(out)
}

/// The YAML with command-line overrides written into `scenario.load`.
fn apply(text: &str, o: &Overrides) -> Result<String, Failure> {
    if o.vus.is_none() && o.duration.is_none() && o.iterations.is_none() {
        return Ok(text.to_string());
    }
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| Failure::input(e.to_string()))?;
    let load = doc
        .get_mut("scenario")
        .and_then(|s| s.get_mut("load"))
        .and_then(|l| l.as_mapping_mut())
        .ok_or_else(|| Failure::input("scenario field scenario.load: missing"))?;
    if let Some(v) = o.vus {
        load.insert("total_users".into(), v.into());
    }
    if let Some(d) = o.duration {
        load.insert(
            "test_duration".into(),
            format!("{}ms", d.as_millis()).into(),
        );
        // A ramp longer than the new duration would be rejected; shorten it.
        if let Some(r) = load
            .get("ramp_duration")
            .and_then(|r| r.as_str())
            .and_then(|r| scheduler::duration::parse(r).ok())
        {
            if r > d {
                load.insert(
                    "ramp_duration".into(),
                    format!("{}ms", d.as_millis()).into(),
                );
            }
        }
    }
    if let Some(i) = o.iterations {
        load.insert("iterations".into(), i.into());
    }
    serde_yaml::to_string(&doc).map_err(|e| Failure::internal(e.into()))
}

/// The scenario as JSON (still valid YAML): each user's instance parses it
/// with serde_json, whose peak memory is far below libyaml's. Falls back to
/// the YAML text when a mapping has non-string keys.
fn json_form(yaml: &str) -> String {
    serde_yaml::from_str::<serde_json::Value>(yaml)
        .ok()
        .and_then(|v| serde_json::to_string(&v).ok())
        .unwrap_or_else(|| yaml.to_string())
}

/// Every pool address must be local: a test bind, never a silent fallback.
pub fn check_pool(pool: &[IpAddr]) -> Result<(), Failure> {
    for ip in pool {
        if let Err(e) = UdpSocket::bind(SocketAddr::new(*ip, 0)) {
            return Err(Failure::input(format!(
                "scenario field scenario.load.ip_pool: {ip} is not an address of this machine ({e})"
            )));
        }
    }
    Ok(())
}

/// "host:port" targets → socket addresses; a name that does not resolve is an error.
fn resolve(targets: &[String]) -> Result<HashSet<SocketAddr>, Failure> {
    let mut out = HashSet::new();
    for t in targets {
        let addrs = t
            .to_socket_addrs()
            .map_err(|e| Failure::input(format!("target {t} does not resolve: {e}")))?;
        out.extend(addrs);
    }
    Ok(out)
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
        let l = &self.scenario.load;
        let mut s = format!(
            "scenario {}: {}\n",
            self.scenario.id, self.scenario.description
        );
        s += &format!("  users:      {} (ramp {:?})\n", l.total_users, l.ramp);
        s += &format!(
            "  stops:      {}{}\n",
            l.duration
                .map(|d| format!("after {d:?}"))
                .unwrap_or_default(),
            l.iterations
                .map(|i| format!(" / after {i} iterations per user"))
                .unwrap_or_default()
        );
        let pool: Vec<String> = l.pool.0.iter().map(ToString::to_string).collect();
        s += &format!(
            "  ip_pool:    {}\n",
            if pool.is_empty() {
                "none (unspecified source)".into()
            } else {
                pool.join(", ")
            }
        );
        s += &format!(
            "  workflow:   {}\n",
            if self.scenario.weighted {
                "weighted (one pick per iteration)"
            } else {
                "ordered"
            }
        );
        for st in &self.scenario.workflow {
            s += &format!(
                "    - {} ({}, weight {}, think {:?}, timeout {:?})\n",
                st.id, st.kind, st.weight, st.think_time, st.timeout
            );
        }
        let mut t: Vec<String> = self.targets.iter().map(ToString::to_string).collect();
        t.sort();
        s += &format!("  egress:     {}\n", t.join(", "));
        for p in &self.plugs {
            s += &format!("  plugged:    {} = {}\n", p.slot, p.path.display());
        }
        s
    }
}
