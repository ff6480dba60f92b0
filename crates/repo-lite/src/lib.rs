//! Git project helpers on gix.
//!
//! repo-lite creates, opens and deletes git projects (a repository with a
//! work tree, or a bare one: see [`InitOptions::bare`]), changes them one
//! file at a time, each change one commit, and pushes, fetches and
//! fast-forwards them ([`Project::push`], [`Project::pull`]), through
//! [gix], a pure-Rust git implementation, so no C library is needed and no
//! `git` binary except where git's transport protocol says to run one:
//! cloning or fetching from a `file://` URL or a local path runs
//! `git-upload-pack` and pushing there `git-receive-pack` (so `git` must be
//! installed), and `ssh://` runs `ssh`. gix's types never appear in this
//! API.
//!
//! ```
//! use repo_lite::{InitOptions, Outcome, Project, Signature};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let project = Project::init(dir.path().join("demo"), &InitOptions::default())?
//!     .with_signature(Signature::new("Ada", "ada@example.com"));
//! assert_eq!(project.current_branch()?.as_deref(), Some("main"));
//!
//! project.add_file("docs/hello.txt", "hello\n", "Add a greeting")?;
//! project.update_file("docs/hello.txt", "hello, world\n", "Greet the world")?;
//! // Writing what HEAD already holds makes no commit.
//! let again = project.update_file("docs/hello.txt", "hello, world\n", "No-op")?;
//! assert_eq!(again, Outcome::Unchanged);
//!
//! assert_eq!(project.read_file("docs/hello.txt")?, b"hello, world\n");
//! let log = project.log(10)?;
//! assert_eq!(log.len(), 2);
//! assert_eq!(log[0].message, "Greet the world\n");
//! assert_eq!(log[0].author_email, "ada@example.com");
//! # Ok(())
//! # }
//! ```
//!
//! [`Project::clone_repo`] clones over `https://`, `http://`, `git://`,
//! `ssh://` or `file://`, or from a local path, all or nothing: after any
//! failure, including cancellation through [`CloneOptions::cancel_flag`], the
//! destination is as it was.
//!
//! ```no_run
//! use repo_lite::{CloneOptions, Project};
//!
//! # fn main() -> Result<(), repo_lite::Error> {
//! let options = CloneOptions::default()
//!     .branch("main")
//!     .on_progress(|p| eprintln!("{}: {} objects", p.phase, p.objects_received));
//! let project = Project::clone_repo("https://example.com/repo.git", "repo", options)?;
//! println!("{} commits", project.log(usize::MAX)?.len());
//! # Ok(())
//! # }
//! ```
//!
//! Paths are relative to the work tree and checked before anything is
//! written (see [`PathError`]); a change is all or nothing: the work tree,
//! the index and the branch change together, or stay as they were.
//! Contents go through git's clean filters (`.gitattributes`,
//! `core.autocrlf`), so a commit holds what `git add` would have staged, and
//! what the user staged for other paths stays staged. [`Project::delete`]
//! removes a whole project only when handed the top level of a work tree
//! (see [`DeleteRefusal`]).
//!
//! [gix]: https://docs.rs/gix
#![deny(missing_docs, unsafe_code)]

mod clone;
mod commit;
mod daemon;
mod delete;
mod error;
mod fetch;
mod filter;
mod history;
mod index;
mod objects;
mod paths;
mod project;
mod push;
mod redact;
mod reflog;
mod refs;
mod remote;
mod signature;
mod transport;
mod url;
mod worktree;

pub use clone::{CloneOptions, ClonePhase, CloneProgress};
pub use commit::Outcome;
pub use delete::DeleteRefusal;
pub use error::{BoxError, Error, Result};
pub use fetch::{FetchOutcome, PullKind, PullOutcome};
pub use history::CommitInfo;
pub use paths::{FileKind, PathError};
pub use project::{InitOptions, Project, DEFAULT_BRANCH};
pub use push::{PushOptions, PushOutcome, PushPhase, PushProgress, RefUpdate, UpdateKind};
pub use remote::Remote;
pub use signature::Signature;

// What the docs promise about threads, checked at compile time: a change
// that made one of these types lose `Send` or `Sync` fails the build.
const _: () = {
    const fn send<T: Send>() {}
    const fn send_sync<T: Send + Sync + 'static>() {}
    send::<Project>();
    send::<CloneOptions>();
    send_sync::<CloneProgress>();
    // The error and its typed sources.
    send_sync::<Error>();
    send_sync::<PathError>();
    send_sync::<DeleteRefusal>();
};

/// A [`Project`] is not `Sync` (its caches have no locks), as its docs say:
///
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<repo_lite::Project>();
/// ```
#[cfg(doctest)]
struct ProjectIsNotSync;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
