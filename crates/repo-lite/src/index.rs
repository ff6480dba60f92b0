//! Rewriting the index (staging area) to match a new commit, so that
//! `git status` finds nothing staged or modified afterwards.

use std::path::Path;

use gix::hash::ObjectId;
use gix::index::entry::Stat;

use crate::error::{Error, Result};
use crate::paths::RepoPath;
use crate::project::Project;

impl Project {
    /// Replaces the index by the entries of `tree`. Stat data of unchanged
    /// entries is kept from the old index, and taken from disk for the
    /// `changed` paths (with their work tree files), so that git need not
    /// re-hash every file to see that nothing changed.
    pub(crate) fn sync_index(&self, tree: ObjectId, changed: &[(&RepoPath, &Path)]) -> Result<()> {
        let index_error = |err: gix::Error| Error::Index {
            root: self.root.clone(),
            source: Box::new(err),
        };
        let old = self.repo.index_or_empty().map_err(index_error)?;
        let mut index = self.repo.index_from_tree(&tree).map_err(index_error)?;
        // The tree cache describes the old tree; git would trust it and
        // report phantom changes.
        index.remove_tree();
        let changed: Vec<_> = changed
            .iter()
            .map(|(path, file)| {
                let fresh_stat = gix::index::fs::Metadata::from_path_no_follow(file)
                    .ok()
                    .and_then(|meta| Stat::from_fs(&meta).ok());
                (path.to_bstring(), fresh_stat)
            })
            .collect();
        let (entries, paths) = index.entries_mut_and_pathbacking();
        for entry in entries {
            let path = entry.path_in(paths);
            if let Some((_, fresh_stat)) = changed.iter().find(|(changed, _)| changed == path) {
                // A zero stat is also correct, only slower for git.
                if let Some(stat) = fresh_stat {
                    entry.stat = *stat;
                }
            } else if let Some(previous) = old.entry_by_path(path) {
                if previous.id == entry.id && previous.mode == entry.mode {
                    entry.stat = previous.stat;
                }
            }
        }
        index
            .write(gix::index::write::Options::default())
            .map_err(index_error)
    }
}
