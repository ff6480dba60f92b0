//! bench-mq: RabbitMQ throughput of mq-lite against raw amiquip (on a
//! `TCP_NODELAY` socket, as mq-lite opens it) and Python pika, on five
//! workloads against one broker. See bench/README.md.

mod amiquip_client;
mod mq_lite_client;
mod peers;
mod pika;
mod report;
mod workload;

use std::path::PathBuf;

use bench_support::{fixed, runs, selected, PythonPeer};
use clap::Parser;

use amiquip_client::AmiquipClient;
use mq_lite_client::MqLiteClient;
use peers::{Peers, Tool};
use pika::PikaRunner;
use report::Samples;
use workload::{throughput, Settings, Workload};

pub type Result<T> = std::result::Result<T, bench_support::BoxError>;

/// The workloads that wait on one round trip per message: where Nagle's
/// algorithm shows.
const NAGLE_WORKLOADS: [Workload; 2] = [Workload::ConfirmEach, Workload::GetAck];

/// RabbitMQ throughput: mq-lite against raw amiquip and Python pika.
#[derive(Debug, Parser)]
struct Args {
    /// The broker (bench/mq/run starts one and passes its URL).
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    url: String,
    /// Messages per workload run.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..))]
    messages: u32,
    /// Runs per tool and workload; the table shows medians.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Messages per confirm wait in workload (b).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Consumer prefetch in workload (d).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
    prefetch: u16,
    /// Messages for the extra rows of amiquip without TCP_NODELAY (some 45
    /// msgs/s); 0 skips them.
    #[arg(long, default_value_t = 200)]
    nagle_messages: usize,
    /// Run only this workload (repeatable): confirm-each, confirm-batch,
    /// get-ack, consume or unconfirmed; all by default.
    #[arg(long = "workload", value_parser = parse_workload)]
    only: Vec<Workload>,
    /// The Python with pika installed.
    #[arg(long, default_value = bench_support::DEFAULT_PYTHON)]
    python: PathBuf,
}

fn parse_workload(id: &str) -> std::result::Result<Workload, String> {
    Workload::ALL
        .into_iter()
        .find(|workload| workload.id() == id)
        .ok_or_else(|| format!("no workload is called {id:?}"))
}

impl Args {
    fn workloads(&self) -> Vec<Workload> {
        selected(&Workload::ALL, &self.only)
    }

    fn settings(&self) -> Settings {
        Settings {
            messages: self.messages as usize,
            body: vec![b'x'; self.size],
            batch: self.batch as usize,
            prefetch: self.prefetch,
        }
    }
}

fn main() {
    bench_support::exit_on_error("bench-mq", run(&Args::parse()));
}

fn run(args: &Args) -> Result<()> {
    let settings = args.settings();
    print_header(args);
    let mut peers = open_peers(args)?;
    let workloads = args.workloads();
    let samples = measure_all(&mut peers, &settings, &workloads, args.runs)?;
    report::print_results(&samples, &workloads);
    if args.nagle_messages > 0 {
        measure_without_nodelay(args, &samples, &workloads)?;
    }
    Ok(())
}

fn print_header(args: &Args) {
    println!(
        "bench-mq: {} messages of {} bytes per run, median of {} runs; \
         batch {}, prefetch {}",
        args.messages, args.size, args.runs, args.batch, args.prefetch
    );
    println!(
        "(e) times unconfirmed publishes until a passive declare counts them all in the queue; \
         pika (b) uses SelectConnection (BlockingConnection waits for each confirm)"
    );
    println!();
}

fn open_peers(args: &Args) -> Result<Peers> {
    Ok(Peers {
        mq_lite: MqLiteClient::open(&args.url)?,
        amiquip: AmiquipClient::open_nodelay(&args.url)?,
        pika: PikaRunner {
            peer: PythonPeer::new(
                &args.python,
                concat!(env!("CARGO_MANIFEST_DIR"), "/pika_bench.py"),
            ),
            url: args.url.clone(),
        },
    })
}

/// Runs every tool on every workload, `count` times, interleaved (the tool
/// order turning each run) so that a noisy moment on the machine does not
/// fall on one tool only.
fn measure_all(
    peers: &mut Peers,
    settings: &Settings,
    workloads: &[Workload],
    count: u32,
) -> Result<Samples> {
    let mut samples = Samples::default();
    for run in runs(count) {
        for &workload in workloads {
            for tool in run.rotated(&Tool::ALL) {
                let msgs_per_s = peers
                    .throughput(tool, workload, settings)
                    .map_err(|err| format!("{} on {}: {err}", tool.name(), workload.id()))?;
                eprintln!(
                    "{run} {:<32} {:<8} {:>8} msgs/s",
                    workload.label(),
                    tool.name(),
                    fixed(msgs_per_s, 0)
                );
                samples.record((tool, workload), msgs_per_s);
            }
        }
    }
    Ok(samples)
}

/// One run of the round-trip workloads with amiquip's own
/// `Connection::insecure_open`, which leaves Nagle's algorithm on.
fn measure_without_nodelay(args: &Args, samples: &Samples, workloads: &[Workload]) -> Result<()> {
    // Only beside the rows measured with TCP_NODELAY.
    let compared: Vec<Workload> = NAGLE_WORKLOADS
        .into_iter()
        .filter(|workload| workloads.contains(workload))
        .collect();
    if compared.is_empty() {
        return Ok(());
    }
    let settings = Settings {
        messages: args.nagle_messages,
        ..args.settings()
    };
    let mut client = AmiquipClient::open_default(&args.url)?;
    println!();
    println!(
        "amiquip without TCP_NODELAY (Connection::insecure_open), {} messages, 1 run:",
        settings.messages
    );
    for workload in compared {
        let msgs_per_s = throughput(&mut client, "amiquip-nagle", workload, &settings)?;
        println!(
            "{:<32}{:>10} msgs/s   (with TCP_NODELAY: {} msgs/s)",
            workload.label(),
            fixed(msgs_per_s, 0),
            fixed(samples.median(&(Tool::Amiquip, workload)), 0)
        );
    }
    Ok(())
}
