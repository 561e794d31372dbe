//! The files written as the run goes: `--timeline FILE.jsonl` (one JSON
//! row per line, with the second's histogram), `--csv FILE` (the same rows
//! without histograms), and `--samples FILE.csv` (every request). Rows are
//! appended when their second closes, samples as they come; all are
//! flushed once per batch of closed seconds (at most once a second), so a
//! crash or kill leaves every closed second on disk.

use crate::error::Failure;
use stats::Row;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The CSV's columns, in order.
const CSV_HEADER: [&str; 13] = [
    "second",
    "unix_ms",
    "scenario",
    "step",
    "requests",
    "errors",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "active_users",
    "status_codes",
    "errors_by_kind",
];

/// The samples file's columns, in order.
const SAMPLES_HEADER: [&str; 6] = ["at_ms", "scenario", "step", "latency_us", "status", "error"];

#[derive(Default)]
pub struct Files {
    /// `--har`: written whole when the run ends (`har::Har`), checked
    /// writable before it starts.
    pub har: Option<PathBuf>,
    jsonl: Option<Sink<BufWriter<File>>>,
    csv: Option<Sink<csv::Writer<File>>>,
    samples: Option<Sink<csv::Writer<File>>>,
}

struct Sink<W> {
    path: PathBuf,
    out: W,
    /// The first write error; later rows are not written to this file.
    failed: Option<String>,
}

impl Files {
    /// Creates the files now, so a bad path fails before the run.
    pub fn create(
        jsonl: Option<&Path>,
        csv: Option<&Path>,
        samples: Option<&Path>,
    ) -> Result<Self, Failure> {
        let open = |flag: &str, path: &Path| {
            File::create(path)
                .map_err(|e| Failure::input(format!("{flag} {}: {e}", path.display())))
        };
        let mut files = Files::default();
        if let Some(path) = jsonl {
            files.jsonl = Some(Sink {
                path: path.to_path_buf(),
                out: BufWriter::new(open("--timeline", path)?),
                failed: None,
            });
        }
        let table = |flag: &str, path: &Path, header: &[&str]| -> Result<_, Failure> {
            let mut out = csv::Writer::from_writer(open(flag, path)?);
            out.write_record(header)
                .map_err(|e| Failure::input(format!("{flag} {}: {e}", path.display())))?;
            Ok(Sink {
                path: path.to_path_buf(),
                out,
                failed: None,
            })
        };
        if let Some(path) = csv {
            files.csv = Some(table("--csv", path, &CSV_HEADER)?);
        }
        if let Some(path) = samples {
            files.samples = Some(table("--samples", path, &SAMPLES_HEADER)?);
        }
        Ok(files)
    }

    pub fn write(&mut self, row: &Row) {
        if let Some(s) = self.jsonl.as_mut().filter(|s| s.failed.is_none()) {
            let line = serde_json::to_string(row).map_err(std::io::Error::from);
            let result = line.and_then(|l| writeln!(s.out, "{l}"));
            if let Err(e) = result {
                s.failed = Some(e.to_string());
            }
        }
        if let Some(s) = self.csv.as_mut().filter(|s| s.failed.is_none())
            && let Err(e) = s.out.write_record(csv_record(row))
        {
            s.failed = Some(e.to_string());
        }
    }

    /// One request: `at` after the start, of step `name` (none: no step's),
    /// its latency as the report records it.
    pub fn sample(
        &mut self,
        at: std::time::Duration,
        name: Option<&(String, String)>,
        s: &contract::Sample,
        latency_us: u64,
    ) {
        let Some(sink) = self.samples.as_mut().filter(|s| s.failed.is_none()) else {
            return;
        };
        let record = [
            format!("{:.3}", at.as_secs_f64() * 1000.0),
            name.map(|n| n.0.clone()).unwrap_or_default(),
            name.map(|n| n.1.clone()).unwrap_or_default(),
            latency_us.to_string(),
            s.status.map(|c| c.to_string()).unwrap_or_default(),
            s.error
                .as_ref()
                .map(|e| e.kind.name().to_string())
                .unwrap_or_default(),
        ];
        if let Err(e) = sink.out.write_record(record) {
            sink.failed = Some(e.to_string());
        }
    }

    pub fn flush(&mut self) {
        if let Some(s) = self.jsonl.as_mut().filter(|s| s.failed.is_none())
            && let Err(e) = s.out.flush()
        {
            s.failed = Some(e.to_string());
        }
        for s in [self.csv.as_mut(), self.samples.as_mut()]
            .into_iter()
            .flatten()
        {
            if s.failed.is_none()
                && let Err(e) = s.out.flush()
            {
                s.failed = Some(e.to_string());
            }
        }
    }

    /// One line per file that could not be written in full.
    pub fn problems(&self) -> Vec<String> {
        let jsonl = self.jsonl.as_ref().and_then(|s| s.problem("--timeline"));
        let csv = self.csv.as_ref().and_then(|s| s.problem("--csv"));
        let samples = self.samples.as_ref().and_then(|s| s.problem("--samples"));
        jsonl.into_iter().chain(csv).chain(samples).collect()
    }
}

impl<W> Sink<W> {
    fn problem(&self, flag: &str) -> Option<String> {
        let e = self.failed.as_ref()?;
        Some(format!(
            "{flag} {}: {e}; rows after the failure are missing (the report is complete)",
            self.path.display()
        ))
    }
}

/// A row as CSV cells; status codes and error kinds as `200=95 500=5`.
fn csv_record(r: &Row) -> Vec<String> {
    let pairs = |it: &mut dyn Iterator<Item = (String, u64)>| {
        it.map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    vec![
        r.second.to_string(),
        r.unix_ms.to_string(),
        r.scenario.clone().unwrap_or_default(),
        r.step.clone().unwrap_or_default(),
        r.requests.to_string(),
        r.errors.to_string(),
        r.p50_ms.to_string(),
        r.p95_ms.to_string(),
        r.p99_ms.to_string(),
        r.max_ms.to_string(),
        r.active_users.to_string(),
        pairs(&mut r.status_codes.iter().map(|(k, v)| (k.clone(), *v))),
        pairs(
            &mut r
                .errors_by_kind
                .iter()
                .map(|(k, v)| (k.name().to_string(), *v)),
        ),
    ]
}
