//! Clones a git repository with a progress bar, all or nothing.
//!
//! ```text
//! cargo run --example clone_repo -- https://github.com/rust-lang/log target/log
//! cargo run --example clone_repo -- git://127.0.0.1/repo.git target/repo --branch dev --depth 1
//! ```
//!
//! URLs may be `https://`, `http://`, `git://`, `ssh://`, `file://` or a
//! local path. If the clone fails the destination is left as it was.

mod common;

use std::io::Write;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use common::report;
use repo_lite::{CloneOptions, ClonePhase, CloneProgress, Project};

/// Clone a git repository into a new directory, showing progress on stderr.
#[derive(Parser)]
struct Args {
    /// The repository: an https://, http://, git://, ssh:// or file:// URL, or a path.
    url: String,
    /// Where the clone goes; must be absent or an empty directory.
    dir: PathBuf,
    /// Check out this branch (or tag) instead of the remote's HEAD.
    #[arg(long)]
    branch: Option<String>,
    /// Fetch only this many commits of history.
    #[arg(long)]
    depth: Option<NonZeroU32>,
}

/// Whether a progress line is on screen without its newline yet.
static LINE_OPEN: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let result = run(Args::parse());
    if LINE_OPEN.load(Ordering::Relaxed) {
        eprintln!(); // Keep the error off the progress line.
    }
    report(result)
}

fn run(args: Args) -> Result<(), repo_lite::Error> {
    let mut options = CloneOptions::default().on_progress(draw);
    if let Some(branch) = args.branch {
        options = options.branch(branch);
    }
    if let Some(depth) = args.depth {
        options = options.depth(depth);
    }
    let project = Project::clone_repo(&args.url, &args.dir, options)?;
    let branch = project.current_branch()?;
    let commits = project.log(usize::MAX)?.len();
    println!(
        "cloned {} into {} ({} commit{}, on {})",
        args.url,
        project.root().display(),
        commits,
        if commits == 1 { "" } else { "s" },
        branch.as_deref().unwrap_or("a detached HEAD"),
    );
    Ok(())
}

/// Redraws one line on stderr: the phase, a bar and the counts.
fn draw(progress: &CloneProgress) {
    const WIDTH: u64 = 30;
    let (done, total, what) = match progress.phase {
        ClonePhase::Resolving => (progress.deltas_resolved, progress.deltas_total, "deltas"),
        ClonePhase::CheckingOut | ClonePhase::Done => {
            (progress.files_checked_out, progress.files_total, "files")
        }
        _ => (progress.objects_received, progress.objects_total, "objects"),
    };
    let filled = match total {
        Some(total) if total > 0 => done.min(total) * WIDTH / total,
        _ => 0,
    };
    let bar: String = (0..WIDTH)
        .map(|i| if i < filled { '#' } else { '.' })
        .collect();
    let count = match total {
        Some(total) => format!("{done}/{total} {what}"),
        None => format!("{done} {what}"),
    };
    let mut line = format!(
        "\r{:<18} [{bar}] {count}, {} received",
        progress.phase.to_string(),
        human_bytes(progress.bytes_received)
    );
    // Pad so a shorter line wipes the end of a longer one.
    line.push_str("      ");
    let done = progress.phase == ClonePhase::Done;
    if done {
        line.push('\n');
    }
    LINE_OPEN.store(!done, Ordering::Relaxed);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(line.as_bytes());
    let _ = stderr.flush();
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
