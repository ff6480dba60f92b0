//! Opening a connection to the broker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::channel::ChannelSlot;
use crate::declare::{check_queue_name_syntax, Declaration, QueueInfo, QueueOptions};
use crate::dial::Dialer;
use crate::error::{Error, Result};
use crate::link::{SharedConnection, Timeouts};
use crate::queue::Queue;
use crate::reconnect::ReconnectPolicy;
use crate::url::{mask_password, parse_list, DEFAULT_URL};

/// The environment variable that [`ConnectOptions::from_env`] reads.
pub const URL_ENV_VAR: &str = "AMQP_URL";

/// How to reach the broker. Built from a URL; the timeouts can be changed.
///
/// Every call that waits on the broker has a deadline:
///
/// | Timeout | Default | Bounds |
/// |---|---|---|
/// | [`connection_timeout`](Self::connection_timeout) | 10 s | the host name's lookup, the TCP connect, then the AMQP handshake |
/// | [`publish_timeout`](Self::publish_timeout) | 30 s | a publish (or batch) and the broker's confirm |
/// | [`request_timeout`](Self::request_timeout) | 30 s | any other request: opening a channel, declare, get, purge, delete, inspect, consume, cancel, close; and the same in the background (closing a dropped handle's channel), on top of any time the broker blocks the connection |
///
/// ```
/// use std::time::Duration;
/// let options = mq_lite::ConnectOptions::new("amqp://guest:guest@localhost:5672/%2f")
///     .connection_timeout(Duration::from_secs(2))
///     .publish_timeout(Duration::from_secs(5))
///     .heartbeat(Duration::from_secs(15));
/// assert_eq!(options.url(), "amqp://guest:guest@localhost:5672/%2f");
/// // The password stays out of debug output.
/// assert!(!format!("{options:?}").contains("guest@"));
/// ```
#[derive(Clone)]
pub struct ConnectOptions {
    url: String,
    connection_timeout: Duration,
    publish_timeout: Duration,
    request_timeout: Duration,
    heartbeat: Duration,
    reconnect: Option<ReconnectPolicy>,
    tls_roots: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &mask_password(&self.url))
            .field("connection_timeout", &self.connection_timeout)
            .field("publish_timeout", &self.publish_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("heartbeat", &self.heartbeat)
            .field("reconnect", &self.reconnect)
            .field("tls_roots", &self.tls_roots.len())
            .finish()
    }
}

impl ConnectOptions {
    /// Default time allowed for the TCP connect and for the AMQP handshake, each.
    pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default time allowed for a publish and its confirm.
    pub const DEFAULT_PUBLISH_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default time allowed for the broker to answer any other request.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default heartbeat interval proposed to the broker.
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);

    /// Options for the broker at `url` (`amqp://user:pass@host:port/vhost`).
    /// The URL's `heartbeat` and `connection_timeout` query parameters, when
    /// present, override the defaults.
    ///
    /// `url` may list several URLs separated by commas, the nodes of a
    /// cluster: they are tried in turn, from the first on connecting and
    /// from the one after the lost node on every reconnection, each within
    /// its connection timeout. [`Connection::address`] says which one is in
    /// use.
    ///
    /// ```
    /// let options = mq_lite::ConnectOptions::new(
    ///     "amqp://app:secret@rabbit1/%2f,amqp://app:secret@rabbit2/%2f,amqp://app:secret@rabbit3/%2f",
    /// );
    /// assert!(!format!("{options:?}").contains("secret"));
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        ConnectOptions {
            url: url.into(),
            connection_timeout: Self::DEFAULT_CONNECTION_TIMEOUT,
            publish_timeout: Self::DEFAULT_PUBLISH_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            heartbeat: Self::DEFAULT_HEARTBEAT,
            reconnect: None,
            tls_roots: Vec::new(),
        }
    }

    /// Options for the broker named by `AMQP_URL` (one URL, or several
    /// separated by commas), or
    /// `amqp://guest:guest@localhost:5672/%2f` when it is unset or empty.
    pub fn from_env() -> Self {
        match std::env::var(URL_ENV_VAR) {
            Ok(url) if !url.trim().is_empty() => Self::new(url.trim()),
            _ => Self::new(DEFAULT_URL),
        }
    }

    /// Sets the time allowed for the host name's lookup, again for the TCP
    /// connect, and again for the AMQP handshake.
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Sets the time allowed for a publish: for the broker to take the
    /// message (or batch) and confirm it. Past it, the call fails with
    /// [`Error::PublishTimeout`]; the messages it sent may still reach the
    /// queue, and if they could not even be sent in time, the connection
    /// was given up (see there). Under a [`ReconnectPolicy`], each attempt
    /// has this long.
    pub fn publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// Sets the time allowed for the broker to answer any other request:
    /// declare, get, purge, delete, inspect, consume, cancel, close. Past
    /// it, the call fails with [`Error::Timeout`] (see there what becomes
    /// of the connection).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the heartbeat interval proposed to the broker: whole seconds,
    /// up to 65,535; zero disables heartbeats. Anything else (500 ms, say)
    /// makes [`Connection::open_with`] fail with [`Error::InvalidOption`]
    /// rather than be rounded (to zero, which would turn heartbeats off).
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

    /// The broker URL (or comma-separated URLs) these options were made from.
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
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.address())
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

    /// Connects with explicit options, to the first of the options' URLs
    /// that takes the connection. When none does, the error is the most
    /// telling one (refused credentials over an unreachable node).
    pub fn open_with(options: &ConnectOptions) -> Result<Connection> {
        let urls = parse_list(&options.url)?;
        let timeouts = Timeouts {
            publish: positive("publish_timeout", options.publish_timeout)?,
            request: positive("request_timeout", options.request_timeout)?,
        };
        let dialer = Dialer {
            timeout: options.connection_timeout,
            heartbeat: whole_seconds(options.heartbeat)?,
            policy: options.reconnect.clone(),
            tls_roots: options.tls_roots.clone(),
            urls,
        };
        for url in &dialer.urls {
            positive("connection_timeout", dialer.timeout_of(url))?;
        }
        let (index, dialed) = dialer.dial(0)?;
        Ok(Connection {
            inner: SharedConnection::new(index, dialed, dialer, timeouts),
        })
    }

    /// Declares the queue `name` (creating it if needed) and returns an owned
    /// handle on its own channel. See [`QueueOptions`] for the settings.
    /// Takes `&self`: threads can share one connection to declare their
    /// own handles.
    ///
    /// Declaring an existing queue with other settings is an
    /// [`Error::PreconditionFailed`]; the connection stays usable.
    pub fn declare_queue(&self, name: &str, options: &QueueOptions) -> Result<Queue> {
        Queue::declare(self.inner.clone(), name, options)
    }

    /// Declares a queue named by the broker (`amq.gen-...`), exclusive to this
    /// connection and deleted with it: the usual reply queue. It does not
    /// survive a reconnection: afterwards its handles and consumers fail with
    /// [`Error::ReplyQueueLost`].
    pub fn declare_reply_queue(&self) -> Result<Queue> {
        Queue::declare_server_named(self.inner.clone())
    }

    /// A handle on queue `name` as it is, declared elsewhere (another
    /// client's reply queue, say): nothing is declared or checked.
    /// Publishing to it when it does not exist is an
    /// [`Error::Unroutable`]; reading from it, an [`Error::QueueNotFound`].
    pub fn existing_queue(&self, name: &str) -> Result<Queue> {
        check_queue_name_syntax(name)?;
        Ok(Queue::existing(self.inner.clone(), name))
    }

    /// Asks the broker about queue `name` without creating it (a passive
    /// declare): `None` when it does not exist.
    pub fn queue_info(&self, name: &str) -> Result<Option<QueueInfo>> {
        check_queue_name_syntax(name)?;
        // A passive declare of a missing queue closes its channel: use a throwaway one.
        let slot = ChannelSlot::new(self.inner.clone(), Arc::new(Declaration::existing()), false);
        let call = self.inner.request("inspect", name);
        let inspected = slot.with(call, |open| {
            open.within(Instant::now() + call.timeout, |channel| {
                QueueInfo::inspect(channel, name)
            })
        });
        match inspected {
            Ok(info) => Ok(Some(info)),
            Err(Error::QueueNotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// While the broker blocks this connection because of a resource alarm
    /// (low memory or disk), its reason (e.g. `low on memory`); `None`
    /// otherwise, and again once the broker unblocks it.
    ///
    /// RabbitMQ blocks a connection once it publishes during an alarm, and
    /// reads nothing more from it until the alarm clears; meanwhile
    /// publishing and every request on it fail at once with
    /// [`Error::Blocked`]. Connections that only consume are not blocked.
    pub fn blocked(&self) -> Option<String> {
        self.inner.blocked()
    }

    /// The `host:port` of the broker node this connection is on now: with
    /// several URLs, the one that took the last (re)connection.
    pub fn address(&self) -> String {
        self.inner.address()
    }

    /// The connection the handles share, for the crate's own tests.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &SharedConnection {
        &self.inner
    }

    /// Closes the connection cleanly, reporting any error. Its queues and
    /// consumers fail with [`Error::ConnectionClosed`] afterwards, and a
    /// reconnection under way (in another thread) stops. Dropping the
    /// connection and all its queues also closes it, silently.
    ///
    /// Waits for the broker up to the request timeout; while the broker
    /// blocks the connection (it would not read the close), it drops the
    /// connection at once. A channel being opened (by another thread)
    /// when it is called is given 50 ms; then the connection is dropped
    /// at once as well, which ends that open with
    /// [`Error::ConnectionClosed`].
    pub fn close(self) -> Result<()> {
        self.inner.close()
    }
}

/// `interval` as AMQP's whole seconds, refusing what would be rounded.
fn whole_seconds(interval: Duration) -> Result<u16> {
    let invalid = |reason: String| Error::InvalidOption {
        option: "heartbeat",
        reason,
    };
    if interval.subsec_nanos() != 0 {
        return Err(invalid(format!(
            "{interval:?} is not a whole number of seconds (AMQP heartbeats are; zero disables them)"
        )));
    }
    u16::try_from(interval.as_secs())
        .map_err(|_| invalid(format!("{interval:?} is over AMQP's 65,535 seconds")))
}

/// Refuses a zero timeout, which would fail every call.
fn positive(option: &'static str, timeout: Duration) -> Result<Duration> {
    if timeout.is_zero() {
        return Err(Error::InvalidOption {
            option,
            reason: "zero would fail every call".into(),
        });
    }
    Ok(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_are_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO).unwrap(), 0);
        assert_eq!(whole_seconds(Duration::from_secs(15)).unwrap(), 15);
        for bad in [
            Duration::from_millis(500),
            Duration::from_millis(1500),
            Duration::from_secs(70_000),
        ] {
            assert!(matches!(
                whole_seconds(bad),
                Err(Error::InvalidOption {
                    option: "heartbeat",
                    ..
                })
            ));
        }
    }

    #[test]
    fn options_refused_before_dialling() {
        // Nothing listens on port 1: these fail before any connect.
        let url = "amqp://guest:guest@127.0.0.1:1/%2f";
        let refused = [
            ConnectOptions::new(url).heartbeat(Duration::from_millis(500)),
            ConnectOptions::new(url).publish_timeout(Duration::ZERO),
            ConnectOptions::new(url).request_timeout(Duration::ZERO),
            ConnectOptions::new(url).connection_timeout(Duration::ZERO),
        ];
        for options in refused {
            let err = Connection::open_with(&options).unwrap_err();
            assert!(matches!(err, Error::InvalidOption { .. }), "{err:?}");
        }
    }
}
