//! Submits `.dot` files as render jobs and prints each result as it arrives.
//!
//! ```text
//! cargo run --example submit -- examples/graphs/*.dot [--format png]
//! ```
//!
//! Reads the broker URL from `AMQP_URL`. Needs a running `render_worker`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mq_lite::ConnectOptions;
use ondemand_platform::cli::report;
use ondemand_platform::{now_ms, Client, Job, PlatformError, Status, DEFAULT_JOB_QUEUE};

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
    let mut client =
        Client::connect(&ConnectOptions::from_env(), &args.queue).inspect_err(|err| {
            if let PlatformError::Broker(err) = err {
                ondemand_platform::cli::explain_broker_error(err);
            }
        })?;
    let stamp = now_ms();
    for file in &args.files {
        let source = std::fs::read_to_string(file).map_err(|source| PlatformError::Io {
            path: file.clone(),
            source,
        })?;
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let id: String = format!("{stem}-{stamp}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        client.submit(&Job {
            id: id.clone(),
            format: args.format.clone(),
            source,
        })?;
        println!("submitted {id} ({})", file.display());
    }
    for _ in &args.files {
        match client.next_result(Duration::from_secs(args.wait_secs))? {
            Some(result) => match result.status {
                Status::Rendered => println!(
                    "{}: rendered {} (commit {}; queue {} ms, container {} ms, git {} ms)",
                    result.id,
                    result.output_path.as_deref().unwrap_or(""),
                    result
                        .commit
                        .as_deref()
                        .unwrap_or("")
                        .get(..12)
                        .unwrap_or(""),
                    result.timings.queue_ms,
                    result.timings.container_ms,
                    result.timings.git_ms
                ),
                Status::Failed => println!(
                    "{}: failed: {}",
                    result.id,
                    result.error.as_deref().unwrap_or("")
                ),
            },
            None => {
                eprintln!(
                    "no result within {} s: is a render_worker running?",
                    args.wait_secs
                );
                break;
            }
        }
    }
    Ok(())
}
