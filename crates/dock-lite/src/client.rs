//! The blocking client: a handle on the daemon, the runtime thread that
//! drives bollard underneath, and the deadlines of its calls.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::Response;

use crate::error::{BoxError, Error, Result};
use crate::host::DockerHost;
use crate::runtime::Runtime;
use crate::timeouts::Timeouts;
use crate::tls::TlsOptions;
use crate::transport::{Target, Transport};

/// How many streamed messages (build output, pull progress) may wait for a
/// slow caller before the daemon's stream is paused.
const STREAM_BUFFER: usize = 64;

/// A blocking handle on a Docker daemon.
///
/// It owns a one-thread tokio runtime, on a thread of its own, on which the
/// asynchronous client underneath runs; each method blocks the calling
/// thread until its request is done, within the deadlines of its
/// [`Timeouts`]. Like reqwest's blocking client, it must **not** be called
/// from inside an async runtime: every call then returns
/// [`Error::InsideAsyncRuntime`] before sending anything (use
/// `spawn_blocking` there). Dropping the last handle inside an async
/// runtime is fine. A `Docker` is `Send + Sync`: share it between threads;
/// cloning it is cheap and shares the runtime and the connections.
#[derive(Clone)]
pub struct Docker {
    inner: Arc<Inner>,
    timeouts: Timeouts,
}

struct Inner {
    // Dropped first: the connections, while the runtime still runs.
    api: Api,
    runtime: Runtime,
}

/// What the async side needs: bollard's client, the transport under it and
/// the daemon's address (for errors).
#[derive(Clone)]
pub(crate) struct Api {
    pub docker: bollard::Docker,
    pub transport: Transport,
    pub host: Arc<DockerHost>,
}

impl std::fmt::Debug for Docker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Docker")
            .field("host", self.host())
            .field("timeouts", &self.timeouts)
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
    /// when unset), over TLS when `DOCKER_TLS_VERIFY` is set (with the files
    /// of `DOCKER_CERT_PATH`; see [`TlsOptions::from_env`]), as the docker
    /// CLI does. Nothing is sent until the first call; use
    /// [`ping`](Self::ping) to check that the daemon answers.
    pub fn connect() -> Result<Docker> {
        let host = DockerHost::from_env()?;
        match (&host, TlsOptions::from_env()) {
            (DockerHost::Tcp { .. }, Some(tls)) => Self::connect_with_tls(host, &tls),
            _ => Self::connect_to(host),
        }
    }

    /// Connects to the daemon at `host`, without TLS.
    pub fn connect_to(host: DockerHost) -> Result<Docker> {
        let target = match &host {
            DockerHost::Unix(path) => Target::Unix(path.into()),
            DockerHost::Tcp { host, port } => Target::Tcp {
                host: host.clone(),
                port: *port,
            },
        };
        Self::start(host, target)
    }

    /// Connects to the daemon at the `tcp://` `host` over TLS, checking its
    /// certificate against `tls`' authority and presenting `tls`' client
    /// certificate. The files are read now: a missing or unusable one is an
    /// [`Error::TlsConfig`].
    pub fn connect_with_tls(host: DockerHost, tls: &TlsOptions) -> Result<Docker> {
        let target = match &host {
            DockerHost::Tcp { host, port } => crate::tls::target(host, *port, tls)?,
            DockerHost::Unix(_) => {
                return Err(Error::MalformedHost {
                    host: host.to_string(),
                    reason: "TLS needs a tcp:// host",
                })
            }
        };
        Self::start(host, target)
    }

    fn start(host: DockerHost, target: Target) -> Result<Docker> {
        let transport = Transport::new(target);
        let docker = transport.bollard().map_err(|err| Error::Transport {
            operation: "connect",
            host: host.to_string(),
            resource: None,
            source: Box::new(err),
        })?;
        let runtime = Runtime::start()?;
        Ok(Docker {
            inner: Arc::new(Inner {
                api: Api {
                    docker,
                    transport,
                    host: Arc::new(host),
                },
                runtime,
            }),
            timeouts: Timeouts::default(),
        })
    }

    /// The same handle with other deadlines (see [`Timeouts`]).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Docker {
        self.timeouts = timeouts;
        self
    }

    /// The deadlines of this handle's calls.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The daemon's address.
    pub fn host(&self) -> &DockerHost {
        &self.inner.api.host
    }

    /// Checks that the daemon answers, within [`Timeouts::ping`].
    pub fn ping(&self) -> Result<()> {
        self.call("ping", None, self.timeouts.ping, |api| async move {
            api.docker
                .ping()
                .await
                .map(drop)
                .map_err(|err| api.error("ping", err))
        })
    }

    /// The daemon's version, within [`Timeouts::ping`].
    pub fn version(&self) -> Result<VersionInfo> {
        self.call("version", None, self.timeouts.ping, |api| async move {
            let version = api
                .docker
                .version()
                .await
                .map_err(|err| api.error("version", err))?;
            Ok(VersionInfo {
                version: version.version.unwrap_or_default(),
                api_version: version.api_version.unwrap_or_default(),
                os: version.os.unwrap_or_default(),
                arch: version.arch.unwrap_or_default(),
            })
        })
    }

    /// The Engine API version agreed with the daemon (agreed now if no call
    /// has been made yet), e.g. `1.41`: the older of the newest version the
    /// daemon speaks and the newest dock-lite speaks.
    pub fn api_version(&self) -> Result<String> {
        self.call(
            "agree on the API version",
            None,
            self.timeouts.ping,
            |api| async move { Ok(api.agreed_version().await?.to_string()) },
        )
    }

    /// Runs `call` on the runtime, after the API version is agreed, giving
    /// up after `timeout` with [`Error::DaemonTimeout`]; its errors name
    /// `resource` (a container id, an image) when they name none. Refused
    /// inside an async runtime, before anything is sent.
    pub(crate) fn call<T, F, Fut>(
        &self,
        operation: &'static str,
        resource: Option<&str>,
        timeout: Duration,
        call: F,
    ) -> Result<T>
    where
        F: FnOnce(Api) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let api = self.api();
        let result = self.inner.runtime.run(async move {
            let bounded = api.clone();
            let work = async move {
                api.agreed_version().await?;
                call(api).await
            };
            bounded.within(operation, timeout, work).await
        })?;
        result.map_err(|err| match resource {
            Some(resource) => err.concerning(resource),
            None => err,
        })
    }

    /// Runs `future` on the runtime with no deadline of its own (the
    /// caller's future sets its deadlines).
    pub(crate) fn run_on_runtime<T, Fut>(&self, future: Fut) -> Result<T>
    where
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.runtime.run(future)?
    }

    /// Runs `produce` on the runtime, handing each item it sends to `each`
    /// on this thread, in order. An error from `each` stops the producer.
    /// The producer's errors name `resource` when they name none.
    pub(crate) fn call_streaming<T, I, F, Fut>(
        &self,
        resource: Option<&str>,
        produce: F,
        mut each: impl FnMut(I) -> Result<()>,
    ) -> Result<T>
    where
        F: FnOnce(Api, tokio::sync::mpsc::Sender<I>) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
        I: Send + 'static,
        T: Send + 'static,
    {
        let (sender, mut items) = tokio::sync::mpsc::channel(STREAM_BUFFER);
        let (result, task) = self.inner.runtime.spawn(produce(self.api(), sender))?;
        while let Some(item) = crate::runtime::wait_here(items.recv()) {
            if let Err(err) = each(item) {
                task.abort();
                return Err(err);
            }
        }
        Runtime::wait(&result)?.map_err(|err| match resource {
            Some(resource) => err.concerning(resource),
            None => err,
        })
    }

    /// Starts `future` on the runtime; its output arrives on the receiver.
    pub(crate) fn spawn<Fut>(
        &self,
        future: Fut,
    ) -> Result<(
        std::sync::mpsc::Receiver<Fut::Output>,
        tokio::task::AbortHandle,
    )>
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.inner.runtime.spawn(future)
    }

    /// Starts `future` on the runtime without waiting for it.
    pub(crate) fn detach<Fut>(&self, future: Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.inner.runtime.detach(future)
    }

    /// The async side's handles.
    pub(crate) fn api(&self) -> Api {
        self.inner.api.clone()
    }
}

impl Api {
    /// Sorts an error of bollard into ours.
    pub fn error(&self, operation: &'static str, err: bollard::errors::Error) -> Error {
        crate::backend::convert(&self.host, operation, err)
    }

    /// [`Error::Transport`]: `operation` failed below the HTTP layer, or
    /// its answer could not be read.
    pub fn broken(&self, operation: &'static str, source: impl Into<BoxError>) -> Error {
        Error::Transport {
            operation,
            host: self.host.to_string(),
            resource: None,
            source: source.into(),
        }
    }

    /// [`Error::DaemonTimeout`]: no answer to `operation` within `timeout`.
    pub fn timed_out(&self, operation: &'static str, timeout: Duration) -> Error {
        Error::DaemonTimeout {
            operation,
            host: self.host.to_string(),
            resource: None,
            timeout,
        }
    }

    /// `future`, or [`Error::DaemonTimeout`] for `operation` after `timeout`.
    pub async fn within<T>(
        &self,
        operation: &'static str,
        timeout: Duration,
        future: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::time::timeout(timeout, future)
            .await
            .unwrap_or_else(|_| Err(self.timed_out(operation, timeout)))
    }

    /// The agreed API version (see [`agreed_version`](Self::agreed_version)),
    /// agreed within `timeout` if need be, as the first step of `operation`.
    pub async fn agree_within(
        &self,
        operation: &'static str,
        timeout: Duration,
    ) -> Result<crate::version::ApiVersion> {
        self.within(operation, timeout, self.agreed_version()).await
    }

    /// Sends a request without a body to the daemon on the same client as
    /// bollard's, for what bollard cannot do as needed: the answer when the
    /// daemon accepts the request, [`Error::Daemon`] with its message when
    /// it refuses it.
    pub async fn send_direct(
        &self,
        operation: &'static str,
        method: hyper::Method,
        path: &str,
    ) -> Result<Response<Incoming>> {
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://docker{path}"))
            .body(bollard::body_full(bytes::Bytes::new()))
            .map_err(|err| self.broken(operation, err))?;
        let response = self
            .transport
            .send(request)
            .await
            .map_err(|err| crate::backend::classify(&self.host, operation, Box::new(err)))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = self.read_small(operation, response).await?;
        Err(Error::Daemon {
            operation,
            host: self.host.to_string(),
            resource: None,
            status,
            message: crate::transport::daemon_message(&body),
        })
    }

    /// The body of a small answer of [`send_direct`](Self::send_direct).
    pub async fn read_small(
        &self,
        operation: &'static str,
        response: Response<Incoming>,
    ) -> Result<bytes::Bytes> {
        crate::transport::read_small(response)
            .await
            .map_err(|source| self.broken(operation, source))
    }

    /// The agreed API version, asking the daemon on first use (once for
    /// all concurrent callers).
    pub async fn agreed_version(&self) -> Result<crate::version::ApiVersion> {
        let version = self
            .transport
            .version()
            .get_or_try_init(|| async {
                let operation = "agree on the API version";
                if let Some(newest) = self.ping_api_version().await? {
                    return crate::version::agree(&self.host, Some(&newest), None);
                }
                // A daemon (or a proxy) that does not say: ask for its version.
                let answer = self
                    .docker
                    .version()
                    .await
                    .map_err(|err| self.error(operation, err))?;
                crate::version::agree(
                    &self.host,
                    answer.api_version.as_deref(),
                    answer.min_api_version.as_deref(),
                )
            })
            .await?;
        Ok(*version)
    }

    /// The newest API version the daemon speaks, from the `Api-Version`
    /// header of its answer to an unversioned `GET /_ping`, as the docker
    /// CLI asks it.
    ///
    /// A direct call on the same client: bollard's `ping` drops the
    /// answer's headers, and its `version` makes the daemon run
    /// `runc --version` and `docker-init --version` (10-14 ms on Docker
    /// 20.10, against under 1 ms for the ping), which would fall on the
    /// first call of every process.
    async fn ping_api_version(&self) -> Result<Option<String>> {
        let operation = "agree on the API version";
        let response = self
            .send_direct(operation, hyper::Method::GET, "/_ping")
            .await?;
        let newest = response
            .headers()
            .get("api-version")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        // Read to its end, so that the connection goes back to the pool.
        self.read_small(operation, response).await?;
        Ok(newest)
    }
}
