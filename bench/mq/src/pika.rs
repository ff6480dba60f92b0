//! Runs `pika_bench.py` for one workload and reads its JSON line.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::workload::{Settings, Workload};
use crate::Result;

pub struct PikaRunner {
    pub python: PathBuf,
    pub script: PathBuf,
    pub url: String,
}

impl PikaRunner {
    /// Messages per second of one run, as the script measured it (its
    /// interpreter start and connection are not counted).
    pub fn throughput(&self, workload: Workload, settings: &Settings) -> Result<f64> {
        let output = Command::new(&self.python)
            .arg(&self.script)
            .args([&self.url, workload.id(), &settings.messages.to_string()])
            .args(["--size", &settings.body.len().to_string()])
            .args(["--batch", &settings.batch.to_string()])
            .args(["--prefetch", &settings.prefetch.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|err| format!("cannot run {}: {err}", self.python.display()))?;
        if !output.status.success() {
            return Err(
                format!("pika_bench.py {} failed: {}", workload.id(), output.status).into(),
            );
        }
        msgs_per_second(&String::from_utf8_lossy(&output.stdout))
    }
}

/// The `msgs_per_s` field of the script's last output line.
fn msgs_per_second(stdout: &str) -> Result<f64> {
    let line = stdout
        .lines()
        .last()
        .ok_or("pika_bench.py printed nothing")?;
    let report: serde_json::Value = serde_json::from_str(line)?;
    report["msgs_per_s"]
        .as_f64()
        .ok_or_else(|| format!("no msgs_per_s in {line}").into())
}
