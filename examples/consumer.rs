//! Prints the messages of a queue, acknowledging each after printing it.
//!
//! ```text
//! cargo run --example consumer -- --queue jobs [--count N]
//! ```
//!
//! Reads the broker URL from `AMQP_URL` (default `amqp://guest:guest@localhost:5672/%2f`).

mod common;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::broker::declare_from_env;
use common::broker::explain_broker_error;
use common::report;
use mq_lite::ConsumeOptions;

/// Consume a queue: print each message, then ack it.
#[derive(Parser)]
struct Args {
    /// The queue to read (declared durable if missing).
    #[arg(long, default_value = "jobs")]
    queue: String,
    /// Stop after this many messages (default: run until interrupted).
    #[arg(long)]
    count: Option<usize>,
    /// Stop after this many seconds without a message.
    #[arg(long)]
    idle_secs: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    report(run(&args).inspect_err(explain_broker_error))
}

fn run(args: &Args) -> Result<(), mq_lite::Error> {
    let (_connection, queue) = declare_from_env(&args.queue)?;
    let mut options = ConsumeOptions::default().prefetch(10);
    if let Some(secs) = args.idle_secs {
        options = options.idle_timeout(Duration::from_secs(secs));
    }
    eprintln!("waiting for messages on {} (Ctrl-C to stop)", queue.name());
    let consumer = queue.consume(&options)?;
    for (received, delivery) in consumer.enumerate() {
        let delivery = delivery?;
        let marker = if delivery.redelivered() {
            " (redelivered)"
        } else {
            ""
        };
        println!("{}{marker}", String::from_utf8_lossy(delivery.body()));
        delivery.ack()?;
        if args.count.is_some_and(|count| received + 1 >= count) {
            break;
        }
    }
    Ok(())
}
