//! Reading what `HEAD` holds: its files and its history.

use std::path::{Path, PathBuf};

use gix::hash::ObjectId;
use gix::objs::tree::EntryMode;
use gix::refs::FullName;
use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::CommitTimeOrder;

use crate::error::{BoxError, Error, Result};
use crate::paths::{self, RepoPath};
use crate::project::Project;

/// One commit of [`Project::log`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitInfo {
    /// The full commit id in hex, as `git log --format=%H` prints it.
    pub id: String,
    /// The author's name.
    pub author_name: String,
    /// The author's email.
    pub author_email: String,
    /// When the commit was authored, in seconds since the Unix epoch.
    pub time: i64,
    /// The whole commit message, as stored (usually ending in a newline).
    pub message: String,
}

/// The commit `HEAD` points at (`None` on an unborn branch) and its tree
/// (the empty tree on an unborn branch).
pub(crate) struct HeadState {
    pub(crate) commit: Option<ObjectId>,
    pub(crate) tree: ObjectId,
    /// The branch `HEAD` points at; `None` when it is detached.
    pub(crate) branch: Option<FullName>,
}

impl Project {
    fn read_error(&self, what: impl Into<String>) -> impl FnOnce(gix::Error) -> Error + '_ {
        let what = what.into();
        move |err| Error::Read {
            root: self.root.clone(),
            what,
            source: BoxError::from(err),
        }
    }

    pub(crate) fn head_state(&self) -> Result<HeadState> {
        let mut head = self.repo.head().map_err(self.read_error("HEAD"))?;
        let branch = head.referent_name().map(ToOwned::to_owned);
        if let Some((made, tree)) = self.last_commit.get() {
            // The commit this handle made last is a commit: nothing to peel,
            // nothing to read.
            if head.id().is_some_and(|id| id.detach() == made) {
                return Ok(HeadState {
                    commit: Some(made),
                    tree,
                    branch,
                });
            }
        }
        match head.try_peel_to_id().map_err(self.read_error("HEAD"))? {
            None => Ok(HeadState {
                commit: None,
                tree: ObjectId::empty_tree(self.repo.object_hash()),
                branch,
            }),
            Some(id) => {
                let commit = id.detach();
                let tree = match self.last_commit.get() {
                    // Commits never change: the tree of one this handle made is known.
                    Some((made, tree)) if made == commit => tree,
                    _ => self
                        .repo
                        .find_commit(commit)
                        .and_then(|commit| commit.tree_id())
                        .map_err(self.read_error("the commit at HEAD"))?
                        .detach(),
                };
                Ok(HeadState {
                    commit: Some(commit),
                    tree,
                    branch,
                })
            }
        }
    }

    /// The mode and object id of `path` in `tree`, if it has an entry.
    pub(crate) fn entry_at(
        &self,
        tree: ObjectId,
        path: &RepoPath,
    ) -> Result<Option<(EntryMode, ObjectId)>> {
        self.entry_at_components(tree, path.components(), path.as_path())
    }

    /// The mode and object id of the entry `components` lead to in `tree`
    /// (`what` names it in an error), if there is one.
    pub(crate) fn entry_at_components<'c>(
        &self,
        tree: ObjectId,
        components: impl IntoIterator<Item = &'c [u8]>,
        what: &Path,
    ) -> Result<Option<(EntryMode, ObjectId)>> {
        let entry = self
            .repo
            .find_tree(tree)
            .and_then(|tree| tree.lookup_entry(components))
            .map_err(self.read_error(what.display().to_string()))?;
        Ok(entry.map(|entry| (entry.mode(), entry.object_id())))
    }

    /// The id (full hex, as `git rev-parse HEAD` prints it) of the commit
    /// `HEAD` points at; `None` on a branch with no commit yet.
    pub fn head_commit(&self) -> Result<Option<String>> {
        Ok(self.head_state()?.commit.map(|id| id.to_string()))
    }

    /// The blob id (full hex, as `git rev-parse HEAD:path` prints it) of
    /// the file at `path` in the commit `HEAD` points at, without reading
    /// its contents; `None` if there is no such file (or no commit yet).
    ///
    /// A blob id names the contents: an HTTP `ETag`, a cache key. Fails
    /// like [`read_file`](Self::read_file) for an invalid path or a path
    /// that is not a file.
    pub fn file_id(&self, path: impl AsRef<Path>) -> Result<Option<String>> {
        Ok(self.blob_at_head(path.as_ref())?.map(|id| id.to_string()))
    }

    /// The blob at `given` in the commit `HEAD` points at, if any; refuses
    /// an invalid path and anything but a file.
    fn blob_at_head(&self, given: &Path) -> Result<Option<ObjectId>> {
        let path = paths::normalize(given).map_err(|source| Error::InvalidPath {
            path: given.to_owned(),
            source,
        })?;
        let head = self.head_state()?;
        match self.entry_at(head.tree, &path)? {
            None => Ok(None),
            Some((mode, _)) if !mode.is_blob() => Err(Error::NotAFile {
                root: self.root.clone(),
                path: given.to_owned(),
            }),
            Some((_, id)) => Ok(Some(id)),
        }
    }

    /// The contents of the file at `path` in the commit `HEAD` points at.
    ///
    /// Fails with [`Error::InvalidPath`] for a path that
    /// [`add_file`](Self::add_file) would refuse, [`Error::FileNotFound`] if
    /// there is no such file (or no commit yet), and [`Error::NotAFile`] for
    /// a directory, symbolic link or submodule.
    pub fn read_file(&self, path: impl AsRef<Path>) -> Result<Vec<u8>> {
        let given = path.as_ref();
        let Some(id) = self.blob_at_head(given)? else {
            return Err(Error::FileNotFound {
                root: self.root.clone(),
                path: given.to_owned(),
            });
        };
        let blob = self
            .repo
            .find_blob(id)
            .map_err(self.read_error(given.display().to_string()))?;
        Ok(blob.data.clone())
    }

    /// Every file in the commit `HEAD` points at (regular files, executables
    /// and symbolic links, not directories), relative to the work tree and
    /// sorted; empty on a branch with no commit yet.
    pub fn list_files(&self) -> Result<Vec<PathBuf>> {
        let head = self.head_state()?;
        let entries = self
            .repo
            .find_tree(head.tree)
            .and_then(|tree| tree.traverse().breadthfirst.files())
            .map_err(self.read_error("the tree at HEAD"))?;
        let mut files = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.mode.is_blob_or_symlink() {
                let path = gix::path::from_bstring(entry.filepath).map_err(|err| Error::Read {
                    root: self.root.clone(),
                    what: "a file name at HEAD".into(),
                    source: Box::new(err),
                })?;
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// The latest `limit` commits reachable from `HEAD`, newest first, like
    /// `git log -n <limit>`; empty on a branch with no commit yet.
    pub fn log(&self, limit: usize) -> Result<Vec<CommitInfo>> {
        let Some(tip) = self.head_state()?.commit else {
            return Ok(Vec::new());
        };
        let walk = self
            .repo
            .rev_walk([tip])
            .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
            .all()
            .map_err(self.read_error("the history"))?;
        let mut commits = Vec::new();
        for info in walk.take(limit) {
            let info = info.map_err(self.read_error("the history"))?;
            let commit = info.object().map_err(self.read_error("a commit"))?;
            commits.push(self.commit_info(&commit)?);
        }
        Ok(commits)
    }

    /// The commit `id` (its full hex id), if this project has it. Fails
    /// with [`Error::InvalidCommitId`] for anything but a full id.
    pub fn commit(&self, id: &str) -> Result<Option<CommitInfo>> {
        let parsed =
            ObjectId::from_hex(id.as_bytes()).map_err(|source| Error::InvalidCommitId {
                id: id.to_owned(),
                source: BoxError::from(source),
            })?;
        let Ok(object) = self.repo.find_object(parsed) else {
            return Ok(None);
        };
        match object.try_into_commit() {
            Ok(commit) => Ok(Some(self.commit_info(&commit)?)),
            Err(_) => Ok(None), // a blob or a tree by that id
        }
    }

    fn commit_info(&self, commit: &gix::Commit<'_>) -> Result<CommitInfo> {
        let decoded = commit.decode().map_err(self.read_error("a commit"))?;
        let author = decoded
            .author()
            .map_err(self.read_error("a commit's author"))?;
        Ok(CommitInfo {
            id: commit.id.to_hex().to_string(),
            author_name: author.name.to_string(),
            author_email: author.email.to_string(),
            time: author.seconds(),
            message: decoded.message.to_string(),
        })
    }
}
