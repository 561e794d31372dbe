//! A script's requests as steps of their own: (script step, name) → the
//! index of the step made for it, as each first comes. `Stats` and
//! scheduler-host's timeline number them this one way.

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct RequestSteps {
    /// Script step → its requests' names → step index.
    by_parent: BTreeMap<usize, BTreeMap<String, usize>>,
    /// (script step, name, step index), in the order they came.
    order: Vec<(usize, String, usize)>,
}

impl RequestSteps {
    /// The step of request `name` of script step `parent`, and whether it
    /// is new: then it is `next`, which the caller makes.
    pub fn step(&mut self, parent: usize, name: &str, next: usize) -> (usize, bool) {
        let names = self.by_parent.entry(parent).or_default();
        if let Some(i) = names.get(name) {
            return (*i, false);
        }
        names.insert(name.to_string(), next);
        self.order.push((parent, name.to_string(), next));
        (next, true)
    }

    /// Every request step: (script step, name, step index), in the order
    /// they came.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &str, usize)> {
        self.order.iter().map(|(p, n, i)| (*p, n.as_str(), *i))
    }
}

#[cfg(test)]
mod tests {
    use crate::Stats;
    use contract::{ErrorKind, Sample};
    use std::time::Duration;

    fn request(name: &str) -> Sample {
        let mut s = Sample::failed(0, Duration::from_millis(1), ErrorKind::Other, "x".into());
        s.name = Some(name.into());
        s
    }

    /// Two instances that first saw a script's requests in different
    /// orders merge them by name, not by the index each gave them.
    #[test]
    fn request_steps_merge_by_name_whatever_order_they_came_in() {
        let yaml = "scenario:\n  id: s\n  load: {total_users: 1, iterations: 1}\n  script: j.wasm\n  destinations: ['127.0.0.1:1']\n";
        let scenario = scenario::parse(yaml, &[]).unwrap();
        let (mut a, mut b) = (Stats::new(&scenario), Stats::new(&scenario));
        for name in ["login", "me", "me"] {
            a.push_step(&[request(name)], None, None);
        }
        for name in ["me", "login", "login", "login"] {
            b.push_step(&[request(name)], None, None);
        }
        a.merge(&b);
        let report = a.report(&scenario, Duration::from_secs(1));
        let steps: Vec<(&str, u64)> = report
            .steps
            .iter()
            .map(|s| (s.id.as_str(), s.metrics.total_requests))
            .collect();
        assert_eq!(steps, [("login", 4), ("me", 3)]);
        assert_eq!(report.metrics.total_requests, 7);
    }
}
