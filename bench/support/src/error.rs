//! The one error type of bench-support: what went wrong with a child process
//! or with what it printed.

use std::path::PathBuf;
use std::process::ExitStatus;

/// A [`std::result::Result`] with bench-support's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What failed while running a peer or reading its report. Each variant
/// names the child (`what`: the command or script as a message shows it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The child could not be started (no such program, not executable).
    #[error("cannot run {what}: {source}")]
    Spawn {
        /// The child.
        what: String,
        /// Why the spawn failed.
        source: std::io::Error,
    },
    /// The child exited unsuccessfully.
    #[error("{what} failed ({status}): {stderr}")]
    Failed {
        /// The child.
        what: String,
        /// How it exited.
        status: ExitStatus,
        /// The end of what it wrote to stderr (at most
        /// [`STDERR_TAIL`](crate::process::STDERR_TAIL) bytes), trimmed.
        stderr: String,
    },
    /// The child exited successfully but printed no line on stdout.
    #[error("{what} printed nothing")]
    NoReport {
        /// The child.
        what: String,
    },
    /// The last stdout line of the child is not JSON.
    #[error("{what} printed {line:?}: {source}")]
    BadReport {
        /// The child.
        what: String,
        /// The line it printed.
        line: String,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// The report has no number under the field the benchmark reads.
    #[error("no number {field:?} in what {what} printed: {line}")]
    MissingField {
        /// The child.
        what: String,
        /// The field looked for.
        field: String,
        /// The report it was looked for in.
        line: String,
    },
    /// The Python cannot import a module a peer script needs.
    #[error("{} cannot import {module} (the benchmark's run script installs it): {stderr}", python.display())]
    ModuleMissing {
        /// The interpreter.
        python: PathBuf,
        /// The module.
        module: String,
        /// What Python said, trimmed.
        stderr: String,
    },
}
