//! The results table and the summary line.

use bench_support::{fixed, Column, Goal, Table, Tally};

use crate::peers::Tool;
use crate::workload::Workload;

/// mq-lite must reach this share of raw amiquip's speed on every workload.
pub const AMIQUIP_GOAL: Goal = Goal::AtLeast(0.95);

/// Every measured msgs/s, by tool and workload.
pub type Samples = bench_support::Samples<(Tool, Workload)>;

/// mq-lite's speed over a peer's, and the goal it is held to.
struct Ratio {
    value: f64,
    goal: Goal,
}

impl Ratio {
    fn met(&self) -> bool {
        self.goal.met(self.value)
    }

    fn cell(&self) -> String {
        let verdict = self.goal.verdict(self.value);
        format!("{:.2}x ({} {verdict})", self.value, self.goal)
    }
}

/// One workload's line of the table.
struct Row<'a> {
    workload: Workload,
    samples: &'a Samples,
}

impl Row<'_> {
    fn speed(&self, tool: Tool) -> f64 {
        self.samples.median(&(tool, self.workload))
    }

    fn against(&self, peer: Tool, goal: Goal) -> Ratio {
        Ratio {
            value: self
                .samples
                .ratio(&(Tool::MqLite, self.workload), &(peer, self.workload)),
            goal,
        }
    }

    fn against_pika(&self) -> Ratio {
        self.against(Tool::Pika, self.workload.pika_goal())
    }

    fn against_amiquip(&self) -> Ratio {
        self.against(Tool::Amiquip, AMIQUIP_GOAL)
    }
}

/// Prints the table of medians and ratios, then the summary line.
pub fn print_results(samples: &Samples, workloads: &[Workload]) {
    let rows: Vec<Row> = workloads
        .iter()
        .map(|&workload| Row { workload, samples })
        .collect();
    let mut table = Table::new([
        Column::left("workload (median msgs/s)", 32),
        Column::right("mq-lite", 10),
        Column::right("pika", 10),
        Column::right("amiquip", 10),
        Column::left("mq-lite/pika", 26).gap(2),
        Column::left("mq-lite/amiquip", 0),
    ]);
    for row in &rows {
        table.row([
            row.workload.label().into(),
            fixed(row.speed(Tool::MqLite), 0),
            fixed(row.speed(Tool::Pika), 0),
            fixed(row.speed(Tool::Amiquip), 0),
            row.against_pika().cell(),
            row.against_amiquip().cell(),
        ]);
    }
    table.print();
    println!();
    println!(
        "summary: {}; {}",
        ratio_summary("mq-lite/pika", &rows, Row::against_pika),
        ratio_summary("mq-lite/amiquip", &rows, Row::against_amiquip)
    );
}

/// The smallest ratio, where it occurs, and how many goals were met.
fn ratio_summary<'a>(name: &str, rows: &[Row<'a>], ratio: fn(&Row<'a>) -> Ratio) -> String {
    let ratios: Vec<(Workload, Ratio)> =
        rows.iter().map(|row| (row.workload, ratio(row))).collect();
    let mut tally = Tally::default();
    ratios.iter().for_each(|(_, r)| tally.add(r.met()));
    let lowest = ratios.iter().min_by(|a, b| a.1.value.total_cmp(&b.1.value));
    match lowest {
        Some((workload, r)) => format!(
            "{name} min {:.2}x on {}, targets met {tally}",
            r.value,
            workload.label(),
        ),
        None => format!("{name}: nothing measured"),
    }
}
