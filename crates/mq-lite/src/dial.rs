//! Dialling the broker: TCP with `TCP_NODELAY`, then the AMQP handshake.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::{boxed, Error, Result};
use crate::reconnect::ReconnectPolicy;
use crate::url::BrokerUrl;

/// Everything needed to open (and reopen) a connection.
#[derive(Debug, Clone)]
pub(crate) struct Dialer {
    pub url: BrokerUrl,
    pub timeout: Duration,
    pub heartbeat: u16,
    pub policy: Option<ReconnectPolicy>,
}

impl Dialer {
    /// Opens a new AMQP connection.
    pub fn dial(&self) -> Result<amiquip::Connection> {
        let url = &self.url;
        let stream = connect_tcp(url, self.timeout)?;
        let options = amiquip::ConnectionOptions::default()
            .auth(amiquip::Auth::Plain {
                username: url.user.clone(),
                password: url.password.clone(),
            })
            .virtual_host(url.vhost.clone())
            .heartbeat(self.heartbeat)
            .connection_timeout(Some(self.timeout));
        amiquip::Connection::insecure_open_stream(
            stream,
            options,
            amiquip::ConnectionTuning::default(),
        )
        .map_err(|err| handshake_error(url, self.timeout, err))
    }
}

/// Opens the TCP stream with `TCP_NODELAY`, trying each resolved address.
fn connect_tcp(url: &BrokerUrl, timeout: Duration) -> Result<mio::net::TcpStream> {
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
                return mio::net::TcpStream::from_stream(stream).map_err(unreachable);
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
        amiquip::Error::ConnectionTimeout => Error::Timeout { address, timeout },
        _ => Error::HandshakeFailed {
            address,
            user: url.user.clone(),
            vhost: url.vhost.clone(),
            source: boxed(err),
        },
    }
}
