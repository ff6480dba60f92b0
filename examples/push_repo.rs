//! Pushes a branch of a git project to a remote, with a progress line,
//! and prints each reference's outcome.
//!
//! ```text
//! cargo run --example push_repo -- target/log origin
//! cargo run --example push_repo -- target/log git://127.0.0.1/log.git --branch dev --force
//! ```
//!
//! The remote is a remote's name or an `https://`, `http://`, `git://`,
//! `ssh://` or `file://` URL, or a path. Exits non-zero, with the reason,
//! when the remote refuses a reference; the remote is then unchanged.

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use common::report;
use repo_lite::{Project, PushOptions, PushPhase, PushProgress, UpdateKind};

/// Push a branch of a git project to a remote.
#[derive(Parser)]
struct Args {
    /// The project's directory (its work tree, or a bare repository).
    project: PathBuf,
    /// A remote's name, or a URL or path.
    remote: String,
    /// The branch to push; the current branch by default.
    #[arg(long)]
    branch: Option<String>,
    /// Let the remote branch move to a commit that does not descend from
    /// it, provided it is still what was last fetched from it (a lease).
    #[arg(long)]
    force: bool,
}

fn main() -> ExitCode {
    let result = run(Args::parse());
    eprintln!(); // End the progress line.
    report(result)
}

fn run(args: Args) -> Result<(), repo_lite::Error> {
    let project = Project::open(&args.project)?;
    let mut options = PushOptions::default().force(args.force).on_progress(draw);
    if let Some(branch) = args.branch {
        options = options.branch(branch);
    }
    let outcome = project.push(&args.remote, options)?;
    for update in &outcome.updates {
        let kind = match update.kind {
            UpdateKind::Created => "new",
            UpdateKind::FastForward => "fast-forward",
            UpdateKind::Forced => "forced",
            UpdateKind::UpToDate => "up to date",
            _ => "updated",
        };
        let old = update.old.as_deref().map_or("(none)", |id| &id[..12]);
        println!(
            "{}: {old} -> {} ({kind})",
            update.reference,
            &update.new[..12]
        );
    }
    if !outcome.messages.is_empty() {
        for line in outcome.messages.lines() {
            println!("remote: {line}");
        }
    }
    println!(
        "pushed to {}: {} objects, {} bytes",
        outcome.url, outcome.objects_sent, outcome.bytes_sent
    );
    Ok(())
}

/// Redraws one line on stderr.
fn draw(progress: &PushProgress) {
    let detail = match progress.phase {
        PushPhase::Writing | PushPhase::Waiting | PushPhase::Done => format!(
            ": {} objects, {} KiB",
            progress.objects,
            progress.bytes_sent / 1024
        ),
        _ => String::new(),
    };
    eprint!("\r\x1b[K{}{detail}", progress.phase);
}
