//! Medians, the results table, and the summary line.

use std::collections::BTreeMap;

pub use bench_support::median;

use crate::peers::Tool;
use crate::workload::Workload;

/// mq-lite must reach this share of raw amiquip's speed on every workload.
pub const AMIQUIP_TARGET: f64 = 0.95;

/// Every measured msgs/s, by tool and workload.
#[derive(Debug, Default)]
pub struct Samples(BTreeMap<(Tool, Workload), Vec<f64>>);

impl Samples {
    pub fn record(&mut self, tool: Tool, workload: Workload, msgs_per_s: f64) {
        self.0.entry((tool, workload)).or_default().push(msgs_per_s);
    }

    /// The median msgs/s of `tool` on `workload`; NaN when never measured.
    pub fn median(&self, tool: Tool, workload: Workload) -> f64 {
        self.0
            .get(&(tool, workload))
            .map_or(f64::NAN, |values| median(values))
    }
}

/// mq-lite's speed over a peer's, and the target it is held to.
struct Ratio {
    value: f64,
    target: f64,
}

impl Ratio {
    fn met(&self) -> bool {
        self.value >= self.target
    }

    fn cell(&self) -> String {
        let verdict = if self.met() { "met" } else { "MISSED" };
        format!("{:.2}x (>={:.2}x {verdict})", self.value, self.target)
    }
}

/// One workload's line of the table.
struct Row<'a> {
    workload: Workload,
    samples: &'a Samples,
}

impl Row<'_> {
    fn speed(&self, tool: Tool) -> f64 {
        self.samples.median(tool, self.workload)
    }

    fn against_pika(&self) -> Ratio {
        Ratio {
            value: self.speed(Tool::MqLite) / self.speed(Tool::Pika),
            target: self.workload.pika_target(),
        }
    }

    fn against_amiquip(&self) -> Ratio {
        Ratio {
            value: self.speed(Tool::MqLite) / self.speed(Tool::Amiquip),
            target: AMIQUIP_TARGET,
        }
    }
}

/// Prints the table of medians and ratios, then the summary line.
pub fn print_results(samples: &Samples, workloads: &[Workload]) {
    let rows: Vec<Row> = workloads
        .iter()
        .map(|&workload| Row { workload, samples })
        .collect();
    print_line([
        "workload (median msgs/s)".into(),
        "mq-lite".into(),
        "pika".into(),
        "amiquip".into(),
        "mq-lite/pika".into(),
        "mq-lite/amiquip".into(),
    ]);
    for row in &rows {
        print_line([
            row.workload.label().into(),
            whole(row.speed(Tool::MqLite)),
            whole(row.speed(Tool::Pika)),
            whole(row.speed(Tool::Amiquip)),
            row.against_pika().cell(),
            row.against_amiquip().cell(),
        ]);
    }
    println!();
    println!(
        "summary: {}; {}",
        ratio_summary("mq-lite/pika", &rows, Row::against_pika),
        ratio_summary("mq-lite/amiquip", &rows, Row::against_amiquip)
    );
}

/// One line of the table: a label, three rates, two ratios.
fn print_line([label, mq_lite, pika, amiquip, against_pika, against_amiquip]: [String; 6]) {
    println!(
        "{label:<32}{mq_lite:>10}{pika:>10}{amiquip:>10}  {against_pika:<26}{against_amiquip}"
    );
}

/// The smallest ratio, where it occurs, and how many targets were met.
fn ratio_summary<'a>(name: &str, rows: &[Row<'a>], ratio: fn(&Row<'a>) -> Ratio) -> String {
    let ratios: Vec<(Workload, Ratio)> =
        rows.iter().map(|row| (row.workload, ratio(row))).collect();
    let met = ratios.iter().filter(|(_, r)| r.met()).count();
    let lowest = ratios.iter().min_by(|a, b| a.1.value.total_cmp(&b.1.value));
    match lowest {
        Some((workload, r)) => format!(
            "{name} min {:.2}x on {}, targets met {met}/{}",
            r.value,
            workload.label(),
            ratios.len()
        ),
        None => format!("{name}: nothing measured"),
    }
}

/// A rate as a whole number, or `n/a` when it was not measured.
pub fn whole(msgs_per_s: f64) -> String {
    if msgs_per_s.is_finite() {
        format!("{msgs_per_s:.0}")
    } else {
        "n/a".to_owned()
    }
}
