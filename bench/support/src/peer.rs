//! The peers that report their own figures: a Python script run in a fresh
//! interpreter per sample (pika, docker-py, GitPython), or any child that
//! reports the same way (`bench-docker --once`). Each prints one JSON object
//! on its last stdout line; what it printed before is ignored.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::process;

/// A peer script and the Python that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonPeer {
    /// The interpreter, with the peer's library installed (the run scripts
    /// make `bench/.venv`, see [`DEFAULT_PYTHON`](crate::DEFAULT_PYTHON)).
    pub python: PathBuf,
    /// The script.
    pub script: PathBuf,
}

/// What a reporting child printed, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// From spawn to exit: interpreter start and imports included.
    pub elapsed: Duration,
    /// The JSON object of its last stdout line.
    pub json: Value,
    what: String,
}

impl PythonPeer {
    /// `script` run by `python`.
    pub fn new(python: impl Into<PathBuf>, script: impl Into<PathBuf>) -> PythonPeer {
        PythonPeer {
            python: python.into(),
            script: script.into(),
        }
    }

    /// `python script args...`, for a caller that sets more (stdin, the
    /// environment) before [`run_reporting`].
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.python);
        command.arg(&self.script).args(args);
        command
    }

    /// Runs the script with `args` (stdin closed, stdout and stderr
    /// captured) and reads its report. Fails when it cannot start, exits
    /// unsuccessfully (with the end of its stderr), or prints no JSON line.
    pub fn run<I, S>(&self, args: I) -> Result<Report>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_reporting(self.command(args), &self.name()).map_err(|err| match err {
            // Not starting is the interpreter's fault: name it.
            Error::Spawn { what, source } => Error::Spawn {
                what: format!("{} {what}", self.python.display()),
                source,
            },
            other => other,
        })
    }

    /// The `__version__` of `module` in this Python, which also proves that
    /// the script's library is installed.
    pub fn module_version(&self, module: &str) -> Result<String> {
        let mut command = Command::new(&self.python);
        command
            .arg("-c")
            .arg(format!("import {module}; print({module}.__version__)"));
        match process::run(&mut command, &self.python.display().to_string()) {
            Ok(output) => Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned()),
            Err(Error::Failed { stderr, .. }) => Err(Error::ModuleMissing {
                python: self.python.clone(),
                module: module.to_owned(),
                stderr,
            }),
            Err(other) => Err(other),
        }
    }

    /// The script's file name, as messages show it. The arguments are left
    /// out: they may hold a broker URL with its password.
    fn name(&self) -> String {
        let name = self.script.file_name().unwrap_or(self.script.as_os_str());
        name.to_string_lossy().into_owned()
    }
}

/// Runs `command`, a child that reports as a peer script does, timed from
/// spawn to exit; `what` names it in errors.
pub fn run_reporting(mut command: Command, what: &str) -> Result<Report> {
    let (elapsed, output) = process::timed(&mut command, what)?;
    let json = last_json_line(&String::from_utf8_lossy(&output.stdout), what)?;
    Ok(Report {
        elapsed,
        json,
        what: what.to_owned(),
    })
}

impl Report {
    /// The number under `field`; an error naming the field when there is
    /// none.
    pub fn number(&self, field: &str) -> Result<f64> {
        self.json[field]
            .as_f64()
            .ok_or_else(|| Error::MissingField {
                what: self.what.clone(),
                field: field.to_owned(),
                line: self.json.to_string(),
            })
    }
}

/// The JSON value on the last line of `stdout`; `what` names the child in
/// errors.
pub fn last_json_line(stdout: &str, what: &str) -> Result<Value> {
    let line = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .ok_or_else(|| Error::NoReport {
            what: what.to_owned(),
        })?;
    serde_json::from_str(line).map_err(|source| Error::BadReport {
        what: what.to_owned(),
        line: line.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_the_last_line_whatever_came_before() {
        let stdout = "warming up\n{\"seconds\": 0.25}\n\n";
        let json = last_json_line(stdout, "peer.py").unwrap();
        assert_eq!(json["seconds"].as_f64(), Some(0.25));
    }

    #[test]
    fn no_output_or_a_line_that_is_not_json_is_an_error_naming_the_peer() {
        let none = last_json_line("", "peer.py").unwrap_err();
        assert_eq!(none.to_string(), "peer.py printed nothing");
        let bad = last_json_line("done in 3 s\n", "peer.py").unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("peer.py printed \"done in 3 s\": "),
            "{bad}"
        );
    }

    #[test]
    fn a_missing_number_is_an_error_naming_the_field() {
        let report = Report {
            elapsed: Duration::ZERO,
            json: serde_json::json!({"msgs_per_s": 1500.5, "tool": "pika"}),
            what: "pika_bench.py".into(),
        };
        assert_eq!(report.number("msgs_per_s").unwrap(), 1500.5);
        let err = report.number("tool").unwrap_err();
        assert!(err.to_string().contains("no number \"tool\""), "{err}");
    }

    #[test]
    fn a_peer_is_run_by_its_python_and_timed_whole() {
        // `sh` stands in for Python: it runs the script as Python would.
        let dir = std::env::temp_dir().join(format!("bench-support-peer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("peer.sh");
        std::fs::write(
            &script,
            "echo starting >&2\necho \"{\\\"seconds\\\": $1}\"\n",
        )
        .unwrap();
        let peer = PythonPeer::new("sh", &script);
        let report = peer.run(["0.5"]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(report.number("seconds").unwrap(), 0.5);
        assert!(report.elapsed > Duration::ZERO);
        assert_eq!(peer.name(), "peer.sh");
    }

    #[test]
    fn a_missing_interpreter_is_named_in_the_error() {
        let peer = PythonPeer::new("/nonexistent/python", "/bench/peer.py");
        let err = peer.run(["x"]).unwrap_err();
        assert!(matches!(err, Error::Spawn { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("cannot run /nonexistent/python peer.py: "),
            "{err}"
        );
    }

    #[test]
    fn a_module_that_does_not_import_is_reported_as_missing() {
        let peer = PythonPeer::new("sh", "unused");
        // `sh -c "import ..."` fails as a Python without the module would.
        let err = peer.module_version("no_such_module").unwrap_err();
        assert!(matches!(err, Error::ModuleMissing { .. }), "{err:?}");
    }
}
