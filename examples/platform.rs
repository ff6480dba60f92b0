//! The whole on-demand platform in one command: a broker (the one at
//! `AMQP_URL`, or a throwaway container), the Graphviz image (built if
//! missing, with live output), a render worker, and the bundled example
//! graphs submitted as jobs. Prints where the rendered files and the git
//! project are, and removes what it started.
//!
//! ```text
//! cargo run --example platform [-- --project target/platform/renders --format svg]
//! ```

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use common::graphs::dot_files;
use common::jobs::submit_files;
use common::report;
use dock_lite::{BuildOptions, Docker, PullPolicy, RunOptions, RunningContainer};
use mq_lite::{ConnectOptions, Connection};
use ondemand_platform::{Client, PlatformError, Worker, WorkerConfig};

/// Run the Graphviz render platform end to end on the bundled graphs.
#[derive(Parser)]
struct Args {
    /// The git project that receives sources and renders.
    #[arg(long, default_value = "target/platform/renders")]
    project: PathBuf,
    /// Output format: svg, png or pdf.
    #[arg(long, default_value = "svg")]
    format: String,
    /// The job queue.
    #[arg(long, default_value = "render.jobs.demo")]
    queue: String,
}

fn main() -> ExitCode {
    report(run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docker = Docker::connect()?;
    docker.ping()?;

    let (broker, _started_broker) = find_or_start_broker(&docker)?;
    let image = ensure_graphviz_image(&docker, root)?;

    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<(), Box<dyn std::error::Error>> {
        let mut config = WorkerConfig::new(&image, &args.project);
        config.queue = args.queue.clone();
        let mut worker = Worker::start(&broker, config)?;
        let stop_flag = &stop;
        let worker = scope.spawn(move || worker.run(stop_flag, |_| {}));
        let outcome = submit_examples(&broker, args, root);
        stop.store(true, Ordering::SeqCst);
        let handled = worker.join().map_err(|_| "the worker thread panicked")??;
        outcome?;
        println!("\nthe worker handled {handled} job(s)");
        Ok(())
    })?;
    let project = std::fs::canonicalize(&args.project).unwrap_or_else(|_| args.project.clone());
    println!("rendered files: {}", project.join("jobs").display());
    println!(
        "git project:    {} (try: git -C {} log --stat -3)",
        project.display(),
        project.display()
    );
    Ok(())
}

/// The broker at `AMQP_URL` if one answers; else a throwaway container,
/// removed when the returned handle is dropped.
fn find_or_start_broker(
    docker: &Docker,
) -> Result<(ConnectOptions, Option<RunningContainer>), Box<dyn std::error::Error>> {
    let from_env = ConnectOptions::from_env().connection_timeout(Duration::from_secs(3));
    match Connection::open_with(&from_env) {
        Ok(connection) => {
            println!("using the broker at {}", connection.address());
            return Ok((from_env, None));
        }
        Err(err) => println!("no broker at AMQP_URL ({err}); starting one in a container"),
    }
    let image = testkit::RABBITMQ.name();
    println!("starting {image} (pulled if missing)");
    let broker = docker.start_detached(
        &RunOptions::new(&image)
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

/// The Graphviz image's name, built from `dockerfiles/graphviz` if missing.
fn ensure_graphviz_image(docker: &Docker, root: &Path) -> Result<String, dock_lite::Error> {
    let image = testkit::GRAPHVIZ.name();
    if docker.image_exists(&image)? {
        println!("using the Graphviz image {image}");
        return Ok(image);
    }
    let base = testkit::BASE.name();
    println!("building {image} on {base}");
    docker.build(
        &BuildOptions::new(root.join("dockerfiles/graphviz"))
            .tag(&image)
            .build_arg("BASE_IMAGE", &base),
        |line| println!("  | {line}"),
    )?;
    Ok(image)
}

/// Submits every bundled graph and prints the results as they arrive.
fn submit_examples(broker: &ConnectOptions, args: &Args, root: &Path) -> Result<(), PlatformError> {
    let mut client = Client::connect(broker, &args.queue)?;
    let files = dot_files(&root.join("examples/graphs"))?;
    submit_files(&mut client, &files, &args.format, Duration::from_secs(120))
}
