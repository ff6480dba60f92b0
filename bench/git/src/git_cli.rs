//! The `git` CLI: a helper to run it, and the CLI peer, one process per git
//! command as a user's script would run it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench_support::process;

use crate::workload::{added_contents, added_path, updated_contents, Sizes, UPDATED_FILE};
use crate::Result;

/// The `git` on `PATH`.
pub const GIT: &str = "git";

/// Runs `git args` in `dir` and returns its stdout; fails on a non-zero
/// exit, with git's stderr in the error.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    git_env(dir, args, &[])
}

/// [`git`] with extra environment variables.
pub fn git_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let output = process::run(
        Command::new(GIT)
            .current_dir(dir)
            .args(args)
            .envs(env.iter().copied()),
        &format!("git {} in {}", args.join(" "), dir.display()),
    )?;
    Ok(String::from_utf8(output.stdout)?)
}

/// Runs `git args` in `dir` as a script would: output not captured.
fn git_quiet(dir: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new(GIT)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("git {} in {}: {status}", args.join(" "), dir.display()).into());
    }
    Ok(())
}

/// `git version x.y.z` of the `git` on `PATH`.
pub fn version() -> Result<String> {
    Ok(git(Path::new("."), &["--version"])?.trim().to_owned())
}

pub fn clone(url: &str, dest: &Path) -> Result<Duration> {
    let parent = dest.parent().ok_or("the destination has no parent")?;
    let dest = dest.to_str().ok_or("the destination is not UTF-8")?;
    let start = Instant::now();
    git_quiet(parent, &["clone", "-q", url, dest])?;
    Ok(start.elapsed())
}

fn init(dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest)?;
    git_quiet(dest, &["init", "-q", "-b", "main"])
}

/// Writes a file, `git add`s it and `git commit`s it: three steps, two
/// processes, as a user's shell script would.
fn write_add_commit(dest: &Path, path: &str, contents: &str, message: &str) -> Result<()> {
    let file = dest.join(path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&file, contents)?;
    git_quiet(dest, &["add", "--", path])?;
    git_quiet(dest, &["commit", "-q", "-m", message])
}

pub fn add_files(dest: &Path, sizes: &Sizes) -> Result<Duration> {
    init(dest)?;
    let start = Instant::now();
    for i in 0..sizes.ops {
        let path = added_path(i);
        write_add_commit(dest, &path, &added_contents(i), &format!("Add {path}"))?;
    }
    Ok(start.elapsed())
}

pub fn update_file(dest: &Path, sizes: &Sizes) -> Result<Duration> {
    init(dest)?;
    write_add_commit(dest, UPDATED_FILE, &updated_contents(0), "Create notes")?;
    let start = Instant::now();
    for i in 1..=sizes.ops {
        write_add_commit(
            dest,
            UPDATED_FILE,
            &updated_contents(i),
            &format!("Update notes ({i})"),
        )?;
    }
    Ok(start.elapsed())
}

/// `git push -q <url> main` from `source`.
pub fn push(source: &Path, url: &str) -> Result<Duration> {
    let start = Instant::now();
    git_quiet(source, &["push", "-q", url, "main"])?;
    Ok(start.elapsed())
}
