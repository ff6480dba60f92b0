//! The table, the spread of every cell, the goals and the summary line.

use bench_support::{Column, Table, Tally, Target};

use crate::peers::Tool;
use crate::workload::{Fs, Workload};

/// repo-lite's median time over a peer's, at most some ratio.
pub const GOALS: [Target<Workload, Tool>; 14] = [
    Target::at_most(Workload::CloneFile, Tool::Git, 0.6),
    Target::at_most(Workload::CloneGit, Tool::Git, 1.0),
    Target::at_most(Workload::AddFiles, Tool::Git, 0.15),
    Target::at_most(Workload::AddFiles, Tool::GitPython, 0.07),
    Target::at_most(Workload::UpdateFile, Tool::Git, 0.15),
    Target::at_most(Workload::UpdateFile, Tool::GitPython, 0.07),
    Target::at_most(Workload::Push1File, Tool::Git, 1.0),
    Target::at_most(Workload::Push1File, Tool::GitPython, 0.7),
    Target::at_most(Workload::Push200File, Tool::Git, 1.0),
    Target::at_most(Workload::Push200File, Tool::GitPython, 0.7),
    Target::at_most(Workload::Push1Git, Tool::Git, 1.0),
    Target::at_most(Workload::Push1Git, Tool::GitPython, 0.7),
    Target::at_most(Workload::Push200Git, Tool::Git, 1.0),
    Target::at_most(Workload::Push200Git, Tool::GitPython, 0.7),
];

/// Every measured time in seconds, by workload, file system and tool.
pub type Samples = bench_support::Samples<(Workload, Fs, Tool)>;

/// repo-lite's median over `peer`'s.
fn ratio(samples: &Samples, workload: Workload, fs: Fs, peer: Tool) -> f64 {
    samples.ratio(&(workload, fs, Tool::RepoLite), &(workload, fs, peer))
}

pub fn print_table(samples: &Samples, fss: &[Fs], workloads: &[Workload]) {
    let mut table = Table::new([
        Column::left("workload", 22),
        Column::left("fs", 7),
        Column::right("repo-lite", 11),
        Column::right("git", 11),
        Column::right("GitPython", 11),
        Column::right("rl/git", 9),
        Column::right("rl/GitPython", 14),
    ]);
    for &workload in workloads {
        for &fs in fss {
            let cell = |tool| format!("{:.3} s", samples.median(&(workload, fs, tool)));
            table.row([
                workload.label().to_owned(),
                fs.to_string(),
                cell(Tool::RepoLite),
                cell(Tool::Git),
                cell(Tool::GitPython),
                format!("{:.2}x", ratio(samples, workload, fs, Tool::Git)),
                format!("{:.3}x", ratio(samples, workload, fs, Tool::GitPython)),
            ]);
        }
    }
    table.print();
}

/// min..max of every cell: disk rows in particular vary run to run.
pub fn print_spread(samples: &Samples, fss: &[Fs], workloads: &[Workload]) {
    println!("spread (min..max seconds):");
    for &workload in workloads {
        for &fs in fss {
            let cells: Vec<String> = Tool::ALL
                .iter()
                .map(|&tool| {
                    let spread = samples.spread(&(workload, fs, tool));
                    format!("{} {:.3}..{:.3}", tool.name(), spread.min, spread.max)
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
pub fn print_goals(samples: &Samples, fss: &[Fs], workloads: &[Workload]) -> Vec<(Fs, Tally)> {
    let mut met = Vec::new();
    for &fs in fss {
        let mut tally = Tally::default();
        for target in GOALS
            .iter()
            .filter(|target| workloads.contains(&target.workload))
        {
            let ratio = ratio(samples, target.workload, fs, target.peer);
            tally.add(target.goal.met(ratio));
            println!(
                "goal {:<22}{:<7}repo-lite/{:<10} {:>6.3}x {}  {}",
                target.workload.label(),
                fs.to_string(),
                target.peer.name(),
                ratio,
                target.goal,
                target.goal.verdict(ratio)
            );
        }
        met.push((fs, tally));
    }
    met
}

pub fn print_summary(met: &[(Fs, Tally)], runs: u32) {
    let parts: Vec<String> = met
        .iter()
        .map(|(fs, tally)| format!("{fs} {tally} goals met"))
        .collect();
    let all = met.iter().all(|(_, tally)| tally.all_met());
    println!(
        "summary: {} (medians of {runs} runs){}",
        parts.join(", "),
        if all { "; all goals met" } else { "" }
    );
}
