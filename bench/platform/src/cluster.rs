//! The platform on one broker node and on a three-node cluster: jobs per
//! minute with 1, 2 and 3 workers on each, a single job's time split on
//! each, and how long after a broker node's death the next job is
//! rendered.

use std::time::{Duration, Instant};

use bench_support::{median, runs, Samples};
use ondemand_platform::{Client, JobResult};
use testkit::Cluster;

use crate::latency::{self, Split};
use crate::report::jobs_per_minute;
use crate::site::{Options, Site};
use crate::workers::Workers;
use crate::{jobs, throughput, Result};

/// What the cluster part measured.
pub struct Figures {
    pub jobs: u32,
    pub workers: Vec<u32>,
    /// Seconds per run, by worker count, on one node.
    pub single: Samples<u32>,
    /// Seconds per run, by worker count, on the cluster.
    pub cluster: Samples<u32>,
    pub single_splits: Vec<Split>,
    pub cluster_splits: Vec<Split>,
    /// From a node's death to the result of a job submitted right after it.
    pub recoveries: Vec<Duration>,
}

/// Starts a three-node cluster and measures on it and on `single` (the one
/// broker node of the other parts).
pub fn measure(
    single: &Site,
    options: Options,
    jobs: u32,
    workers: &[u32],
    run_count: u32,
    latency_jobs: u32,
    kills: u32,
) -> Result<Figures> {
    let started = Instant::now();
    let cluster = Cluster::start();
    eprintln!("cluster formed in {:.1} s", started.elapsed().as_secs_f64());
    let on_cluster = Site::create(Options {
        url: cluster.urls(),
        ..options
    })?;
    let mut figures = Figures {
        jobs,
        workers: workers.to_vec(),
        single: Samples::default(),
        cluster: Samples::default(),
        single_splits: latency::measure(single, latency_jobs, 1)?,
        cluster_splits: latency::measure(&on_cluster, latency_jobs, 1)?,
        recoveries: Vec::new(),
    };
    for run in runs(run_count) {
        for count in run.rotated(workers) {
            // One node and the cluster take turns going first.
            let sites = if (run.number + count) % 2 == 0 {
                [(single, "one node"), (&on_cluster, "cluster")]
            } else {
                [(&on_cluster, "cluster"), (single, "one node")]
            };
            for (site, name) in sites {
                let label = if name == "cluster" {
                    100 + run.number
                } else {
                    run.number
                };
                let outcome = throughput::measure(site, label, count, jobs)
                    .map_err(|err| format!("{name}, run {run}, {count} worker(s): {err}"))?;
                eprintln!(
                    "{run}: {name}, {count} worker(s), {jobs} jobs in {:.2} s ({:.1} jobs/min)",
                    outcome.seconds,
                    jobs_per_minute(jobs, outcome.seconds)
                );
                let samples = if name == "cluster" {
                    &mut figures.cluster
                } else {
                    &mut figures.single
                };
                samples.record(count, outcome.seconds);
            }
        }
    }
    figures.recoveries = recoveries(&cluster, &on_cluster, kills)?;
    Ok(figures)
}

/// Two workers and the committer on the cluster, all connected to node 0
/// first; the client elsewhere (its reply queue lives on its node). Each
/// time: the node holding the job queue's leader is killed, a job is
/// submitted at once (again while the broker refuses it), and the time to
/// its result is taken; then the node starts again and rejoins.
fn recoveries(cluster: &Cluster, site: &Site, kills: u32) -> Result<Vec<Duration>> {
    let setup = site.fresh("recovery")?;
    let queue = setup.declare_queue(&site.broker())?;
    let mut workers = Workers::start(site, &setup, &queue, 2)?;
    let mut times = Vec::new();
    let mut number = 0;
    for kill in 1..=kills {
        let leader = cluster
            .leader_of(&setup.queue)
            .ok_or("the job queue has no leader")?;
        let client_node = (leader + 1) % cluster.len();
        let urls: Vec<String> = (0..cluster.len())
            .map(|offset| cluster.url((client_node + offset) % cluster.len()))
            .collect();
        let mut client = Client::connect(
            &mq_lite::ConnectOptions::new(urls.join(","))
                .reconnect(mq_lite::ReconnectPolicy::default()),
            &setup.queue,
        )?;
        // Everyone warm: one job through before the kill.
        number += 1;
        submit_until_taken(&client, &jobs::job(&setup.id_prefix, number))?;
        jobs::collect(&mut client, 1, site.result_timeout, &mut workers)?;

        let killed = Instant::now();
        cluster.kill(leader);
        number += 1;
        let job = jobs::job(&setup.id_prefix, number);
        submit_until_taken(&client, &job)?;
        let result: Vec<JobResult> =
            jobs::collect(&mut client, 1, site.result_timeout, &mut workers)?;
        jobs::check_rendered(std::slice::from_ref(&job), &result)?;
        let took = killed.elapsed();
        eprintln!("kill {kill}: node {leader} (the job queue's leader) killed; a job submitted then rendered {:.2} s later", took.as_secs_f64());
        times.push(took);
        drop(client);
        cluster.start_again(leader);
    }
    drop(workers);
    queue.delete()?;
    setup.remove()?;
    Ok(times)
}

/// Submits `job`, again after a refusal (the queue has no leader for a
/// moment), for up to 60 s.
fn submit_until_taken(client: &Client, job: &ondemand_platform::Job) -> Result<()> {
    let started = Instant::now();
    loop {
        match client.submit(job) {
            Ok(()) => return Ok(()),
            Err(err) if started.elapsed() < Duration::from_secs(60) => {
                eprintln!("submit refused ({err}); again in 100 ms");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// The tables and the goals.
pub fn print(figures: &Figures) {
    println!(
        "\nOne broker node and a three-node cluster (quorum queues): {} jobs per run, median jobs per minute",
        figures.jobs
    );
    println!("| workers | one node | cluster | cluster / one node |");
    println!("|---:|---:|---:|---:|");
    let rate =
        |samples: &Samples<u32>, count: u32| jobs_per_minute(figures.jobs, samples.median(&count));
    for &count in &figures.workers {
        let (one, three) = (rate(&figures.single, count), rate(&figures.cluster, count));
        println!("| {count} | {one:.1} | {three:.1} | {:.2}x |", three / one);
    }
    if figures.workers.contains(&1) && figures.workers.contains(&2) {
        for (name, samples) in [("one node", &figures.single), ("cluster", &figures.cluster)] {
            let ratio = rate(samples, 2) / rate(samples, 1);
            println!(
                "2 workers / 1 worker, {name}: {ratio:.2}x (goal >= 1.6x: {})",
                if ratio >= 1.6 { "met" } else { "missed" }
            );
        }
    }
    for &count in &figures.workers {
        let ratio = rate(&figures.cluster, count) / rate(&figures.single, count);
        println!(
            "cluster / one node, {count} worker(s): {ratio:.2}x (goal >= 0.8x: {})",
            if ratio >= 0.8 { "met" } else { "missed" }
        );
    }
    println!("\nA single job's time, median ms (queue: submit to a worker; container: dot; commit: the committer's; answer: the rest, hand-over to the committer and the result's way back)");
    println!("| broker | total | queue | container | commit | answer |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, splits) in [
        ("one node", &figures.single_splits),
        ("cluster", &figures.cluster_splits),
    ] {
        let part = |pick: fn(&Split) -> f64| median(&splits.iter().map(pick).collect::<Vec<_>>());
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            part(|s| s.total),
            part(|s| s.queue),
            part(|s| s.container),
            part(|s| s.git),
            part(|s| s.other)
        );
    }
    if !figures.recoveries.is_empty() {
        let seconds: Vec<f64> = figures
            .recoveries
            .iter()
            .map(Duration::as_secs_f64)
            .collect();
        let worst = seconds.iter().copied().fold(0.0, f64::max);
        println!(
            "\nFrom a broker node's death (the job queue's leader) to the result of a job submitted right after it: median {:.2} s, worst {worst:.2} s of {} (goal <= 10 s: {})",
            median(&seconds),
            seconds.len(),
            if worst <= 10.0 { "met" } else { "missed" }
        );
    }
}
