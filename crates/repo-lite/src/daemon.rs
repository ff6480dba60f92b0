//! The `git://` transport with `TCP_NODELAY` set.
//!
//! gix's git-daemon transport writes each request as several small packet
//! lines on a socket without `TCP_NODELAY`, so Nagle's algorithm holds the
//! last write back until the daemon's delayed ACK fires: about 40 ms, twice
//! per clone. gix offers no hook to open that socket ourselves, only one
//! (`configure_connection`) that runs after it connected and before the
//! first byte is sent, so there we swap the transport for one built by
//! gix's public `git::Connection::new` on a stream we opened with
//! `set_nodelay(true)`. The daemon sees gix's own connection close unused.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use gix::error::{message, ResultExt};
use gix::protocol::transport::client::blocking_io::Transport;
use gix::protocol::transport::client::git::{self, ConnectMode};
use gix::remote::Direction;

/// The port of `git daemon` unless the URL names one.
const DEFAULT_PORT: u16 = 9418;
/// What gix waits for a daemon's TCP connection too.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The connection gix hands to `configure_connection`.
pub(crate) type RemoteConnection<'a, 'b, 'c> =
    gix::remote::Connection<'a, 'b, 'c, Box<dyn Transport + Send>>;

/// How long a read or write on a `git://` socket may wait, unless told
/// otherwise: a daemon that stops answering fails the call then.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Replaces a `git://` connection's transport with one whose socket has
/// `TCP_NODELAY` set and [`IO_TIMEOUT`]; other schemes are left alone.
pub(crate) fn use_nodelay_socket(connection: &mut RemoteConnection<'_, '_, '_>) -> gix::Result<()> {
    use_nodelay_socket_with_timeout(connection, IO_TIMEOUT)
}

/// [`use_nodelay_socket`] with reads and writes that give up after
/// `timeout`.
pub(crate) fn use_nodelay_socket_with_timeout(
    connection: &mut RemoteConnection<'_, '_, '_>,
    timeout: Duration,
) -> gix::Result<()> {
    let (url, version) = connection
        .remote()
        .sanitized_url_and_version(Direction::Fetch)?;
    if url.scheme != gix::url::Scheme::Git {
        return Ok(());
    }
    let Some(host) = url.host() else {
        return Ok(()); // gix refuses such a URL itself.
    };
    let port = url.port.unwrap_or(DEFAULT_PORT);
    let address = (host, port)
        .to_socket_addrs()
        .or_raise(|| message("Could not resolve git server"))?
        .next()
        .ok_or_else(|| message("The git server's name resolved to no address"))
        .or_error()?;
    let read = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)
        .or_raise(|| message("Could not connect to git server"))?;
    read.set_nodelay(true)
        .or_raise(|| message("Could not set TCP_NODELAY"))?;
    // Both halves share the socket, and so these timeouts.
    read.set_read_timeout(Some(timeout))
        .and_then(|()| read.set_write_timeout(Some(timeout)))
        .or_raise(|| message("Could not set the socket's timeouts"))?;
    let write = read
        .try_clone()
        .or_raise(|| message("Could not clone git server connection"))?;
    let transport = git::blocking_io::Connection::new(
        read,
        write,
        version,
        url.path.clone(),
        Some((host.to_owned(), url.port)),
        ConnectMode::Daemon,
        false,
    )
    .custom_url(Some(url.to_bstring()));
    *connection.transport_mut() = Box::new(transport);
    Ok(())
}
