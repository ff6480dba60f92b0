//! The repository the clones fetch, made once per run with the git CLI:
//! `files` small files over 40 directories, then `commits` commits in all,
//! each after the first changing three files. It is served as a bare,
//! fully packed repository, as a hosting server would hold it.

use std::fs;
use std::path::Path;

use crate::git_cli::{git, git_env};
use crate::workload::Sizes;
use crate::Result;

const DIRECTORIES: usize = 40;
/// Files each later commit changes.
const FILES_PER_COMMIT: usize = 3;
/// Fixed commit dates make the fixture the same bytes every run.
const FIRST_DATE: u64 = 1_700_000_000;

fn fixture_path(i: usize) -> String {
    format!("src/mod{:02}/file{i:04}.txt", i % DIRECTORIES)
}

/// Some 400 bytes, different for every file so that no blobs are shared.
fn fixture_contents(i: usize) -> String {
    let mut text = format!("// file {i} of the fixture\n");
    for line in 0..10 {
        text.push_str(&format!(
            "line {line} of file {i}: lorem ipsum dolor sit amet\n"
        ));
    }
    text
}

/// Commits everything in `work` with a fixed date for commit `n`.
fn commit_all(work: &Path, n: usize, message: &str) -> Result<()> {
    let date = format!("@{} +0000", FIRST_DATE + n as u64 * 60);
    let env = [
        ("GIT_AUTHOR_DATE", date.as_str()),
        ("GIT_COMMITTER_DATE", date.as_str()),
    ];
    git(work, &["add", "-A"])?;
    git_env(work, &["commit", "-q", "-m", message], &env)?;
    Ok(())
}

fn write_initial_tree(work: &Path, sizes: &Sizes) -> Result<()> {
    for i in 0..sizes.files {
        let file = work.join(fixture_path(i));
        fs::create_dir_all(file.parent().expect("fixture paths have a directory"))?;
        fs::write(file, fixture_contents(i))?;
    }
    Ok(())
}

/// Appends a line to the files commit `n` changes, spread over the tree.
fn change_files(work: &Path, sizes: &Sizes, n: usize) -> Result<()> {
    for k in 0..FILES_PER_COMMIT {
        let i = (n * 7919 + k * 104_729) % sizes.files;
        let file = work.join(fixture_path(i));
        let mut text = fs::read_to_string(&file)?;
        text.push_str(&format!("changed in commit {n}\n"));
        fs::write(file, text)?;
    }
    Ok(())
}

/// Builds the history in `work` (a new directory) with the git CLI.
fn build_history(work: &Path, sizes: &Sizes) -> Result<()> {
    fs::create_dir_all(work)?;
    git(work, &["init", "-q", "-b", "main"])?;
    write_initial_tree(work, sizes)?;
    commit_all(work, 0, "Initial import")?;
    for n in 1..sizes.commits {
        change_files(work, sizes, n)?;
        commit_all(work, n, &format!("Change {FILES_PER_COMMIT} files ({n})"))?;
    }
    Ok(())
}

/// Makes the bare repository `source` with the fixture, using `work` as a
/// scratch work tree (removed afterwards).
pub fn generate(work: &Path, source: &Path, sizes: &Sizes) -> Result<()> {
    build_history(work, sizes)?;
    publish(work, source)?;
    fs::remove_dir_all(work)?;
    Ok(())
}

/// Copies the repository at `from` to a new bare `to`; `--no-local` goes
/// through the pack protocol, so `to` holds one pack and no hard links.
pub fn publish(from: &Path, to: &Path) -> Result<()> {
    let parent = to.parent().ok_or("the fixture has no parent directory")?;
    let (from, to) = (utf8(from)?, utf8(to)?);
    git(parent, &["clone", "-q", "--bare", "--no-local", from, to])?;
    Ok(())
}

fn utf8(path: &Path) -> Result<&str> {
    Ok(path.to_str().ok_or("a temporary path is not UTF-8")?)
}

/// A project with a work tree at `dir` whose `main` has `commits` commits,
/// each changing one of seven files: what the push workloads push.
pub fn push_source(dir: &Path, commits: usize) -> Result<()> {
    let dir_str = utf8(dir)?;
    let parent = dir
        .parent()
        .ok_or("the push source has no parent directory")?;
    git(parent, &["init", "-q", "-b", "main", dir_str])?;
    for i in 0..commits {
        let path = format!("files/{}.txt", i % 7);
        fs::create_dir_all(dir.join("files"))?;
        fs::write(dir.join(&path), format!("commit {i}\n"))?;
        git(dir, &["add", &path])?;
        git(dir, &["commit", "-q", "-m", &format!("Commit {i}")])?;
    }
    Ok(())
}
