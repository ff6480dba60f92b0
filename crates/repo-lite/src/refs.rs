//! Reading and moving the references push and fetch work with: local
//! branches and tags, remote-tracking branches, and ancestry between
//! commits.

use gix::hash::ObjectId;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::{FullName, Target};

use crate::error::{Error, Result};
use crate::project::Project;

impl Project {
    /// The id `reference` points at (peeled through symbolic references).
    pub(crate) fn local_ref(&self, reference: &FullName) -> Result<ObjectId> {
        let missing = || Error::LocalRefNotFound {
            root: self.root.clone(),
            reference: reference.as_bstr().to_string(),
        };
        let mut found = self
            .repo
            .try_find_reference(reference.as_ref())
            .map_err(|err| Error::Read {
                root: self.root.clone(),
                what: reference.as_bstr().to_string(),
                source: err.into(),
            })?
            .ok_or_else(missing)?;
        // An annotated tag is pushed as the tag object, not its commit.
        if let Some(id) = found.target().try_id() {
            return Ok(id.to_owned());
        }
        found
            .peel_to_id()
            .map(|id| id.detach())
            .map_err(|_| missing())
    }

    /// `refs/remotes/<remote>/<branch>`.
    pub(crate) fn tracking_name(remote: &str, branch: &str) -> Result<FullName> {
        FullName::try_from(format!("refs/remotes/{remote}/{branch}")).map_err(|err| {
            Error::InvalidBranchName {
                name: branch.to_owned(),
                source: err.into(),
            }
        })
    }

    /// What the remote-tracking branch of `branch` last saw, if any.
    pub(crate) fn tracking_ref(
        &self,
        remote: Option<&str>,
        branch: &str,
    ) -> Result<Option<ObjectId>> {
        let Some(remote) = remote else {
            return Ok(None);
        };
        self.optional_ref(&Self::tracking_name(remote, branch)?)
    }

    /// The id `reference` points at, or `None` when it does not exist.
    pub(crate) fn optional_ref(&self, reference: &FullName) -> Result<Option<ObjectId>> {
        match self.local_ref(reference) {
            Ok(id) => Ok(Some(id)),
            Err(Error::LocalRefNotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Points `refs/remotes/<remote>/<branch>` at `id`, as `git push` does.
    pub(crate) fn set_tracking_ref(&self, remote: &str, branch: &str, id: ObjectId) -> Result<()> {
        let name = Self::tracking_name(remote, branch)?;
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: "update by push".into(),
                },
                expected: PreviousValue::Any,
                new: Target::Object(id),
            },
            name: name.clone(),
            deref: false,
        };
        self.repo
            .edit_reference(edit)
            .map_err(|err| Error::Reference {
                path: self.root.clone(),
                reference: name.as_bstr().to_string(),
                source: err.into(),
            })?;
        Ok(())
    }
}

/// Whether `ancestor` is `descendant` or one of its ancestors.
pub(crate) fn is_ancestor(
    repo: &gix::Repository,
    ancestor: ObjectId,
    descendant: ObjectId,
) -> bool {
    if ancestor == descendant {
        return true;
    }
    let Ok(walk) = repo.rev_walk([descendant]).all() else {
        return false;
    };
    walk.filter_map(Result::ok).any(|info| info.id == ancestor)
}
