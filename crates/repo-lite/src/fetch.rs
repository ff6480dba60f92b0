//! Fetching a branch of a named remote into its remote-tracking branch
//! (gix's fetch), and fast-forwarding the project's branch to it: a pull
//! that never merges.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use gix::hash::ObjectId;
use gix::objs::tree::EntryKind;
use gix::remote::Direction;

use crate::commit::{NewCommit, Plan};
use crate::error::{BoxError, Error, Result};
use crate::paths;
use crate::project::{branch_reference, Project};
use crate::redact::Redactor;

/// A file's kind and blob.
type FileEntry = (EntryKind, ObjectId);

/// A file that differs between two trees.
struct FileChange {
    path: gix::bstr::BString,
    old: Option<FileEntry>,
    new: Option<FileEntry>,
}

/// A file a fast-forward writes (with its contents) or removes.
struct Incoming {
    path: paths::RepoPath,
    new: Option<(Vec<u8>, EntryKind, ObjectId)>,
}

/// What [`Project::fetch`] brought.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchOutcome {
    /// The remote's URL, credentials masked.
    pub url: String,
    /// The remote-tracking branch, such as `refs/remotes/origin/main`.
    pub tracking_ref: String,
    /// What it pointed at before (full hex), if it existed.
    pub old: Option<String>,
    /// What it points at now: the remote's branch.
    pub new: String,
}

/// How [`Project::pull`] moved the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PullKind {
    /// The branch already had the remote's commit.
    UpToDate,
    /// The branch has commits the remote lacks, and all of the remote's:
    /// nothing to do.
    Ahead,
    /// The branch moved forward to the remote's commit (or was created
    /// there), with the work tree and index where it is checked out.
    FastForward,
}

/// What [`Project::pull`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PullOutcome {
    /// The fetch.
    pub fetch: FetchOutcome,
    /// How the branch moved.
    pub kind: PullKind,
    /// The branch's commit now (full hex).
    pub head: String,
}

impl Project {
    /// Fetches `branch` of the remote named `remote` (see
    /// [`add_remote`](Self::add_remote)) into `refs/remotes/<remote>/<branch>`,
    /// forced as git's default refspec does; only objects the project lacks
    /// are received. Nothing else changes.
    ///
    /// Fails before anything is sent with [`Error::InvalidRemoteName`],
    /// [`Error::RemoteNotFound`] or [`Error::InvalidBranchName`]; then with
    /// [`Error::BranchNotFound`] when the remote has no such branch, and
    /// [`Error::Fetch`] for everything else (connection, authentication,
    /// transport, cancellation). Credentials are never shown.
    pub fn fetch(&self, remote: &str, branch: &str) -> Result<FetchOutcome> {
        self.fetch_with_cancel(remote, branch, None)
    }

    /// [`fetch`](Self::fetch) that stops when `cancel` is set.
    pub fn fetch_with_cancel(
        &self,
        remote: &str,
        branch: &str,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<FetchOutcome> {
        self.fetch_tip(remote, branch, cancel)
            .map(|(outcome, _)| outcome)
    }

    /// [`fetch_with_cancel`](Self::fetch_with_cancel), with the fetched
    /// commit's id.
    fn fetch_tip(
        &self,
        remote: &str,
        branch: &str,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<(FetchOutcome, ObjectId)> {
        crate::remote::check_remote_name(remote)?;
        branch_reference(branch)?;
        let found = self
            .find_remote(remote)?
            .ok_or_else(|| Error::RemoteNotFound {
                name: remote.to_owned(),
            })?;
        let redactor = Redactor::new(&found.url);
        crate::url::parse(&found.url, &redactor)?;
        let tracking = Self::tracking_name(remote, branch)?;
        let old = self.tracking_ref(Some(remote), branch)?;
        let fetch_error = |source: BoxError| Error::Fetch {
            url: redactor.url(),
            source,
        };
        let cancel = cancel.unwrap_or_default();
        let spec = format!("+refs/heads/{branch}:{}", tracking.as_bstr());
        let run = || -> gix::Result<()> {
            let remote = self
                .repo
                .remote_at(found.url.as_str())?
                .with_refspecs([spec.as_str()], Direction::Fetch)?
                .with_fetch_tags(gix::remote::fetch::Tags::None);
            let mut connection = remote.connect(Direction::Fetch)?;
            let deadlines = crate::transport::Deadlines::new(None);
            crate::daemon::use_nodelay_socket_with_timeout(&mut connection, deadlines.io)?;
            if let Some(options) =
                crate::transport::http_options(&self.repo, &found.url, deadlines.http_request)?
            {
                connection = connection.with_transport_options(options);
            }
            connection
                .prepare_fetch(gix::progress::Discard, Default::default())?
                .receive(gix::progress::Discard, &cancel)?;
            Ok(())
        };
        run().map_err(|err| fetch_error(redactor.error(&err)))?;
        let new = match self.tracking_ref(Some(remote), branch)? {
            Some(new) => new,
            None => {
                return Err(Error::BranchNotFound {
                    url: redactor.url(),
                    branch: branch.to_owned(),
                    source: "the remote has no such branch".into(),
                })
            }
        };
        let outcome = FetchOutcome {
            url: redactor.url(),
            tracking_ref: tracking.as_bstr().to_string(),
            old: old.map(|id| id.to_string()),
            new: new.to_string(),
        };
        Ok((outcome, new))
    }

    /// Fetches `branch` from `remote` (as [`fetch`](Self::fetch)) and
    /// fast-forwards the project's `branch` to it, never merging: when the
    /// branch is checked out, the work tree and index change with it, for
    /// the files that differ.
    ///
    /// All or nothing: [`Error::Diverged`] when each side has commits the
    /// other lacks, and [`Error::LocalChanges`] when a file to change has
    /// changes of its own in the work tree or index (or an untracked file
    /// is in the way): the branch, work tree and index are then untouched
    /// (the remote-tracking branch has moved, as after `git fetch`).
    pub fn pull(&self, remote: &str, branch: &str) -> Result<PullOutcome> {
        let (fetch, remote_tip) = self.fetch_tip(remote, branch, None)?;
        let branch_ref = branch_reference(branch)?;
        let head = self.head_state()?;
        let checked_out = head.branch.as_ref() == Some(&branch_ref) && !self.bare;
        let local = self.optional_ref(&branch_ref)?;
        let outcome = |kind, head: ObjectId| PullOutcome {
            fetch: fetch.clone(),
            kind,
            head: head.to_string(),
        };
        if let Some(local) = local {
            if local == remote_tip {
                return Ok(outcome(PullKind::UpToDate, local));
            }
            if crate::refs::is_ancestor(&self.repo, remote_tip, local) {
                return Ok(outcome(PullKind::Ahead, local));
            }
            if !crate::refs::is_ancestor(&self.repo, local, remote_tip) {
                return Err(Error::Diverged {
                    root: self.root.clone(),
                    branch: branch.to_owned(),
                    local: local.to_string(),
                    remote: remote_tip.to_string(),
                });
            }
        }
        let target = crate::history::HeadState {
            commit: local,
            tree: match local {
                Some(local) => self.tree_of(local)?,
                None => ObjectId::empty_tree(self.repo.object_hash()),
            },
            branch: Some(branch_ref),
        };
        self.fast_forward(&target, remote_tip, checked_out)?;
        Ok(outcome(PullKind::FastForward, remote_tip))
    }

    fn tree_of(&self, commit: ObjectId) -> Result<ObjectId> {
        self.repo
            .find_commit(commit)
            .and_then(|commit| commit.tree_id().map(|id| id.detach()))
            .map_err(|err| Error::Read {
                root: self.root.clone(),
                what: commit.to_string(),
                source: err.into(),
            })
    }

    /// Moves `from`'s branch to `to`, bringing the work tree and index
    /// along when `checked_out`; every file is checked first.
    fn fast_forward(
        &self,
        from: &crate::history::HeadState,
        to: ObjectId,
        checked_out: bool,
    ) -> Result<()> {
        let new_tree = self.tree_of(to)?;
        let read_error = |source: BoxError| Error::Read {
            root: self.root.clone(),
            what: format!("the changes up to {to}"),
            source,
        };
        let mut index = if checked_out {
            self.load_index(from)?
        } else {
            None
        };
        // The files that differ, with their new contents, read up front.
        let mut contents: Vec<Incoming> = Vec::new();
        if checked_out {
            let changes = self.tree_changes(from.tree, new_tree).map_err(read_error)?;
            let canonical_root = self.canonical_root()?;
            for FileChange { path, old, new } in changes {
                let given =
                    Path::new(std::str::from_utf8(&path).map_err(|err| read_error(err.into()))?);
                let repo_path = paths::normalize(given).map_err(|source| Error::InvalidPath {
                    path: given.to_owned(),
                    source,
                })?;
                let existing = paths::check_worktree(&canonical_root, &repo_path, given)?;
                let in_index = index.as_ref().and_then(|index| {
                    index
                        .state()
                        .entry_by_path(repo_path.to_bstring().as_ref())
                        .map(|entry| entry.id)
                });
                let unchanged_here = match (old, &existing) {
                    (None, None) => in_index.is_none(),
                    (Some((_, old_id)), Some(_)) => {
                        in_index == Some(old_id)
                            && self.file_matches(&canonical_root.join(given), old_id)
                    }
                    _ => false,
                };
                if !unchanged_here {
                    self.put_back_index(index.take());
                    return Err(Error::LocalChanges {
                        root: self.root.clone(),
                        path: given.to_owned(),
                    });
                }
                let new = match new {
                    Some((kind, id)) => {
                        let data = self
                            .repo
                            .find_blob(id)
                            .map_err(|err| read_error(err.into()))?
                            .detach()
                            .data;
                        Some((data, kind, id))
                    }
                    None => None,
                };
                contents.push(Incoming {
                    path: repo_path,
                    new,
                });
            }
        }
        let planned: Vec<Plan<'_>> = contents
            .iter()
            .map(|incoming| {
                let file = self.root.join(incoming.path.as_path());
                Plan {
                    existing: std::fs::symlink_metadata(&file).ok(),
                    path: incoming.path.clone(),
                    file,
                    write: incoming
                        .new
                        .as_ref()
                        .map(|(data, kind, id)| (data.as_slice(), *kind, *id)),
                }
            })
            .collect();
        let staged = if checked_out {
            Some(self.stage(&planned)?)
        } else {
            None
        };
        let (_, committer) = self.identities();
        let now = gix::date::Time::now_local_or_utc();
        let commit = NewCommit {
            id: to,
            tree: new_tree,
            committer: gix::actor::Signature {
                name: committer.name.as_str().into(),
                email: committer.email.as_str().into(),
                time: now,
            },
            log_message: "pull: Fast-forward".into(),
        };
        self.move_branch(from, &commit, Path::new(""))?;
        self.finish(from, &commit, staged, index, &planned)
    }

    /// Whether the file at `file` holds exactly the blob `id`.
    fn file_matches(&self, file: &Path, id: ObjectId) -> bool {
        std::fs::read(file).ok().and_then(|data| {
            gix::objs::compute_hash(self.repo.object_hash(), gix::objs::Kind::Blob, &data).ok()
        }) == Some(id)
    }

    /// The files that differ from `old` to `new`: path, old and new kind
    /// and blob. A symbolic link or submodule among them is refused.
    fn tree_changes(&self, old: ObjectId, new: ObjectId) -> Result<Vec<FileChange>, BoxError> {
        use gix::diff::tree::recorder::Change;
        let old_tree = self.repo.find_tree(old)?;
        let new_tree = self.repo.find_tree(new)?;
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&old_tree.data, self.repo.object_hash()),
            gix::objs::TreeRefIter::from_bytes(&new_tree.data, self.repo.object_hash()),
            &mut gix::diff::tree::State::default(),
            &self.repo.objects,
            &mut recorder,
        )?;
        let file = |mode: gix::objs::tree::EntryMode,
                    id: ObjectId|
         -> Result<Option<(EntryKind, ObjectId)>, BoxError> {
            match mode.kind() {
                EntryKind::Tree => Ok(None),
                kind @ (EntryKind::Blob | EntryKind::BlobExecutable) => Ok(Some((kind, id))),
                _ => Err("the change holds a symbolic link or submodule, which repo-lite does not check out".into()),
            }
        };
        let mut changes = Vec::new();
        for change in recorder.records {
            let (path, old, new) = match change {
                Change::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => (path, None, file(entry_mode, oid)?),
                Change::Deletion {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => (path, file(entry_mode, oid)?, None),
                Change::Modification {
                    previous_entry_mode,
                    previous_oid,
                    entry_mode,
                    oid,
                    path,
                } => (
                    path,
                    file(previous_entry_mode, previous_oid)?,
                    file(entry_mode, oid)?,
                ),
            };
            if old.is_some() || new.is_some() {
                changes.push(FileChange { path, old, new });
            }
        }
        Ok(changes)
    }
}
