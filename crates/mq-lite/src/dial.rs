//! Dialling the broker: TCP with `TCP_NODELAY`, then the AMQP handshake.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use amiquip::ConnectionBlockedNotification;
use crossbeam_channel::Receiver;

#[cfg(feature = "tls")]
use crate::error::BoxError;
use crate::error::{boxed, Error, Result};
use crate::reconnect::ReconnectPolicy;
use crate::url::BrokerUrl;
use crate::watchdog::Socket;

/// An open connection, with what mq-lite keeps beside it.
pub(crate) struct Dialed {
    pub connection: amiquip::Connection,
    /// The connection's socket, for the watchdog to shut down.
    pub socket: Socket,
    /// The broker's `connection.blocked` and `connection.unblocked`.
    pub blocked: Receiver<ConnectionBlockedNotification>,
}

/// Everything needed to open (and reopen) a connection.
#[derive(Debug, Clone)]
pub(crate) struct Dialer {
    /// The broker's addresses (a cluster's nodes), tried in turn; never empty.
    pub urls: Vec<BrokerUrl>,
    /// For a URL without its own `connection_timeout`.
    pub timeout: Duration,
    /// For a URL without its own `heartbeat`.
    pub heartbeat: u16,
    pub policy: Option<ReconnectPolicy>,
    /// Certificates (PEM) trusted for `amqps://` besides the system's.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub tls_roots: Vec<Vec<u8>>,
}

impl Dialer {
    /// Opens a new AMQP connection to the first address that takes it,
    /// trying them in turn from the one at `first`; returns that address's
    /// index with the connection. When every address fails, the error is
    /// the one most telling (refused credentials over an unreachable node).
    pub fn dial(&self, first: usize) -> Result<(usize, Dialed)> {
        let count = self.urls.len();
        let mut telling: Option<Error> = None;
        for index in (0..count).map(|offset| (first + offset) % count) {
            match self.dial_one(&self.urls[index]) {
                Ok(dialed) => return Ok((index, dialed)),
                Err(err) => {
                    let replaces = match &telling {
                        None => true,
                        Some(kept) => is_unreachable(kept) || !is_unreachable(&err),
                    };
                    if replaces {
                        telling = Some(err);
                    }
                }
            }
        }
        Err(telling.unwrap_or(Error::InvalidUrl {
            url: String::new(),
            reason: "no broker address was given".into(),
        }))
    }

    /// The connection timeout of `url`: its own, or the options'.
    pub fn timeout_of(&self, url: &BrokerUrl) -> Duration {
        url.connection_timeout.unwrap_or(self.timeout)
    }

    fn dial_one(&self, url: &BrokerUrl) -> Result<Dialed> {
        let timeout = self.timeout_of(url);
        let (stream, socket) = connect_tcp(url, timeout)?;
        let options = amiquip::ConnectionOptions::default()
            .auth(amiquip::Auth::Plain {
                username: url.user.clone(),
                password: url.password.clone(),
            })
            .virtual_host(url.vhost.clone())
            .heartbeat(url.heartbeat.unwrap_or(self.heartbeat))
            .connection_timeout(Some(timeout));
        let tuning = amiquip::ConnectionTuning::default();
        let mut connection = if url.tls {
            self.dial_tls(url, timeout, stream, options, tuning)?
        } else {
            amiquip::Connection::insecure_open_stream(stream, options, tuning)
                .map_err(|err| handshake_error(url, timeout, err))?
        };
        // A message to amiquip's I/O thread, no round trip to the broker.
        let blocked = connection
            .listen_for_connection_blocked()
            .map_err(|err| handshake_error(url, timeout, err))?;
        Ok(Dialed {
            connection,
            socket,
            blocked,
        })
    }

    #[cfg(feature = "tls")]
    fn dial_tls(
        &self,
        url: &BrokerUrl,
        timeout: Duration,
        stream: mio::net::TcpStream,
        options: amiquip::ConnectionOptions<amiquip::Auth>,
        tuning: amiquip::ConnectionTuning,
    ) -> Result<amiquip::Connection> {
        let tls_error = |source: BoxError| Error::Tls {
            address: url.address(),
            source,
        };
        let mut builder = native_tls::TlsConnector::builder();
        for pem in &self.tls_roots {
            let certificate =
                native_tls::Certificate::from_pem(pem).map_err(|err| tls_error(boxed(err)))?;
            builder.add_root_certificate(certificate);
        }
        let connector = builder.build().map_err(|err| tls_error(boxed(err)))?;
        amiquip::Connection::open_tls_stream(connector, &url.host, stream, options, tuning).map_err(
            |err| match err {
                amiquip::Error::TlsHandshake { .. } => tls_error(boxed(err)),
                other => handshake_error(url, timeout, other),
            },
        )
    }

    /// Without the `tls` feature, URL parsing refuses `amqps://` already.
    #[cfg(not(feature = "tls"))]
    fn dial_tls(
        &self,
        url: &BrokerUrl,
        _: Duration,
        _: mio::net::TcpStream,
        _: amiquip::ConnectionOptions<amiquip::Auth>,
        _: amiquip::ConnectionTuning,
    ) -> Result<amiquip::Connection> {
        Err(Error::InvalidUrl {
            url: url.address(),
            reason: "amqps:// needs mq-lite's `tls` feature".into(),
        })
    }
}

/// An address that could not be reached or did not answer in time, as
/// opposed to a broker that answered and refused.
fn is_unreachable(err: &Error) -> bool {
    matches!(err, Error::BrokerUnreachable { .. } | Error::Timeout { .. })
}

/// Opens the TCP stream with `TCP_NODELAY`, trying each resolved address;
/// also returns a handle on the same socket, for the watchdog.
fn connect_tcp(url: &BrokerUrl, timeout: Duration) -> Result<(mio::net::TcpStream, Socket)> {
    let unreachable = |source| Error::BrokerUnreachable {
        address: url.address(),
        source,
    };
    let addresses = resolve(url, timeout)?;
    let mut last_error = std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "the host name resolved to no address",
    );
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(unreachable)?;
                let socket = Arc::new(stream.try_clone().map_err(unreachable)?);
                let stream = mio::net::TcpStream::from_stream(stream).map_err(unreachable)?;
                return Ok((stream, socket));
            }
            Err(err) => last_error = err,
        }
    }
    Err(unreachable(last_error))
}

/// The broker's addresses, within `timeout`. The system's resolver
/// (`getaddrinfo`) has no deadline of its own, and a slow DNS server can
/// hold it for many seconds: it runs on a thread of its own, left to
/// finish alone once the timeout has passed. An IP address needs no lookup.
fn resolve(url: &BrokerUrl, timeout: Duration) -> Result<Vec<SocketAddr>> {
    if let Ok(ip) = url.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, url.port)]);
    }
    let target = (url.host.clone(), url.port);
    let lookup = move || target.to_socket_addrs().map(Iterator::collect);
    within(timeout, lookup)
        .map_err(|err| err.unwrap_or_else(|| timed_out(url, "resolve", timeout)))?
        .map_err(|source| Error::BrokerUnreachable {
            address: url.address(),
            source,
        })
}

/// Runs `work` on a thread of its own and waits up to `timeout` for its
/// result: `Err(None)` when it did not come in time.
fn within<T: Send + 'static>(
    timeout: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, Option<Error>> {
    let (sender, result) = crossbeam_channel::bounded(1);
    // The system's resolver (NSS modules, DNS) wants more stack than the
    // other helper threads (address space, touched only as needed).
    crate::threads::spawn("resolver", 512 * 1024, move || {
        // Nobody listens once the caller gave up.
        let _ = sender.send(work());
    })
    .map_err(Some)?;
    result.recv_timeout(timeout).map_err(|_| None)
}

fn timed_out(url: &BrokerUrl, operation: &'static str, timeout: Duration) -> Error {
    Error::Timeout {
        operation,
        address: url.address(),
        timeout,
    }
}

/// Sorts a failed handshake into the error a caller can act on.
fn handshake_error(url: &BrokerUrl, timeout: Duration, err: amiquip::Error) -> Error {
    let address = url.address();
    match err {
        amiquip::Error::InvalidCredentials => Error::AuthenticationFailed {
            address,
            user: url.user.clone(),
            source: boxed(err),
        },
        // 530 NOT_ALLOWED: the vhost does not exist or the user may not use it.
        amiquip::Error::ServerClosedConnection { code: 530, .. } => Error::VhostRefused {
            address,
            user: url.user.clone(),
            vhost: url.vhost.clone(),
            source: boxed(err),
        },
        amiquip::Error::ConnectionTimeout => timed_out(url, "connect", timeout),
        _ => Error::HandshakeFailed {
            address,
            user: url.user.clone(),
            vhost: url.vhost.clone(),
            source: boxed(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_lookup_that_outlives_its_timeout_is_a_typed_timeout_on_time() {
        let started = Instant::now();
        let outcome = within(Duration::from_millis(200), || {
            std::thread::sleep(Duration::from_secs(3)); // a resolver waiting on a dead DNS server
        });
        let waited = started.elapsed();
        assert!(matches!(outcome, Err(None)));
        assert!(waited < Duration::from_secs(1), "{waited:?}");
    }

    #[test]
    fn ip_addresses_need_no_lookup_and_names_resolve() {
        let url = BrokerUrl::parse("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap();
        assert_eq!(
            resolve(&url, Duration::from_secs(1)).unwrap(),
            ["127.0.0.1:5672".parse::<SocketAddr>().unwrap()]
        );
        let url = BrokerUrl::parse("amqp://guest:guest@[::1]:5672/%2f").unwrap();
        assert_eq!(
            resolve(&url, Duration::from_secs(1)).unwrap(),
            ["[::1]:5672".parse::<SocketAddr>().unwrap()]
        );
        let url = BrokerUrl::parse("amqp://guest:guest@localhost:5672/%2f").unwrap();
        let addresses = resolve(&url, Duration::from_secs(5)).unwrap();
        assert!(
            addresses.iter().all(|address| address.ip().is_loopback()),
            "{addresses:?}"
        );
    }

    #[test]
    fn a_resolver_thread_that_cannot_start_is_a_typed_error() {
        let url = BrokerUrl::parse("amqp://guest:guest@localhost:5672/%2f").unwrap();
        let err = crate::threads::tests::without_threads(|| resolve(&url, Duration::from_secs(1)))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::ThreadSpawnFailed {
                    thread: "resolver",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
