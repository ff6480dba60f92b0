//! repo-lite, timed in this process.

use std::path::Path;
use std::time::{Duration, Instant};

use repo_lite::{CloneOptions, InitOptions, Outcome, Project, PushOptions, Signature};

use crate::workload::{added_contents, added_path, updated_contents, Sizes, UPDATED_FILE};
use crate::Result;

fn new_project(dest: &Path) -> Result<Project> {
    Ok(Project::init(dest, &InitOptions::default())?
        .with_signature(Signature::new("Bench", "bench@example.com")))
}

/// Fails unless `outcome` is a commit: every change here changes the tree.
fn committed(outcome: Outcome) -> Result<()> {
    match outcome {
        Outcome::Committed { .. } => Ok(()),
        Outcome::Unchanged => Err("repo-lite made no commit".into()),
    }
}

pub fn clone(url: &str, dest: &Path) -> Result<Duration> {
    let start = Instant::now();
    Project::clone_repo(url, dest, CloneOptions::default())?;
    Ok(start.elapsed())
}

pub fn add_files(dest: &Path, sizes: &Sizes) -> Result<Duration> {
    let project = new_project(dest)?;
    let start = Instant::now();
    for i in 0..sizes.ops {
        let path = added_path(i);
        committed(project.add_file(&path, added_contents(i), &format!("Add {path}"))?)?;
    }
    Ok(start.elapsed())
}

pub fn update_file(dest: &Path, sizes: &Sizes) -> Result<Duration> {
    let project = new_project(dest)?;
    committed(project.add_file(UPDATED_FILE, updated_contents(0), "Create notes")?)?;
    let start = Instant::now();
    for i in 1..=sizes.ops {
        let message = format!("Update notes ({i})");
        committed(project.update_file(UPDATED_FILE, updated_contents(i), &message)?)?;
    }
    Ok(start.elapsed())
}

/// Pushes `main` of the project at `source` to `url` (opening it untimed).
pub fn push(source: &Path, url: &str) -> Result<Duration> {
    let project = Project::open(source)?;
    let start = Instant::now();
    project.push(url, PushOptions::default().branch("main"))?;
    Ok(start.elapsed())
}
