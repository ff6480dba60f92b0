//! Making a clone appear at its destination all at once, or not at all.
//!
//! The clone is written to a temporary directory beside the destination (so
//! on the same file system) and renamed into place only when complete; on
//! any failure the temporary directory, and any parent directories made for
//! it, are removed again.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What was at the destination before the clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Before {
    /// Nothing.
    Absent,
    /// An empty directory, which a failed clone must leave in place.
    EmptyDir,
}

/// Why the destination cannot take a clone.
pub(crate) enum Refusal {
    /// Something other than an empty directory is there.
    NotEmpty,
    /// It could not be inspected.
    Io(io::Error),
}

/// Checks that `path` is absent or an empty directory, without changing
/// anything. A symbolic link counts as occupied, even to an empty directory.
pub(crate) fn inspect(path: &Path) -> Result<Before, Refusal> {
    match fs::symlink_metadata(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Before::Absent),
        Err(err) => Err(Refusal::Io(err)),
        Ok(meta) if meta.is_dir() => match fs::read_dir(path).map_err(Refusal::Io)?.next() {
            None => Ok(Before::EmptyDir),
            Some(_) => Err(Refusal::NotEmpty),
        },
        Ok(_) => Err(Refusal::NotEmpty),
    }
}

/// A temporary directory beside the destination, plus the missing parents
/// made for it; dropping it without [`Staging::commit`] removes them all.
pub(crate) struct Staging {
    dir: Option<tempfile::TempDir>,
    destination: PathBuf,
    before: Before,
    /// Parents this staging created, deepest first.
    created_parents: Vec<PathBuf>,
}

impl Staging {
    /// Creates the temporary directory next to `destination`, making its
    /// missing parents as `git clone` does.
    pub(crate) fn new(destination: &Path, before: Before) -> io::Result<Staging> {
        let parent = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut staging = Staging {
            dir: None,
            destination: destination.to_owned(),
            before,
            created_parents: missing_ancestors(&parent),
        };
        fs::create_dir_all(&parent)?;
        let name = destination
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.clone-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // tempfile makes private (0700) directories; the clone's root
            // should get the mode any new directory gets (0777 less umask).
            builder.permissions(fs::Permissions::from_mode(0o777));
        }
        staging.dir = Some(builder.tempdir_in(&parent)?);
        Ok(staging)
    }

    /// The temporary directory to clone into.
    pub(crate) fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(&self.destination, |dir| dir.path())
    }

    /// Moves the finished clone to the destination. An empty directory there
    /// is replaced (POSIX `rename` allows that) and its permissions kept.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        let Some(dir) = self.dir.take() else {
            return Err(io::Error::other("the clone was already moved into place"));
        };
        if self.before == Before::EmptyDir {
            if let Ok(meta) = fs::metadata(&self.destination) {
                fs::set_permissions(dir.path(), meta.permissions())?;
            }
        }
        let staged = dir.keep();
        if let Err(err) = fs::rename(&staged, &self.destination) {
            let _ = fs::remove_dir_all(&staged);
            return Err(err);
        }
        self.created_parents.clear();
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Remove the clone first so the parents are empty again.
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
        for parent in &self.created_parents {
            // Only empty ones: someone else may have put files there since.
            let _ = fs::remove_dir(parent);
        }
    }
}

/// The ancestors of `dir` (itself included) that do not exist, deepest
/// first.
fn missing_ancestors(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .filter(|path| !path.as_os_str().is_empty())
        .take_while(|path| fs::symlink_metadata(path).is_err())
        .map(Path::to_owned)
        .collect()
}
