//! Helpers shared by the integration tests: the real git CLI is the oracle.
#![allow(dead_code)] // Each test binary uses its own subset.

use std::path::Path;
use std::process::{Command, Output};

use repo_lite::{InitOptions, Project, Signature};

fn run_git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("the git CLI is installed")
}

/// Runs `git args...` in `dir` and returns its stdout as bytes, failing on a
/// non-zero exit.
pub fn git_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = run_git(dir, args);
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs `git args...` in `dir` and returns its trimmed stdout, failing on a
/// non-zero exit.
pub fn git(dir: &Path, args: &[&str]) -> String {
    String::from_utf8_lossy(&git_bytes(dir, args))
        .trim()
        .to_owned()
}

/// The number of commits reachable from `HEAD`; 0 on an unborn branch.
pub fn commit_count(dir: &Path) -> usize {
    if !run_git(dir, &["rev-parse", "--verify", "-q", "HEAD"])
        .status
        .success()
    {
        return 0;
    }
    git(dir, &["rev-list", "--count", "HEAD"])
        .parse()
        .expect("a count")
}

/// Asserts that git sees the work tree, the index and `HEAD` agree and the
/// repository is sound.
pub fn assert_clean_and_sound(dir: &Path) {
    assert_eq!(git(dir, &["status", "--porcelain"]), "", "git status");
    git(dir, &["fsck", "--strict"]);
}

/// The signature the tests commit with unless they test identities.
pub fn tester() -> Signature {
    Signature::new("Test Er", "tester@example.com")
}

/// A fresh project on `main` in a temporary directory, committing as
/// [`tester`].
pub fn new_project() -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let project = Project::init(dir.path().join("project"), &InitOptions::default())
        .expect("init")
        .with_signature(tester());
    (dir, project)
}
