//! The whole on-demand platform in one command: the images (made ready by
//! `scripts/test-images`: present, else pulled, else built offline, with
//! progress shown), a broker (the one at `AMQP_URL`, or a throwaway
//! container), a render worker, and the HTTP server with its web page on
//! `127.0.0.1:8080`. Submits the bundled graphs through the API, prints
//! the page's URL, and serves until Ctrl-C; then removes what it started.
//!
//! ```text
//! cargo run --example platform [-- --listen 127.0.0.1:8080 --project target/platform/renders]
//! cargo run --example platform -- --demo    # render the bundled graphs and exit
//! ```

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::graphs::dot_files;
use common::report;
use dock_lite::{Docker, PullPolicy, RunOptions, RunningContainer};
use mq_lite::{ConnectOptions, Connection};
use ondemand_platform::images::Images;
use ondemand_platform::server::{
    wait_for_shutdown_signal, HubConfig, Phase, RunningServer, ServerConfig, DEFAULT_RESULT_QUEUE,
};
use ondemand_platform::{ApiClient, CommitterConfig, LocalBackEnd, PlatformError, WorkerConfig};

/// Run the Graphviz render platform and serve it over HTTP.
#[derive(Parser)]
struct Args {
    /// Where the HTTP server listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The git project that receives sources and renders.
    #[arg(long, default_value = "target/platform/renders")]
    project: PathBuf,
    /// Output format of the bundled graphs: svg, png, jpeg or pdf.
    #[arg(long, default_value = "svg")]
    format: String,
    /// The job queue.
    #[arg(long, default_value = "render.jobs.demo")]
    queue: String,
    /// Render the bundled graphs, print where they are, and exit.
    #[arg(long)]
    demo: bool,
}

fn main() -> ExitCode {
    report(run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docker = Docker::connect()?;
    docker.ping()?;
    println!("preparing the images (scripts/test-images)");
    let images = Images::prepare(root)?;
    let (broker, _started_broker) = find_or_start_broker(&docker, &images.rabbitmq)?;

    let mut worker = WorkerConfig::new(&images.graphviz);
    worker.queue = args.queue.clone();
    let mut committer = CommitterConfig::new(&args.project);
    committer.queue = args.queue.clone();
    let back_end = LocalBackEnd::start(&broker, worker, committer)?;
    let served = serve(args, root, &broker);
    let (handled, answered) = back_end.stop()?;
    served?;
    println!("the worker handled {handled} job(s), the committer answered {answered}");
    let project = std::fs::canonicalize(&args.project).unwrap_or_else(|_| args.project.clone());
    println!(
        "git project: {} (try: git -C {} log --stat -3)",
        project.display(),
        project.display()
    );
    Ok(())
}

/// Serves on `--listen`, submits the bundled graphs through the API, then
/// serves until Ctrl-C (or, with `--demo`, stops at once).
fn serve(
    args: &Args,
    root: &Path,
    broker: &ConnectOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    let hub = HubConfig {
        broker: broker.clone(),
        job_queue: args.queue.clone(),
        result_queue: format!("{DEFAULT_RESULT_QUEUE}.demo"),
        project: args.project.clone(),
    };
    let server = RunningServer::start(args.listen, &hub, ServerConfig::default())?;
    let base = format!("http://{}", server.address());
    println!("serving on {base}/");
    let wait = Duration::from_secs(120);
    let client = ApiClient::new(&base, None, wait + Duration::from_secs(10))?;
    for file in dot_files(&root.join("examples/graphs"))? {
        let source = std::fs::read_to_string(&file).map_err(|source| PlatformError::Io {
            path: file.clone(),
            source,
        })?;
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let job = client.submit(&source, &args.format, wait)?;
        match job.status {
            Phase::Rendered => println!(
                "  {name}: {}{}",
                client.url(&job.links.output),
                if job.cached { " (from git)" } else { "" }
            ),
            Phase::Failed => println!("  {name}: failed: {}", job.error.unwrap_or_default()),
            Phase::Queued | Phase::Rendering => println!("  {name}: not done after {wait:?}"),
        }
    }
    if args.demo {
        server.stop();
        return Ok(());
    }
    println!("\nopen {base}/ in a browser; Ctrl-C stops the platform");
    wait_for_shutdown_signal()?;
    println!("stopping");
    server.stop();
    Ok(())
}

/// The broker at `AMQP_URL` if one answers; else a throwaway container of
/// `image`, removed when the returned handle is dropped.
fn find_or_start_broker(
    docker: &Docker,
    image: &str,
) -> Result<(ConnectOptions, Option<RunningContainer>), Box<dyn std::error::Error>> {
    let from_env = ConnectOptions::from_env().connection_timeout(Duration::from_secs(3));
    match Connection::open_with(&from_env) {
        Ok(connection) => {
            println!("using the broker at {}", connection.address());
            return Ok((from_env, None));
        }
        Err(err) => println!("no broker at AMQP_URL ({err}); starting {image} in a container"),
    }
    let broker = docker.start_detached(
        &RunOptions::new(image)
            .publish_port(5672)
            .label("dev.ondemand.platform", "demo-broker")
            .pull(PullPolicy::IfMissing),
    )?;
    broker.wait_for_log("Server startup complete", Duration::from_secs(120))?;
    let url = format!(
        "amqp://guest:guest@{}:{}/%2f",
        broker.host_address(),
        broker.host_port(5672)?
    );
    println!("broker ready at {url}");
    Ok((ConnectOptions::new(url), Some(broker)))
}
