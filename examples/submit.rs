//! Submits `.dot` files as render jobs and prints each result as it arrives.
//!
//! ```text
//! cargo run --example submit -- examples/graphs/*.dot [--format png]
//! ```
//!
//! Reads the broker URL from `AMQP_URL`. Needs a running `render_worker`.

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::broker::explain_platform_error;
use common::jobs::submit_files;
use common::report;
use mq_lite::ConnectOptions;
use ondemand_platform::{Client, PlatformError, DEFAULT_JOB_QUEUE};

/// Submit Graphviz files to the render queue and wait for their results.
#[derive(Parser)]
struct Args {
    /// The `.dot` files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format: svg, png or pdf.
    #[arg(long, default_value = "svg")]
    format: String,
    /// The job queue.
    #[arg(long, default_value = DEFAULT_JOB_QUEUE)]
    queue: String,
    /// Give up waiting after this many seconds without a result.
    #[arg(long, default_value_t = 60)]
    wait_secs: u64,
}

fn main() -> ExitCode {
    report(run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), PlatformError> {
    let mut client = Client::connect(&ConnectOptions::from_env(), &args.queue)
        .inspect_err(explain_platform_error)?;
    submit_files(
        &mut client,
        &args.files,
        &args.format,
        Duration::from_secs(args.wait_secs),
    )
}
