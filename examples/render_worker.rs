//! A render worker: takes Graphviz jobs from the queue, renders each in a
//! container, and hands the output to the committer (which commits it and
//! answers; run one with `cargo run --bin ondemand -- committer`), or
//! answers a failed job itself on its reply-to queue. Start several, on any
//! hosts, to share the queue.
//!
//! ```text
//! cargo run --example render_worker -- [--queue render.jobs]
//! ```
//!
//! Reads the broker URL from `AMQP_URL` (several, comma-separated, for a
//! cluster), the image from `GRAPHVIZ_IMAGE`, and the Docker engine from
//! `DOCKER_HOST` (with `DOCKER_CERT_PATH` for TLS).

mod common;

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Parser;
use common::broker::explain_platform_error;
use common::jobs::describe;
use common::report;
use mq_lite::{ConnectOptions, ReconnectPolicy};
use ondemand_platform::{PlatformError, Worker, WorkerConfig, DEFAULT_JOB_QUEUE};

/// Render Graphviz jobs from a RabbitMQ queue for the committer.
#[derive(Parser)]
struct Args {
    /// The queue to take jobs from.
    #[arg(long, default_value = DEFAULT_JOB_QUEUE)]
    queue: String,
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
    );
    config.queue = args.queue.clone();
    config.timeout = Duration::from_secs(args.timeout_secs);
    config.memory_bytes = args.memory_mib * 1024 * 1024;
    // Reconnecting (to the next node of a cluster) for up to a minute.
    let broker = ConnectOptions::from_env().reconnect(ReconnectPolicy::default());
    let mut worker = Worker::start(&broker, config).inspect_err(explain_platform_error)?;
    eprintln!(
        "worker {} waiting for jobs on {}",
        std::process::id(),
        args.queue
    );
    let stop = AtomicBool::new(false);
    worker.run(&stop, |result| println!("{}", describe(result)))?;
    Ok(())
}
