//! The tables and the summary line (stdout).

use std::fmt::Display;
use std::path::Path;

use bench_support::{median, Column, Samples, Table};

use crate::latency::Split;

/// The throughput runs: seconds for a batch of `jobs`, by worker count.
pub struct Throughput {
    /// Jobs per run.
    pub jobs: u32,
    /// The worker counts, in the order of the table.
    pub workers: Vec<u32>,
    /// Every run's seconds, by worker count.
    pub seconds: Samples<u32>,
}

impl Throughput {
    pub fn new(jobs: u32, workers: &[u32]) -> Throughput {
        Throughput {
            jobs,
            workers: workers.to_vec(),
            seconds: Samples::default(),
        }
    }

    /// From the median time, so that the two columns agree.
    fn jobs_per_minute(&self, workers: u32) -> f64 {
        jobs_per_minute(self.jobs, self.seconds.median(&workers))
    }
}

pub fn jobs_per_minute(jobs: u32, seconds: f64) -> f64 {
    f64::from(jobs) * 60.0 / seconds
}

pub fn joined<T: Display>(values: &[T], separator: &str) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

pub fn print_header(jobs: u32, runs: u32, latency_jobs: u32, image: &str, worker_bin: &Path) {
    println!(
        "bench-platform: {jobs} jobs per run, median of {runs} run(s); single job: median of {latency_jobs}"
    );
    println!(
        "workers: {} processes, one fresh queue and git project per run, shared by its workers; image {image}",
        worker_bin.display()
    );
    println!();
}

pub fn print_results(throughput: &Throughput, splits: &[Split]) {
    let mut table = Table::new([
        Column::left("workers", 10),
        Column::right("jobs/min", 10),
        Column::right(format!("s for {}", throughput.jobs), 16),
        Column::left("runs (s)", 0).gap(3),
    ]);
    for &workers in &throughput.workers {
        let runs: Vec<String> = throughput
            .seconds
            .values(&workers)
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect();
        table.row([
            workers.to_string(),
            format!("{:.1}", throughput.jobs_per_minute(workers)),
            format!("{:.2}", throughput.seconds.median(&workers)),
            runs.join(" "),
        ]);
    }
    table.print();
    println!();
    let split = median_split(splits);
    println!(
        "single job on an idle worker, ms (median of {} each):",
        splits.len()
    );
    let mut table = Table::new([
        Column::right("total", 10),
        Column::right("queue", 10),
        Column::right("container", 12),
        Column::right("git", 10),
        Column::right("other", 10),
    ]);
    table.row(
        [
            split.total,
            split.queue,
            split.container,
            split.git,
            split.other,
        ]
        .map(|ms| format!("{ms:.1}")),
    );
    table.print();
    println!();
    println!(
        "summary: {}; {}",
        throughput_summary(throughput),
        split_summary(&split)
    );
}

/// Each column's own median: they need not add up to the total's.
fn median_split(splits: &[Split]) -> Split {
    let column = |part: fn(&Split) -> f64| median(&splits.iter().map(part).collect::<Vec<_>>());
    Split {
        total: column(|s| s.total),
        queue: column(|s| s.queue),
        container: column(|s| s.container),
        git: column(|s| s.git),
        other: column(|s| s.other),
    }
}

/// Every worker count's rate, and the most workers' speed-up over the fewest.
fn throughput_summary(throughput: &Throughput) -> String {
    let rates: Vec<String> = throughput
        .workers
        .iter()
        .map(|&workers| {
            format!(
                "{workers} worker(s) {:.1} jobs/min",
                throughput.jobs_per_minute(workers)
            )
        })
        .collect();
    let fewest = throughput.workers.iter().copied().min();
    let most = throughput.workers.iter().copied().max();
    match (fewest, most) {
        (Some(fewest), Some(most)) if most > fewest => format!(
            "{} ({most} workers: {:.2}x the rate of {fewest})",
            rates.join(", "),
            throughput.jobs_per_minute(most) / throughput.jobs_per_minute(fewest),
        ),
        _ => rates.join(", "),
    }
}

fn split_summary(split: &Split) -> String {
    format!(
        "a single job {:.0} ms, {:.0}% of it in the container and {:.0}% in git",
        split.total,
        100.0 * split.container / split.total,
        100.0 * split.git / split.total
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_compares_the_most_workers_with_the_fewest() {
        let mut throughput = Throughput::new(100, &[1, 2]);
        throughput.seconds.record(1, 60.0);
        throughput.seconds.record(2, 40.0);
        let summary = throughput_summary(&throughput);
        assert!(summary.contains("1 worker(s) 100.0 jobs/min"), "{summary}");
        assert!(
            summary.contains("2 workers: 1.50x the rate of 1"),
            "{summary}"
        );
    }
}
