//! How requests reach the daemon: one hyper client (HTTP/1.1, connections
//! kept alive) over a unix socket, TCP or TLS, under bollard. Once the API
//! version is agreed, every request carries it; the requests that agree on
//! it (`/_ping`, and `/version` if need be) go unversioned.
//!
//! bollard's own connectors are not used: its unix connector refuses to be
//! built before the socket exists (dock-lite connects lazily and reports an
//! absent daemon at the first call), its TLS connector takes the process's
//! default rustls provider (and panics when a build has two, as this
//! workspace does), trusts the system's roots beside `ca.pem` and reads the
//! client key only at handshake time, and its request paths drop the API
//! version. bollard's custom-transport hook hands each request to this one.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::version::ApiVersion;

/// The request body type of bollard's requests.
pub(crate) type Body = Either<
    Full<Bytes>,
    StreamBody<Pin<Box<dyn futures_util::Stream<Item = Result<Frame<Bytes>, io::Error>> + Send>>>,
>;

/// Where connections go.
pub(crate) enum Target {
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
    },
    #[cfg(feature = "tls")]
    Tls {
        host: String,
        port: u16,
        connector: tokio_rustls::TlsConnector,
        server_name: rustls_pki_types::ServerName<'static>,
    },
}

/// The HTTP client, and the API version its requests carry.
#[derive(Clone)]
pub(crate) struct Transport {
    client: Client<Connector, Body>,
    version: Arc<tokio::sync::OnceCell<ApiVersion>>,
}

impl Transport {
    pub fn new(target: Target) -> Transport {
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            // The daemon keeps idle connections; this end lets them go soon.
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build(Connector {
                target: Arc::new(target),
            });
        Transport {
            client,
            version: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// The agreed API version: set once, by the first call.
    pub fn version(&self) -> &tokio::sync::OnceCell<ApiVersion> {
        &self.version
    }

    /// Sends a request, its path prefixed with the agreed API version
    /// (before the agreement only `/_ping`, or `/version`, is sent:
    /// unversioned, as every daemon accepts them).
    pub async fn send(&self, request: Request<Body>) -> Result<Response<Incoming>, TransportError> {
        let request = self.versioned(request)?;
        self.client
            .request(request)
            .await
            .map_err(TransportError::Http)
    }

    fn versioned(&self, request: Request<Body>) -> Result<Request<Body>, TransportError> {
        let Some(version) = self.version.get() else {
            return Ok(request);
        };
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
        let path = crate::version::strip_version_prefix(path);
        let mut uri = parts.uri.clone().into_parts();
        uri.path_and_query = Some(
            format!("/v{version}{path}")
                .parse()
                .map_err(|err| TransportError::Uri(Box::new(err)))?,
        );
        parts.uri = Uri::from_parts(uri).map_err(|err| TransportError::Uri(Box::new(err)))?;
        Ok(Request::from_parts(parts, body))
    }

    /// A bollard client whose requests go through this transport.
    pub fn bollard(&self) -> Result<bollard::Docker, bollard::errors::Error> {
        let transport = self.clone();
        bollard::Docker::connect_with_custom_transport(
            move |request: bollard::BollardRequest| {
                let transport = transport.clone();
                async move {
                    // Kept whole inside bollard's error: `backend` finds it there.
                    transport
                        .send(request)
                        .await
                        .map_err(|err| bollard::errors::Error::IOError {
                            err: io::Error::other(err),
                        })
                }
            },
            // Only the scheme and host of bollard's URIs are used: `Host: docker`.
            Some("http://docker"),
            // dock-lite bounds each call itself (see Timeouts).
            ONE_DAY_SECONDS,
            bollard::API_DEFAULT_VERSION,
        )
    }
}

const ONE_DAY_SECONDS: u64 = 24 * 60 * 60;

/// An error of [`Transport::send`].
#[derive(Debug)]
pub(crate) enum TransportError {
    Http(hyper_util::client::legacy::Error),
    Uri(Box<dyn std::error::Error + Send + Sync>),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Http(err) => err.fmt(f),
            TransportError::Uri(err) => write!(f, "bad request URI: {err}"),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TransportError::Http(err) => Some(err),
            TransportError::Uri(err) => Some(err.as_ref()),
        }
    }
}

/// Opens connections to the [`Target`].
#[derive(Clone)]
pub(crate) struct Connector {
    target: Arc<Target>,
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TokioIo<Stream>>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let target = self.target.clone();
        Box::pin(async move { connect(&target).await.map(TokioIo::new) })
    }
}

async fn connect(target: &Target) -> io::Result<Stream> {
    match target {
        Target::Unix(path) => UnixStream::connect(path).await.map(Stream::Unix),
        Target::Tcp { host, port } => tcp(host, *port).await.map(Stream::Tcp),
        #[cfg(feature = "tls")]
        Target::Tls {
            host,
            port,
            connector,
            server_name,
        } => {
            let tcp = tcp(host, *port).await?;
            let tls = connector
                .connect(server_name.clone(), tcp)
                .await
                .map_err(|err| {
                    let refused = err
                        .get_ref()
                        .is_some_and(|inner| inner.is::<tokio_rustls::rustls::Error>());
                    match refused {
                        true => io::Error::new(io::ErrorKind::InvalidData, TlsFailure(err)),
                        false => err,
                    }
                })?;
            Ok(Stream::Tls(Box::new(tls)))
        }
    }
}

async fn tcp(host: &str, port: u16) -> io::Result<TcpStream> {
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((name, port)).await?;
    // Small request/response exchanges and stdin writes: don't wait on Nagle.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// How much of a small answer read directly (a ping's, a wait's) is kept.
const SMALL_ANSWER_LIMIT: usize = 64 * 1024;

/// The body of a small answer, up to [`SMALL_ANSWER_LIMIT`] bytes.
pub(crate) async fn read_small(
    response: Response<Incoming>,
) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>> {
    http_body_util::Limited::new(response.into_body(), SMALL_ANSWER_LIMIT)
        .collect()
        .await
        .map(|collected| collected.to_bytes())
}

/// The daemon answers errors as `{"message": "..."}`; keep just the text.
pub(crate) fn daemon_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct DaemonError {
        message: String,
    }
    match serde_json::from_slice::<DaemonError>(body) {
        Ok(parsed) => parsed.message,
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    }
}

/// A TLS handshake refused by either side, told apart from other I/O errors.
#[derive(Debug)]
pub(crate) struct TlsFailure(pub io::Error);

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS handshake failed: {}", self.0)
    }
}

impl std::error::Error for TlsFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A connection to the daemon.
pub(crate) enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    /// Half-closes the connection: after an attach, the daemon sees the end
    /// of the container's stdin.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::daemon_message;

    #[test]
    fn keeps_the_daemons_message_text() {
        assert_eq!(
            daemon_message(br#"{"message":"No such image: nope:latest"}"#),
            "No such image: nope:latest"
        );
        assert_eq!(daemon_message(b"plain text\n"), "plain text");
    }
}
