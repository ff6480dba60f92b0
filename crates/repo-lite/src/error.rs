//! The one error type of repo-lite.

use std::path::PathBuf;

use crate::delete::DeleteRefusal;
use crate::paths::PathError;

/// A boxed error from the layer below (gix or the OS), kept as a source so
/// that no backend type appears in repo-lite's API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in repo-lite.
///
/// `Send + Sync + 'static`, so it fits in `Box<dyn std::error::Error + Send
/// + Sync>` and crosses threads.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A new repository could not be created at `path`.
    #[error("cannot create a git repository at {path}")]
    Init {
        /// Where the repository was to be created.
        path: PathBuf,
        /// What gix reported.
        #[source]
        source: BoxError,
    },

    /// `path` is not a git repository, or it could not be read.
    #[error("cannot open the git repository at {path}")]
    Open {
        /// The directory that was opened.
        path: PathBuf,
        /// What gix reported.
        #[source]
        source: BoxError,
    },

    /// The branch name is not a valid git reference name.
    #[error("invalid branch name {name:?}")]
    InvalidBranchName {
        /// The name as given.
        name: String,
        /// Why git refuses it.
        #[source]
        source: BoxError,
    },

    /// A reference (such as `HEAD`) could not be read or written.
    #[error("cannot update reference {reference} in {path}")]
    Reference {
        /// The repository.
        path: PathBuf,
        /// The reference.
        reference: String,
        /// What gix reported.
        #[source]
        source: BoxError,
    },

    /// A file path given to repo-lite was refused before anything was
    /// written; `source` says why.
    #[error("refusing the path {path:?}")]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Which rule it breaks.
        #[source]
        source: PathError,
    },

    /// There is no file at `path` in the commit `HEAD` points at (or `HEAD`
    /// has no commit yet).
    #[error("no file {path:?} at HEAD in {root}")]
    FileNotFound {
        /// The work tree.
        root: PathBuf,
        /// The path as given.
        path: PathBuf,
    },

    /// `path` names a directory, a symbolic link or a submodule at `HEAD`,
    /// not a regular file.
    #[error("{path:?} is not a regular file at HEAD in {root}")]
    NotAFile {
        /// The work tree.
        root: PathBuf,
        /// The path as given.
        path: PathBuf,
    },

    /// The author or committer name or email would corrupt a commit.
    #[error("invalid signature {name:?} <{email}>")]
    InvalidSignature {
        /// The name as given.
        name: String,
        /// The email as given.
        email: String,
        /// Which character is refused.
        #[source]
        source: BoxError,
    },

    /// A file or directory of the work tree could not be read, written or
    /// removed.
    #[error("cannot update {path} in the work tree")]
    Worktree {
        /// The file or directory on disk.
        path: PathBuf,
        /// What the OS reported.
        #[source]
        source: BoxError,
    },

    /// The commit message would make a commit that `git fsck --strict`
    /// flags (it contains a NUL byte); nothing was written.
    #[error("invalid commit message {message:?}")]
    InvalidMessage {
        /// The message as given.
        message: String,
        /// What is wrong with it.
        #[source]
        source: BoxError,
    },

    /// `.gitattributes` gives `path` a filter driver (such as `filter=lfs`
    /// for Git LFS), which repo-lite does not run; committing the contents
    /// as they are would not be what `git add` commits. Nothing was written.
    #[error("{path:?} in {root} needs the filter {filter:?}, which repo-lite does not run")]
    FilterNotSupported {
        /// The work tree.
        root: PathBuf,
        /// The path as given.
        path: PathBuf,
        /// The value of the path's `filter` attribute, such as `lfs`.
        filter: String,
    },

    /// The branch (or a detached `HEAD`) no longer points where it did when
    /// the commit began: another program or handle committed meanwhile.
    /// Nothing of this commit is visible (its objects may stay, unreferenced);
    /// calling again commits on top of the new tip.
    #[error("{reference} in {root} moved while committing {path:?}")]
    BranchMoved {
        /// The work tree.
        root: PathBuf,
        /// The file path being committed (the first one), as given.
        path: PathBuf,
        /// The reference that moved, such as `refs/heads/main`.
        reference: String,
        /// What gix reported.
        #[source]
        source: BoxError,
    },

    /// The branch moved to the new commit `id`, but updating the work tree,
    /// the index or the reflog afterwards failed; `source` says which. The
    /// commit stands: retrying would commit nothing new.
    #[error("commit {id} was made in {root}, but finishing it failed")]
    Finish {
        /// The work tree.
        root: PathBuf,
        /// The new commit's full id in hex, where the branch now points.
        id: String,
        /// What failed after the branch moved.
        #[source]
        source: Box<Error>,
    },

    /// The objects or the reference of a new commit could not be written.
    #[error("cannot commit {path:?} in {root}")]
    Commit {
        /// The work tree.
        root: PathBuf,
        /// The file path being committed, as given.
        path: PathBuf,
        /// What gix reported.
        #[source]
        source: BoxError,
    },

    /// The index (staging area) could not be read or written after a commit.
    #[error("cannot write the index of {root}")]
    Index {
        /// The work tree.
        root: PathBuf,
        /// What gix reported.
        #[source]
        source: BoxError,
    },

    /// `id` is not a full commit id (40 hex digits for SHA-1).
    #[error("invalid commit id {id:?}")]
    InvalidCommitId {
        /// The id as given.
        id: String,
        /// Why it was refused.
        #[source]
        source: BoxError,
    },

    /// `HEAD`, a tree, a file or the history could not be read.
    #[error("cannot read {what} in {root}")]
    Read {
        /// The work tree.
        root: PathBuf,
        /// What was being read, such as `HEAD` or a file path.
        what: String,
        /// What gix reported.
        #[source]
        source: BoxError,
    },

    /// [`Project::delete`](crate::Project::delete) refused `path`; nothing
    /// was removed.
    #[error("refusing to delete {path}")]
    DeleteRefused {
        /// The path as given.
        path: PathBuf,
        /// Why it was refused.
        #[source]
        source: DeleteRefusal,
    },

    /// Deleting the project at `path` failed part way, or its metadata
    /// could not be read.
    #[error("cannot delete {path}")]
    Delete {
        /// The path as given.
        path: PathBuf,
        /// What the OS reported.
        #[source]
        source: BoxError,
    },

    /// The clone URL does not parse, names no host, or names a transport
    /// repo-lite cannot clone over; nothing was written or sent.
    #[error("invalid repository URL {url:?}")]
    InvalidUrl {
        /// The URL as given, credentials masked (`https://user:***@host/`).
        url: String,
        /// What is wrong with it.
        #[source]
        source: BoxError,
    },

    /// The clone destination exists and is not an empty directory; nothing
    /// was written or sent.
    #[error("the clone destination {path} exists and is not an empty directory")]
    DestinationNotEmpty {
        /// The destination as given.
        path: PathBuf,
    },

    /// Cloning `url` failed: the host is unreachable, there is no repository
    /// there, authentication failed, or writing the clone failed. The
    /// destination is as it was.
    ///
    /// The URL's password (and, over HTTP(S), a user name given alone: a
    /// token) is masked here, as in every error carrying a clone URL, and
    /// gix's errors in `source` are replaced by their masked messages.
    #[error("cannot clone {url} into {path}")]
    Clone {
        /// The URL as given, credentials masked (`https://user:***@host/`).
        url: String,
        /// The destination as given.
        path: PathBuf,
        /// What gix or the OS reported.
        #[source]
        source: BoxError,
    },

    /// The remote has no branch or tag named `branch`; the destination is as
    /// it was.
    #[error("{url} has no branch or tag {branch:?}")]
    BranchNotFound {
        /// The URL as given, credentials masked (`https://user:***@host/`).
        url: String,
        /// The branch as given.
        branch: String,
        /// What gix reported.
        #[source]
        source: BoxError,
    },

    /// The clone was cancelled through its cancel flag; the destination is
    /// as it was.
    #[error("cloning {url} into {path} was cancelled")]
    Cancelled {
        /// The URL as given, credentials masked (`https://user:***@host/`).
        url: String,
        /// The destination as given.
        path: PathBuf,
    },

    /// A remote name git would refuse, or one starting with `-`; nothing
    /// was written or sent.
    #[error("invalid remote name {name:?}")]
    InvalidRemoteName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        #[source]
        source: BoxError,
    },

    /// [`Project::add_remote`](crate::Project::add_remote) was given the
    /// name of a remote that exists.
    #[error("a remote named {name:?} exists")]
    RemoteExists {
        /// The remote's name.
        name: String,
    },

    /// No remote of that name is in the project's config.
    #[error("no remote named {name:?}")]
    RemoteNotFound {
        /// The name as given.
        name: String,
    },

    /// A branch or tag to push is not in the project; nothing was sent.
    #[error("{reference} does not exist in {root}")]
    LocalRefNotFound {
        /// The project.
        root: PathBuf,
        /// The reference, such as `refs/heads/topic`.
        reference: String,
    },

    /// The remote's branch has commits the pushed one does not descend
    /// from (git's "non-fast-forward" or "fetch first"); the remote is
    /// unchanged. Fetch, and push again once the histories allow it.
    #[error("{url} refused {reference}: not a fast-forward of what it has")]
    NonFastForward {
        /// The remote's URL, credentials masked.
        url: String,
        /// The reference refused.
        reference: String,
    },

    /// A forced push's lease did not hold: the remote's branch is not
    /// what the caller last saw; the remote is unchanged.
    #[error("{url}: {reference} is {actual:?}, not {expected:?} as the lease expected")]
    StaleLease {
        /// The remote's URL, credentials masked.
        url: String,
        /// The reference.
        reference: String,
        /// What the lease expected (`None`: absent).
        expected: Option<String>,
        /// What the remote has (`None`: absent, or not reported).
        actual: Option<String>,
    },

    /// A hook on the remote (such as `pre-receive`) refused the push; the
    /// remote is unchanged.
    #[error("a hook of {url} declined {reference}: {message}")]
    HookDeclined {
        /// The remote's URL, credentials masked.
        url: String,
        /// The reference refused.
        reference: String,
        /// The remote's reason and the hook's output.
        message: String,
    },

    /// The remote refused a reference for another reason, such as a
    /// protected or checked-out branch; the remote is unchanged.
    #[error("{url} refused {reference}: {reason}")]
    PushRejected {
        /// The remote's URL, credentials masked.
        url: String,
        /// The reference refused.
        reference: String,
        /// The remote's reason and messages.
        reason: String,
    },

    /// The remote did not accept the credentials (or asked for some and
    /// none were found).
    #[error("{url} did not accept the credentials")]
    AuthenticationFailed {
        /// The remote's URL, credentials masked.
        url: String,
        /// What failed, credentials masked.
        #[source]
        source: BoxError,
    },

    /// A push was cancelled through its cancel flag; the remote is
    /// unchanged.
    #[error("pushing to {url} was cancelled")]
    PushCancelled {
        /// The remote's URL, credentials masked.
        url: String,
    },

    /// A push failed: connection, transport, or a pack the remote could
    /// not unpack. The remote is unchanged.
    #[error("cannot push to {url}")]
    Push {
        /// The remote's URL, credentials masked.
        url: String,
        /// What failed, credentials masked.
        #[source]
        source: BoxError,
    },

    /// A fetch failed: connection, authentication, transport, or a pack
    /// that could not be stored. The project's branches are unchanged.
    #[error("cannot fetch from {url}")]
    Fetch {
        /// The remote's URL, credentials masked.
        url: String,
        /// What failed, credentials masked.
        #[source]
        source: BoxError,
    },

    /// A pull found that the branch and the remote's each have commits
    /// the other lacks: it never merges, so nothing changed (but the
    /// remote-tracking branch).
    #[error("{branch} in {root} ({local}) and the remote's ({remote}) have diverged")]
    Diverged {
        /// The project.
        root: PathBuf,
        /// The branch.
        branch: String,
        /// The branch's commit.
        local: String,
        /// The remote's commit.
        remote: String,
    },

    /// A pull would overwrite a file with changes of its own in the work
    /// tree or index, or an untracked file in the way; nothing changed.
    #[error("{path:?} in {root} has local changes a fast-forward would overwrite")]
    LocalChanges {
        /// The project.
        root: PathBuf,
        /// The file.
        path: PathBuf,
    },

    /// The project's git config could not be read or written.
    #[error("cannot read or write the git config {path}")]
    Config {
        /// The config file (or its `config.lock`).
        path: PathBuf,
        /// What failed.
        #[source]
        source: BoxError,
    },
}

/// The result type of repo-lite.
pub type Result<T, E = Error> = std::result::Result<T, E>;
