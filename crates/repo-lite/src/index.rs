//! The index (staging area) a commit changes: only the entries of the paths
//! it committed, so that what the user staged for other paths with
//! `git add` stays staged, as after `git commit -- <paths>`.
//!
//! The index a project wrote last is kept in memory. While the file on disk
//! is still that one, the next commit edits it in memory; otherwise it is
//! read again from disk (or, when there is no index file, built from the
//! tree at `HEAD`).

use std::cell::RefCell;
use std::path::Path;
use std::time::SystemTime;

use gix::bstr::BString;
use gix::hash::ObjectId;
use gix::index::entry::{Flags, Mode, Stage, Stat};
use gix::objs::tree::EntryKind;

use crate::filter::AttributeFiles;
use crate::paths::RepoPath;

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
    file: gix::index::File,
    on_disk: FileIdentity,
    attribute_files: Option<AttributeFiles>,
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

impl IndexCache {
    /// The index of `repo` as it is on disk: the one kept in memory when
    /// the file is still the one written last, else read again; built from
    /// `head_tree` when there is no index file. Hand it back with
    /// [`store`](Self::store) or [`put_back`](Self::put_back); dropped, the
    /// next call reads the file again.
    pub fn load(
        &self,
        repo: &gix::Repository,
        head_tree: ObjectId,
    ) -> Result<LoadedIndex, gix::Error> {
        let kept = self.0.borrow_mut().take();
        let Some(on_disk) = FileIdentity::of(&repo.index_path()) else {
            return Ok(LoadedIndex {
                file: repo.index_from_tree(&head_tree)?,
                on_disk: None,
                attribute_files: None,
            });
        };
        match kept {
            Some(kept) if kept.on_disk == on_disk => Ok(LoadedIndex {
                file: kept.file,
                on_disk: Some(on_disk),
                attribute_files: kept.attribute_files,
            }),
            _ => {
                let mut file = repo.open_index()?;
                // The cache of tree ids describes entries a commit may
                // change; git rebuilds it when it needs it.
                file.remove_tree();
                Ok(LoadedIndex {
                    file,
                    on_disk: Some(on_disk),
                    attribute_files: None,
                })
            }
        }
    }

    /// Keeps `index`, unchanged, for the next [`load`](Self::load).
    pub fn put_back(&self, index: LoadedIndex) {
        if let Some(on_disk) = index.on_disk {
            *self.0.borrow_mut() = Some(WrittenIndex {
                file: index.file,
                on_disk,
                attribute_files: index.attribute_files,
            });
        }
    }

    /// Applies `changes` to `index` (from [`load`](Self::load)), with stat
    /// data from the work tree for the changed paths (so that git need not
    /// re-hash them), writes it and keeps it.
    pub fn store(&self, index: LoadedIndex, changes: &[IndexChange<'_>]) -> Result<(), gix::Error> {
        let LoadedIndex {
            file: mut index,
            mut attribute_files,
            ..
        } = index;
        if edit(&mut index, changes) {
            attribute_files = None;
        }
        index.write(gix::index::write::Options::default())?;
        *self.0.borrow_mut() = FileIdentity::of(index.path()).map(|on_disk| WrittenIndex {
            file: index,
            on_disk,
            attribute_files,
        });
        Ok(())
    }
}

/// An index from [`IndexCache::load`], and the file it was read from.
pub(crate) struct LoadedIndex {
    file: gix::index::File,
    on_disk: Option<FileIdentity>,
    /// Its `.gitattributes` entries, once looked for: they change only
    /// when a commit changes such a path or the file is read again, and
    /// looking means going through every entry.
    attribute_files: Option<AttributeFiles>,
}

impl LoadedIndex {
    /// The entries, for attribute look-ups.
    pub fn state(&self) -> &gix::index::State {
        &self.file
    }

    /// The `.gitattributes` entries, found by `find` the first time.
    pub fn attribute_files<E>(
        &mut self,
        find: impl FnOnce(&gix::index::State) -> Result<AttributeFiles, E>,
    ) -> Result<AttributeFiles, E> {
        if let Some(files) = &self.attribute_files {
            return Ok(files.clone());
        }
        let files = find(&self.file)?;
        self.attribute_files = Some(files.clone());
        Ok(files)
    }
}

impl std::fmt::Debug for IndexCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self
            .0
            .borrow()
            .as_ref()
            .map(|kept| kept.file.entries().len());
        f.debug_struct("IndexCache")
            .field("kept_entries", &kept)
            .finish()
    }
}

/// Makes the entries of `changes` in `index` those of the commit: every
/// entry at the path (conflict stages too), below it (a directory became a
/// file) and at its parents (a file became a directory) goes, and the new
/// blob's entry comes in. Other entries stay as they are. Returns whether
/// an entry named `.gitattributes` came or went.
fn edit(index: &mut gix::index::File, changes: &[IndexChange<'_>]) -> bool {
    let mut unsorted = false;
    let mut attributes_changed = false;
    for change in changes {
        let path = change.path.to_bstring();
        attributes_changed |= is_attributes_file(&path);
        let stat = || fresh_stat(change.file);
        let only_stage_0 = index
            .entry_range(path.as_ref())
            .is_some_and(|range| range.len() == 1)
            && index
                .entry_index_by_path_and_stage(path.as_ref(), Stage::Unconflicted)
                .is_some();
        match (change.blob.and_then(entry_mode), only_stage_0) {
            // The common case, a file updated in place.
            (Some((mode, id)), true) => {
                if let Ok(position) = index.entry_index_by_path(path.as_ref()) {
                    let entry = &mut index.entries_mut()[position];
                    entry.id = id;
                    entry.mode = mode;
                    entry.stat = stat();
                    entry.flags = Flags::empty();
                }
            }
            (blob, _) => {
                attributes_changed |= remove_at_and_around(index, change.path, &path);
                if let Some((mode, id)) = blob {
                    index.dangerously_push_entry(stat(), id, Flags::empty(), mode, path.as_ref());
                    unsorted = true;
                }
            }
        }
    }
    if unsorted {
        index.sort_entries();
    }
    attributes_changed
}

/// Whether `path` names a `.gitattributes` file, in any case (whatever
/// `core.ignoreCase` says: looking again costs only time).
fn is_attributes_file(path: &[u8]) -> bool {
    let name = path.rsplit(|byte| *byte == b'/').next().unwrap_or(path);
    name.eq_ignore_ascii_case(b".gitattributes")
}

/// Removes the entries at `path` (every stage), below it, and at its parents.
/// Returns whether one of them was a `.gitattributes` file.
fn remove_at_and_around(index: &mut gix::index::File, path: &RepoPath, joined: &BString) -> bool {
    let mut below = joined.clone();
    below.push(b'/');
    let mut doomed: Vec<usize> = Vec::new();
    if let Some(range) = index.entry_range(joined.as_ref()) {
        doomed.extend(range);
    }
    if let Some(range) = index.prefixed_entries_range(below.as_ref()) {
        doomed.extend(range);
    }
    let components: Vec<&[u8]> = path.components().collect();
    let mut parent = BString::default();
    for component in &components[..components.len().saturating_sub(1)] {
        if !parent.is_empty() {
            parent.push(b'/');
        }
        parent.extend_from_slice(component);
        if let Some(range) = index.entry_range(parent.as_ref()) {
            doomed.extend(range);
        }
    }
    if doomed.is_empty() {
        return false;
    }
    doomed.sort_unstable();
    doomed.dedup();
    let mut attributes = false;
    index.remove_entries(|position, entry_path, _| {
        let doomed = doomed.binary_search(&position).is_ok();
        attributes |= doomed && is_attributes_file(entry_path);
        doomed
    });
    attributes
}

fn entry_mode((kind, id): (EntryKind, ObjectId)) -> Option<(Mode, ObjectId)> {
    match kind {
        EntryKind::Blob => Some((Mode::FILE, id)),
        EntryKind::BlobExecutable => Some((Mode::FILE_EXECUTABLE, id)),
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
