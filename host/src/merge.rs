//! Reports of shards (or of any runs of one scenario) added into one
//! report of the same schema. Each figure's bucket is rebuilt from what the
//! report carries (counters and HDR histograms) and added with the
//! scheduler's own `Bucket::merge`, then rendered with its own `metrics`:
//! percentiles come from the summed histograms, never from averaging. The
//! timelines are lined up by wall-clock second and added row by row.
//! Thresholds are judged again on the merged figures.

use scenario::executor::{ExecutorKind, HOOK};
use scenario::thresholds::{self, Filter};
use stats::{Bucket, HostRun, Judge, Metrics, Parts, Report, Row, Stats, StepReport};
use stats::{Tally, Verdict, WorkloadParts, WorkloadReport};
use std::collections::BTreeMap;
use std::time::Duration;

/// Reads each (name, text) and adds them into one report.
pub fn merge(inputs: &[(String, String)]) -> Result<Report, String> {
    let mut reports = Vec::new();
    for (name, text) in inputs {
        reports.push((name.as_str(), crate::report::parse(text, name)?));
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
    let sum = |f: fn(&Report) -> u64| reports.iter().map(|(_, r)| f(r)).sum::<u64>();
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
        custom: crate::custom::report(&buckets.custom),
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
        host: None,
    };
    let timeline = timeline(&reports, &buckets)?;
    run.thresholds = judge(&reports, &buckets, &timeline, secs)?;
    let hosts: Vec<&HostRun> = reports.iter().map(|(_, r)| r.host()).collect();
    run.host = Some(HostRun {
        interrupted: hosts.iter().any(|h| h.interrupted),
        interrupted_during: hosts.iter().find_map(|h| h.interrupted_during),
        instances_ready_seconds: hosts
            .iter()
            .map(|h| h.instances_ready_seconds)
            .try_fold(0.0f64, |m, s| s.map(|s| m.max(s))),
        aborted_by_threshold: hosts.iter().find_map(|h| h.aborted_by_threshold.clone()),
        started_at: hosts
            .iter()
            .map(|h| h.started_at.clone())
            .min()
            .unwrap_or_default(),
        host_version: env!("CARGO_PKG_VERSION").to_string(),
        shard: None,
        timeline,
    });
    Ok(run)
}

/// Shards' reports must be every shard of one count, once each.
fn check_shards(reports: &[(&str, Report)]) -> Result<(), String> {
    let shards: Vec<(&str, Option<&str>)> = reports
        .iter()
        .map(|(n, r)| (*n, r.host().shard.as_deref()))
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
    /// A script's custom metrics, added up.
    custom: stats::custom::Customs,
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
    fn add(&mut self, name: &str, r: &Report) -> Result<(), String> {
        let bucket = |f: &Metrics| rebuild(f).map_err(|e| format!("{name}: {e}"));
        self.total.merge(&bucket(&r.metrics)?);
        self.custom
            .merge(&crate::custom::read(&r.custom).map_err(|e| format!("{name}: {e}"))?);
        for w in &r.scenarios {
            let b = bucket(&w.metrics)?;
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
                let b = bucket(&s.metrics)?;
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

/// Counts keyed by a code as text (`{"200": n}`) keyed by the code again.
fn codes(map: &BTreeMap<String, u64>, what: &str) -> Result<BTreeMap<u16, u64>, String> {
    map.iter()
        .map(|(code, n)| {
            let code: u16 = code
                .parse()
                .map_err(|_| format!("{what} {code:?} is not a number"))?;
            Ok((code, *n))
        })
        .collect()
}

/// A report's figures back into the bucket they were rendered from.
fn rebuild(f: &Metrics) -> Result<Bucket, String> {
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
    let status = codes(&f.status_codes, "status code")?;
    let (tls_handshakes, tls_resumed, mut tls_versions) = match &f.tls {
        Some(t) => (t.handshakes, t.resumed_handshakes, BTreeMap::new()),
        None => (0, 0, BTreeMap::new()),
    };
    for (name, n) in f.tls.iter().flat_map(|t| &t.tls_versions) {
        let v = contract::TlsVersion::from_name(name)
            .ok_or_else(|| format!("unknown TLS version {name:?}"))?;
        tls_versions.insert(v, *n);
    }
    let mut http_versions = BTreeMap::new();
    for (name, n) in &f.http_versions {
        let v = contract::HttpVersion::from_name(name)
            .ok_or_else(|| format!("unknown HTTP version {name:?}"))?;
        http_versions.insert(v, *n);
    }
    let mut grpc_statuses = BTreeMap::new();
    for (name, n) in &f.grpc_statuses {
        let code = contract::grpc::status_code(name)
            .ok_or_else(|| format!("unknown grpc-status {name:?}"))?;
        grpc_statuses.insert(code, *n);
    }
    let ws = match &f.ws {
        None => None,
        Some(w) => {
            let histogram = |t: &Option<String>, name: &str| match t.as_deref() {
                Some(t) => decode(t),
                None => Err(format!("ws has no {name}_histogram")),
            };
            let closes = codes(&w.closes, "ws close code")?;
            Some(stats::ws::WsCounts {
                sessions: w.sessions,
                sent: w.messages_sent,
                received: w.messages_received,
                handshake: histogram(&w.handshake_histogram, "handshake")?,
                round_trip: histogram(&w.round_trip_histogram, "round_trip")?,
                closes,
            })
        }
    };
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
        http_versions,
        grpc_statuses,
        grpc_messages: f.grpc_messages,
        ws,
        checks_passed: f.checks_passed,
        checks_failed: f.checks_failed,
    }))
}

/// Every report's rows, lined up by wall-clock second (each report's start
/// to the nearest second of the earliest; the shards of one `--start-at`
/// start within milliseconds) and added: counts, histograms, active users.
fn timeline(reports: &[(&str, Report)], buckets: &Buckets) -> Result<Vec<Row>, String> {
    // Each report's rows move by whole seconds: its start's distance from
    // the earliest start, to the nearest second (shards of one --start-at
    // start within milliseconds), so one report's seconds stay consecutive.
    let start = |r: &Report| {
        r.host()
            .timeline
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
        for row in &r.host().timeline {
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
            crate::timeline::set_latency(&mut row, &h);
            row
        })
        .collect())
}

/// Each threshold judged again on the merged figures, with the run's own
/// parser and judge: the first report's thresholds are parsed against the
/// merged scenarios and steps, `Stats` is rebuilt from the merged buckets,
/// and `Judge` gives the verdicts. A windowed one on latency, errors or
/// requests is judged window by window over the merged timeline, as the
/// run judged it; on checks or iterations (which the timeline does not
/// count per second), over the whole merged run.
fn judge(
    reports: &[(&str, Report)],
    b: &Buckets,
    timeline: &[Row],
    secs: f64,
) -> Result<Vec<Verdict>, String> {
    let first = &reports[0].1;
    if first.thresholds.is_empty() {
        return Ok(Vec::new());
    }
    // The thresholds as the scenario wrote them: key → its rules.
    let mut written = serde_json::Map::new();
    for v in &first.thresholds {
        let mut rule = serde_json::json!({ "threshold": v.threshold });
        if let Some(w) = v.window_seconds {
            rule["window"] = format!("{w}s").into();
        }
        let rules = written
            .entry(v.metric.clone())
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(rules) = rules {
            rules.push(rule);
        }
    }
    let raw = serde_json::from_value(written.into()).map_err(|e| format!("thresholds: {e}"))?;
    let names: Vec<&str> = b.workloads.iter().map(|w| w.name.as_str()).collect();
    let workload_of = |scenario: &str| names.iter().position(|n| *n == scenario).unwrap_or(HOOK);
    let steps: Vec<(&str, usize)> = b
        .steps
        .iter()
        .map(|s| (s.id.as_str(), workload_of(&s.scenario)))
        .collect();
    // A script run's thresholds may name its requests and custom metrics.
    let script = b.steps.iter().any(|s| s.kind == "script");
    let list = thresholds::parse(raw, &names, &steps, script).map_err(|e| e.to_string())?;
    let mut stats = Stats::from_parts(
        b.total.clone(),
        b.steps
            .iter()
            .map(|s| (s.bucket.clone(), workload_of(&s.scenario)))
            .collect(),
        b.workloads
            .iter()
            .map(|w| WorkloadParts {
                bucket: w.bucket.clone(),
                iterations: w.iterations,
                dropped: w.dropped,
                out_of_data: w.out_of_data,
            })
            .collect(),
    );
    stats.add_custom(&b.custom);
    // Windows over the merged timeline, and which threshold a shard's run
    // was stopped by, read before the judge takes the list.
    let mut windows = Vec::new();
    let mut aborted = None;
    for (i, t) in list.iter().enumerate() {
        if t.window.is_some() && t.needs_only_latency_and_errors() {
            windows.push((i, per_second(timeline, &t.filter, b)?));
        }
        let stopped = reports.iter().any(|(_, r)| {
            r.thresholds
                .iter()
                .any(|v| v.aborted_run && v.metric == t.key && v.threshold == t.expr)
        });
        if stopped {
            aborted.get_or_insert(i);
        }
    }
    let mut judge = Judge::of(list, steps.iter().map(|s| s.1).collect());
    for (i, seconds) in windows {
        judge.replay_windows(i, &seconds, secs.floor() as u64);
    }
    if let Some(i) = aborted {
        judge.mark_aborted(i);
    }
    Ok(judge.verdicts(&stats, Duration::from_secs_f64(secs)))
}

/// The merged timeline's requests, errors and latencies per second, for the
/// rows a threshold's tags pick: one step's, a scenario's steps', or the
/// totals.
fn per_second(timeline: &[Row], filter: &Filter, b: &Buckets) -> Result<Vec<(u64, Tally)>, String> {
    let mut seconds: BTreeMap<u64, Tally> = BTreeMap::new();
    let is = |row: &Row, scenario: &str| row.scenario.as_deref() == Some(scenario);
    for row in timeline {
        let picked = match (&filter.steps, filter.workload) {
            (Some(steps), _) => steps.iter().any(|&i| {
                let s = &b.steps[i];
                row.step.as_deref() == Some(s.id.as_str()) && is(row, &s.scenario)
            }),
            (None, Some(w)) => row.step.is_some() && is(row, &b.workloads[w].name),
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
            http_versions: BTreeMap::new(),
            grpc_statuses: BTreeMap::new(),
            grpc_messages: 0,
            ws: None,
            checks_passed: 0,
            checks_failed: 0,
        });
        seconds.entry(row.second).or_default().bucket.merge(&bucket);
    }
    Ok(seconds.into_iter().collect())
}
