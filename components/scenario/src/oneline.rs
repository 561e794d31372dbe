//! One-line mode: `run URL -u 50 -d 30s [-m POST] [-H 'K: V']… [--body …]
//! [--rate 200]`, as oha and k6 users expect, written as the scenario
//! document a user would have typed, so everything after (validation,
//! executors, report, thresholds) is the same as for a file.

use serde_yaml::{Mapping, Value};
use std::time::Duration;

/// Without `-d` or `-i`: how long a one-line run lasts.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Without `-u` and `--rate`: how many users.
pub const DEFAULT_USERS: u32 = 10;

/// What the command line says.
#[derive(Clone, Debug, Default)]
pub struct OneLine {
    pub url: String,
    pub method: Option<String>,
    /// `-H 'Name: value'`, as written.
    pub headers: Vec<String>,
    pub body: Option<String>,
    /// Iterations started per second (a constant-arrival-rate).
    pub rate: Option<u32>,
    /// `--http2`: the step's `http_version: "2"`.
    pub http2: bool,
    pub users: Option<u32>,
    pub duration: Option<Duration>,
    pub iterations: Option<u64>,
}

/// True when the run's target is a URL, not a scenario file.
pub fn is_url(target: &str) -> bool {
    target.starts_with("http://") || target.starts_with("https://")
}

impl OneLine {
    /// The scenario document: one http step in the original form (users
    /// for a duration or a number of iterations), or with `--rate` one
    /// named constant-arrival-rate scenario.
    pub fn document(&self) -> Result<Value, String> {
        let mut params = Mapping::new();
        let method = self.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
        params.insert("method".into(), method.clone().into());
        params.insert("url".into(), self.url.clone().into());
        if !self.headers.is_empty() {
            let mut headers = Mapping::new();
            for h in &self.headers {
                let (name, value) = h
                    .split_once(':')
                    .filter(|(n, _)| !n.trim().is_empty())
                    .ok_or_else(|| format!("-H {h:?}: expected 'Name: value'"))?;
                headers.insert(name.trim().into(), value.trim().into());
            }
            params.insert("headers".into(), headers.into());
        }
        if let Some(body) = &self.body {
            params.insert("body".into(), body.clone().into());
        }
        if self.http2 {
            params.insert("http_version".into(), "2".into());
        }
        let step = mapping([
            ("id", "request".into()),
            ("type", "http".into()),
            ("name", format!("{method} {}", self.url).into()),
            ("params", params.into()),
        ]);
        let workflow = Value::Sequence(vec![step.into()]);
        let text = |d: Duration| Value::from(crate::duration::text(d));
        let Some(rate) = self.rate else {
            let mut load = mapping([("total_users", self.users.unwrap_or(DEFAULT_USERS).into())]);
            // Neither -d nor -i: the default duration.
            let duration = match (self.duration, self.iterations) {
                (None, None) => Some(DEFAULT_DURATION),
                (d, _) => d,
            };
            if let Some(d) = duration {
                load.insert("test_duration".into(), text(d));
            }
            if let Some(i) = self.iterations {
                load.insert("iterations".into(), i.into());
            }
            return Ok(mapping([(
                "scenario",
                mapping([
                    ("id", "url".into()),
                    ("load", load.into()),
                    ("workflow", workflow),
                ])
                .into(),
            )])
            .into());
        };
        if self.iterations.is_some() {
            return Err("--rate runs for a duration (-d), not a number of iterations (-i)".into());
        }
        if rate == 0 {
            return Err("--rate: must be at least 1 (iterations per second)".into());
        }
        // The users an arrival rate may hold at once: enough for the rate at
        // a one-second latency, within 10..=1000, unless -u says.
        let users = self.users.unwrap_or(rate.clamp(10, 1000));
        let scenario = mapping([
            ("executor", "constant-arrival-rate".into()),
            ("rate", rate.into()),
            ("time_unit", "1s".into()),
            ("duration", text(self.duration.unwrap_or(DEFAULT_DURATION))),
            ("pre_allocated_vus", users.into()),
            ("max_vus", users.into()),
            ("workflow", workflow),
        ]);
        Ok(mapping([
            ("id", "url".into()),
            ("scenarios", mapping([("rate", scenario.into())]).into()),
        ])
        .into())
    }
}

fn mapping<const N: usize>(entries: [(&str, Value); N]) -> Mapping {
    entries.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(o: &OneLine) -> crate::Scenario {
        let text = serde_yaml::to_string(&o.document().unwrap()).unwrap();
        crate::parse(&text, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn a_url_with_users_and_a_duration_is_one_http_step() {
        let o = OneLine {
            url: "http://127.0.0.1:8080/api".into(),
            method: Some("post".into()),
            headers: vec!["Content-Type: application/json".into(), "X-A:b".into()],
            body: Some("{\"a\":1}".into()),
            users: Some(50),
            duration: Some(Duration::from_secs(30)),
            ..OneLine::default()
        };
        let doc = o.document().unwrap();
        let step = &doc["scenario"]["workflow"][0];
        assert_eq!(step["params"]["method"], "POST");
        assert_eq!(
            step["params"]["headers"]["Content-Type"],
            "application/json"
        );
        assert_eq!(step["params"]["headers"]["X-A"], "b");
        assert_eq!(step["params"]["body"], "{\"a\":1}");
        let h2 = OneLine {
            http2: true,
            ..o.clone()
        };
        let doc2 = h2.document().unwrap();
        assert_eq!(
            doc2["scenario"]["workflow"][0]["params"]["http_version"],
            "2"
        );
        let s2 = parsed(&h2);
        assert!(matches!(
            &s2.workflow[0].call,
            crate::model::Call::Http(h) if h.http_version == Some(contract::HttpVersion::Http2)
        ));
        assert_eq!(doc["scenario"]["load"]["total_users"], 50);
        assert_eq!(doc["scenario"]["load"]["test_duration"], "30000ms");
        let s = parsed(&o);
        assert_eq!(s.workflow.len(), 1);
    }

    #[test]
    fn rate_makes_a_constant_arrival_rate_and_defaults_apply() {
        let o = OneLine {
            url: "http://127.0.0.1:8080/".into(),
            rate: Some(200),
            ..OneLine::default()
        };
        let doc = o.document().unwrap();
        assert!(doc["scenarios"]["rate"]["workflow"][0]["params"]["http_version"].is_null());
        let s = &doc["scenarios"]["rate"];
        assert_eq!(s["executor"], "constant-arrival-rate");
        assert_eq!(s["rate"], 200);
        assert_eq!(s["max_vus"], 200);
        assert_eq!(s["duration"], "10000ms");
        parsed(&o);
        let plain = OneLine {
            url: "http://127.0.0.1:8080/".into(),
            ..OneLine::default()
        };
        let doc = plain.document().unwrap();
        assert_eq!(doc["scenario"]["load"]["total_users"], DEFAULT_USERS);
        assert_eq!(doc["scenario"]["load"]["test_duration"], "10000ms");
    }

    #[test]
    fn bad_flags_are_named() {
        let bad = |o: OneLine| o.document().unwrap_err();
        let url = || "http://x/".to_string();
        let e = bad(OneLine {
            url: url(),
            headers: vec!["no colon".into()],
            ..OneLine::default()
        });
        assert!(
            e.starts_with("-H \"no colon\": expected 'Name: value'"),
            "{e}"
        );
        let e = bad(OneLine {
            url: url(),
            rate: Some(5),
            iterations: Some(3),
            ..OneLine::default()
        });
        assert!(e.contains("--rate runs for a duration"), "{e}");
        assert!(is_url("https://a/") && !is_url("scenarios/demo.yaml"));
    }
}
