//! The HTTP API's table, the storage table, and their targets (stdout).

use bench_support::{median, Column, Goal, Samples, Table, Tally};

use crate::api::{quantile, Wrk};
use crate::report::jobs_per_minute;

/// Everything the API, storage and wrk parts measured.
#[derive(Default)]
pub struct Figures {
    /// Jobs per throughput run, and the worker counts.
    pub jobs: u32,
    pub workers: Vec<u32>,
    /// Single jobs through the AMQP client, submit to result (ms).
    pub amqp_single: Vec<f64>,
    /// Single jobs through the API, submit to result (ms).
    pub api_single: Vec<f64>,
    /// `docker run --rm -i` of the same render (ms).
    pub docker_cli: Vec<f64>,
    /// Cache hits through the API (ms, sorted).
    pub cache_hits: Vec<f64>,
    /// Throughput runs' seconds by worker count.
    pub amqp_seconds: Samples<u32>,
    pub api_seconds: Samples<u32>,
    /// Milliseconds per commit at each job count: the platform's bare
    /// sharded project, the same paths with a work tree, the flat layout.
    pub storage_bare: Vec<(u32, f64)>,
    pub storage_worktree: Vec<(u32, f64)>,
    pub storage_flat: Vec<(u32, f64)>,
    pub wrk: Option<Wrk>,
}

fn goal_row(
    table: &mut Table,
    tally: &mut Tally,
    what: &str,
    ours: String,
    peer: String,
    ratio: f64,
    goal: Goal,
) {
    let verdict = goal.verdict(ratio);
    tally.add(goal.met(ratio));
    table.row([
        what.to_owned(),
        ours,
        peer,
        format!("{ratio:.2}x"),
        format!("{goal} {verdict}"),
    ]);
}

pub fn print(figures: &Figures) {
    let mut tally = Tally::default();
    let mut table = Table::new([
        Column::left("HTTP API", 36),
        Column::right("ours", 12),
        Column::right("peer", 12),
        Column::right("ratio", 8),
        Column::left("target", 0).gap(3),
    ]);
    if !figures.cache_hits.is_empty() {
        let p50 = quantile(&figures.cache_hits, 0.5);
        let p99 = quantile(&figures.cache_hits, 0.99);
        goal_row(
            &mut table,
            &mut tally,
            &format!("(a) cache hit p50 (p99 {p99:.2} ms), ms"),
            format!("{p50:.2}"),
            "5 ms".to_owned(),
            p50 / 5.0,
            Goal::AtMost(1.0),
        );
    }
    if !figures.api_single.is_empty() {
        let api = median(&figures.api_single);
        if !figures.amqp_single.is_empty() {
            let amqp = median(&figures.amqp_single);
            goal_row(
                &mut table,
                &mut tally,
                "(b) cache miss, ms: API / AMQP client",
                format!("{api:.1}"),
                format!("{amqp:.1}"),
                api / amqp,
                Goal::AtMost(1.1),
            );
        }
        if !figures.docker_cli.is_empty() {
            let cli = median(&figures.docker_cli);
            goal_row(
                &mut table,
                &mut tally,
                "(b) cache miss, ms: API / docker CLI",
                format!("{api:.1}"),
                format!("{cli:.1}"),
                api / cli,
                Goal::AtMost(1.0),
            );
        }
    }
    for &workers in &figures.workers {
        if figures.api_seconds.values(&workers).is_empty() {
            continue;
        }
        let api = jobs_per_minute(figures.jobs, figures.api_seconds.median(&workers));
        let amqp = jobs_per_minute(figures.jobs, figures.amqp_seconds.median(&workers));
        goal_row(
            &mut table,
            &mut tally,
            &format!("(c) {} graphs, {workers} worker(s), jobs/min", figures.jobs),
            format!("{api:.1}"),
            format!("{amqp:.1}"),
            api / amqp,
            Goal::AtLeast(0.95),
        );
    }
    if let (Some(first), Some(last)) = (figures.storage_bare.first(), figures.storage_bare.last()) {
        goal_row(
            &mut table,
            &mut tally,
            &format!("(d) commit, ms: {} jobs / {} jobs", last.0, first.0),
            format!("{:.2}", last.1),
            format!("{:.2}", first.1),
            last.1 / first.1,
            Goal::AtMost(1.5),
        );
    }
    table.print();
    println!();
    if !figures.storage_bare.is_empty() {
        let mut storage = Table::new([
            Column::left("(d) ms per one-job commit", 28),
            Column::right("sharded, bare", 14),
            Column::right("sharded, work tree", 19),
            Column::right("flat, work tree", 16),
        ]);
        let at = |figures: &[(u32, f64)], jobs: u32| {
            figures
                .iter()
                .find(|(at_jobs, _)| *at_jobs == jobs)
                .map_or("n/a".to_owned(), |(_, ms)| format!("{ms:.2}"))
        };
        for &(jobs, ms) in &figures.storage_bare {
            storage.row([
                format!("at {jobs} jobs"),
                format!("{ms:.2}"),
                at(&figures.storage_worktree, jobs),
                at(&figures.storage_flat, jobs),
            ]);
        }
        storage.print();
        println!();
    }
    if let Some(wrk) = &figures.wrk {
        println!(
            "wrk on GET /graphviz/svg/<cached source>: {:.0} requests/s, latency p50 {}, p99 {}",
            wrk.requests_per_second, wrk.p50, wrk.p99
        );
    }
    println!("summary: HTTP API targets met {}", tally);
}
