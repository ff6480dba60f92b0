//! The one error type of repo-lite.

use std::path::PathBuf;

/// A boxed error from the layer below (gix or the OS), kept as a source so
/// that no backend type appears in repo-lite's API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in repo-lite.
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
}

/// The result type of repo-lite.
pub type Result<T, E = Error> = std::result::Result<T, E>;
