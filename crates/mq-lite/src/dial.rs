//! Dialling the broker: TCP with `TCP_NODELAY`, then the AMQP handshake.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
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
    pub url: BrokerUrl,
    pub timeout: Duration,
    pub heartbeat: u16,
    pub policy: Option<ReconnectPolicy>,
    /// Certificates (PEM) trusted for `amqps://` besides the system's.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub tls_roots: Vec<Vec<u8>>,
}

impl Dialer {
    /// Opens a new AMQP connection.
    pub fn dial(&self) -> Result<Dialed> {
        let url = &self.url;
        let (stream, socket) = connect_tcp(url, self.timeout)?;
        let options = amiquip::ConnectionOptions::default()
            .auth(amiquip::Auth::Plain {
                username: url.user.clone(),
                password: url.password.clone(),
            })
            .virtual_host(url.vhost.clone())
            .heartbeat(self.heartbeat)
            .connection_timeout(Some(self.timeout));
        let tuning = amiquip::ConnectionTuning::default();
        let mut connection = if url.tls {
            self.dial_tls(stream, options, tuning)?
        } else {
            amiquip::Connection::insecure_open_stream(stream, options, tuning)
                .map_err(|err| handshake_error(url, self.timeout, err))?
        };
        // A message to amiquip's I/O thread, no round trip to the broker.
        let blocked = connection
            .listen_for_connection_blocked()
            .map_err(|err| handshake_error(url, self.timeout, err))?;
        Ok(Dialed {
            connection,
            socket,
            blocked,
        })
    }

    #[cfg(feature = "tls")]
    fn dial_tls(
        &self,
        stream: mio::net::TcpStream,
        options: amiquip::ConnectionOptions<amiquip::Auth>,
        tuning: amiquip::ConnectionTuning,
    ) -> Result<amiquip::Connection> {
        let tls_error = |source: BoxError| Error::Tls {
            address: self.url.address(),
            source,
        };
        let mut builder = native_tls::TlsConnector::builder();
        for pem in &self.tls_roots {
            let certificate =
                native_tls::Certificate::from_pem(pem).map_err(|err| tls_error(boxed(err)))?;
            builder.add_root_certificate(certificate);
        }
        let connector = builder.build().map_err(|err| tls_error(boxed(err)))?;
        amiquip::Connection::open_tls_stream(connector, &self.url.host, stream, options, tuning)
            .map_err(|err| match err {
                amiquip::Error::TlsHandshake { .. } => tls_error(boxed(err)),
                other => handshake_error(&self.url, self.timeout, other),
            })
    }

    /// Without the `tls` feature, URL parsing refuses `amqps://` already.
    #[cfg(not(feature = "tls"))]
    fn dial_tls(
        &self,
        _: mio::net::TcpStream,
        _: amiquip::ConnectionOptions<amiquip::Auth>,
        _: amiquip::ConnectionTuning,
    ) -> Result<amiquip::Connection> {
        Err(Error::InvalidUrl {
            url: self.url.address(),
            reason: "amqps:// needs mq-lite's `tls` feature".into(),
        })
    }
}

/// Opens the TCP stream with `TCP_NODELAY`, trying each resolved address;
/// also returns a handle on the same socket, for the watchdog.
fn connect_tcp(url: &BrokerUrl, timeout: Duration) -> Result<(mio::net::TcpStream, Socket)> {
    let unreachable = |source| Error::BrokerUnreachable {
        address: url.address(),
        source,
    };
    let addresses: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(unreachable)?
        .collect();
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
        amiquip::Error::ConnectionTimeout => Error::Timeout {
            operation: "connect",
            address,
            timeout,
        },
        _ => Error::HandshakeFailed {
            address,
            user: url.user.clone(),
            vhost: url.vhost.clone(),
            source: boxed(err),
        },
    }
}
