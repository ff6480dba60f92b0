//! Blocking Docker Engine helpers.
//!
//! dock-lite runs a container to completion and hands back its exit code,
//! stdout and stderr (feeding it stdin if you like); the container is
//! removed whatever happens. It also starts long-running containers and
//! waits until they are ready, builds images from a directory honouring
//! `.dockerignore`, and lists containers and images. It talks to the daemon
//! named by `DOCKER_HOST` (a unix socket by default, or `tcp://host:port`,
//! over TLS when `DOCKER_TLS_VERIFY` is set), checking that address before
//! any request is made.
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
//! [`Docker`] owns a small tokio runtime on a thread of its own for the
//! async client underneath (as reqwest's blocking client does); each call
//! blocks the calling thread until it is done. Do not call it from inside
//! an async runtime: every call returns [`Error::InsideAsyncRuntime`] there,
//! before anything is sent, instead of panicking as tokio would. Calls from
//! a runtime's blocking pool (`tokio::task::spawn_blocking`) are fine, and so
//! is dropping the last handle inside an async runtime. One async context
//! cannot be told from a blocking one: a future wrapped in
//! `tokio::task::unconstrained`; a call there is not refused, and blocks
//! that thread of the runtime until it returns, as any blocking function
//! would (it does not panic). `Docker` is `Clone`, `Send` and `Sync`.
//!
//! # Bounded
//!
//! Every call has a deadline ([`Timeouts`]): a daemon that accepts a
//! connection and never answers is an [`Error::DaemonTimeout`] within it. A
//! run is bounded by its [`timeout`](RunOptions::timeout) whatever the
//! container does with its stdin, and keeps at most
//! [`output_limit`](RunOptions::output_limit) bytes of each output stream.
//!
//! # Built on bollard
//!
//! [bollard](https://docs.rs/bollard) makes the requests and parses the
//! answers, over one hyper client of dock-lite's (a unix socket, TCP, or TLS
//! with the docker CLI's `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`). The
//! Engine API version is agreed with the daemon on first use, as the docker
//! CLI does: the first request, `GET /_ping`, goes unversioned (every
//! daemon accepts it) and its answer's `Api-Version` header says the
//! daemon's newest version (a daemon that does not say is asked `GET
//! /version`, unversioned too); every later request carries the agreed
//! version in its path (`/v1.41/containers/json`). Two calls are made
//! directly on the same client: the ping that agrees on the version (its
//! answer's headers say it; bollard drops them), and the wait for a run's
//! exit, which must be registered before the container starts. No bollard
//! type appears in this API.
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
mod error;
mod host;
mod images;
mod list;
mod options;
mod run;
mod runtime;
mod timeouts;
mod tls;
mod transport;
mod version;

pub use build::{BuildOptions, BuildOutput};
pub use client::{Docker, VersionInfo};
pub use detached::{RunningContainer, LOGS_LIMIT};
pub use error::{BoxError, Error, Result};
pub use host::{DockerHost, DEFAULT_SOCKET, HOST_ENV_VAR};
pub use images::{ImageSummary, PullProgress};
pub use list::{ContainerSummary, ListOptions, PortMapping};
pub use options::{Mount, PullPolicy, RunOptions, DEFAULT_OUTPUT_LIMIT};
pub use run::{OutputStream, RunOutput};
pub use timeouts::{Timeouts, PING_TIMEOUT};
pub use tls::{TlsOptions, CERT_PATH_ENV_VAR, TLS_VERIFY_ENV_VAR};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
