//! Deleting a whole project, with checks that make it hard to delete the
//! wrong directory.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::project::Project;

/// Why [`Project::delete`] refused a path (the source of
/// [`Error::DeleteRefused`](crate::Error::DeleteRefused)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeleteRefusal {
    /// The path is a symbolic link; it is refused outright rather than
    /// followed.
    #[error("it is a symbolic link")]
    Symlink,
    /// The path is the file system root.
    #[error("it is the file system root")]
    Root,
    /// The path is the home directory (`$HOME`) or contains it.
    #[error("it is, or contains, the home directory")]
    Home,
    /// The path is the process's current directory or one of its
    /// ancestors, which `rm -rf .` refuses too.
    #[error("it is, or contains, the current directory")]
    CurrentDirectory,
    /// The path is inside a repository's work tree but not its top level.
    #[error("it is inside the work tree of {top_level}, not its top level")]
    NotTopLevel {
        /// The top level of the enclosing work tree.
        top_level: PathBuf,
    },
    /// The path is neither the top level of a git work tree with its
    /// repository in `.git` inside it nor a bare repository: not a
    /// directory, not a repository, a repository's `.git` directory, or a
    /// linked work tree or submodule (whose `.git` is a file pointing
    /// elsewhere).
    #[error("it is not the top level of a git work tree nor a bare repository")]
    NotARepository,
}

impl Project {
    /// Removes the project at `path`: its work tree and the `.git` directory
    /// in it, recursively; or the bare repository at `path`.
    ///
    /// Refuses ([`Error::DeleteRefused`], nothing removed) a symbolic link,
    /// the file system root, the home directory or any directory containing
    /// it, the current directory or any directory containing it, a directory
    /// that is neither the top level of a git work tree nor a bare
    /// repository, and a subdirectory of one. [`Error::Delete`] reports a failure to inspect `path` or to
    /// remove it.
    pub fn delete(path: impl AsRef<Path>) -> Result<()> {
        let given = path.as_ref();
        let target = check_deletable(given)?;
        fs::remove_dir_all(&target).map_err(|err| Error::Delete {
            path: given.to_owned(),
            source: Box::new(err),
        })
    }
}

/// Returns the canonical directory to remove, or why not.
fn check_deletable(given: &Path) -> Result<PathBuf> {
    let refuse = |source: DeleteRefusal| Error::DeleteRefused {
        path: given.to_owned(),
        source,
    };
    let io_error = |err: std::io::Error| Error::Delete {
        path: given.to_owned(),
        source: Box::new(err),
    };
    // lstat does not follow the final component, unless the path ends in a
    // separator: drop those so that `link/` is seen as the link it is.
    let meta = fs::symlink_metadata(without_trailing_separators(given)).map_err(io_error)?;
    if meta.file_type().is_symlink() {
        return Err(refuse(DeleteRefusal::Symlink));
    }
    let target = given.canonicalize().map_err(io_error)?;
    if target.parent().is_none() {
        return Err(refuse(DeleteRefusal::Root));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty()) {
        let home = Path::new(&home);
        let home = home.canonicalize().unwrap_or_else(|_| home.to_owned());
        if home.starts_with(&target) {
            return Err(refuse(DeleteRefusal::Home));
        }
    }
    // Like `rm -rf .`: removing the directory a process stands in, or one
    // above it, is almost always a mistake.
    if let Ok(current) = std::env::current_dir().and_then(|dir| dir.canonicalize()) {
        if current.starts_with(&target) {
            return Err(refuse(DeleteRefusal::CurrentDirectory));
        }
    }
    if !meta.is_dir() {
        return Err(refuse(DeleteRefusal::NotARepository));
    }
    let dot_git_is_dir = fs::symlink_metadata(target.join(".git")).is_ok_and(|m| m.is_dir());
    if !dot_git_is_dir && is_bare_repository(&target) {
        return Ok(target);
    }
    if !dot_git_is_dir {
        // Say so when the directory is part of a bigger work tree: deleting
        // it would leave that repository with missing files.
        let top_level = gix::discover(&target)
            .ok()
            .and_then(|repo| repo.workdir().map(Path::to_owned));
        return Err(refuse(match top_level {
            Some(top_level) => DeleteRefusal::NotTopLevel { top_level },
            None => DeleteRefusal::NotARepository,
        }));
    }
    let repo = gix::open(&target).map_err(|_| refuse(DeleteRefusal::NotARepository))?;
    let workdir = repo
        .workdir()
        .and_then(|dir| dir.canonicalize().ok())
        .ok_or_else(|| refuse(DeleteRefusal::NotARepository))?;
    if workdir != target {
        return Err(refuse(DeleteRefusal::NotARepository));
    }
    Ok(target)
}

/// Whether `dir` is itself a bare repository (not a work tree's `.git`).
fn is_bare_repository(dir: &Path) -> bool {
    let Ok(repo) = gix::open_opts(dir, gix::open::Options::isolated()) else {
        return false;
    };
    repo.is_bare()
        && repo
            .git_dir()
            .canonicalize()
            .is_ok_and(|git_dir| git_dir == dir)
}

/// `path` without trailing separators (but `/` stays `/`).
fn without_trailing_separators(path: &Path) -> PathBuf {
    path.components().collect()
}
