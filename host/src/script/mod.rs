//! `scheduler-host script build FILE.js|FILE.py -o FILE.wasm`: a scripted
//! journey compiled to a component of the `scheduler:script` world, with
//! the project's SDK shim beside it (`scheduler-script.js`,
//! `scheduler_script.py`) and an entry that exports `journey` over the
//! script's functions. componentize-js (npm) and componentize-py (PyPI) do
//! the compiling; each is installed into the user's cache when missing.
//! A build error names the script's file, line and column.

mod tools;

use crate::error::Failure;
use std::path::Path;
use std::process::Command;

/// The script world, as `wit/script` defines it (the one copy).
const WIT: &str = include_str!("../../../wit/script/script.wit");

/// Compiles `script` to the component `out`.
pub fn build(script: &Path, out: &Path) -> Result<(), Failure> {
    let shown = script.display().to_string();
    let text = std::fs::read_to_string(script)
        .map_err(|e| Failure::input(format!("{shown}: cannot read it: {e}")))?;
    let work = tempfile::tempdir().map_err(|e| Failure::internal(e.into()))?;
    let dir = work.path();
    let wit = dir.join("wit");
    write(&wit.join("script.wit"), WIT)?;
    let built = dir.join("out.wasm");
    let file = script
        .file_name()
        .map_or(shown.clone(), |n| n.to_string_lossy().into_owned());
    match script.extension().and_then(|e| e.to_str()) {
        Some("js" | "mjs") => javascript(&text, dir, &wit, &built, &file)?,
        Some("py") => python(&text, dir, &wit, &built, &file)?,
        _ => {
            return Err(Failure::input(format!(
                "{shown}: expected a .js or .py script (a Rust script is a crate: cargo build --target wasm32-wasip2)"
            )));
        }
    }
    let bytes = std::fs::read(&built).map_err(|e| Failure::internal(e.into()))?;
    crate::atomic::write_atomically(out, &bytes)
        .map_err(|e| Failure::input(format!("{}: {e:#}", out.display())))
}

/// The script as `script.js` beside the shim (its `"scheduler:script"`
/// import now names the shim), and the entry; componentize-js follows the
/// relative imports.
fn javascript(text: &str, dir: &Path, wit: &Path, out: &Path, file: &str) -> Result<(), Failure> {
    let script = text
        .replace("\"scheduler:script\"", "\"./scheduler-script.js\"")
        .replace("'scheduler:script'", "'./scheduler-script.js'");
    write(&dir.join("script.js"), &script)?;
    write(
        &dir.join("scheduler-script.js"),
        include_str!("scheduler-script.js"),
    )?;
    write(&dir.join("entry.js"), include_str!("entry.js"))?;
    let tool = tools::componentize_js()?;
    let mut cmd = Command::new(&tool);
    cmd.current_dir(dir)
        .arg("entry.js")
        .arg("--wit")
        .arg(wit)
        .args(["--world-name", "script"])
        // A script speaks through the SDK only: no WASI HTTP of its own.
        .args(["--disable", "http", "fetch-event"])
        .arg("--out")
        .arg(out);
    compile(cmd, "script.js", file)
}

/// The script as the module `user_script` beside the shim and the entry
/// (`app`), compiled by componentize-py.
fn python(text: &str, dir: &Path, wit: &Path, out: &Path, file: &str) -> Result<(), Failure> {
    write(&dir.join("user_script.py"), text)?;
    write(
        &dir.join("scheduler_script.py"),
        include_str!("scheduler_script.py"),
    )?;
    write(&dir.join("app.py"), include_str!("app.py"))?;
    let tool = tools::componentize_py()?;
    let mut cmd = Command::new(&tool);
    cmd.current_dir(dir)
        .arg("-d")
        .arg(wit)
        .args(["-w", "script", "componentize", "app", "-p", "."])
        .arg("-o")
        .arg(out);
    compile(cmd, "user_script.py", file)
}

/// Runs the compiler; on failure, the lines that name the script (its
/// name as the user wrote it), else the last line of its output.
fn compile(mut cmd: Command, copy: &str, file: &str) -> Result<(), Failure> {
    let output = cmd
        .output()
        .map_err(|e| Failure::internal(anyhow::anyhow!("running {cmd:?}: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Err(Failure::input(build_error(&text, copy, file)))
}

/// The compiler's complaint about the script, as one line naming `file`:
/// componentize-js says `script.js:2:11 SyntaxError: …`, componentize-py
/// a traceback through `user_script.py`, line N.
pub fn build_error(text: &str, copy: &str, file: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    // JavaScript: "script.js:L:C Message" (the first such line).
    // The shim first: its name holds the copy's ("scheduler-script.js").
    let named = |l: &str| {
        l.replace("'scheduler-script.js'", "'scheduler:script'")
            .replace(copy, file)
    };
    if let Some(l) = lines.iter().find(|l| l.starts_with(&format!("{copy}:"))) {
        return named(l);
    }
    // Python: the last frame in the script, and the exception's line.
    let frame = lines
        .iter()
        .rfind(|l| l.starts_with("File ") && l.contains(copy))
        .and_then(|l| l.split("line ").nth(1))
        .and_then(|n| n.split(|c: char| !c.is_ascii_digit()).next());
    let cause = lines
        .iter()
        .rev()
        .find(|l| {
            l.contains("Error:") && !l.starts_with("Caused by") && !l.starts_with("AssertionError")
        })
        .copied()
        .or_else(|| lines.iter().rev().find(|l| !l.is_empty()).copied())
        .unwrap_or("the compiler failed");
    match frame {
        Some(n) => format!("{file}:{n}: {}", named(cause)),
        None => format!("{file}: {}", named(cause)),
    }
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Failure::internal(e.into()))?;
    }
    std::fs::write(path, text).map_err(|e| Failure::internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_javascript_error_names_the_scripts_file_line_and_column() {
        let out = "Error: Failed to initialize component\nException while evaluating top-level script\nscript.js:2:11 SyntaxError: expected expression, got ';':\nscript.js:2:11   let x = ;\n";
        assert_eq!(
            build_error(out, "script.js", "journey.js"),
            "journey.js:2:11 SyntaxError: expected expression, got ';':"
        );
    }

    #[test]
    fn a_python_error_names_the_scripts_file_and_line() {
        let out = "Traceback (most recent call last):\n  File \"/tmp/x/app.py\", line 12, in <module>\n  File \"/tmp/x/user_script.py\", line 7\n    def iteration(ctx)\n                      ^\nSyntaxError: expected ':'\n\nCaused by:\n    AssertionError: bad\n";
        assert_eq!(
            build_error(out, "user_script.py", "journey.py"),
            "journey.py:7: SyntaxError: expected ':'"
        );
    }
}
