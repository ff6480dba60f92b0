//! The three tools, and one timed sample of any of them.

use std::path::Path;
use std::time::Duration;

use crate::gitpython::GitPython;
use crate::workload::{Sizes, Workload};
use crate::{git_cli, repo_lite_peer, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    RepoLite,
    Git,
    GitPython,
}

impl Tool {
    pub const ALL: [Tool; 3] = [Tool::RepoLite, Tool::Git, Tool::GitPython];

    pub fn name(self) -> &'static str {
        match self {
            Tool::RepoLite => "repo-lite",
            Tool::Git => "git",
            Tool::GitPython => "GitPython",
        }
    }
}

/// Times `tool` doing `workload` into the new project `dest`; `url` is
/// what the clones fetch. For a push, `dest` is the project pushed from
/// and `url` the repository pushed to.
pub fn measure(
    tool: Tool,
    workload: Workload,
    dest: &Path,
    url: &str,
    sizes: &Sizes,
    gitpython: &GitPython,
) -> Result<Duration> {
    use Workload::*;
    match (tool, workload) {
        (Tool::RepoLite, CloneFile | CloneGit) => repo_lite_peer::clone(url, dest),
        (Tool::RepoLite, AddFiles) => repo_lite_peer::add_files(dest, sizes),
        (Tool::RepoLite, UpdateFile) => repo_lite_peer::update_file(dest, sizes),
        (Tool::Git, CloneFile | CloneGit) => git_cli::clone(url, dest),
        (Tool::Git, AddFiles) => git_cli::add_files(dest, sizes),
        (Tool::Git, UpdateFile) => git_cli::update_file(dest, sizes),
        (Tool::RepoLite, Push1File | Push200File | Push1Git | Push200Git) => {
            repo_lite_peer::push(dest, url)
        }
        (Tool::Git, Push1File | Push200File | Push1Git | Push200Git) => git_cli::push(dest, url),
        (Tool::GitPython, _) => gitpython.measure(workload, dest, url, sizes),
    }
}

/// The commits and files a finished sample of `workload` must have.
pub fn expected(workload: Workload, sizes: &Sizes) -> (usize, usize) {
    match workload {
        Workload::CloneFile | Workload::CloneGit => (sizes.commits, sizes.files),
        Workload::AddFiles => (sizes.ops, sizes.ops),
        // The untimed first commit, then one per update.
        Workload::UpdateFile => (sizes.ops + 1, 1),
        // Checked by `check::verify_push` instead.
        _ => (0, 0),
    }
}
