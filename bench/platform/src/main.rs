//! bench-platform: the render platform end to end. Jobs per minute for a
//! batch of small graphs with 1 and 2 `render_worker` processes sharing one
//! git project, and where the submit-to-result time of a single job on an
//! idle worker goes (queue, container, git, the rest). See bench/README.md.

mod api;
mod api_report;
mod cluster;
mod jobs;
mod latency;
mod report;
mod site;
mod storage;
mod throughput;
mod workers;

use std::path::PathBuf;
use std::time::Duration;

use bench_support::runs;
use clap::Parser;

use report::Throughput;
use site::Site;

pub type Result<T> = std::result::Result<T, bench_support::BoxError>;

/// The render platform: jobs per minute, and a single job's time split.
#[derive(Debug, Parser)]
struct Args {
    /// The broker [default: $AMQP_URL].
    #[arg(long)]
    url: Option<String>,
    /// The Graphviz image the workers render with [default: $GRAPHVIZ_IMAGE
    /// or ondemand-platform/graphviz:latest].
    #[arg(long)]
    graphviz_image: Option<String>,
    /// The render_worker example binary [default: examples/render_worker
    /// next to this binary].
    #[arg(long)]
    worker_bin: Option<PathBuf>,
    /// Jobs per throughput run.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: u32,
    /// Throughput runs per worker count; the table shows medians.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Worker counts to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1u32, 2], value_parser = clap::value_parser!(u32).range(1..))]
    workers: Vec<u32>,
    /// Timed single jobs for the time split; the table shows medians.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    latency_jobs: u32,
    /// Untimed single jobs before them (the first render of a fresh worker).
    #[arg(long, default_value_t = 1)]
    latency_warmup: u32,
    /// Where the git projects and worker logs go (a temporary directory is
    /// made inside and removed at the end) [default: the system's temp dir].
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// A run fails when no result comes for this long.
    #[arg(long, default_value_t = 120)]
    result_timeout_secs: u64,
    /// Parts to run (comma-separated): amqp (single jobs and throughput
    /// through the AMQP client), api (the HTTP API against them and the
    /// docker CLI), storage (commit cost as jobs accumulate), wrk, cluster
    /// (one broker node against a three-node cluster, and a node's death).
    #[arg(long, value_delimiter = ',', default_values_t = ["amqp".to_owned(), "api".to_owned(), "storage".to_owned(), "wrk".to_owned(), "cluster".to_owned()])]
    parts: Vec<String>,
    /// Jobs per run of the cluster part.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    cluster_jobs: u32,
    /// Worker counts of the cluster part (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1u32, 2, 3], value_parser = clap::value_parser!(u32).range(1..))]
    cluster_workers: Vec<u32>,
    /// Runs per worker count and broker in the cluster part.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    cluster_runs: u32,
    /// Broker nodes killed, one after the other, to time the recovery.
    #[arg(long, default_value_t = 3)]
    kills: u32,
    /// Cache hits timed through the API, for p50 and p99.
    #[arg(long, default_value_t = 1000)]
    cache_hits: u32,
    /// Seconds of `wrk` on the Kroki route.
    #[arg(long, default_value_t = 30)]
    wrk_seconds: u32,
    /// Job counts at which a commit is timed (storage).
    #[arg(long, value_delimiter = ',', default_values_t = [1000u32, 10000, 100000])]
    storage_jobs: Vec<u32>,
    /// Commits timed at each of them.
    #[arg(long, default_value_t = 200)]
    storage_sample: u32,
}

impl Args {
    fn part(&self, name: &str) -> bool {
        self.parts.iter().any(|part| part == name)
    }
}

fn main() {
    bench_support::exit_on_error("bench-platform", run(&Args::parse()));
}

fn run(args: &Args) -> Result<()> {
    let site = Site::create(site_options(args)?)?;
    report::print_header(
        args.jobs,
        args.runs,
        args.latency_jobs,
        &site.image,
        &site.worker_bin,
    );
    let mut figures = api_report::Figures::default();
    if args.part("amqp") || args.part("api") {
        // The single job first: its warm-up also warms the daemon for the runs.
        let splits = latency::measure(&site, args.latency_jobs, args.latency_warmup)?;
        figures.amqp_single = splits.iter().map(|split| split.total).collect();
        let throughput = measure_throughput(&site, args, &mut figures)?;
        report::print_results(&throughput, &splits);
        figures.amqp_seconds = throughput.seconds;
        figures.jobs = args.jobs;
        figures.workers = args.workers.clone();
    }
    if args.part("api") {
        let mut single = api::ApiSite::start(&site, "api-single", 1)?;
        figures.api_single = api::cache_misses(&mut single, 1, args.latency_jobs)?;
        figures.cache_hits =
            api::cache_hits(&single, "digraph hit { cached -> answer }", args.cache_hits)?;
        if args.part("wrk") {
            figures.wrk = api::wrk(&single, args.wrk_seconds)?;
        }
        single.finish()?;
        figures.docker_cli = api::docker_cli(&site.image, args.latency_jobs)?;
    }
    if args.part("storage") {
        let dir = tempfile::tempdir_in(args.work_dir.clone().unwrap_or_else(std::env::temp_dir))?;
        figures.storage_bare = storage::measure(
            dir.path(),
            storage::Layout::ShardedBare,
            &args.storage_jobs,
            args.storage_sample,
        )?;
        figures.storage_worktree = storage::measure(
            dir.path(),
            storage::Layout::ShardedWorktree,
            &args.storage_jobs,
            args.storage_sample,
        )?;
        // The flat layout grows too slowly to fill to 100,000: its first two points.
        let flat: Vec<u32> = args
            .storage_jobs
            .iter()
            .copied()
            .filter(|&jobs| jobs <= 10_000)
            .collect();
        figures.storage_flat = storage::measure(
            dir.path(),
            storage::Layout::Flat,
            &flat,
            args.storage_sample,
        )?;
    }
    if args.part("amqp") || args.part("api") || args.part("storage") {
        api_report::print(&figures);
    }
    if args.part("cluster") {
        let figures = cluster::measure(
            &site,
            site_options(args)?,
            args.cluster_jobs,
            &args.cluster_workers,
            args.cluster_runs,
            args.latency_jobs,
            args.kills,
        )?;
        cluster::print(&figures);
    }
    Ok(())
}

fn site_options(args: &Args) -> Result<site::Options> {
    let url = match &args.url {
        Some(url) => url.clone(),
        None => std::env::var(mq_lite::URL_ENV_VAR)
            .map_err(|_| "no broker: pass --url or set AMQP_URL (bench/platform/run starts one)")?,
    };
    let image = args.graphviz_image.clone().unwrap_or_else(|| {
        std::env::var("GRAPHVIZ_IMAGE")
            .unwrap_or_else(|_| "ondemand-platform/graphviz:latest".to_owned())
    });
    let worker_bin = match &args.worker_bin {
        Some(path) => path.clone(),
        None => default_worker_bin()?,
    };
    Ok(site::Options {
        url,
        image,
        worker_bin,
        work_dir: args.work_dir.clone().unwrap_or_else(std::env::temp_dir),
        result_timeout: Duration::from_secs(args.result_timeout_secs),
    })
}

/// `cargo build --release --example render_worker` puts it in
/// target/release/examples, beside this binary's target/release.
fn default_worker_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or("the benchmark binary has no directory")?;
    Ok(dir.join("examples").join("render_worker"))
}

/// Every run goes through every worker count, the order turning each run,
/// so that a noisy moment does not fall on one count only.
fn measure_throughput(
    site: &Site,
    args: &Args,
    figures: &mut api_report::Figures,
) -> Result<Throughput> {
    let mut rows = Throughput::new(args.jobs, &args.workers);
    for run in runs(args.runs) {
        for workers in run.rotated(&args.workers) {
            // The API and the AMQP client take turns going first.
            let api_first = (run.number + workers) % 2 == 0;
            if args.part("api") && api_first {
                figures
                    .api_seconds
                    .record(workers, api_run(site, args, &run, workers)?);
            }
            let number = run.number;
            let outcome = throughput::measure(site, number, workers, args.jobs).map_err(|err| {
                format!("throughput run {number} with {workers} worker(s): {err}")
            })?;
            eprintln!(
                "{run}: {workers} worker(s), {} jobs in {:.2} s ({:.1} jobs/min), jobs per worker {}",
                args.jobs,
                outcome.seconds,
                report::jobs_per_minute(args.jobs, outcome.seconds),
                report::joined(&outcome.per_worker, "+"),
            );
            rows.seconds.record(workers, outcome.seconds);
            if args.part("api") && !api_first {
                figures
                    .api_seconds
                    .record(workers, api_run(site, args, &run, workers)?);
            }
        }
    }
    Ok(rows)
}

/// One throughput run through the HTTP API; its seconds.
fn api_run(site: &Site, args: &Args, run: &bench_support::Run, workers: u32) -> Result<f64> {
    let seconds = api::throughput(site, run.number, workers, args.jobs)
        .map_err(|err| format!("API run {} with {workers} worker(s): {err}", run.number))?;
    eprintln!(
        "{run}: API, {workers} worker(s), {} jobs in {seconds:.2} s ({:.1} jobs/min)",
        args.jobs,
        report::jobs_per_minute(args.jobs, seconds),
    );
    Ok(seconds)
}
