//! Publishes messages to a queue, each confirmed by the broker.
//!
//! ```text
//! cargo run --example producer -- --queue jobs hello world
//! printf 'one\ntwo\n' | cargo run --example producer -- --queue jobs
//! ```
//!
//! Reads the broker URL from `AMQP_URL` (default `amqp://guest:guest@localhost:5672/%2f`).

mod common;

use std::io::BufRead;
use std::process::ExitCode;

use clap::Parser;

use common::broker::declare_from_env;
use common::broker::explain_broker_error;
use common::report;

/// Publish each argument (or each line of stdin) as one persistent, confirmed message.
#[derive(Parser)]
struct Args {
    /// The queue to publish to (declared durable if missing).
    #[arg(long, default_value = "jobs")]
    queue: String,
    /// The messages; without any, lines are read from stdin.
    messages: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    report(run(&args).inspect_err(explain_broker_error))
}

fn run(args: &Args) -> Result<(), mq_lite::Error> {
    let (connection, queue) = declare_from_env(&args.queue)?;
    let publish = |text: &str| -> Result<(), mq_lite::Error> {
        queue.publish(text.as_bytes())?;
        println!("published to {}: {text}", queue.name());
        Ok(())
    };
    if args.messages.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            publish(&line)?;
        }
    } else {
        for message in &args.messages {
            publish(message)?;
        }
    }
    connection.close()
}
