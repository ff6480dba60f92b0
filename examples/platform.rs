//! The on-demand platform, first cut: a Graphviz job goes through a
//! RabbitMQ queue, is rendered in a container, and lands in a git project.
//!
//! ```text
//! cargo run --example platform [-- --out target/platform-demo]
//! ```
//!
//! Needs a broker at `AMQP_URL` (default `amqp://guest:guest@localhost:5672/%2f`)
//! and the Graphviz image (`GRAPHVIZ_IMAGE`, made by `scripts/test-images`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use dock_lite::{Docker, RunOptions};
use mq_lite::{Connection, QueueOptions};
use ondemand_platform::cli::{explain_broker_error, report};
use repo_lite::{InitOptions, Project};

/// Render the bundled example graphs through queue, container and git.
#[derive(Parser)]
struct Args {
    /// Where the git project with the rendered graphs is created.
    #[arg(long, default_value = "target/platform-demo")]
    out: PathBuf,
    /// The queue that carries the jobs.
    #[arg(long, default_value = "render.jobs")]
    queue: String,
}

const GRAPHS: [(&str, &str); 2] = [
    ("hello", include_str!("graphs/hello.dot")),
    ("states", include_str!("graphs/states.dot")),
];

fn main() -> ExitCode {
    let args = Args::parse();
    report(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut connection = Connection::from_env().inspect_err(explain_broker_error)?;
    let queue = connection.declare_queue(&args.queue, &QueueOptions::default())?;
    println!(
        "broker {}: queue {:?} declared",
        connection.address(),
        queue.name()
    );

    for (name, source) in GRAPHS {
        queue.publish(format!("{name}\n{source}").as_bytes())?;
        println!("submitted job {name}");
    }

    let docker = Docker::connect()?;
    docker.ping()?;
    let image = std::env::var("GRAPHVIZ_IMAGE")
        .unwrap_or_else(|_| "ondemand-platform/graphviz:latest".to_owned());
    std::fs::create_dir_all(&args.out)?;
    let project = match Project::open(&args.out) {
        Ok(project) => project,
        Err(_) => Project::init(&args.out, &InitOptions::default())?,
    };

    while let Some(delivery) = queue.get()? {
        let job = String::from_utf8_lossy(delivery.body()).into_owned();
        let (name, source) = job.split_once('\n').ok_or("a job without a name line")?;
        let rendered = docker
            .run(
                &RunOptions::new(&image)
                    .entrypoint(["sh"])
                    .command(["-c", "printf '%s' \"$GRAPH\" | dot -Tsvg"])
                    .env("GRAPH", source)
                    .label("dev.ondemand.platform", "demo")
                    .timeout(Duration::from_secs(30)),
            )
            .inspect_err(|err| {
                if matches!(err, dock_lite::Error::ImageNotFound { .. }) {
                    eprintln!("The Graphviz image {image} is missing: run `scripts/test-images`.");
                }
            })?;
        if !rendered.success() {
            eprintln!(
                "job {name}: dot failed: {}",
                String::from_utf8_lossy(&rendered.stderr)
            );
            delivery.ack()?;
            continue;
        }
        let output = project.root().join(format!("{name}.svg"));
        std::fs::write(project.root().join(format!("{name}.dot")), source)?;
        std::fs::write(&output, &rendered.stdout)?;
        delivery.ack()?;
        println!(
            "job {name}: rendered in {:.2?} -> {}",
            rendered.duration,
            output.display()
        );
    }
    println!("git project: {}", project.root().display());
    Ok(())
}
