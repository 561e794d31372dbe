//! `--junit FILE`: one JUnit testcase per threshold, so CI systems that read
//! JUnit (GitLab, Jenkins, GitHub test reporters) show each verdict; a failed
//! threshold's message carries the measured value.

use quick_xml::escape::escape;
use stats::Verdict;
use std::fmt::Write;

pub fn render(suite: &str, verdicts: &[Verdict], seconds: f64) -> String {
    let failures = verdicts.iter().filter(|v| !v.ok).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"thresholds\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">",
        verdicts.len()
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">",
        escape(suite),
        verdicts.len()
    );
    for v in verdicts {
        let name = format!("{} {}", v.metric, v.threshold);
        let _ = write!(
            s,
            "    <testcase name=\"{}\" classname=\"{}\"",
            escape(&name),
            escape(format!("{suite}.thresholds"))
        );
        if v.ok {
            s += "/>\n";
            continue;
        }
        let window = v
            .window_seconds
            .map(|w| format!(" (over a {w}s window)"))
            .unwrap_or_default();
        let message = format!("{name} failed: measured {}{window}", v.value);
        let _ = writeln!(
            s,
            ">\n      <failure type=\"threshold\" message=\"{}\">{}</failure>\n    </testcase>",
            escape(&message),
            escape(&message)
        );
    }
    s += "  </testsuite>\n</testsuites>\n";
    s
}
