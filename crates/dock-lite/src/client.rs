//! The blocking client: a handle on the daemon plus the small runtime that
//! drives the async Docker client underneath.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::host::DockerHost;

/// How long [`Docker::ping`] and [`Docker::version`] wait for the daemon.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// A blocking handle on a Docker daemon.
///
/// It owns a one-thread tokio runtime on which the asynchronous client
/// underneath runs; each method blocks the calling thread until its request
/// is done. Like reqwest's blocking client, it must **not** be called from
/// inside an async runtime: such calls return [`Error::InsideAsyncRuntime`]
/// (use `spawn_blocking` there). A `Docker` is `Send + Sync`: share it
/// between threads; cloning it is cheap and shares the runtime.
#[derive(Clone)]
pub struct Docker {
    inner: Arc<Inner>,
}

struct Inner {
    api: shiplift::Docker,
    engine: Engine,
    runtime: tokio::runtime::Runtime,
    host: DockerHost,
}

impl std::fmt::Debug for Docker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Docker")
            .field("host", &self.inner.host)
            .finish_non_exhaustive()
    }
}

/// What the daemon says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionInfo {
    /// The engine's version, e.g. `20.10.24`.
    pub version: String,
    /// The newest Engine API version it speaks, e.g. `1.41`.
    pub api_version: String,
    /// Operating system of the daemon, e.g. `linux`.
    pub os: String,
    /// CPU architecture of the daemon, e.g. `amd64`.
    pub arch: String,
}

impl Docker {
    /// Connects to the daemon named by `DOCKER_HOST` (the local unix socket
    /// when unset). Nothing is sent until the first call; use
    /// [`ping`](Self::ping) to check that the daemon answers.
    pub fn connect() -> Result<Docker> {
        Self::connect_to(DockerHost::from_env()?)
    }

    /// Connects to the daemon at `host`.
    pub fn connect_to(host: DockerHost) -> Result<Docker> {
        let api = match &host {
            DockerHost::Unix(path) => shiplift::Docker::unix(path.clone()),
            DockerHost::Tcp { host: name, port } => {
                let uri = format!("http://{name}:{port}");
                shiplift::Docker::host(uri.parse().map_err(|_| Error::MalformedHost {
                    host: host.to_string(),
                    reason: "not a valid host name",
                })?)
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dock-lite")
            .enable_all()
            .build()
            .map_err(|source| Error::Runtime { source })?;
        Ok(Docker {
            inner: Arc::new(Inner {
                api,
                engine: Engine::new(host.clone()),
                runtime,
                host,
            }),
        })
    }

    /// The daemon's address.
    pub fn host(&self) -> &DockerHost {
        &self.inner.host
    }

    /// The async client underneath.
    pub(crate) fn api(&self) -> &shiplift::Docker {
        &self.inner.api
    }

    /// The direct Engine API client, for what the async client cannot do.
    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Checks that the daemon answers, within [`PING_TIMEOUT`].
    pub fn ping(&self) -> Result<()> {
        self.block_on_timeout("ping", PING_TIMEOUT, self.api().ping())?
            .map(drop)
            .map_err(|err| self.backend_error("ping", err))
    }

    /// The daemon's version, within [`PING_TIMEOUT`].
    pub fn version(&self) -> Result<VersionInfo> {
        let version = self
            .block_on_timeout("version", PING_TIMEOUT, self.api().version())?
            .map_err(|err| self.backend_error("version", err))?;
        Ok(VersionInfo {
            version: version.version,
            api_version: version.api_version,
            os: version.os,
            arch: version.arch,
        })
    }

    /// Runs `future` on the runtime, refusing to block an async runtime's thread.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> Result<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::InsideAsyncRuntime);
        }
        Ok(self.inner.runtime.block_on(future))
    }

    /// Like [`block_on`](Self::block_on), giving up after `timeout`.
    pub(crate) fn block_on_timeout<F: Future>(
        &self,
        operation: &'static str,
        timeout: Duration,
        future: F,
    ) -> Result<F::Output> {
        // The timer must be created inside the runtime, hence the async block.
        self.block_on(async move { tokio::time::timeout(timeout, future).await })?
            .map_err(|_| Error::DaemonTimeout { operation, timeout })
    }

    /// Sorts an error of the client underneath into ours.
    pub(crate) fn backend_error(&self, operation: &'static str, err: shiplift::Error) -> Error {
        crate::backend::convert(&self.inner.host, operation, err)
    }
}
