//! GitPython, one `python` process per sample; the script times the
//! operation itself, so interpreter start, `import git` and the untimed
//! setup are left out.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::workload::{Sizes, Workload};
use crate::Result;

#[derive(Debug, Clone)]
pub struct GitPython {
    pub python: PathBuf,
    pub script: PathBuf,
}

impl GitPython {
    /// GitPython's `__version__`, which also proves it is installed.
    pub fn version(&self) -> Result<String> {
        let output = Command::new(&self.python)
            .args(["-c", "import git; print(git.__version__)"])
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "{} cannot import GitPython (bench/git/run installs it): {}",
                self.python.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }

    /// Runs one sample of `workload` into `dest`; `url` is for the clones.
    pub fn measure(
        &self,
        workload: Workload,
        dest: &Path,
        url: &str,
        sizes: &Sizes,
    ) -> Result<Duration> {
        let output = Command::new(&self.python)
            .arg(&self.script)
            .arg(workload.python_name())
            .arg(dest)
            .args(["--url", url, "--ops", &sizes.ops.to_string()])
            .stdin(Stdio::null())
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "gitpython_bench.py {}: {}: {}",
                workload.python_name(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        parse_seconds(&output.stdout)
    }
}

/// The `seconds` of the script's last stdout line, a JSON object.
fn parse_seconds(stdout: &[u8]) -> Result<Duration> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .last()
        .ok_or("gitpython_bench.py printed nothing")?;
    let value: serde_json::Value = serde_json::from_str(line)?;
    let seconds = value["seconds"]
        .as_f64()
        .ok_or_else(|| format!("no seconds in {line}"))?;
    Ok(Duration::from_secs_f64(seconds))
}
