//! Running a tool under measurement: CPU time pinned to CPU 1, peak RSS and
//! PSS, and the median and spread of repeated runs.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A command to measure: the binary, its arguments and its environment.
pub struct Cmd<'a> {
    pub bin: &'a Path,
    pub args: Vec<String>,
    pub env: Vec<(&'static str, String)>,
}

pub struct Measured {
    pub stdout: String,
    /// User + system CPU seconds of the whole process.
    pub cpu_secs: f64,
}

/// Runs `cmd` pinned to CPU 1 (nginx has CPU 0) under /usr/bin/time.
pub fn pinned(cmd: &Cmd) -> Result<Measured> {
    let out = Command::new("taskset")
        .args(["-c", "1", "/usr/bin/time", "-f", "TIME %U %S"])
        .arg(cmd.bin)
        .args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", cmd.bin.display()))?;
    let f = time_fields(cmd, &out)?;
    Ok(Measured {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        cpu_secs: f[0] + f[1],
    })
}

/// Peak memory of `cmd` in kB: RSS (getrusage, via /usr/bin/time) and PSS
/// (`/proc/PID/smaps_rollup`, read every `every`: reading it walks every
/// mapping under the process's lock, so often would slow the run). PSS
/// divides pages shared between instances (compiled code, copy-on-write
/// memory images) among them. Not pinned: starting 10,000 users needs both
/// cores. `samples` gets (seconds since start, RSS kB, PSS kB) at each read.
pub fn peak_memory(
    cmd: &Cmd,
    every: Duration,
    samples: &mut Vec<(f64, u64, u64)>,
) -> Result<(u64, u64)> {
    let started = std::time::Instant::now();
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "TIME %M"])
        .arg(cmd.bin)
        .args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let mut pss = 0u64;
    while child.try_wait()?.is_none() {
        let pid = std::fs::read_to_string(&children)
            .ok()
            .and_then(|c| c.split_whitespace().next().map(String::from));
        if let Some(pid) = pid {
            let field = |file: &str, name: &str| -> Option<u64> {
                std::fs::read_to_string(format!("/proc/{pid}/{file}"))
                    .ok()?
                    .lines()
                    .find(|l| l.starts_with(name))?
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()
            };
            if let (Some(p), Some(r)) = (field("smaps_rollup", "Pss:"), field("status", "VmRSS:")) {
                pss = pss.max(p);
                samples.push((started.elapsed().as_secs_f64(), r, p));
            }
        }
        std::thread::sleep(every);
    }
    let out = child.wait_with_output()?;
    let rss = time_fields(cmd, &out)?[0] as u64;
    Ok((rss, pss))
}

/// The numbers of /usr/bin/time's `TIME …` line, after checking the run succeeded.
fn time_fields(cmd: &Cmd, out: &std::process::Output) -> Result<Vec<f64>> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{} {:?} failed: {stderr}", cmd.bin.display(), cmd.args);
    }
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("TIME "))
        .context("no /usr/bin/time line")?;
    Ok(line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect())
}

/// The median of repeated measurements, and their range.
#[derive(Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Spread {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Spread {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    /// "median (min–max)" with `digits` decimals.
    pub fn show(&self, digits: usize) -> String {
        if self.median.is_nan() {
            return "n/a".into();
        }
        format!(
            "{} ({}–{})",
            thousands(self.median, digits),
            thousands(self.min, digits),
            thousands(self.max, digits)
        )
    }
}

/// `x` with `digits` decimals and thousands separated by commas.
pub fn thousands(x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let (sign, int) = int.strip_prefix('-').map_or(("", int), |i| ("-", i));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{out}")
    } else {
        format!("{sign}{out}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_three_is_the_middle_one_and_the_range_is_kept() {
        let s = Spread::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Spread::of(&[1.0, 4.0]).median, 2.5);
        assert_eq!(s.show(0), "2 (1–3)");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(1234567.0, 0), "1,234,567");
        assert_eq!(thousands(999.5, 1), "999.5");
        assert_eq!(thousands(-12345.25, 2), "-12,345.25");
    }
}
