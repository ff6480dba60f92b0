//! Runs `pika_bench.py` for one workload and reads its JSON line.

use bench_support::PythonPeer;

use crate::workload::{Settings, Workload};
use crate::Result;

pub struct PikaRunner {
    pub peer: PythonPeer,
    pub url: String,
}

impl PikaRunner {
    /// Messages per second of one run, as the script measured it (its
    /// interpreter start and connection are not counted).
    pub fn throughput(&self, workload: Workload, settings: &Settings) -> Result<f64> {
        let report = self.peer.run([
            self.url.as_str(),
            workload.id(),
            &settings.messages.to_string(),
            "--size",
            &settings.body.len().to_string(),
            "--batch",
            &settings.batch.to_string(),
            "--prefetch",
            &settings.prefetch.to_string(),
        ])?;
        Ok(report.number("msgs_per_s")?)
    }
}
