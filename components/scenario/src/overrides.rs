//! Command-line values that go over a scenario's load (`--vus`,
//! `--duration`, `--iterations`) and its `seed` (`--seed`), applied to its
//! parsed document tree with
//! typed values, before validation. As k6 does with its shortcut options:
//! on the original form they set `scenario.load`; on named `scenarios:`
//! they rewrite every scenario's executor (each keeps its workflow).

use crate::error::{ScenarioError, field};
use serde_yaml::{Mapping, Value};
use std::time::Duration;

/// What the command line sets; none: the file's own load.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Overrides {
    pub vus: Option<u32>,
    pub duration: Option<Duration>,
    pub iterations: Option<u64>,
    /// Over the file's `seed` (top level with `scenarios:`, else
    /// `scenario.load.seed`).
    pub seed: Option<u64>,
}

/// Executor keys that say how a named scenario's load runs (everything
/// but `workflow`, `start_time`, `graceful_stop` and `pacing` is replaced
/// when an executor is rewritten).
const LOAD_KEYS: [&str; 13] = [
    "executor",
    "vus",
    "duration",
    "start_vus",
    "stages",
    "graceful_ramp_down",
    "iterations",
    "max_duration",
    "rate",
    "start_rate",
    "time_unit",
    "pre_allocated_vus",
    "max_vus",
];

impl Overrides {
    pub fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }

    /// Applies them to `doc`, a scenario's document tree.
    pub fn apply(&self, doc: &mut Value) -> Result<(), ScenarioError> {
        if let Some(seed) = self.seed {
            let at = if doc.get("scenarios").is_some() {
                Some(&mut *doc)
            } else {
                doc.get_mut("scenario").and_then(|s| s.get_mut("load"))
            };
            at.and_then(Value::as_mapping_mut)
                .ok_or_else(|| field("scenario.load", "missing"))?
                .insert("seed".into(), seed.into());
        }
        let load_set = Overrides {
            seed: None,
            ..*self
        };
        if load_set.is_empty() {
            return Ok(());
        }
        if let Some(named) = doc.get_mut("scenarios").and_then(Value::as_mapping_mut) {
            for (name, scenario) in named.iter_mut() {
                let at = format!("scenarios.{}", name.as_str().unwrap_or("?"));
                let map = scenario
                    .as_mapping_mut()
                    .ok_or_else(|| field(&at, "expected a mapping"))?;
                self.rewrite(map, &at)?;
            }
            return Ok(());
        }
        let load = doc
            .get_mut("scenario")
            .and_then(|s| s.get_mut("load"))
            .and_then(Value::as_mapping_mut)
            .ok_or_else(|| field("scenario.load", "missing"))?;
        if let Some(v) = self.vus {
            load.insert("total_users".into(), v.into());
        }
        if let Some(d) = self.duration {
            load.insert("test_duration".into(), duration(d));
            // A ramp longer than the new duration would be rejected; shorten it.
            let ramp = load.get("ramp_duration").and_then(Value::as_str);
            if ramp
                .and_then(|r| crate::duration::parse(r).ok())
                .is_some_and(|r| r > d)
            {
                load.insert("ramp_duration".into(), duration(d));
            }
        }
        if let Some(i) = self.iterations {
            load.insert("iterations".into(), i.into());
        }
        Ok(())
    }

    /// One named scenario: `--iterations` makes it `shared-iterations`
    /// (bounded by `--duration` as its `max_duration`), `--duration` alone
    /// `constant-vus`; both take `--vus` or the scenario's own peak of
    /// users. `--vus` alone sets the users of an executor that has `vus`.
    fn rewrite(&self, map: &mut Mapping, at: &str) -> Result<(), ScenarioError> {
        let vus = self
            .vus
            .map(Value::from)
            .unwrap_or_else(|| peak(map).into());
        let replace = |map: &mut Mapping, entries: Vec<(&str, Value)>| {
            for key in LOAD_KEYS {
                map.remove(key);
            }
            for (k, v) in entries {
                map.insert(k.into(), v);
            }
        };
        match (self.iterations, self.duration) {
            (Some(i), d) => {
                let mut entries = vec![
                    ("executor", "shared-iterations".into()),
                    ("vus", vus),
                    ("iterations", i.into()),
                ];
                entries.extend(d.map(|d| ("max_duration", duration(d))));
                replace(map, entries);
            }
            (None, Some(d)) => replace(
                map,
                vec![
                    ("executor", "constant-vus".into()),
                    ("vus", vus),
                    ("duration", duration(d)),
                ],
            ),
            (None, None) => {
                if !map.contains_key("vus") {
                    let executor = map.get("executor").and_then(Value::as_str).unwrap_or("?");
                    return Err(field(
                        format!("{at}.executor"),
                        format!(
                            "--vus alone cannot change a {executor} scenario (it has no vus); add --duration or --iterations to rewrite it"
                        ),
                    ));
                }
                map.insert("vus".into(), vus);
            }
        }
        Ok(())
    }
}

/// The most users a named scenario's own settings ask for (at least 1).
fn peak(map: &Mapping) -> u64 {
    let num = |k: &str| map.get(k).and_then(Value::as_u64);
    let stages = map.get("stages").and_then(Value::as_sequence).map(|s| {
        s.iter()
            .filter_map(|st| st.get("target").and_then(Value::as_f64))
            .fold(0.0, f64::max) as u64
    });
    [
        num("vus"),
        num("max_vus"),
        num("pre_allocated_vus"),
        num("start_vus"),
        stages,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(1)
    .max(1)
}

/// `--threshold` flags: each (key, expression) is added to the file's own
/// thresholds under that key (a key's one expression becomes a list).
pub fn add_thresholds(doc: &mut Value, list: &[(String, String)]) -> Result<(), ScenarioError> {
    if list.is_empty() {
        return Ok(());
    }
    let root = doc
        .as_mapping_mut()
        .ok_or_else(|| field("", "expected a mapping at the top"))?;
    let table = root
        .entry("thresholds".into())
        .or_insert_with(|| Mapping::new().into());
    if table.is_null() {
        *table = Mapping::new().into();
    }
    let table = table
        .as_mapping_mut()
        .ok_or_else(|| field("thresholds", "expected a mapping of metric: [expressions]"))?;
    for (key, expr) in list {
        let entry = table
            .entry(key.as_str().into())
            .or_insert(Value::Sequence(vec![]));
        if !entry.is_sequence() {
            *entry = Value::Sequence(vec![entry.clone()]);
        }
        if let Value::Sequence(items) = entry {
            items.push(expr.as_str().into());
        }
    }
    Ok(())
}

fn duration(d: Duration) -> Value {
    crate::duration::text(d).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn threshold_flags_join_the_files_own() {
        let mut doc = tree("scenario: {id: a}\nthresholds:\n  latency: \"p(95)<300\"\n");
        let flags = [
            ("latency".to_string(), "p(99)<900".to_string()),
            ("errors".to_string(), "rate<0.01".to_string()),
        ];
        add_thresholds(&mut doc, &flags).unwrap();
        assert_eq!(doc["thresholds"]["latency"][0], "p(95)<300");
        assert_eq!(doc["thresholds"]["latency"][1], "p(99)<900");
        assert_eq!(doc["thresholds"]["errors"][0], "rate<0.01");
        let mut bare = tree("scenario: {id: a}\n");
        add_thresholds(&mut bare, &flags[1..]).unwrap();
        assert_eq!(bare["thresholds"]["errors"][0], "rate<0.01");
    }

    #[test]
    fn the_original_form_gets_its_load_set_and_a_long_ramp_shortened() {
        let mut doc = tree(
            "scenario:\n  id: a\n  load: {total_users: 2, ramp_duration: 10s, test_duration: 20s}\n",
        );
        let o = Overrides {
            vus: Some(7),
            duration: Some(Duration::from_millis(1500)),
            iterations: Some(3),
            seed: Some(42),
        };
        o.apply(&mut doc).unwrap();
        let load = &doc["scenario"]["load"];
        assert_eq!(load["seed"], 42);
        assert_eq!(load["total_users"], 7);
        assert_eq!(load["test_duration"], "1500ms");
        assert_eq!(load["ramp_duration"], "1500ms");
        assert_eq!(load["iterations"], 3);
    }

    #[test]
    fn named_scenarios_are_rewritten_as_k6_does_keeping_their_workflows() {
        let text = "scenarios:\n  a: {executor: ramping-vus, stages: [{duration: 5s, target: 8}], workflow: w, start_time: 1s}\n  b: {executor: constant-arrival-rate, rate: 5, duration: 9s, pre_allocated_vus: 3, workflow: w}\n";
        let mut doc = tree(text);
        let o = Overrides {
            duration: Some(Duration::from_secs(30)),
            ..Overrides::default()
        };
        o.apply(&mut doc).unwrap();
        let a = &doc["scenarios"]["a"];
        assert_eq!(a["executor"], "constant-vus");
        assert_eq!(a["vus"], 8, "its own peak of users");
        assert_eq!(a["duration"], "30000ms");
        assert_eq!(a["workflow"], "w");
        assert_eq!(a["start_time"], "1s");
        assert!(a.get("stages").is_none());
        let b = &doc["scenarios"]["b"];
        assert_eq!(b["executor"], "constant-vus");
        assert_eq!(b["vus"], 3);
        assert!(b.get("rate").is_none());

        let mut doc = tree(text);
        let o = Overrides {
            vus: Some(4),
            iterations: Some(100),
            duration: Some(Duration::from_secs(60)),
            seed: Some(9),
        };
        o.apply(&mut doc).unwrap();
        assert_eq!(doc["seed"], 9, "top level, beside scenarios:");
        let a = &doc["scenarios"]["a"];
        assert_eq!(a["executor"], "shared-iterations");
        assert_eq!(
            (a["vus"].as_u64(), a["iterations"].as_u64()),
            (Some(4), Some(100))
        );
        assert_eq!(a["max_duration"], "60000ms");
    }

    #[test]
    fn vus_alone_needs_an_executor_with_vus() {
        let mut doc = tree(
            "scenarios:\n  a: {executor: constant-vus, vus: 2, duration: 5s, workflow: w}\n  b: {executor: constant-arrival-rate, rate: 5, duration: 9s, pre_allocated_vus: 3, workflow: w}\n",
        );
        let o = Overrides {
            vus: Some(9),
            ..Overrides::default()
        };
        let e = o.apply(&mut doc).unwrap_err().to_string();
        assert!(e.contains("scenarios.b.executor"), "{e}");
        assert!(e.contains("--vus alone"), "{e}");
    }
}
