//! Medians of seconds per column, the table, the goals and the summary line.

use std::collections::BTreeMap;

use bench_support::median;

use crate::peers::{Sample, Tool};
use crate::workload::Workload;

/// A column of the table: a tool, or one of docker-py's derived figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Column {
    Tool(Tool),
    /// docker-py from `docker.from_env()` to the result, inside its process.
    PyInProcess,
    /// docker-py's whole process minus that: interpreter start, `import
    /// docker`, exit.
    PyStart,
}

/// Every measured time in seconds, by column and workload.
#[derive(Debug, Default)]
pub struct Samples(BTreeMap<(Column, Workload), Vec<f64>>);

impl Samples {
    pub fn record(&mut self, tool: Tool, workload: Workload, sample: &Sample) {
        self.push(Column::Tool(tool), workload, sample.seconds);
        if let (Tool::DockerPy, Some(inside)) = (tool, sample.in_process) {
            self.push(Column::PyInProcess, workload, inside);
            self.push(Column::PyStart, workload, sample.seconds - inside);
        }
    }

    fn push(&mut self, column: Column, workload: Workload, seconds: f64) {
        self.0.entry((column, workload)).or_default().push(seconds);
    }

    fn median(&self, column: Column, workload: Workload) -> f64 {
        self.0
            .get(&(column, workload))
            .map_or(f64::NAN, |values| median(values))
    }
}

/// dock-lite (whole process) over a peer (whole process), at most `max`.
struct Goal {
    workload: Workload,
    peer: Tool,
    max: f64,
}

const GOALS: [Goal; 7] = [
    goal(Workload::Run, Tool::Cli, 1.0),
    goal(Workload::Run, Tool::DockerPy, 0.65),
    goal(Workload::Render, Tool::Cli, 1.0),
    goal(Workload::Render, Tool::DockerPy, 0.65),
    goal(Workload::List, Tool::Cli, 0.3),
    goal(Workload::Rebuild, Tool::Cli, 1.0),
    goal(Workload::Context, Tool::Cli, 1.0),
];

const fn goal(workload: Workload, peer: Tool, max: f64) -> Goal {
    Goal {
        workload,
        peer,
        max,
    }
}

/// A goal's ratios, as measured.
struct Verdict<'a> {
    goal: &'a Goal,
    /// Whole process over whole process: what the goal is judged on.
    whole: f64,
    /// dock-lite in this process over the peer's whole process.
    in_process: f64,
}

impl Verdict<'_> {
    fn met(&self) -> bool {
        self.whole <= self.goal.max
    }

    fn describe(&self) -> String {
        format!(
            "{} vs {} {:.3}x (goal <= {:.2}x)",
            self.goal.workload.label(),
            self.goal.peer.name(),
            self.whole,
            self.goal.max
        )
    }
}

/// Prints the table of medians, the goals and the summary line.
pub fn print_results(samples: &Samples, workloads: &[Workload], notes: &[String]) {
    print_table(samples, workloads);
    println!();
    for note in notes {
        println!("note: {note}");
    }
    if !notes.is_empty() {
        println!();
    }
    let verdicts: Vec<Verdict> = GOALS
        .iter()
        .filter(|goal| workloads.contains(&goal.workload))
        .map(|goal| verdict(samples, goal))
        .collect();
    print_goals(&verdicts);
    println!();
    println!("{}", summary(&verdicts));
}

fn print_table(samples: &Samples, workloads: &[Workload]) {
    let headings = [
        "dock-lite",
        "dl proc",
        "CLI",
        "py proc",
        "py inside",
        "py start",
    ];
    let headings: String = headings.iter().map(|h| format!("{h:>10}")).collect();
    println!("{:<30}{headings}   ref CLI/py", "median seconds");
    for &workload in workloads {
        let cell = |column| secs(samples.median(column, workload));
        let reference = workload
            .reference()
            .map_or("-".to_owned(), |(cli, py)| format!("{cli}/{py}"));
        println!(
            "{:<30}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}   {reference}",
            workload.label(),
            cell(Column::Tool(Tool::DockLite)),
            cell(Column::Tool(Tool::DockLiteProcess)),
            cell(Column::Tool(Tool::Cli)),
            cell(Column::Tool(Tool::DockerPy)),
            cell(Column::PyInProcess),
            cell(Column::PyStart),
        );
    }
}

fn verdict<'a>(samples: &Samples, goal: &'a Goal) -> Verdict<'a> {
    let peer = samples.median(Column::Tool(goal.peer), goal.workload);
    let median = |tool| samples.median(Column::Tool(tool), goal.workload);
    Verdict {
        goal,
        whole: median(Tool::DockLiteProcess) / peer,
        in_process: median(Tool::DockLite) / peer,
    }
}

fn print_goals(verdicts: &[Verdict]) {
    println!("goals: dock-lite whole process (dl proc) / peer whole process; lower is faster");
    for verdict in verdicts {
        println!(
            "  {:<64}{:<8}(in-process dock-lite: {:.2}x)",
            verdict.describe(),
            if verdict.met() { "met" } else { "MISSED" },
            verdict.in_process
        );
    }
}

fn summary(verdicts: &[Verdict]) -> String {
    let missed: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.met())
        .map(Verdict::describe)
        .collect();
    let met = verdicts.len() - missed.len();
    match missed.is_empty() {
        true => format!("summary: goals met {met}/{}", verdicts.len()),
        false => format!(
            "summary: goals met {met}/{}; missed: {}",
            verdicts.len(),
            missed.join("; ")
        ),
    }
}

/// Seconds with three decimals, or `n/a` when not measured.
pub fn secs(seconds: f64) -> String {
    if seconds.is_finite() {
        format!("{seconds:.3}")
    } else {
        "n/a".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_goal_is_met_at_or_below_its_ratio() {
        let mut samples = Samples::default();
        let sample = |seconds| Sample {
            seconds,
            in_process: None,
            outcome: Default::default(),
        };
        samples.record(Tool::DockLiteProcess, Workload::List, &sample(0.006));
        samples.record(Tool::DockLite, Workload::List, &sample(0.002));
        samples.record(Tool::Cli, Workload::List, &sample(0.024));
        let verdict = verdict(&samples, &GOALS[4]);
        assert!(verdict.met(), "{}", verdict.describe());
        assert!(summary(&[verdict]).ends_with("met 1/1"));
    }
}
