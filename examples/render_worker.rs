//! A render worker: takes Graphviz jobs from the queue, renders each in a
//! container, commits source and output to a git project, and answers on
//! the job's reply-to queue. Start several to share the queue.
//!
//! ```text
//! cargo run --example render_worker -- [--project target/platform/renders] [--queue render.jobs]
//! ```
//!
//! Reads the broker URL from `AMQP_URL`, the image from `GRAPHVIZ_IMAGE`.

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Parser;
use common::broker::explain_platform_error;
use common::jobs::describe;
use common::report;
use mq_lite::ConnectOptions;
use ondemand_platform::{PlatformError, Worker, WorkerConfig, DEFAULT_JOB_QUEUE};

/// Render Graphviz jobs from a RabbitMQ queue into a git project.
#[derive(Parser)]
struct Args {
    /// The queue to take jobs from.
    #[arg(long, default_value = DEFAULT_JOB_QUEUE)]
    queue: String,
    /// The git project for sources and outputs (created if missing).
    #[arg(long, default_value = "target/platform/renders")]
    project: PathBuf,
    /// The Graphviz image [default: $GRAPHVIZ_IMAGE or ondemand-platform/graphviz:latest].
    #[arg(long)]
    image: Option<String>,
    /// A render taking longer fails.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
    /// Memory limit of a render container, in MiB.
    #[arg(long, default_value_t = 256)]
    memory_mib: u64,
}

fn main() -> ExitCode {
    report(run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), PlatformError> {
    let mut config = WorkerConfig::new(
        args.image
            .clone()
            .or_else(|| std::env::var("GRAPHVIZ_IMAGE").ok())
            .unwrap_or_else(ondemand_platform::images::default_graphviz),
        &args.project,
    );
    config.queue = args.queue.clone();
    config.timeout = Duration::from_secs(args.timeout_secs);
    config.memory_bytes = args.memory_mib * 1024 * 1024;
    let mut worker =
        Worker::start(&ConnectOptions::from_env(), config).inspect_err(explain_platform_error)?;
    eprintln!(
        "worker {} waiting for jobs on {}",
        std::process::id(),
        args.queue
    );
    let stop = AtomicBool::new(false);
    worker.run(&stop, |result| println!("{}", describe(result)))?;
    Ok(())
}
