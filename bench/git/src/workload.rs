//! The workloads, the two file systems, and the file names and contents
//! every tool writes, so that all three do the same work.

use std::fmt;

/// What one timed sample does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Workload {
    /// Clone the fixture over `file://`.
    CloneFile,
    /// Clone the fixture over `git://` from a local `git daemon`.
    CloneGit,
    /// Add one new file per commit to a new project.
    AddFiles,
    /// Overwrite one file per commit.
    UpdateFile,
    /// Push a branch of one commit to an empty bare repository over `file://`.
    Push1File,
    /// Push a branch of 200 commits to an empty bare repository over `file://`.
    Push200File,
    /// Push a branch of one commit over `git://` (`git daemon` with receive-pack).
    Push1Git,
    /// Push a branch of 200 commits over `git://`.
    Push200Git,
}

impl Workload {
    pub const ALL: [Workload; 8] = [
        Workload::CloneFile,
        Workload::CloneGit,
        Workload::AddFiles,
        Workload::UpdateFile,
        Workload::Push1File,
        Workload::Push200File,
        Workload::Push1Git,
        Workload::Push200Git,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Workload::CloneFile => "(a) clone file://",
            Workload::CloneGit => "(a) clone git://",
            Workload::AddFiles => "(b) add-file commits",
            Workload::UpdateFile => "(c) update commits",
            Workload::Push1File => "(d) push 1 file://",
            Workload::Push200File => "(d) push 200 file://",
            Workload::Push1Git => "(d) push 1 git://",
            Workload::Push200Git => "(d) push 200 git://",
        }
    }

    /// The workload name the GitPython script takes.
    pub fn python_name(self) -> &'static str {
        match self {
            Workload::CloneFile | Workload::CloneGit => "clone",
            Workload::AddFiles => "add",
            Workload::UpdateFile => "update",
            _ => "push",
        }
    }

    /// For a push: the commits on the branch pushed, and whether it goes
    /// over `git://`.
    pub fn push(self) -> Option<(usize, bool)> {
        match self {
            Workload::Push1File => Some((1, false)),
            Workload::Push200File => Some((PUSH_COMMITS, false)),
            Workload::Push1Git => Some((1, true)),
            Workload::Push200Git => Some((PUSH_COMMITS, true)),
            _ => None,
        }
    }
}

/// Commits on the longer pushed branch.
pub const PUSH_COMMITS: usize = 200;

/// Where a sample runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Fs {
    Tmpfs,
    Disk,
}

impl Fs {
    pub const ALL: [Fs; 2] = [Fs::Tmpfs, Fs::Disk];
}

impl fmt::Display for Fs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fs::Tmpfs => "tmpfs",
            Fs::Disk => "disk",
        })
    }
}

/// Sizes of the fixture and of the commit loops.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Files in the fixture's tree.
    pub files: usize,
    /// Commits in the fixture's history.
    pub commits: usize,
    /// Commits per (b) or (c) sample.
    pub ops: usize,
}

// The names and contents below are mirrored in gitpython_bench.py.

/// The file that (c) creates untimed and then updates.
pub const UPDATED_FILE: &str = "notes.txt";

/// The `i`-th file of (b): ten directories, as a project would have.
pub fn added_path(i: usize) -> String {
    format!("dir{}/file{i:04}.txt", i % 10)
}

pub fn added_contents(i: usize) -> String {
    format!("file {i}\nsome text of a small source file\n")
}

/// The contents of (c)'s file after update `i` (0 is the untimed initial
/// commit); every version differs, so every update commits.
pub fn updated_contents(i: usize) -> String {
    format!("version {i}\nsome text of a small source file\n")
}
