//! Checks, untimed, that a sample did all its work: the commits are there,
//! the tree has the files, and `git status` finds the work tree and index
//! clean (so a tool cannot win by skipping the index); a push's remote has
//! the branch and passes fsck.

use std::path::Path;

use crate::git_cli::git;
use crate::Result;

pub fn verify(dest: &Path, commits: usize, files: usize) -> Result<()> {
    let count: usize = git(dest, &["rev-list", "--count", "HEAD"])?
        .trim()
        .parse()?;
    if count != commits {
        return Err(format!("{}: {count} commits, expected {commits}", dest.display()).into());
    }
    let listed = git(dest, &["ls-files", "-z"])?
        .split('\0')
        .filter(|p| !p.is_empty())
        .count();
    if listed != files {
        return Err(format!(
            "{}: {listed} files in the index, expected {files}",
            dest.display()
        )
        .into());
    }
    let status = git(dest, &["status", "--porcelain"])?;
    if !status.is_empty() {
        return Err(format!("{}: not clean:\n{status}", dest.display()).into());
    }
    Ok(())
}

/// A push sample: the bare repository at `dest` has `source`'s `main`, and
/// passes `git fsck`.
pub fn verify_push(source: &Path, dest: &Path) -> Result<()> {
    let pushed = git(dest, &["rev-parse", "main"])?;
    let local = git(source, &["rev-parse", "main"])?;
    if pushed != local {
        return Err(format!("{}: main is {pushed}, expected {local}", dest.display()).into());
    }
    git(dest, &["fsck", "--strict", "--no-progress"])?;
    Ok(())
}
