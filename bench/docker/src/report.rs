//! Seconds per column, the table, the goals and the summary line.

use bench_support::{fixed, Column as TableColumn, Table, Tally, Target};

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
pub struct Samples(bench_support::Samples<(Column, Workload)>);

impl Samples {
    pub fn record(&mut self, tool: Tool, workload: Workload, sample: &Sample) {
        self.0
            .record((Column::Tool(tool), workload), sample.seconds);
        if let (Tool::DockerPy, Some(inside)) = (tool, sample.in_process) {
            self.0.record((Column::PyInProcess, workload), inside);
            self.0
                .record((Column::PyStart, workload), sample.seconds - inside);
        }
    }

    fn median(&self, column: Column, workload: Workload) -> f64 {
        self.0.median(&(column, workload))
    }
}

/// dock-lite (whole process) over a peer (whole process), at most some ratio.
const GOALS: [Target<Workload, Tool>; 7] = [
    Target::at_most(Workload::Run, Tool::Cli, 1.0),
    Target::at_most(Workload::Run, Tool::DockerPy, 0.65),
    Target::at_most(Workload::Render, Tool::Cli, 1.0),
    Target::at_most(Workload::Render, Tool::DockerPy, 0.65),
    Target::at_most(Workload::List, Tool::Cli, 0.3),
    Target::at_most(Workload::Rebuild, Tool::Cli, 1.0),
    Target::at_most(Workload::Context, Tool::Cli, 1.0),
];

/// A goal's ratios, as measured.
struct Verdict<'a> {
    goal: &'a Target<Workload, Tool>,
    /// Whole process over whole process: what the goal is judged on.
    whole: f64,
    /// dock-lite in this process over the peer's whole process.
    in_process: f64,
}

impl Verdict<'_> {
    fn met(&self) -> bool {
        self.goal.goal.met(self.whole)
    }

    fn describe(&self) -> String {
        format!(
            "{} vs {} {:.3}x (goal {})",
            self.goal.workload.label(),
            self.goal.peer.name(),
            self.whole,
            self.goal.goal
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

/// The table's columns after the label, in order.
const COLUMNS: [(&str, Column); 6] = [
    ("dock-lite", Column::Tool(Tool::DockLite)),
    ("dl proc", Column::Tool(Tool::DockLiteProcess)),
    ("CLI", Column::Tool(Tool::Cli)),
    ("py proc", Column::Tool(Tool::DockerPy)),
    ("py inside", Column::PyInProcess),
    ("py start", Column::PyStart),
];

fn print_table(samples: &Samples, workloads: &[Workload]) {
    let mut table = Table::new(
        std::iter::once(TableColumn::left("median seconds", 30))
            .chain(COLUMNS.map(|(heading, _)| TableColumn::right(heading, 10)))
            .chain([TableColumn::left("ref CLI/py", 0).gap(3)]),
    );
    for &workload in workloads {
        let reference = workload
            .reference()
            .map_or("-".to_owned(), |(cli, py)| format!("{cli}/{py}"));
        table.row(
            std::iter::once(workload.label().to_owned())
                .chain(COLUMNS.map(|(_, column)| fixed(samples.median(column, workload), 3)))
                .chain([reference]),
        );
    }
    table.print();
}

fn verdict<'a>(samples: &Samples, goal: &'a Target<Workload, Tool>) -> Verdict<'a> {
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
            verdict.goal.goal.verdict(verdict.whole),
            verdict.in_process
        );
    }
}

fn summary(verdicts: &[Verdict]) -> String {
    let mut tally = Tally::default();
    verdicts.iter().for_each(|v| tally.add(v.met()));
    let missed: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.met())
        .map(Verdict::describe)
        .collect();
    match missed.is_empty() {
        true => format!("summary: goals met {tally}"),
        false => format!("summary: goals met {tally}; missed: {}", missed.join("; ")),
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
