//! Writing and removing files in the work tree, so that it matches the
//! commit about to be made.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use crate::error::{Error, Result};

fn worktree_error(path: &Path, err: io::Error) -> Error {
    Error::Worktree {
        path: path.to_owned(),
        source: Box::new(err),
    }
}

/// Writes `contents` to `file`, creating its parent directories, with the
/// executable bit matching what the commit records (git would otherwise
/// report a mode change).
pub(crate) fn write_file(file: &Path, contents: &[u8], executable: bool) -> Result<()> {
    let mut handle = match fs::File::create(file) {
        // Only a new directory needs making; trying first saves the lookups.
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent).map_err(|err| worktree_error(parent, err))?;
            }
            fs::File::create(file)
        }
        opened => opened,
    }
    .map_err(|err| worktree_error(file, err))?;
    handle
        .write_all(contents)
        .map_err(|err| worktree_error(file, err))?;
    set_executable(&handle, executable).map_err(|err| worktree_error(file, err))
}

#[cfg(unix)]
fn set_executable(handle: &fs::File, executable: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;

    let mut permissions = handle.metadata()?.permissions();
    let mode = permissions.mode();
    // Like git: executable for whoever may read it, or for nobody.
    let wanted = if executable {
        mode | ((mode & 0o444) >> 2)
    } else {
        mode & !0o111
    };
    if wanted != mode {
        permissions.set_mode(wanted);
        handle.set_permissions(permissions)?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_executable(_handle: &fs::File, _executable: bool) -> io::Result<()> {
    Ok(())
}

/// Removes `file` (already gone is fine), then the directories above it that
/// became empty, stopping at `root`: git does not track directories, so an
/// empty one left behind would be a leftover of the removal.
pub(crate) fn remove_file(root: &Path, file: &Path) -> Result<()> {
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
