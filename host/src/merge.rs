//! Reports of shards (or of any runs of one scenario) added into one
//! report of the same schema. Each figure's bucket is rebuilt from what the
//! report carries (counters and HDR histograms) and added with the
//! scheduler's own `Bucket::merge`, then rendered with its own `metrics`:
//! percentiles come from the summed histograms, never from averaging. The
//! timelines are lined up by wall-clock second and added row by row.
//! Thresholds are judged again on the merged figures.

use crate::report::HostReport;
use crate::saved::{self, Figures, Report as Input};
use crate::timeline::Row;
use scenario::executor::ExecutorKind;
use stats::Report;
use stats::{Bucket, Parts, StepReport, WorkloadReport};
use stats::{Tally, Verdict};
use std::collections::BTreeMap;

/// Reads each (name, text) and adds them into one report.
pub fn merge(inputs: &[(String, String)]) -> Result<HostReport, String> {
    let mut reports = Vec::new();
    for (name, text) in inputs {
        reports.push((name.as_str(), saved::parse(text, name)?));
    }
    let Some((_, first)) = reports.first() else {
        return Err("merge: no reports given".into());
    };
    for (name, r) in &reports {
        if r.scenario_id != first.scenario_id {
            return Err(format!(
                "{name}: scenario {:?}, not {:?} like the first report",
                r.scenario_id, first.scenario_id
            ));
        }
    }
    check_shards(&reports)?;
    let secs = reports
        .iter()
        .map(|(_, r)| r.duration_seconds)
        .fold(0.0, f64::max);
    let mut buckets = Buckets::default();
    for (name, r) in &reports {
        buckets.add(name, r)?;
    }
    let metrics = |b: &Bucket| {
        let mut m = b.metrics(secs);
        crate::report::attach(&mut m, Some(b));
        m
    };
    let sum = |f: fn(&Input) -> u64| reports.iter().map(|(_, r)| f(r)).sum::<u64>();
    let step_reports = |list: &[MergedStep], secs_of: f64| {
        list.iter()
            .map(|s| StepReport {
                id: s.id.clone(),
                name: s.name.clone(),
                kind: s.kind.clone(),
                scenario: s.scenario.clone(),
                metrics: {
                    let mut m = s.bucket.metrics(secs_of);
                    crate::report::attach(&mut m, Some(&s.bucket));
                    m
                },
            })
            .collect::<Vec<_>>()
    };
    let mut source_ips: BTreeMap<String, u64> = BTreeMap::new();
    for (_, r) in &reports {
        for (ip, n) in &r.source_ips {
            *source_ips.entry(ip.clone()).or_default() += n;
        }
    }
    let mut run = Report {
        scenario_id: first.scenario_id.clone(),
        vus: first.vus,
        duration_seconds: secs,
        iterations: sum(|r| r.iterations),
        dropped_iterations: sum(|r| r.dropped_iterations),
        out_of_data: sum(|r| r.out_of_data),
        metrics: metrics(&buckets.total),
        source_ips,
        scenarios: buckets
            .workloads
            .iter()
            .map(|w| WorkloadReport {
                name: w.name.clone(),
                executor: w.executor,
                vus_max: w.vus_max,
                iterations: w.iterations,
                dropped_iterations: w.dropped,
                out_of_data: w.out_of_data,
                metrics: metrics(&w.bucket),
            })
            .collect(),
        steps: step_reports(&buckets.steps, secs),
        // Hooks' throughput is over the run's time, as in a single run.
        setup: first
            .setup
            .as_ref()
            .map(|_| step_reports(&buckets.setup, 0.0)),
        teardown: first
            .teardown
            .as_ref()
            .map(|_| step_reports(&buckets.teardown, 0.0)),
        setup_failed: reports.iter().find_map(|(_, r)| r.setup_failed.clone()),
        thresholds: Vec::new(),
    };
    let timeline = timeline(&reports, &buckets)?;
    run.thresholds = judge(&reports, &buckets, &timeline, secs)?;
    Ok(HostReport {
        run,
        interrupted: reports.iter().any(|(_, r)| r.interrupted),
        interrupted_during: reports.iter().find_map(|(_, r)| r.interrupted_during),
        instances_ready_seconds: reports
            .iter()
            .map(|(_, r)| r.instances_ready_seconds)
            .try_fold(0.0f64, |m, s| s.map(|s| m.max(s))),
        aborted_by_threshold: reports
            .iter()
            .find_map(|(_, r)| r.aborted_by_threshold.clone()),
        started_at: reports
            .iter()
            .map(|(_, r)| r.started_at.clone())
            .min()
            .unwrap_or_default(),
        host_version: env!("CARGO_PKG_VERSION").to_string(),
        shard: None,
        timeline,
    })
}

/// Shards' reports must be every shard of one count, once each.
fn check_shards(reports: &[(&str, Input)]) -> Result<(), String> {
    let shards: Vec<(&str, Option<&str>)> = reports
        .iter()
        .map(|(n, r)| (*n, r.shard.as_deref()))
        .collect();
    if shards.iter().all(|(_, s)| s.is_none()) {
        // Whole runs of one scenario add up as well (run twice, or a
        // report with itself).
        return Ok(());
    }
    let mut seen = BTreeMap::new();
    let mut count = None;
    for (name, s) in &shards {
        let s = s.ok_or_else(|| format!("{name}: a whole run among shards' reports"))?;
        let shard = scenario::executor::Shard::parse(s).map_err(|e| format!("{name}: {e}"))?;
        if *count.get_or_insert(shard.count) != shard.count {
            return Err(format!(
                "{name}: shard {s}, but another report is one of {}",
                count.unwrap_or(0)
            ));
        }
        if let Some(other) = seen.insert(shard.index, *name) {
            return Err(format!("{name}: shard {s} is also {other}"));
        }
    }
    let count = count.unwrap_or(1);
    let missing: Vec<String> = (0..count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!("merge: shard {} missing", missing.join(", ")));
    }
    Ok(())
}

/// The rebuilt buckets, added across reports: matched by scenario name, by
/// (scenario, step id), and hooks' steps by id.
#[derive(Default)]
struct Buckets {
    total: Bucket,
    workloads: Vec<MergedWorkload>,
    /// In the first report's order.
    steps: Vec<MergedStep>,
    setup: Vec<MergedStep>,
    teardown: Vec<MergedStep>,
}

struct MergedStep {
    scenario: String,
    id: String,
    name: String,
    kind: String,
    bucket: Bucket,
}

struct MergedWorkload {
    name: String,
    executor: ExecutorKind,
    vus_max: u32,
    iterations: u64,
    dropped: u64,
    out_of_data: u64,
    bucket: Bucket,
}

impl Buckets {
    fn add(&mut self, name: &str, r: &Input) -> Result<(), String> {
        let bucket = |f: &Figures| rebuild(f).map_err(|e| format!("{name}: {e}"));
        self.total.merge(&bucket(&r.total)?);
        for w in &r.scenarios {
            let b = bucket(&w.figures)?;
            match self.workloads.iter_mut().find(|m| m.name == w.name) {
                Some(m) => {
                    m.bucket.merge(&b);
                    m.iterations += w.iterations;
                    m.dropped += w.dropped_iterations;
                    m.out_of_data += w.out_of_data;
                }
                None => self.workloads.push(MergedWorkload {
                    name: w.name.clone(),
                    executor: w.executor,
                    vus_max: w.vus_max,
                    iterations: w.iterations,
                    dropped: w.dropped_iterations,
                    out_of_data: w.out_of_data,
                    bucket: b,
                }),
            }
        }
        let lists = [
            (&mut self.steps, Some(&r.steps)),
            (&mut self.setup, r.setup.as_ref()),
            (&mut self.teardown, r.teardown.as_ref()),
        ];
        for (merged, list) in lists {
            for s in list.into_iter().flatten() {
                let b = bucket(&s.figures)?;
                match merged
                    .iter_mut()
                    .find(|m| m.scenario == s.scenario && m.id == s.id)
                {
                    Some(m) => m.bucket.merge(&b),
                    None => merged.push(MergedStep {
                        scenario: s.scenario.clone(),
                        id: s.id.clone(),
                        name: s.name.clone(),
                        kind: s.kind.clone(),
                        bucket: b,
                    }),
                }
            }
        }
        Ok(())
    }
}

/// A report's figures back into the bucket they were rendered from.
fn rebuild(f: &Figures) -> Result<Bucket, String> {
    let decode = |t: &str| crate::hdr::decode(t).map_err(|e| e.to_string());
    let latency = f.latency_histogram.as_deref().ok_or(
        "it has no latency histograms (an older scheduler-host wrote it), so it cannot be merged exactly",
    )?;
    let phases = match &f.timings_histograms {
        None => None,
        Some(map) => {
            let mut hs = Vec::new();
            for name in contract::Phases::NAMES {
                let text = map
                    .get(name)
                    .ok_or_else(|| format!("timings_histograms has no {name}"))?;
                hs.push(decode(text)?);
            }
            hs.try_into().ok()
        }
    };
    let mut status = BTreeMap::new();
    for (code, n) in &f.status_codes {
        let code: u16 = code
            .parse()
            .map_err(|_| format!("status code {code:?} is not a number"))?;
        status.insert(code, *n);
    }
    let (tls_handshakes, tls_resumed, mut tls_versions) = match &f.tls {
        Some(t) => (t.handshakes, t.resumed_handshakes, BTreeMap::new()),
        None => (0, 0, BTreeMap::new()),
    };
    for (name, n) in f.tls.iter().flat_map(|t| &t.tls_versions) {
        let v = contract::TlsVersion::from_name(name)
            .ok_or_else(|| format!("unknown TLS version {name:?}"))?;
        tls_versions.insert(v, *n);
    }
    Ok(Bucket::from_parts(Parts {
        latency: decode(latency)?,
        service: f
            .service_time_histogram
            .as_deref()
            .map(decode)
            .transpose()?,
        phases,
        ok: f.successful,
        failed: f.failed,
        bytes_sent: f.bytes_sent,
        bytes_received: f.bytes_received,
        status,
        errors: f.errors.clone(),
        tls_handshakes,
        tls_resumed,
        tls_versions,
        checks_passed: f.checks_passed,
        checks_failed: f.checks_failed,
    }))
}

/// Every report's rows, lined up by wall-clock second (each report's start
/// to the nearest second of the earliest; the shards of one `--start-at`
/// start within milliseconds) and added: counts, histograms, active users.
fn timeline(reports: &[(&str, Input)], buckets: &Buckets) -> Result<Vec<Row>, String> {
    // Each report's rows move by whole seconds: its start's distance from
    // the earliest start, to the nearest second (shards of one --start-at
    // start within milliseconds), so one report's seconds stay consecutive.
    let start = |r: &Input| {
        r.timeline
            .first()
            .map(|row| row.unix_ms - row.second * 1000)
    };
    let earliest = reports
        .iter()
        .filter_map(|(_, r)| start(r))
        .min()
        .unwrap_or(0);
    // Total first, then the steps in the merged report's order.
    let rank = |r: &Row| match (&r.scenario, &r.step) {
        (Some(sc), Some(id)) => {
            1 + buckets
                .steps
                .iter()
                .position(|s| &s.scenario == sc && &s.id == id)
                .unwrap_or(buckets.steps.len())
        }
        _ => 0,
    };
    // (merged second, rank, step) → the row so far and its histogram.
    type Key = (u64, usize, Option<String>);
    let mut rows: BTreeMap<Key, (Row, hdrhistogram::Histogram<u64>)> = BTreeMap::new();
    for (name, r) in reports {
        let offset = start(r).map_or(0, |s| (s - earliest + 500) / 1000);
        for row in &r.timeline {
            let h = row
                .histogram
                .as_deref()
                .ok_or_else(|| format!("{name}: a timeline row has no histogram"))
                .and_then(|t| crate::hdr::decode(t).map_err(|e| format!("{name}: {e}")))?;
            let key = (row.second + offset, rank(row), row.step.clone());
            match rows.get_mut(&key) {
                Some((m, mh)) => {
                    m.requests += row.requests;
                    m.errors += row.errors;
                    m.active_users += row.active_users;
                    m.unix_ms = m.unix_ms.min(row.unix_ms);
                    for (k, n) in &row.errors_by_kind {
                        *m.errors_by_kind.entry(*k).or_default() += n;
                    }
                    for (k, n) in &row.status_codes {
                        *m.status_codes.entry(k.clone()).or_default() += n;
                    }
                    let _ = mh.add(&h);
                }
                None => {
                    rows.insert(key, (row.clone(), h));
                }
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|((second, _, _), (mut row, h))| {
            row.second = second;
            row.set_latency(&h);
            row
        })
        .collect())
}

/// Each threshold judged again on the merged figures. A windowed one on
/// latency, errors or requests is judged window by window over the merged
/// timeline, as the run judged it; on checks or iterations (which the
/// timeline does not count per second), over the whole merged run.
fn judge(
    reports: &[(&str, Input)],
    b: &Buckets,
    timeline: &[Row],
    secs: f64,
) -> Result<Vec<Verdict>, String> {
    let first = &reports[0].1;
    let mut out = Vec::new();
    for (i, v) in first.thresholds.iter().enumerate() {
        let window = v.window_seconds.map(std::time::Duration::from_secs_f64);
        let (t, tags) = scenario::thresholds::rule(&v.metric, &v.threshold, window)
            .map_err(|e| format!("threshold {}: {e}", v.metric))?;
        let tag = |name: &str| {
            tags.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let (scenario, step) = (tag("scenario"), tag("step"));
        let workload = scenario.and_then(|s| b.workloads.iter().find(|w| w.name == s));
        let mut tally = Tally::default();
        (tally.iterations, tally.dropped) = match workload {
            Some(w) => (w.iterations, w.dropped),
            None => (
                reports.iter().map(|(_, r)| r.iterations).sum(),
                reports.iter().map(|(_, r)| r.dropped_iterations).sum(),
            ),
        };
        match (step, workload) {
            (Some(id), _) => {
                for s in b
                    .steps
                    .iter()
                    .filter(|s| s.id == id && scenario.is_none_or(|sc| s.scenario == sc))
                {
                    tally.bucket.merge(&s.bucket);
                }
            }
            (None, Some(w)) => tally.bucket = w.bucket.clone(),
            (None, None) => tally.bucket = b.total.clone(),
        }
        let windows = if t.window.is_some() && t.needs_only_latency_and_errors() {
            let seconds = per_second(timeline, scenario, step)?;
            stats::judge_windows(&t, &seconds, secs.floor() as u64)
        } else {
            None
        };
        let (value, ok) = match windows {
            Some((value, failed)) => (value, !failed),
            None => {
                let value = tally.measure(&t, secs);
                (value, t.holds(value))
            }
        };
        out.push(Verdict {
            metric: v.metric.clone(),
            threshold: v.threshold.clone(),
            ok,
            value: (value * 1000.0).round() / 1000.0,
            window_seconds: v.window_seconds,
            aborted_run: reports
                .iter()
                .any(|(_, r)| r.thresholds.get(i).is_some_and(|v| v.aborted_run)),
        });
    }
    Ok(out)
}

/// The merged timeline's requests, errors and latencies per second, for the
/// rows a threshold's tags pick: one step's, a scenario's steps', or the
/// totals.
fn per_second(
    timeline: &[Row],
    scenario: Option<&str>,
    step: Option<&str>,
) -> Result<Vec<(u64, Tally)>, String> {
    let mut seconds: BTreeMap<u64, Tally> = BTreeMap::new();
    for row in timeline {
        let picked = match (scenario, step) {
            (_, Some(id)) => {
                row.step.as_deref() == Some(id)
                    && scenario.is_none_or(|sc| row.scenario.as_deref() == Some(sc))
            }
            (Some(sc), None) => row.step.is_some() && row.scenario.as_deref() == Some(sc),
            (None, None) => row.is_total(),
        };
        if !picked {
            continue;
        }
        let latency = row
            .histogram
            .as_deref()
            .map(crate::hdr::decode)
            .transpose()
            .map_err(|e| e.to_string())?
            .unwrap_or_else(stats::histogram);
        let bucket = Bucket::from_parts(Parts {
            latency,
            service: None,
            phases: None,
            ok: row.requests.saturating_sub(row.errors),
            failed: row.errors,
            bytes_sent: 0,
            bytes_received: 0,
            status: BTreeMap::new(),
            errors: BTreeMap::new(),
            tls_handshakes: 0,
            tls_resumed: 0,
            tls_versions: BTreeMap::new(),
            checks_passed: 0,
            checks_failed: 0,
        });
        seconds.entry(row.second).or_default().bucket.merge(&bucket);
    }
    Ok(seconds.into_iter().collect())
}
