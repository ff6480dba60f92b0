//! Changing the work tree all or nothing: every new file is first written
//! to a temporary file beside its target, and only once all of them are
//! written (and the branch has moved) are they renamed into place. Until
//! then, dropping the [`Staged`] changes removes the temporary files and
//! the directories made for them, leaving the work tree as it was.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn worktree_error(path: &Path, err: io::Error) -> Error {
    Error::Worktree {
        path: path.to_owned(),
        source: Box::new(err),
    }
}

/// Work tree changes written aside, not yet visible.
pub(crate) struct Staged<'a> {
    root: &'a Path,
    /// Temporary files and the targets they become.
    writes: Vec<(tempfile::TempPath, PathBuf)>,
    removals: Vec<PathBuf>,
    /// Directories made for new files, parents first; removed again unless
    /// the changes are applied.
    made: Vec<PathBuf>,
}

impl<'a> Staged<'a> {
    /// No changes yet, in the work tree at `root`.
    pub fn new(root: &'a Path) -> Staged<'a> {
        Staged {
            root,
            writes: Vec::new(),
            removals: Vec::new(),
            made: Vec::new(),
        }
    }

    /// Writes `contents` for `file` into a temporary file beside it, making
    /// missing parent directories. The file's permissions are those of
    /// `existing` (the file it replaces, if any) or of a new file, with the
    /// executable bit as the commit records it (git would otherwise report a
    /// mode change).
    pub fn write(
        &mut self,
        file: &Path,
        contents: &[u8],
        executable: bool,
        existing: Option<&fs::Metadata>,
    ) -> Result<()> {
        let parent = file.parent().unwrap_or(self.root);
        let mut builder = tempfile::Builder::new();
        builder.prefix(".repo-lite-").suffix(".tmp");
        set_mode(&mut builder, executable, existing);
        let mut temp = match builder.tempfile_in(parent) {
            // Only a new directory needs making; trying first saves the lookups.
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                self.make_parents(parent)?;
                builder.tempfile_in(parent)
            }
            created => created,
        }
        .map_err(|err| worktree_error(file, err))?;
        temp.write_all(contents)
            .map_err(|err| worktree_error(file, err))?;
        if existing.is_some() {
            // The mode asked for at creation went through the umask.
            keep_mode(temp.as_file(), executable, existing)
                .map_err(|err| worktree_error(file, err))?;
        }
        self.writes.push((temp.into_temp_path(), file.to_owned()));
        Ok(())
    }

    /// Removes `file` when the changes are applied.
    pub fn remove(&mut self, file: PathBuf) {
        self.removals.push(file);
    }

    /// Makes `directory` and its missing ancestors, remembering them.
    fn make_parents(&mut self, directory: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut current = Some(directory);
        while let Some(dir) = current {
            if dir == self.root || fs::symlink_metadata(dir).is_ok() {
                break;
            }
            missing.push(dir.to_owned());
            current = dir.parent();
        }
        for dir in missing.into_iter().rev() {
            match fs::create_dir(&dir) {
                Ok(()) => self.made.push(dir),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(worktree_error(&dir, err)),
            }
        }
        Ok(())
    }

    /// Renames every temporary file into place and removes the files to
    /// remove, with the directories this leaves empty. Runs after the branch
    /// moved: every step is tried, and the first failure reported.
    pub fn apply(mut self) -> Result<()> {
        let mut first_error = None;
        for (temp, target) in std::mem::take(&mut self.writes) {
            if let Err(err) = temp.persist(&target) {
                first_error.get_or_insert(worktree_error(&target, err.error));
            }
        }
        for file in std::mem::take(&mut self.removals) {
            if let Err(err) = remove_file(self.root, &file) {
                first_error.get_or_insert(err);
            }
        }
        self.made.clear();
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        // Temporary files go with their `TempPath`s; then the directories
        // made for them, deepest first, if nothing else appeared there.
        self.writes.clear();
        for dir in self.made.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// The mode a new file is created with: like git, 0666 or 0777 as the umask
/// allows; an existing file's own bits are set after creation.
#[cfg(unix)]
fn set_mode(builder: &mut tempfile::Builder<'_, '_>, executable: bool, _: Option<&fs::Metadata>) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o777 } else { 0o666 };
    builder.permissions(fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_mode(_: &mut tempfile::Builder<'_, '_>, _: bool, _: Option<&fs::Metadata>) {}

/// Gives `file` the permission bits of `existing`, executable for whoever
/// may read it or for nobody, as the commit says.
#[cfg(unix)]
fn keep_mode(file: &fs::File, executable: bool, existing: Option<&fs::Metadata>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Some(existing) = existing else {
        return Ok(());
    };
    let mode = existing.permissions().mode() & 0o7777;
    let wanted = if executable {
        mode | ((mode & 0o444) >> 2)
    } else {
        mode & !0o111
    };
    file.set_permissions(fs::Permissions::from_mode(wanted))
}

#[cfg(not(unix))]
fn keep_mode(_: &fs::File, _: bool, _: Option<&fs::Metadata>) -> io::Result<()> {
    Ok(())
}

/// Removes `file` (already gone is fine), then the directories above it that
/// became empty, stopping at `root`: git does not track directories, so an
/// empty one left behind would be a leftover of the removal.
fn remove_file(root: &Path, file: &Path) -> Result<()> {
    match fs::remove_file(file) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(worktree_error(file, err)),
    }
    let mut dir = file.parent();
    while let Some(current) = dir {
        if current == root || !current.starts_with(root) {
            break;
        }
        // Fails on a non-empty directory, which is where pruning stops.
        if fs::remove_dir(current).is_err() {
            break;
        }
        dir = current.parent();
    }
    Ok(())
}
