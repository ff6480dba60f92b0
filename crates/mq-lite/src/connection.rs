//! Opening a connection to the broker.

use std::time::Duration;

use crate::channel::{classify, SharedConnection};
use crate::dial::Dialer;
use crate::error::{Error, Result};
use crate::names::check_queue_name_syntax;
use crate::queue::{Queue, QueueInfo, QueueOptions};
use crate::reconnect::ReconnectPolicy;
use crate::url::{BrokerUrl, DEFAULT_URL};

/// The environment variable that [`ConnectOptions::from_env`] reads.
pub const URL_ENV_VAR: &str = "AMQP_URL";

/// How to reach the broker. Built from a URL; the timeouts can be changed.
///
/// ```
/// use std::time::Duration;
/// let options = mq_lite::ConnectOptions::new("amqp://guest:guest@localhost:5672/%2f")
///     .connection_timeout(Duration::from_secs(2))
///     .heartbeat(Duration::from_secs(15));
/// assert_eq!(options.url(), "amqp://guest:guest@localhost:5672/%2f");
/// ```
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    url: String,
    connection_timeout: Duration,
    heartbeat: Duration,
    reconnect: Option<ReconnectPolicy>,
    tls_roots: Vec<Vec<u8>>,
}

impl ConnectOptions {
    /// Default time allowed for the TCP connect and for the AMQP handshake, each.
    pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default heartbeat interval proposed to the broker.
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);

    /// Options for the broker at `url` (`amqp://user:pass@host:port/vhost`).
    /// The URL's `heartbeat` and `connection_timeout` query parameters, when
    /// present, override the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectOptions {
            url: url.into(),
            connection_timeout: Self::DEFAULT_CONNECTION_TIMEOUT,
            heartbeat: Self::DEFAULT_HEARTBEAT,
            reconnect: None,
            tls_roots: Vec::new(),
        }
    }

    /// Options for the broker named by `AMQP_URL`, or
    /// `amqp://guest:guest@localhost:5672/%2f` when it is unset or empty.
    pub fn from_env() -> Self {
        match std::env::var(URL_ENV_VAR) {
            Ok(url) if !url.trim().is_empty() => Self::new(url.trim()),
            _ => Self::new(DEFAULT_URL),
        }
    }

    /// Sets the time allowed for the TCP connect, and again for the AMQP handshake.
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Sets the heartbeat interval proposed to the broker (whole seconds; zero disables).
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval;
        self
    }

    /// Reconnects under `policy` when the broker goes away; see
    /// [`ReconnectPolicy`] for what operations do then. Off by default.
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Trusts the certificate `pem` (PEM text of a CA or of the broker's own
    /// certificate) for `amqps://` connections, besides the system's roots.
    #[cfg(feature = "tls")]
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots.push(pem.into());
        self
    }

    /// The broker URL these options were made from.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// An open connection to a RabbitMQ broker.
///
/// The socket has `TCP_NODELAY` set: without it, every synchronous
/// round trip (a get, an ack, a confirm) waits on Nagle's algorithm and the
/// peer's delayed ACK, some 40 ms each.
///
/// A `Connection` is `Send`: it can be moved to another thread. Each
/// [`Queue`] it declares owns its own AMQP channel and can be moved
/// independently of the connection; the connection stays open as long as
/// the connection handle or any of its queues is alive, unless
/// [`close`](Self::close) is called.
pub struct Connection {
    inner: SharedConnection,
    url: BrokerUrl,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to the broker at `url` with default timeouts.
    pub fn open(url: &str) -> Result<Connection> {
        Self::open_with(&ConnectOptions::new(url))
    }

    /// Connects to the broker named by `AMQP_URL` (see [`ConnectOptions::from_env`]).
    pub fn from_env() -> Result<Connection> {
        Self::open_with(&ConnectOptions::from_env())
    }

    /// Connects with explicit options.
    pub fn open_with(options: &ConnectOptions) -> Result<Connection> {
        let url = BrokerUrl::parse(&options.url)?;
        let dialer = Dialer {
            timeout: url.connection_timeout.unwrap_or(options.connection_timeout),
            heartbeat: url
                .heartbeat
                .unwrap_or_else(|| u16::try_from(options.heartbeat.as_secs()).unwrap_or(u16::MAX)),
            policy: options.reconnect.clone(),
            tls_roots: options.tls_roots.clone(),
            url: url.clone(),
        };
        let connection = dialer.dial()?;
        Ok(Connection {
            inner: SharedConnection::new(connection, dialer),
            url,
        })
    }

    /// Declares the queue `name` (creating it if needed) and returns an owned
    /// handle on its own channel. See [`QueueOptions`] for the settings.
    ///
    /// Declaring an existing queue with other settings is an
    /// [`Error::PreconditionFailed`]; the connection stays usable.
    pub fn declare_queue(&mut self, name: &str, options: &QueueOptions) -> Result<Queue> {
        Queue::declare(self.inner.clone(), name, options)
    }

    /// Declares a queue named by the broker (`amq.gen-...`), exclusive to this
    /// connection and deleted with it: the usual reply queue.
    pub fn declare_reply_queue(&mut self) -> Result<Queue> {
        Queue::declare_server_named(self.inner.clone())
    }

    /// A handle on queue `name` as it is, declared elsewhere (another
    /// client's reply queue, say): nothing is declared or checked.
    /// Publishing to it when it does not exist is an
    /// [`Error::Unroutable`]; reading from it, an [`Error::QueueNotFound`].
    pub fn existing_queue(&mut self, name: &str) -> Result<Queue> {
        check_queue_name_syntax(name)?;
        Ok(Queue::existing(self.inner.clone(), name))
    }

    /// Asks the broker about queue `name` without creating it (a passive
    /// declare): `None` when it does not exist.
    pub fn queue_info(&mut self, name: &str) -> Result<Option<QueueInfo>> {
        check_queue_name_syntax(name)?;
        // A passive declare of a missing queue closes its channel: use a throwaway one.
        let (channel, _) = self.inner.open_channel()?;
        match channel.queue_declare_passive(name) {
            Ok(queue) => Ok(Some(QueueInfo {
                message_count: queue.declared_message_count().unwrap_or(0),
                consumer_count: queue.declared_consumer_count().unwrap_or(0),
            })),
            Err(err) => match classify("inspect", name, err) {
                Error::QueueNotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// The broker's `host:port`.
    pub fn address(&self) -> String {
        self.url.address()
    }

    /// Closes the connection cleanly, reporting any error. Its queues and
    /// consumers fail with [`Error::ConnectionClosed`] afterwards. Dropping
    /// the connection and all its queues also closes it, silently.
    pub fn close(self) -> Result<()> {
        self.inner.close()
    }
}
