//! Medians, the table, the goals and the summary line.

use std::collections::BTreeMap;
use std::time::Duration;

pub use bench_support::median;

use crate::peers::Tool;
use crate::workload::{Fs, Workload};

/// repo-lite's median time over a peer's must not exceed `max`.
#[derive(Debug, Clone, Copy)]
pub struct Goal {
    pub workload: Workload,
    pub peer: Tool,
    pub max: f64,
}

pub const GOALS: [Goal; 6] = [
    Goal {
        workload: Workload::CloneFile,
        peer: Tool::Git,
        max: 0.6,
    },
    Goal {
        workload: Workload::CloneGit,
        peer: Tool::Git,
        max: 1.0,
    },
    Goal {
        workload: Workload::AddFiles,
        peer: Tool::Git,
        max: 0.15,
    },
    Goal {
        workload: Workload::AddFiles,
        peer: Tool::GitPython,
        max: 0.07,
    },
    Goal {
        workload: Workload::UpdateFile,
        peer: Tool::Git,
        max: 0.15,
    },
    Goal {
        workload: Workload::UpdateFile,
        peer: Tool::GitPython,
        max: 0.07,
    },
];

/// Every measured time in seconds, by workload, file system and tool.
#[derive(Debug, Default)]
pub struct Samples(BTreeMap<(Workload, Fs, Tool), Vec<f64>>);

impl Samples {
    pub fn record(&mut self, workload: Workload, fs: Fs, tool: Tool, time: Duration) {
        let times = self.0.entry((workload, fs, tool)).or_default();
        times.push(time.as_secs_f64());
    }

    /// The median in seconds; NaN when never measured.
    pub fn median(&self, workload: Workload, fs: Fs, tool: Tool) -> f64 {
        self.0
            .get(&(workload, fs, tool))
            .map_or(f64::NAN, |times| median(times))
    }

    /// repo-lite's median over `peer`'s.
    pub fn ratio(&self, workload: Workload, fs: Fs, peer: Tool) -> f64 {
        self.median(workload, fs, Tool::RepoLite) / self.median(workload, fs, peer)
    }

    /// The smallest and largest time, to show how noisy a cell was.
    fn spread(&self, workload: Workload, fs: Fs, tool: Tool) -> (f64, f64) {
        let times = self
            .0
            .get(&(workload, fs, tool))
            .map_or(&[][..], Vec::as_slice);
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        let max = times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (min, max)
    }
}

pub fn print_table(samples: &Samples, fss: &[Fs]) {
    println!(
        "{:<22}{:<7}{:>11}{:>11}{:>11}{:>9}{:>14}",
        "workload", "fs", "repo-lite", "git", "GitPython", "rl/git", "rl/GitPython"
    );
    for workload in Workload::ALL {
        for &fs in fss {
            let cell = |tool| format!("{:.3} s", samples.median(workload, fs, tool));
            println!(
                "{:<22}{:<7}{:>11}{:>11}{:>11}{:>8.2}x{:>13.3}x",
                workload.label(),
                fs.to_string(),
                cell(Tool::RepoLite),
                cell(Tool::Git),
                cell(Tool::GitPython),
                samples.ratio(workload, fs, Tool::Git),
                samples.ratio(workload, fs, Tool::GitPython),
            );
        }
    }
}

/// min..max of every cell: disk rows in particular vary run to run.
pub fn print_spread(samples: &Samples, fss: &[Fs]) {
    println!("spread (min..max seconds):");
    for workload in Workload::ALL {
        for &fs in fss {
            let cells: Vec<String> = Tool::ALL
                .iter()
                .map(|&tool| {
                    let (min, max) = samples.spread(workload, fs, tool);
                    format!("{} {min:.3}..{max:.3}", tool.name())
                })
                .collect();
            println!(
                "  {:<22}{:<7}{}",
                workload.label(),
                fs.to_string(),
                cells.join("   ")
            );
        }
    }
}

/// Prints every goal on every file system as met or missed and returns
/// how many were met per file system.
pub fn print_goals(samples: &Samples, fss: &[Fs]) -> Vec<(Fs, usize)> {
    let mut met = Vec::new();
    for &fs in fss {
        let mut count = 0;
        for goal in GOALS {
            let ratio = samples.ratio(goal.workload, fs, goal.peer);
            let ok = ratio <= goal.max;
            count += usize::from(ok);
            println!(
                "goal {:<22}{:<7}repo-lite/{:<10} {:>6.3}x <= {:.2}x  {}",
                goal.workload.label(),
                fs.to_string(),
                goal.peer.name(),
                ratio,
                goal.max,
                if ok { "met" } else { "MISSED" }
            );
        }
        met.push((fs, count));
    }
    met
}

pub fn print_summary(met: &[(Fs, usize)], runs: u32) {
    let parts: Vec<String> = met
        .iter()
        .map(|(fs, count)| format!("{fs} {count}/{} goals met", GOALS.len()))
        .collect();
    let all = met.iter().all(|&(_, count)| count == GOALS.len());
    println!(
        "summary: {} (medians of {runs} runs){}",
        parts.join(", "),
        if all { "; all goals met" } else { "" }
    );
}
