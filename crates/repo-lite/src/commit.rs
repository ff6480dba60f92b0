//! Changing one file at a time, each change one commit on the current
//! branch, with the work tree and the index kept in step (a bare project
//! has neither: only its objects and branch change).

use std::path::{Path, PathBuf};

use gix::bstr::BString;
use gix::hash::ObjectId;
use gix::objs::tree::EntryKind;
use gix::refs::transaction::{Change as RefChange, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::{FullName, Target};

use crate::error::{BoxError, Error, Result};
use crate::filter::{CleanFilter, FilterError, WrittenAttributes};
use crate::history::HeadState;
use crate::index::{IndexChange, LoadedIndex};
use crate::paths::{self, FileKind, PathError, RepoPath};
use crate::project::Project;
use crate::reflog::RefUpdate;
use crate::signature::Signature;
use crate::worktree::Staged;

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

/// A path that passed every check, with what is there now.
struct Checked {
    path: RepoPath,
    /// The entry at `HEAD` ([`Project::check_at_head`]).
    at_head: Option<(EntryKind, ObjectId)>,
    /// The file in the work tree.
    file: Option<std::fs::Metadata>,
}

/// One checked change, ready to be written.
pub(crate) struct Plan<'a> {
    pub(crate) path: RepoPath,
    pub(crate) file: PathBuf,
    /// The file at `file` now, if any.
    pub(crate) existing: Option<std::fs::Metadata>,
    /// The work tree contents, entry kind and blob to write; `None` to remove.
    pub(crate) write: Option<(&'a [u8], EntryKind, ObjectId)>,
}

enum Change<'a> {
    /// Create or overwrite.
    Add(&'a [u8]),
    /// Overwrite only.
    Update(&'a [u8]),
    Remove,
}

/// A commit object written to memory, and what moving the branch to it
/// records.
pub(crate) struct NewCommit {
    pub(crate) id: ObjectId,
    pub(crate) tree: ObjectId,
    pub(crate) committer: gix::actor::Signature,
    pub(crate) log_message: BString,
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
        check_message(message)?;
        let head = self.head_state()?;
        let path = PathBuf::new();
        let commit_error = |source: BoxError| Error::Commit {
            root: self.root.clone(),
            path: path.clone(),
            source,
        };
        let index = self.load_index(&head)?;
        let tree = self
            .keep(&gix::objs::Tree::empty())
            .map_err(|err| commit_error(err.into()))?;
        let commit = self
            .write_commit(&author, &committer, message, tree, &head)
            .map_err(commit_error)?;
        self.move_branch(&head, &commit, &path)?;
        self.finish(&head, &commit, None, index, &[])?;
        Ok(commit.id.to_hex().to_string())
    }

    fn apply(&self, given: &Path, change: Change<'_>, message: &str) -> Result<Outcome> {
        self.commit_changes(&[(given, change)], message)
    }

    /// Checks every change, then writes the objects, the work tree aside,
    /// moves the branch, and puts the work tree and index in step: a refused
    /// change or a failure before the branch moves leaves everything as it
    /// was.
    fn commit_changes(&self, changes: &[(&Path, Change<'_>)], message: &str) -> Result<Outcome> {
        // Objects of an earlier call that failed before committing.
        self.loose.discard_unwritten(&self.repo);
        let (author, committer) = self.identities();
        author.validate()?;
        committer.validate()?;
        check_message(message)?;
        let head = self.head_state()?;
        self.commit_on(&head, changes, (&author, &committer), message)
    }

    /// [`commit_changes`](Self::commit_changes) on top of `head`, which the
    /// branch must still point at.
    fn commit_on(
        &self,
        head: &HeadState,
        changes: &[(&Path, Change<'_>)],
        (author, committer): (&Signature, &Signature),
        message: &str,
    ) -> Result<Outcome> {
        // Refuse before anything is written: every path, on its own, against
        // the others and against the work tree.
        let mut checked = Vec::with_capacity(changes.len());
        for (given, _) in changes {
            let path = paths::normalize(given).map_err(|source| Error::InvalidPath {
                path: given.to_path_buf(),
                source,
            })?;
            checked.push(path);
        }
        if checked.len() > 1 {
            let pairs: Vec<(&RepoPath, &Path)> = checked
                .iter()
                .zip(changes)
                .map(|(path, (given, _))| (path, *given))
                .collect();
            paths::check_overlaps(&pairs)?;
        }
        let canonical_root = match self.bare {
            true => None,
            false => Some(self.canonical_root()?),
        };
        let mut ready = Vec::with_capacity(changes.len());
        for (path, (given, change)) in checked.into_iter().zip(changes) {
            let at_head = self.check_at_head(given, change, &path, head.tree)?;
            let file = match &canonical_root {
                Some(root) => paths::check_worktree(root, &path, given)?,
                None => {
                    self.check_parents_in_tree(head.tree, &path, given)?;
                    None
                }
            };
            ready.push(Checked {
                path,
                at_head,
                file,
            });
        }
        let first_path = changes
            .first()
            .map(|(given, _)| *given)
            .unwrap_or(Path::new(""));
        let commit_error = |source: BoxError| Error::Commit {
            root: self.root.clone(),
            path: first_path.to_owned(),
            source,
        };
        let mut index = self.load_index(head)?;
        // The `.gitattributes` files written here apply to the other files,
        // as they would for `git add` after writing them all.
        let attributes: Vec<(BString, &[u8])> = ready
            .iter()
            .zip(changes)
            .filter_map(|(checked, (_, change))| match change {
                Change::Add(contents) | Change::Update(contents)
                    if checked.path.is_attributes_file() =>
                {
                    Some((checked.path.to_bstring(), *contents))
                }
                _ => None,
            })
            .collect();
        let mut filter = (None, attributes.as_slice());
        let mut planned = Vec::with_capacity(changes.len());
        let mut work = changes.iter().zip(ready);
        let planning = work.try_for_each(|((given, change), checked)| {
            if let Some(plan) = self.plan(given, change, checked, &mut index, &mut filter)? {
                planned.push(plan);
            }
            Ok::<_, Error>(())
        });
        drop(filter);
        if let Err(err) = planning {
            self.put_back_index(index);
            return Err(err);
        }
        if planned.is_empty() {
            self.put_back_index(index);
            return Ok(Outcome::Unchanged);
        }
        // gix's plumbing editor: the one on top validates every entry of each
        // tree it writes and looks each one up on disk (a `stat` per entry),
        // but the paths were checked above, the blobs were just written, and
        // the other entries come from `HEAD`.
        let mut editor = self
            .repo
            .edit_tree(head.tree)
            .map_err(|err| commit_error(err.into()))?
            .detach();
        for plan in &planned {
            match plan.write {
                Some((_, kind, blob)) => editor.upsert(plan.path.components(), kind, blob),
                None => editor.remove(plan.path.components()),
            }
            .map_err(|err| commit_error(err.into()))?;
        }
        let tree = editor
            .write(|tree| self.keep(tree))
            .map_err(|err| commit_error(err.into()))?;
        let commit = self
            .write_commit(author, committer, message, tree, head)
            .map_err(commit_error)?;
        let staged = match self.bare {
            true => None,
            false => Some(self.stage(&planned)?),
        };
        self.move_branch(head, &commit, first_path)?;
        self.finish(head, &commit, staged, index, &planned)?;
        Ok(Outcome::Committed {
            id: commit.id.to_hex().to_string(),
        })
    }

    /// The new files, written aside; dropped on failure, they go again.
    pub(crate) fn stage<'p>(&'p self, planned: &[Plan<'_>]) -> Result<Staged<'p>> {
        let mut staged = Staged::new(&self.root);
        for plan in planned {
            match plan.write {
                Some((contents, kind, _)) => staged.write(
                    &plan.file,
                    contents,
                    kind == EntryKind::BlobExecutable,
                    plan.existing.as_ref(),
                )?,
                None => staged.remove(plan.file.clone()),
            }
        }
        Ok(staged)
    }

    /// What [`paths::check_worktree`] checks of a path's parents, against
    /// `tree` in a bare project: each must be a directory, if it exists
    /// ([`PathError::InTheWay`](crate::PathError::InTheWay) otherwise).
    fn check_parents_in_tree(&self, tree: ObjectId, path: &RepoPath, given: &Path) -> Result<()> {
        let count = path.components().count();
        for depth in 1..count {
            let parent: PathBuf = path.as_path().components().take(depth).collect();
            let kind =
                match self.entry_at_components(tree, path.components().take(depth), &parent)? {
                    None => return Ok(()),
                    Some((mode, _)) if mode.is_tree() => continue,
                    Some((mode, _)) if mode.is_blob() => FileKind::File,
                    Some(_) => FileKind::Other,
                };
            return Err(Error::InvalidPath {
                path: given.to_owned(),
                source: PathError::InTheWay {
                    entry: parent,
                    kind,
                },
            });
        }
        Ok(())
    }

    /// The index a commit changes; a bare project has none.
    pub(crate) fn load_index(&self, head: &HeadState) -> Result<Option<LoadedIndex>> {
        if self.bare {
            return Ok(None);
        }
        self.index_cache
            .load(&self.repo, head.tree)
            .map(Some)
            .map_err(|err| self.index_error(err))
    }

    pub(crate) fn put_back_index(&self, index: Option<LoadedIndex>) {
        if let Some(index) = index {
            self.index_cache.put_back(index);
        }
    }

    /// Checks one change against `tree`: [`Error::FileNotFound`] when it
    /// needs a file that is not there, [`Error::NotAFile`] for a directory,
    /// symbolic link or submodule. Returns the entry at the path, if any.
    fn check_at_head(
        &self,
        given: &Path,
        change: &Change<'_>,
        path: &RepoPath,
        tree: ObjectId,
    ) -> Result<Option<(EntryKind, ObjectId)>> {
        let existing = self.entry_at(tree, path)?;
        let not_a_file = || Error::NotAFile {
            root: self.root.clone(),
            path: given.to_owned(),
        };
        match (change, existing) {
            (Change::Update(_) | Change::Remove, None) => Err(Error::FileNotFound {
                root: self.root.clone(),
                path: given.to_owned(),
            }),
            (_, Some((mode, _))) if !mode.is_blob() => Err(not_a_file()),
            (_, found) => Ok(found.map(|(mode, id)| (mode.kind(), id))),
        }
    }

    /// Filters one change's contents as `git add` would and writes its blob;
    /// `None` when it would change nothing. `filter` is the commit's clean
    /// filter, made on first use, and the `.gitattributes` files the commit
    /// writes (see [`CleanFilter::new`]).
    fn plan<'a, 's>(
        &'s self,
        given: &Path,
        change: &Change<'a>,
        checked: Checked,
        index: &mut Option<LoadedIndex>,
        (filter, attributes): &mut (Option<CleanFilter<'s>>, &WrittenAttributes<'_>),
    ) -> Result<Option<Plan<'a>>> {
        let Checked {
            path,
            at_head: existing,
            file: existing_file,
        } = checked;
        let commit_error = |source: BoxError| Error::Commit {
            root: self.root.clone(),
            path: given.to_owned(),
            source,
        };
        let file = self.root.join(path.as_path());
        let write = match change {
            Change::Add(contents) | Change::Update(contents) => {
                let kind = existing.map_or(EntryKind::Blob, |(kind, _)| kind);
                // Without a work tree there are no attributes to apply:
                // a bare project stores contents as given.
                let blob: &[u8] = match index {
                    None => contents,
                    Some(index) => self.clean(index, filter, attributes, &path, given, contents)?,
                };
                let id =
                    gix::objs::compute_hash(self.repo.object_hash(), gix::objs::Kind::Blob, blob)
                        .map_err(|err| commit_error(err.into()))?;
                if existing.map(|(_, id)| id) == Some(id) {
                    return Ok(None);
                }
                self.loose
                    .write_blob(&self.repo, &id, blob)
                    .map_err(|err| commit_error(err.into()))?;
                Some((*contents, kind, id))
            }
            Change::Remove => None,
        };
        Ok(Some(Plan {
            path,
            file,
            existing: existing_file,
            write,
        }))
    }

    /// `contents` of `path` through the commit's clean filter, made on
    /// first use into `filter`, as `git add` would stage them.
    fn clean<'c, 's: 'c>(
        &'s self,
        index: &mut LoadedIndex,
        filter: &'c mut Option<CleanFilter<'s>>,
        attributes: &WrittenAttributes<'_>,
        path: &RepoPath,
        given: &Path,
        contents: &'c [u8],
    ) -> Result<&'c [u8]> {
        let commit_error = |source: BoxError| Error::Commit {
            root: self.root.clone(),
            path: given.to_owned(),
            source,
        };
        let filter = match filter {
            Some(filter) => filter,
            None => {
                let files = index
                    .attribute_files(|state| self.filters.attribute_files(&self.repo, state))
                    .map_err(|err| commit_error(err.into()))?;
                filter.insert(
                    CleanFilter::new(&self.repo, &self.filters, files, attributes)
                        .map_err(|err| commit_error(err.into()))?,
                )
            }
        };
        filter
            .clean(&self.repo, index.state(), path, contents)
            .map_err(|err| match err {
                FilterError::Driver(filter) => Error::FilterNotSupported {
                    root: self.root.clone(),
                    path: given.to_owned(),
                    filter,
                },
                FilterError::Failed(source) => commit_error(source),
            })
    }

    /// Writes the commit object of `tree` on top of `head` (to memory).
    fn write_commit(
        &self,
        author: &Signature,
        committer: &Signature,
        message: &str,
        tree: ObjectId,
        head: &HeadState,
    ) -> Result<NewCommit, BoxError> {
        let now = gix::date::Time::now_local_or_utc();
        let actor = |signature: &Signature| gix::actor::Signature {
            name: signature.name.as_str().into(),
            email: signature.email.as_str().into(),
            time: now,
        };
        let (author, committer) = (actor(author), actor(committer));
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
        let id = self.keep(&commit)?;
        Ok(NewCommit {
            id,
            tree,
            committer,
            log_message,
        })
    }

    /// Puts `object` in the object memory, to be written (or, if it is on
    /// disk already, freshened) before the branch moves; see `objects`.
    fn keep(&self, object: &dyn gix::objs::WriteTo) -> Result<ObjectId, gix::Error> {
        gix::objs::Write::write(&self.repo.objects, object)
    }

    /// Writes the objects in memory to disk, then moves the current branch
    /// (or a detached `HEAD`) to `commit`, provided it still points at
    /// `head`'s commit: [`Error::BranchMoved`] otherwise.
    pub(crate) fn move_branch(
        &self,
        head: &HeadState,
        commit: &NewCommit,
        path: &Path,
    ) -> Result<()> {
        let commit_error = |source: BoxError| Error::Commit {
            root: self.root.clone(),
            path: path.to_owned(),
            source,
        };
        // Every new object reaches the disk before the branch names it.
        self.loose
            .flush(&self.repo)
            .map_err(|err| commit_error(err.into()))?;
        let expected = match head.commit {
            Some(parent) => PreviousValue::MustExistAndMatch(Target::Object(parent)),
            None => PreviousValue::MustNotExist,
        };
        let name = match &head.branch {
            Some(branch) => branch.clone(),
            None => FullName::try_from("HEAD").map_err(|err| commit_error(err.into()))?,
        };
        let edit = RefEdit {
            change: RefChange::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: commit.log_message.clone(),
                },
                expected,
                new: Target::Object(commit.id),
            },
            // The branch itself rather than `HEAD`, which gix would lock
            // and read again to follow it; the reflog of `HEAD` is ours.
            name: name.clone(),
            deref: false,
        };
        let mut time = Default::default();
        self.repo
            .edit_references_as([edit], Some(commit.committer.to_ref(&mut time)))
            .map_err(|err| {
                let moved = err
                    .downcast_any_ref::<gix::refs::file::transaction::prepare::ReferenceOutOfDate>()
                    .is_some()
                    || err
                        .downcast_any_ref::<gix::refs::file::transaction::prepare::MustNotExist>()
                        .is_some();
                if moved {
                    Error::BranchMoved {
                        root: self.root.clone(),
                        path: path.to_owned(),
                        reference: name.as_bstr().to_string(),
                        source: err.into(),
                    }
                } else {
                    commit_error(err.into())
                }
            })?;
        self.last_commit.set(Some((commit.id, commit.tree)));
        Ok(())
    }

    /// What follows the branch's move: the work tree files into place, the
    /// index and the reflogs. Each is tried; the first failure is reported
    /// as [`Error::Finish`], with the new commit's id.
    pub(crate) fn finish(
        &self,
        head: &HeadState,
        commit: &NewCommit,
        staged: Option<Staged<'_>>,
        index: Option<LoadedIndex>,
        planned: &[Plan<'_>],
    ) -> Result<()> {
        let mut first_error = None;
        if let Some(staged) = staged {
            if let Err(err) = staged.apply() {
                first_error.get_or_insert(err);
            }
        }
        if let Some(index) = index {
            let changes: Vec<IndexChange<'_>> = planned
                .iter()
                .map(|plan| IndexChange {
                    path: &plan.path,
                    file: &plan.file,
                    blob: plan.write.map(|(_, kind, blob)| (kind, blob)),
                })
                .collect();
            if let Err(err) = self.index_cache.store(index, &changes) {
                first_error.get_or_insert(self.index_error(err));
            }
        }
        let mut time = Default::default();
        let update = RefUpdate {
            previous: head.commit,
            new: commit.id,
            committer: commit.committer.to_ref(&mut time),
            message: commit.log_message.as_ref(),
        };
        let branch = head.branch.as_ref().map(|name| name.as_ref());
        if let Err(err) = self.reflogs.record(&self.repo, branch, &update) {
            first_error.get_or_insert(Error::Reference {
                path: self.root.clone(),
                reference: "HEAD".into(),
                source: Box::new(err),
            });
        }
        match first_error {
            None => Ok(()),
            Some(source) => Err(Error::Finish {
                root: self.root.clone(),
                id: commit.id.to_hex().to_string(),
                source: Box::new(source),
            }),
        }
    }

    fn index_error(&self, err: gix::Error) -> Error {
        Error::Index {
            root: self.root.clone(),
            source: Box::new(err),
        }
    }
}

/// Refuses a message that `git fsck --strict` would flag in the commit.
fn check_message(message: &str) -> Result<()> {
    if message.contains('\0') {
        return Err(Error::InvalidMessage {
            message: message.to_owned(),
            source: "a commit message cannot contain a NUL byte (git fsck: nulInCommit)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::Change;
    use crate::{Error, InitOptions, Project, Signature};

    fn git(dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .expect("the git CLI runs");
        assert!(output.status.success(), "git {args:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// A project in `dir` with one commit (adding `a.txt`), and its root.
    fn project_with_a_commit(dir: &Path) -> (Project, std::path::PathBuf) {
        let project = Project::init(dir.join("p"), &InitOptions::default())
            .unwrap()
            .with_signature(Signature::new("Test Er", "tester@example.com"));
        let root = project.root().to_owned();
        project.add_file("a.txt", "a\n", "Add a").unwrap();
        (project, root)
    }

    /// An object that a failed call left in memory is dropped by the next
    /// call, never written; the objects of the last commit, kept in memory
    /// for the next one, are on disk.
    #[test]
    fn an_object_left_in_memory_by_a_failed_call_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let (project, root) = project_with_a_commit(dir.path());
        assert!(project.repo.objects.num_objects_in_memory() > 0);
        let orphan = project.repo.write_blob(b"orphan\n").unwrap().detach();

        project.add_file("b.txt", "b\n", "Add b").unwrap();

        let exists = |id: &str| {
            Command::new("git")
                .arg("-C")
                .arg(&root)
                .args(["cat-file", "-e", id])
                .status()
                .unwrap()
                .success()
        };
        assert!(!exists(&orphan.to_hex().to_string()));
        for id in ["HEAD", "HEAD^{tree}", "HEAD~1", "HEAD~1^{tree}"] {
            assert!(exists(id), "{id}");
        }
        git(&root, &["fsck", "--strict"]);
    }

    /// The branch moves (git commits) between reading `HEAD` and moving the
    /// branch: the commit is refused as `BranchMoved`, and the work tree and
    /// index are as git left them.
    #[test]
    fn a_branch_moved_under_the_commit_is_its_own_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (project, root) = project_with_a_commit(dir.path());
        let stale = project.head_state().unwrap();
        git(
            &root,
            &[
                "-c",
                "user.name=Git",
                "-c",
                "user.email=git@example.com",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "Meanwhile",
            ],
        );
        let tip = git(&root, &["rev-parse", "HEAD"]);
        let (author, committer) = project.identities();

        let err = project
            .commit_on(
                &stale,
                &[(Path::new("b.txt"), Change::Add(b"b\n"))],
                (&author, &committer),
                "Add b",
            )
            .unwrap_err();

        assert!(
            matches!(&err, Error::BranchMoved { reference, .. } if reference == "refs/heads/main"),
            "{err:?}"
        );
        assert_eq!(git(&root, &["rev-parse", "HEAD"]), tip);
        assert_eq!(
            git(&root, &["status", "--porcelain", "--untracked-files=all"]),
            ""
        );
        // Retrying on top of the new tip works.
        project.add_file("b.txt", "b\n", "Add b").unwrap();
        assert_eq!(git(&root, &["rev-list", "--count", "HEAD"]), "3");
    }
}
