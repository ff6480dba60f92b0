//! Blocking Docker Engine helpers.
//!
//! dock-lite runs a container to completion and hands back its exit code,
//! stdout and stderr (feeding it stdin if you like); the container is
//! removed whatever happens. It also starts long-running containers and
//! waits until they are ready, builds images from a directory honouring
//! `.dockerignore`, and lists containers and images. It talks to the daemon
//! named by `DOCKER_HOST` (a unix socket by default, or `tcp://host:port`),
//! checking that address before any request is made.
//!
//! ```no_run
//! use std::time::Duration;
//! use dock_lite::{BuildOptions, Docker, RunOptions};
//!
//! # fn main() -> Result<(), dock_lite::Error> {
//! let docker = Docker::connect()?; // DOCKER_HOST, or the local socket
//! docker.ping()?;
//!
//! // Build an image, printing the daemon's output as it comes.
//! docker.build(&BuildOptions::new("dockerfiles/graphviz").tag("graphviz:demo"), |line| {
//!     println!("{line}")
//! })?;
//!
//! // Render a graph: the source goes in on stdin, the SVG comes out on stdout.
//! let output = docker.run(
//!     &RunOptions::new("graphviz:demo")
//!         .command(["-Tsvg"])
//!         .stdin(b"digraph { a -> b }".to_vec())
//!         .network("none")
//!         .memory_bytes(256 << 20)
//!         .timeout(Duration::from_secs(30)),
//! )?;
//! assert!(output.success());
//! std::fs::write("graph.svg", &output.stdout).ok();
//! # Ok(())
//! # }
//! ```
//!
//! # Blocking, and async runtimes
//!
//! [`Docker`] owns a small tokio runtime on one background thread for the
//! async client underneath (as reqwest's blocking client does); each call
//! blocks the calling thread until it is done. Do not call it from inside an
//! async runtime: it returns [`Error::InsideAsyncRuntime`] there, instead of
//! panicking as tokio would. Use `tokio::task::spawn_blocking`. `Docker` is
//! `Clone`, `Send` and `Sync`.
//!
//! # Built on shiplift, minus its faults
//!
//! shiplift 0.7 drives the container lifecycle. What it cannot express or
//! gets wrong goes through a small direct Engine API client on the same
//! socket: a malformed `DOCKER_HOST` is a typed error (shiplift panics);
//! build contexts honour `.dockerignore` and are streamed, never read whole
//! (shiplift tars and gzips the whole directory); build failures inside the
//! output stream become [`Error::BuildFailed`]; the daemon's own message is
//! kept in [`Error::Daemon`]; stdin is attached with `StdinOnce`, so the
//! container sees the end of its input; image lists parse answers without
//! `VirtualSize` (Docker Engine 25+). No shiplift type appears in this API.
//!
//! # `.dockerignore`
//!
//! Docker's rules: one pattern per line, `#` comments, paths relative to the
//! context root, `*` and `?` within one path component, `**` across any
//! number, `!` re-including what an earlier pattern excluded, the last match
//! winning, and a matched directory excluding everything under it. The
//! Dockerfile and `.dockerignore` are always sent, as the docker CLI does.
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
