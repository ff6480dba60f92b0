//! Prints the running containers as a table, like `docker ps`.
//!
//! ```text
//! cargo run --example docker_ps [-- --all] [--label key=value]
//! ```

mod common;

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use common::report;
use dock_lite::{ContainerSummary, Docker, ListOptions};

/// List containers (the running ones by default) from the daemon at DOCKER_HOST.
#[derive(Parser)]
struct Args {
    /// Show stopped containers too.
    #[arg(long, short)]
    all: bool,
    /// Only containers with this label (`key=value`); may be repeated.
    #[arg(long)]
    label: Vec<String>,
}

fn main() -> ExitCode {
    report(run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), dock_lite::Error> {
    let docker = Docker::connect()?;
    let mut options = ListOptions::default().all(args.all);
    for label in &args.label {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        options = options.label(key, value);
    }
    let containers = docker.list_containers(&options)?;
    let rows: Vec<[String; 6]> = containers.iter().map(row).collect();
    let header = [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "NAMES",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join("   ").trim_end());
    }
    Ok(())
}

fn row(container: &ContainerSummary) -> [String; 6] {
    let mut command = container.command.clone();
    if command.chars().count() > 30 {
        command = format!("{}…", command.chars().take(29).collect::<String>());
    }
    let names: Vec<&str> = container
        .names
        .iter()
        .map(|n| n.trim_start_matches('/'))
        .collect();
    [
        container.short_id().to_owned(),
        container.image.clone(),
        format!("\"{command}\""),
        ago(container.created),
        container.status.clone(),
        names.join(","),
    ]
}

/// "5 minutes ago", from a Unix time.
fn ago(created: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let seconds = (now - created).max(0);
    match seconds {
        0..=59 => format!("{seconds} seconds ago"),
        60..=3599 => format!("{} minutes ago", seconds / 60),
        3600..=86_399 => format!("{} hours ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}
