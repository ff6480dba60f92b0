//! Git project helpers on gix.
//!
//! repo-lite creates and opens git projects (a repository with a work tree)
//! through [gix], a pure-Rust git implementation, so no `git` binary or C
//! library is needed. gix's types never appear in this API.
//!
//! ```
//! use repo_lite::{InitOptions, Project};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let project = Project::init(dir.path().join("demo"), &InitOptions::default())?;
//! assert_eq!(project.current_branch()?.as_deref(), Some("main"));
//! # Ok(())
//! # }
//! ```
//!
//! [gix]: https://docs.rs/gix
#![deny(missing_docs, unsafe_code)]

mod error;
mod project;

pub use error::{BoxError, Error, Result};
pub use project::{InitOptions, Project, DEFAULT_BRANCH};
