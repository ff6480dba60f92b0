//! Medians, the tables and the summary line (stdout).

use std::fmt::Display;
use std::path::Path;

pub use bench_support::median;

use crate::latency::Split;

/// The throughput runs of one worker count.
pub struct Throughput {
    pub workers: u32,
    jobs: u32,
    seconds: Vec<f64>,
}

impl Throughput {
    pub fn new(workers: u32) -> Throughput {
        Throughput {
            workers,
            jobs: 0,
            seconds: Vec::new(),
        }
    }

    pub fn record(&mut self, jobs: u32, seconds: f64) {
        self.jobs = jobs;
        self.seconds.push(seconds);
    }

    fn median_seconds(&self) -> f64 {
        median(&self.seconds)
    }

    /// From the median time, so that the two columns agree.
    fn jobs_per_minute(&self) -> f64 {
        jobs_per_minute(self.jobs, self.median_seconds())
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

pub fn print_results(rows: &[Throughput], splits: &[Split]) {
    let jobs = rows.first().map_or(0, |row| row.jobs);
    println!(
        "{:<10}{:>10}{:>16}   runs (s)",
        "workers",
        "jobs/min",
        format!("s for {jobs}")
    );
    for row in rows {
        let runs: Vec<String> = row.seconds.iter().map(|s| format!("{s:.2}")).collect();
        println!(
            "{:<10}{:>10.1}{:>16.2}   {}",
            row.workers,
            row.jobs_per_minute(),
            row.median_seconds(),
            runs.join(" ")
        );
    }
    println!();
    let split = median_split(splits);
    println!(
        "single job on an idle worker, ms (median of {} each):",
        splits.len()
    );
    println!(
        "{:>10}{:>10}{:>12}{:>10}{:>10}",
        "total", "queue", "container", "git", "other"
    );
    println!(
        "{:>10.1}{:>10.1}{:>12.1}{:>10.1}{:>10.1}",
        split.total, split.queue, split.container, split.git, split.other
    );
    println!();
    println!(
        "summary: {}; {}",
        throughput_summary(rows),
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
fn throughput_summary(rows: &[Throughput]) -> String {
    let rates: Vec<String> = rows
        .iter()
        .map(|row| {
            format!(
                "{} worker(s) {:.1} jobs/min",
                row.workers,
                row.jobs_per_minute()
            )
        })
        .collect();
    let fewest = rows.iter().min_by_key(|row| row.workers);
    let most = rows.iter().max_by_key(|row| row.workers);
    match (fewest, most) {
        (Some(fewest), Some(most)) if most.workers > fewest.workers => format!(
            "{} ({} workers: {:.2}x the rate of {})",
            rates.join(", "),
            most.workers,
            most.jobs_per_minute() / fewest.jobs_per_minute(),
            fewest.workers
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
    fn medians_of_odd_even_and_no_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn the_summary_compares_the_most_workers_with_the_fewest() {
        let mut one = Throughput::new(1);
        one.record(100, 60.0);
        let mut two = Throughput::new(2);
        two.record(100, 40.0);
        let summary = throughput_summary(&[one, two]);
        assert!(summary.contains("1 worker(s) 100.0 jobs/min"), "{summary}");
        assert!(
            summary.contains("2 workers: 1.50x the rate of 1"),
            "{summary}"
        );
    }
}
