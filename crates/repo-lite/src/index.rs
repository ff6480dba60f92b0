//! Keeping the index (staging area) equal to the commit at `HEAD`, so that
//! `git status` finds nothing staged or modified afterwards.
//!
//! The index a project wrote last is kept in memory. While the file on disk
//! is still that one and `HEAD` still has the tree it was written for, the
//! next commit changes only its own entries; otherwise the index is built
//! again from the whole tree, as after a change made by another program.

use std::cell::RefCell;
use std::path::Path;
use std::time::SystemTime;

use gix::hash::ObjectId;
use gix::index::entry::{Flags, Mode, Stat};
use gix::objs::tree::EntryKind;

use crate::error::{Error, Result};
use crate::paths::RepoPath;
use crate::project::Project;

/// One path a commit changed, for the index.
pub(crate) struct IndexChange<'a> {
    pub path: &'a RepoPath,
    /// The work tree file, whose stat data goes into the entry.
    pub file: &'a Path,
    /// The new kind and blob, or `None` when the path was removed.
    pub blob: Option<(EntryKind, ObjectId)>,
}

/// The index this project wrote last, and how to tell that it is still the
/// one on disk.
#[derive(Default)]
pub(crate) struct IndexCache(RefCell<Option<WrittenIndex>>);

struct WrittenIndex {
    /// The tree the index describes.
    tree: ObjectId,
    file: gix::index::File,
    on_disk: FileIdentity,
}

/// A rename replaces the index file, so a new inode (or another size or
/// time) means someone else wrote it.
#[derive(Debug, PartialEq, Eq)]
struct FileIdentity {
    inode: u64,
    size: u64,
    modified: SystemTime,
}

impl FileIdentity {
    fn of(path: &Path) -> Option<FileIdentity> {
        let metadata = std::fs::symlink_metadata(path).ok()?;
        Some(FileIdentity {
            inode: inode(&metadata),
            size: metadata.len(),
            modified: metadata.modified().ok()?,
        })
    }
}

#[cfg(unix)]
fn inode(metadata: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(metadata)
}

/// Without inodes, size and modification time tell the files apart.
#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

impl Project {
    /// Makes the index describe `tree`, the tree of the commit just made on
    /// top of one whose tree was `base`, where `changes` are the paths that
    /// differ. Stat data comes from disk for the changed paths and is kept
    /// for the others, so that git need not re-hash every file to see that
    /// nothing changed.
    pub(crate) fn sync_index(
        &self,
        base: ObjectId,
        tree: ObjectId,
        changes: &[IndexChange<'_>],
    ) -> Result<()> {
        let index_error = |err: gix::Error| Error::Index {
            root: self.root.clone(),
            source: Box::new(err),
        };
        let index_path = self.repo.index_path();
        let mut cache = self.index_cache.0.borrow_mut();
        let kept = cache
            .take()
            .filter(|kept| {
                kept.tree == base && FileIdentity::of(&index_path).as_ref() == Some(&kept.on_disk)
            })
            .and_then(|kept| edited(kept.file, changes));
        let mut index = match kept {
            Some(index) => index,
            None => self.index_from_tree(tree, changes).map_err(index_error)?,
        };
        index
            .write(gix::index::write::Options::default())
            .map_err(index_error)?;
        *cache = FileIdentity::of(&index_path).map(|on_disk| WrittenIndex {
            tree,
            file: index,
            on_disk,
        });
        Ok(())
    }

    /// The index of `tree`, with stat data from disk for `changes` and from
    /// the index on disk for entries that did not change.
    fn index_from_tree(
        &self,
        tree: ObjectId,
        changes: &[IndexChange<'_>],
    ) -> std::result::Result<gix::index::File, gix::Error> {
        let old = self.repo.index_or_empty()?;
        let mut index = self.repo.index_from_tree(&tree)?;
        // The tree cache describes the old tree; git would trust it and
        // report phantom changes.
        index.remove_tree();
        let changed: Vec<_> = changes
            .iter()
            .map(|change| (change.path.to_bstring(), fresh_stat(change.file)))
            .collect();
        let (entries, paths) = index.entries_mut_and_pathbacking();
        for entry in entries {
            let path = entry.path_in(paths);
            if let Some((_, stat)) = changed.iter().find(|(changed, _)| changed == path) {
                entry.stat = *stat;
            } else if let Some(previous) = old.entry_by_path(path) {
                if previous.id == entry.id && previous.mode == entry.mode {
                    entry.stat = previous.stat;
                }
            }
        }
        Ok(index)
    }
}

impl std::fmt::Debug for IndexCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tree = self.0.borrow().as_ref().map(|kept| kept.tree);
        f.debug_struct("IndexCache").field("tree", &tree).finish()
    }
}

/// `index` with `changes` applied, or `None` when a change turns a file
/// into a directory or back, which only a rebuild from the tree gets right.
fn edited(mut index: gix::index::File, changes: &[IndexChange<'_>]) -> Option<gix::index::File> {
    let mut added = false;
    for change in changes {
        let path = change.path.to_bstring();
        let found = index.entry_index_by_path(path.as_ref());
        match (change.blob, found) {
            (Some((kind, id)), Ok(position)) => {
                let entry = &mut index.entries_mut()[position];
                entry.id = id;
                entry.mode = entry_mode(kind)?;
                entry.stat = fresh_stat(change.file);
            }
            (Some((kind, id)), Err(_)) => {
                if index.path_is_directory(path.as_ref()) || has_file_ancestor(&index, change.path)
                {
                    return None;
                }
                let mode = entry_mode(kind)?;
                index.dangerously_push_entry(
                    fresh_stat(change.file),
                    id,
                    Flags::empty(),
                    mode,
                    path.as_ref(),
                );
                added = true;
            }
            (None, Ok(position)) => {
                index.remove_entry_at_index(position);
            }
            (None, Err(_)) => return None,
        }
    }
    if added {
        index.sort_entries();
    }
    Some(index)
}

/// True when a parent directory of `path` is a file in `index`.
fn has_file_ancestor(index: &gix::index::File, path: &RepoPath) -> bool {
    let components: Vec<&[u8]> = path.components().collect();
    let parents = components.len().saturating_sub(1);
    let mut prefix: Vec<u8> = Vec::new();
    for component in &components[..parents] {
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(component);
        if index.entry_by_path(prefix.as_slice().into()).is_some() {
            return true;
        }
    }
    false
}

fn entry_mode(kind: EntryKind) -> Option<Mode> {
    match kind {
        EntryKind::Blob => Some(Mode::FILE),
        EntryKind::BlobExecutable => Some(Mode::FILE_EXECUTABLE),
        _ => None,
    }
}

/// The stat data of the work tree file; zeros, if it cannot be read, are
/// also correct, only slower for git (it re-hashes the file).
fn fresh_stat(file: &Path) -> Stat {
    gix::index::fs::Metadata::from_path_no_follow(file)
        .ok()
        .and_then(|metadata| Stat::from_fs(&metadata).ok())
        .unwrap_or_default()
}
