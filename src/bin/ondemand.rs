//! `ondemand`: the platform's commands: `serve` (the HTTP server), `worker`
//! (a render worker), `committer` (the one writer of the git history, and
//! its mirror) and `submit` (graphs to a server, results printed).
//!
//! Every flag can also be set by the environment variable shown in
//! `--help`; the broker is `AMQP_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mq_lite::{ConnectOptions, ReconnectPolicy};
use ondemand_platform::server::Phase;
use ondemand_platform::server::{
    wait_for_shutdown_signal, HubConfig, RunningServer, ServerConfig, DEFAULT_RESULT_QUEUE,
};
use ondemand_platform::{
    ApiClient, Committer, CommitterConfig, JobResult, PlatformError, Worker, WorkerConfig,
    DEFAULT_JOB_QUEUE,
};

/// The on-demand Graphviz platform.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API, the Kroki-compatible routes and the web page.
    Serve(ServeArgs),
    /// Render jobs from the queue and hand them to the committer.
    Worker(WorkerArgs),
    /// Commit rendered jobs to the git project, answer them, mirror the history.
    Committer(CommitterArgs),
    /// Submit graph files to a server and print each result.
    Submit(SubmitArgs),
}

#[derive(clap::Args)]
struct Queue {
    /// The queue jobs travel on (the others are named after it).
    #[arg(long, env = "ONDEMAND_JOB_QUEUE", default_value = DEFAULT_JOB_QUEUE)]
    queue: String,
}

#[derive(clap::Args)]
struct Shared {
    /// The git project holding sources and outputs (created if missing).
    #[arg(
        long,
        env = "ONDEMAND_PROJECT",
        default_value = "target/platform/renders"
    )]
    project: PathBuf,
    #[command(flatten)]
    queue: Queue,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    shared: Shared,
    /// Address to listen on.
    #[arg(long, env = "ONDEMAND_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The durable queue results come back on.
    #[arg(long, env = "ONDEMAND_RESULT_QUEUE", default_value = DEFAULT_RESULT_QUEUE)]
    result_queue: String,
    /// With a token, submitting needs `Authorization: Bearer <token>`.
    #[arg(long, env = "PLATFORM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Larger graphs are refused (413).
    #[arg(long, env = "ONDEMAND_MAX_SOURCE_BYTES", default_value_t = 256 * 1024)]
    max_source_bytes: usize,
    /// Jobs in flight at most; past it submitting answers 429.
    #[arg(long, env = "ONDEMAND_MAX_IN_FLIGHT", default_value_t = 1000)]
    max_in_flight: usize,
    /// The longest `?wait=` honoured, in seconds.
    #[arg(long, env = "ONDEMAND_MAX_WAIT_SECS", default_value_t = 60)]
    max_wait_secs: u64,
}

#[derive(clap::Args)]
struct CommitterArgs {
    #[command(flatten)]
    shared: Shared,
    /// A remote repository the history is pushed to after commits.
    #[arg(long, env = "ONDEMAND_MIRROR", hide_env_values = true)]
    mirror: Option<String>,
}

#[derive(clap::Args)]
struct WorkerArgs {
    #[command(flatten)]
    queue: Queue,
    /// The Graphviz image (`dot` as entrypoint).
    #[arg(
        long,
        env = "GRAPHVIZ_IMAGE",
        default_value_t = ondemand_platform::images::default_graphviz()
    )]
    image: String,
    /// A render taking longer fails, in seconds.
    #[arg(long, env = "ONDEMAND_RENDER_TIMEOUT_SECS", default_value_t = 10)]
    timeout_secs: u64,
    /// Memory limit of a render container, in MiB.
    #[arg(long, env = "ONDEMAND_RENDER_MEMORY_MIB", default_value_t = 256)]
    memory_mib: u64,
}

#[derive(clap::Args)]
struct SubmitArgs {
    /// The server.
    #[arg(long, env = "ONDEMAND_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Output format: svg, png, jpeg or pdf.
    #[arg(long, default_value = "svg")]
    format: String,
    /// Seconds to wait for each result.
    #[arg(long, default_value_t = 60)]
    wait_secs: u64,
    /// The token, if the server needs one.
    #[arg(long, env = "PLATFORM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Graph files (DOT).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Serve(args) => serve(args),
        Command::Worker(args) => worker(args),
        Command::Committer(args) => committer(args),
        Command::Submit(args) => submit(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ondemand: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The broker from `AMQP_URL`, reconnecting for up to a minute.
fn broker() -> ConnectOptions {
    ConnectOptions::from_env().reconnect(ReconnectPolicy::default())
}

fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let hub = HubConfig {
        broker: broker(),
        job_queue: args.shared.queue.queue,
        result_queue: args.result_queue,
        project: args.shared.project,
    };
    let mut config = ServerConfig::default();
    config.token = args.token.filter(|token| !token.is_empty());
    config.max_source_bytes = args.max_source_bytes;
    config.max_in_flight = args.max_in_flight;
    config.max_wait = Duration::from_secs(args.max_wait_secs);
    let server = RunningServer::start(args.listen, &hub, config)?;
    eprintln!("ondemand: serving on http://{}/", server.address());
    wait_for_shutdown_signal()?;
    eprintln!("ondemand: stopping");
    server.stop();
    Ok(())
}

fn worker(args: WorkerArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = WorkerConfig::new(args.image);
    config.queue = args.queue.queue;
    config.timeout = Duration::from_secs(args.timeout_secs);
    config.memory_bytes = args.memory_mib * 1024 * 1024;
    let mut worker = Worker::start(&broker(), config)?;
    let stop = stop_on_signal();
    eprintln!("ondemand: worker {} waiting for jobs", std::process::id());
    let handled = worker.run(&stop, print_result)?;
    eprintln!("ondemand: worker stopped after {handled} job(s)");
    Ok(())
}

fn committer(args: CommitterArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = CommitterConfig::new(&args.shared.project);
    config.queue = args.shared.queue.queue;
    config.mirror = args.mirror.filter(|url| !url.is_empty());
    let mut committer = Committer::start(&broker(), config)?;
    let stop = stop_on_signal();
    eprintln!(
        "ondemand: committer {} committing to {}",
        std::process::id(),
        args.shared.project.display()
    );
    let answered = committer.run(&stop, print_result)?;
    eprintln!("ondemand: committer stopped after {answered} job(s)");
    Ok(())
}

/// A flag set on SIGINT or SIGTERM.
fn stop_on_signal() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    std::thread::spawn(move || {
        let _ = wait_for_shutdown_signal();
        stopper.store(true, Ordering::SeqCst);
    });
    stop
}

fn print_result(result: &JobResult) {
    eprintln!(
        "ondemand: job {} {:?}{}",
        result.id,
        result.status,
        result
            .error
            .as_deref()
            .map(|error| format!(": {error}"))
            .unwrap_or_default()
    );
}

fn submit(args: SubmitArgs) -> Result<(), Box<dyn std::error::Error>> {
    let wait = Duration::from_secs(args.wait_secs);
    let client = ApiClient::new(&args.server, args.token, wait + Duration::from_secs(10))?;
    let mut failed = 0;
    for file in &args.files {
        let source = std::fs::read_to_string(file).map_err(|source| PlatformError::Io {
            path: file.clone(),
            source,
        })?;
        match client.submit(&source, &args.format, wait) {
            Ok(job) => match job.status {
                Phase::Rendered => println!(
                    "{}: rendered{} {}",
                    file.display(),
                    if job.cached { " (from git)" } else { "" },
                    client.url(&job.links.output)
                ),
                Phase::Failed => {
                    failed += 1;
                    println!(
                        "{}: failed: {}",
                        file.display(),
                        job.error.unwrap_or_default()
                    );
                }
                Phase::Queued | Phase::Rendering => println!(
                    "{}: not done after {} s: {}",
                    file.display(),
                    args.wait_secs,
                    client.url(&job.links.this)
                ),
            },
            Err(err) => {
                failed += 1;
                println!("{}: {err}", file.display());
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {} graph(s) did not render", args.files.len()).into());
    }
    Ok(())
}
