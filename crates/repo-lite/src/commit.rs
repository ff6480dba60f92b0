//! Changing one file at a time, each change one commit on the current
//! branch, with the work tree and the index kept in step.

use std::path::Path;

use gix::objs::tree::EntryKind;

use gix::refs::transaction::{Change as RefChange, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::{FullName, Target};

use crate::error::{BoxError, Error, Result};
use crate::history::HeadState;
use crate::index::IndexChange;
use crate::paths::{self, RepoPath};
use crate::project::Project;
use crate::reflog::RefUpdate;
use crate::signature::Signature;

/// What [`Project::add_file`] or [`Project::update_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// One commit was made on the current branch.
    Committed {
        /// The new commit's full id in hex.
        id: String,
    },
    /// The file already had exactly these contents at `HEAD`: nothing was
    /// written and no commit was made.
    Unchanged,
}

/// One checked change, ready to be written.
struct Plan<'a> {
    path: RepoPath,
    file: std::path::PathBuf,
    /// The contents, entry kind and blob to write; `None` to remove.
    write: Option<(&'a [u8], EntryKind, gix::hash::ObjectId)>,
}

enum Change<'a> {
    /// Create or overwrite.
    Add(&'a [u8]),
    /// Overwrite only.
    Update(&'a [u8]),
    Remove,
}

impl Project {
    /// Writes `contents` to the file at `path` (relative to the work tree,
    /// parent directories created as needed) and commits it with `message`
    /// on the current branch, as the first commit if the branch has none.
    /// An existing file is overwritten and keeps its executable bit.
    ///
    /// Afterwards the work tree file, the index and `HEAD` agree. Returns
    /// [`Outcome::Unchanged`] without committing if `HEAD` already has these
    /// contents at `path`.
    ///
    /// Fails with [`Error::InvalidPath`] before anything is written if `path`
    /// is refused (see [`PathError`](crate::PathError)), with
    /// [`Error::NotAFile`] if `path` is a directory, symbolic link or
    /// submodule at `HEAD`, and with [`Error::InvalidSignature`] if the
    /// signature would corrupt the commit.
    pub fn add_file(
        &self,
        path: impl AsRef<Path>,
        contents: impl AsRef<[u8]>,
        message: &str,
    ) -> Result<Outcome> {
        self.apply(path.as_ref(), Change::Add(contents.as_ref()), message)
    }

    /// Like [`add_file`](Self::add_file), but the file must already exist at
    /// `HEAD`: [`Error::FileNotFound`] otherwise, and nothing is written.
    pub fn update_file(
        &self,
        path: impl AsRef<Path>,
        contents: impl AsRef<[u8]>,
        message: &str,
    ) -> Result<Outcome> {
        self.apply(path.as_ref(), Change::Update(contents.as_ref()), message)
    }

    /// Removes the file at `path` from the work tree (with the directories
    /// this leaves empty) and commits the removal with `message`; returns the
    /// new commit's id in hex.
    ///
    /// Fails with [`Error::FileNotFound`] if `HEAD` has no file at `path`,
    /// and otherwise as [`add_file`](Self::add_file) does.
    pub fn remove_file(&self, path: impl AsRef<Path>, message: &str) -> Result<String> {
        match self.apply(path.as_ref(), Change::Remove, message)? {
            Outcome::Committed { id } => Ok(id),
            // A removal always changes the tree; reaching this would be a bug.
            Outcome::Unchanged => Err(Error::Commit {
                root: self.root.clone(),
                path: path.as_ref().to_owned(),
                source: "removing the file left the tree unchanged".into(),
            }),
        }
    }

    /// Writes every file of `files` (relative paths and their contents) and
    /// commits them together with `message`: one commit for all, as
    /// [`add_file`](Self::add_file) would make for one. Files whose
    /// contents are already those at `HEAD` are left alone;
    /// [`Outcome::Unchanged`] when that holds for all of them. Every path is
    /// checked before anything is written.
    pub fn write_files<P, C>(&self, files: &[(P, C)], message: &str) -> Result<Outcome>
    where
        P: AsRef<Path>,
        C: AsRef<[u8]>,
    {
        let changes: Vec<(&Path, Change<'_>)> = files
            .iter()
            .map(|(path, contents)| (path.as_ref(), Change::Add(contents.as_ref())))
            .collect();
        self.commit_changes(&changes, message)
    }

    /// Makes a commit with no files: a project's first commit.
    pub(crate) fn commit_empty_tree(&self, message: &str) -> Result<String> {
        let (author, committer) = self.identities();
        author.validate()?;
        committer.validate()?;
        let commit_error = |source: BoxError| Error::Commit {
            root: self.root.clone(),
            path: std::path::PathBuf::new(),
            source,
        };
        let head = self.head_state()?;
        let tree = self
            .repo
            .write_object(gix::objs::Tree::empty())
            .map_err(|err| commit_error(err.into()))?
            .detach();
        let id = self
            .commit_tree(&author, &committer, message, tree, &head)
            .map_err(commit_error)?;
        self.sync_index(head.tree, tree, &[])?;
        Ok(id)
    }

    fn apply(&self, given: &Path, change: Change<'_>, message: &str) -> Result<Outcome> {
        self.commit_changes(&[(given, change)], message)
    }

    /// Checks every change, then writes the work tree, the commit and the
    /// index: a refused change leaves everything as it was.
    fn commit_changes(&self, changes: &[(&Path, Change<'_>)], message: &str) -> Result<Outcome> {
        // Objects of an earlier call that failed before committing.
        self.repo.objects.reset_object_memory();
        let (author, committer) = self.identities();
        author.validate()?;
        committer.validate()?;
        let head = self.head_state()?;
        let mut planned = Vec::with_capacity(changes.len());
        for (given, change) in changes {
            if let Some(plan) = self.plan(given, change, head.tree)? {
                planned.push(plan);
            }
        }
        if planned.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        let commit_error = |source: BoxError| Error::Commit {
            root: self.root.clone(),
            path: changes[0].0.to_owned(),
            source,
        };
        let mut editor = self
            .repo
            .edit_tree(head.tree)
            .map_err(|err| commit_error(err.into()))?;
        for plan in &planned {
            match plan.write {
                Some((contents, kind, blob)) => {
                    crate::worktree::write_file(
                        &plan.file,
                        contents,
                        kind == EntryKind::BlobExecutable,
                    )?;
                    editor
                        .upsert(plan.path.to_bstring(), kind, blob)
                        .map_err(|err| commit_error(err.into()))?;
                }
                None => {
                    crate::worktree::remove_file(&self.root, &plan.file)?;
                    editor
                        .remove(plan.path.to_bstring())
                        .map_err(|err| commit_error(err.into()))?;
                }
            }
        }
        let tree = editor
            .write()
            .map_err(|err| commit_error(err.into()))?
            .detach();
        let id = self
            .commit_tree(&author, &committer, message, tree, &head)
            .map_err(commit_error)?;
        let changes: Vec<IndexChange<'_>> = planned
            .iter()
            .map(|plan| IndexChange {
                path: &plan.path,
                file: &plan.file,
                blob: plan.write.map(|(_, kind, blob)| (kind, blob)),
            })
            .collect();
        self.sync_index(head.tree, tree, &changes)?;
        Ok(Outcome::Committed { id })
    }

    /// Checks one change against `tree` and stores its blob; `None` when it
    /// would change nothing.
    fn plan<'a>(
        &self,
        given: &Path,
        change: &Change<'a>,
        tree: gix::hash::ObjectId,
    ) -> Result<Option<Plan<'a>>> {
        let path = paths::normalize(given).map_err(|source| Error::InvalidPath {
            path: given.to_owned(),
            source,
        })?;
        paths::check_worktree(&self.root, &path, given)?;
        let existing = self.entry_at(tree, &path)?;
        let not_a_file = || Error::NotAFile {
            root: self.root.clone(),
            path: given.to_owned(),
        };
        let not_found = || Error::FileNotFound {
            root: self.root.clone(),
            path: given.to_owned(),
        };
        let file = self.root.join(path.as_path());
        let write = match change {
            Change::Add(contents) | Change::Update(contents) => {
                let kind = match existing {
                    None if matches!(change, Change::Update(_)) => return Err(not_found()),
                    None => EntryKind::Blob,
                    Some((mode, _)) if mode.is_blob() => mode.kind(),
                    Some(_) => return Err(not_a_file()),
                };
                let blob = self
                    .repo
                    .write_blob(contents)
                    .map_err(|err| Error::Commit {
                        root: self.root.clone(),
                        path: given.to_owned(),
                        source: err.into(),
                    })?
                    .detach();
                if existing.map(|(_, id)| id) == Some(blob) {
                    return Ok(None);
                }
                Some((*contents, kind, blob))
            }
            Change::Remove => match existing {
                None => return Err(not_found()),
                Some((mode, _)) if !mode.is_blob() => return Err(not_a_file()),
                Some(_) => None,
            },
        };
        Ok(Some(Plan { path, file, write }))
    }

    /// Writes the commit and moves the current branch (or a detached `HEAD`)
    /// to it, provided `HEAD` still is `head`, and logs the move.
    fn commit_tree(
        &self,
        author: &Signature,
        committer: &Signature,
        message: &str,
        tree: gix::hash::ObjectId,
        head: &HeadState,
    ) -> Result<String, BoxError> {
        let now = gix::date::Time::now_local_or_utc();
        let actor = |signature: &Signature| gix::actor::Signature {
            name: signature.name.as_str().into(),
            email: signature.email.as_str().into(),
            time: now,
        };
        let (author, committer) = (actor(author), actor(committer));
        let mut committer_time = Default::default();
        // git ends messages with a newline; `git log` and fsck expect it.
        let message = if message.ends_with('\n') {
            message.to_owned()
        } else {
            format!("{message}\n")
        };
        let parents: Vec<_> = head.commit.into_iter().collect();
        let log_message =
            gix::reference::log::message("commit", message.as_str().into(), parents.len());
        let commit = gix::objs::Commit {
            message: message.into(),
            tree,
            author,
            committer: committer.clone(),
            encoding: None,
            parents: parents.iter().copied().collect(),
            extra_headers: Vec::new(),
        };
        let id = self.repo.write_object(&commit)?.detach();
        // Every new object reaches the disk before the branch names it.
        self.loose.flush(&self.repo)?;
        let expected = match head.commit {
            Some(parent) => PreviousValue::MustExistAndMatch(Target::Object(parent)),
            None => PreviousValue::MustNotExist,
        };
        let edit = RefEdit {
            change: RefChange::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: log_message.clone(),
                },
                expected,
                new: Target::Object(id),
            },
            // The branch itself rather than `HEAD`, which gix would lock
            // and read again to follow it; the reflog of `HEAD` is ours.
            name: match &head.branch {
                Some(branch) => branch.clone(),
                None => FullName::try_from("HEAD")?,
            },
            deref: false,
        };
        self.repo
            .edit_references_as([edit], Some(committer.to_ref(&mut committer_time)))?;
        self.last_commit.set(Some((id, tree)));
        let update = RefUpdate {
            previous: head.commit,
            new: id,
            committer: committer.to_ref(&mut committer_time),
            message: log_message.as_ref(),
        };
        self.reflogs
            .record(
                &self.repo,
                head.branch.as_ref().map(|name| name.as_ref()),
                &update,
            )
            .map_err(|err| {
                format!("the commit was made, but its reflog line was not written: {err}")
            })?;
        Ok(id.to_hex().to_string())
    }
}
