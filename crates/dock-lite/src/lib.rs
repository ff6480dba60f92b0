//! Blocking Docker Engine helpers.
//!
//! dock-lite runs a container to completion and hands back its exit code,
//! stdout and stderr; the container is removed whatever happens. It talks to
//! the daemon named by `DOCKER_HOST` (a unix socket by default, or
//! `tcp://host:port`), checking that address before any request is made.
//!
//! ```no_run
//! use dock_lite::{Docker, RunOptions};
//!
//! # fn main() -> Result<(), dock_lite::Error> {
//! let docker = Docker::connect()?; // DOCKER_HOST, or the local socket
//! docker.ping()?;
//! let output = docker.run(&RunOptions::new("alpine:3.20").command(["echo", "hello"]))?;
//! assert_eq!(output.exit_code, 0);
//! assert_eq!(output.stdout, b"hello\n");
//! # Ok(())
//! # }
//! ```
//!
//! # Blocking, and async runtimes
//!
//! [`Docker`] owns a small tokio runtime on one background thread (as
//! reqwest's blocking client does); each call blocks the calling thread until
//! it is done. Do not call it from inside an async runtime: it returns
//! [`Error::InsideAsyncRuntime`] there. Use `tokio::task::spawn_blocking`.
#![deny(missing_docs, unsafe_code)]

mod backend;
mod build;
mod client;
mod container;
mod context;
mod detached;
mod engine;
mod error;
mod host;
mod images;
mod list;
mod options;
mod progress;
mod run;

pub use build::{BuildOptions, BuildOutput};
pub use client::{Docker, VersionInfo, PING_TIMEOUT};
pub use detached::RunningContainer;
pub use error::{BoxError, Error, Result};
pub use host::{DockerHost, DEFAULT_SOCKET, HOST_ENV_VAR};
pub use images::{ImageSummary, PullProgress};
pub use list::{ContainerSummary, ListOptions, PortMapping};
pub use options::{Mount, PullPolicy, RunOptions};
pub use run::RunOutput;
