//! A small blocking client for the Docker Engine API, over the same socket
//! as the async client, for what shiplift cannot express or mis-parses:
//! creating containers with `StdinOnce`, attaching to them, streaming a
//! filtered build context, filtered container lists, and image calls that
//! newer engines answer without `VirtualSize`.
//!
//! Each request opens its own connection and asks the daemon to close it
//! afterwards, which keeps the HTTP handling down to what the daemon sends:
//! a `Content-Length` body, a chunked body, or a raw upgraded stream.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::backend::{connect_failed, daemon_message};
use crate::error::{Error, Result};
use crate::host::DockerHost;

/// Time allowed to open a connection to the daemon.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection to the daemon: a unix socket or TCP.
pub(crate) enum Socket {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Socket {
    pub fn try_clone(&self) -> io::Result<Socket> {
        Ok(match self {
            Socket::Unix(s) => Socket::Unix(s.try_clone()?),
            Socket::Tcp(s) => Socket::Tcp(s.try_clone()?),
        })
    }

    /// Closes the sending half: the daemon sees the end of the input.
    pub fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Socket::Unix(s) => s.shutdown(Shutdown::Write),
            Socket::Tcp(s) => s.shutdown(Shutdown::Write),
        }
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Unix(s) => s.set_read_timeout(timeout),
            Socket::Tcp(s) => s.set_read_timeout(timeout),
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Unix(s) => s.read(buf),
            Socket::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Unix(s) => s.write(buf),
            Socket::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Unix(s) => s.flush(),
            Socket::Tcp(s) => s.flush(),
        }
    }
}

/// The body of a request.
pub(crate) enum Body<'a> {
    Empty,
    Json(Vec<u8>),
    /// Streamed with chunked transfer encoding; the writer gets the socket.
    Streamed {
        content_type: &'static str,
        write: &'a mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    },
}

/// A response whose body has not been read yet.
pub(crate) struct Response {
    pub status: u16,
    body: BodyReader,
}

enum BodyReader {
    Length(io::Take<BufReader<Socket>>),
    Chunked(ChunkedReader),
    UntilClose(BufReader<Socket>),
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BodyReader::Length(r) => r.read(buf),
            BodyReader::Chunked(r) => r.read(buf),
            BodyReader::UntilClose(r) => r.read(buf),
        }
    }
}

impl Response {
    /// The body as a reader.
    pub fn reader(self) -> impl BufRead {
        BufReader::new(self.body)
    }

    /// Reads the whole body.
    pub fn bytes(self, operation: &'static str) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut reader = self.body;
        reader
            .read_to_end(&mut body)
            .map_err(|err| transport(operation, err))?;
        Ok(body)
    }

    /// Fails with the daemon's message unless the status is 2xx.
    pub fn success(self, operation: &'static str) -> Result<Response> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let status = self.status;
        let body = self.bytes(operation)?;
        Err(Error::Daemon {
            operation,
            status,
            message: daemon_message(&String::from_utf8_lossy(&body)),
        })
    }
}

/// Where requests go.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    host: DockerHost,
}

impl Engine {
    pub fn new(host: DockerHost) -> Self {
        Engine { host }
    }

    fn connect(&self, operation: &'static str) -> Result<Socket> {
        let classify = |err: io::Error| connect_failed(&self.host, err.kind(), Box::new(err));
        match &self.host {
            DockerHost::Unix(path) => UnixStream::connect(path)
                .map(Socket::Unix)
                .map_err(classify),
            DockerHost::Tcp { host, port } => {
                let name = host.trim_start_matches('[').trim_end_matches(']');
                let addresses = (name, *port).to_socket_addrs().map_err(classify)?;
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
                for address in addresses {
                    match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
                        Ok(stream) => {
                            // Small request/response exchanges: don't wait on Nagle.
                            stream
                                .set_nodelay(true)
                                .map_err(|err| transport(operation, err))?;
                            return Ok(Socket::Tcp(stream));
                        }
                        Err(err) => last = err,
                    }
                }
                Err(classify(last))
            }
        }
    }

    /// Sends a request and reads the response head.
    pub fn send(
        &self,
        operation: &'static str,
        method: &str,
        path: &str,
        body: Body<'_>,
        read_timeout: Option<Duration>,
    ) -> Result<Response> {
        let mut socket = self.connect(operation)?;
        socket
            .set_read_timeout(read_timeout)
            .map_err(|err| transport(operation, err))?;
        write_request(&mut socket, method, path, body, false)
            .map_err(|err| transport(operation, err))?;
        let mut reader = BufReader::new(socket);
        let head = read_head(&mut reader).map_err(|err| transport(operation, err))?;
        let body = if head.chunked {
            BodyReader::Chunked(ChunkedReader::new(reader))
        } else if let Some(length) = head.content_length {
            BodyReader::Length(reader.take(length))
        } else {
            BodyReader::UntilClose(reader)
        };
        Ok(Response {
            status: head.status,
            body,
        })
    }

    /// Sends a request and decodes a JSON answer, failing on a non-2xx status.
    pub fn json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: &str,
        path: &str,
        body: Body<'_>,
    ) -> Result<T> {
        let bytes = self
            .send(operation, method, path, body, Some(Duration::from_secs(60)))?
            .success(operation)?
            .bytes(operation)?;
        serde_json::from_slice(&bytes).map_err(|err| transport(operation, err))
    }

    /// Sends an upgrade request (attach) and returns the raw stream once the
    /// daemon has switched protocols.
    pub fn upgrade(&self, operation: &'static str, path: &str) -> Result<Socket> {
        let mut socket = self.connect(operation)?;
        write_request(&mut socket, "POST", path, Body::Empty, true)
            .map_err(|err| transport(operation, err))?;
        let reader_socket = socket
            .try_clone()
            .map_err(|err| transport(operation, err))?;
        // Read the head byte by byte: a buffered reader could swallow the
        // first bytes of the stream that follows it.
        let mut reader = BufReader::with_capacity(1, reader_socket);
        let head = read_head(&mut reader).map_err(|err| transport(operation, err))?;
        if head.status != 101 && head.status != 200 {
            return Err(Error::Daemon {
                operation,
                status: head.status,
                message: "the daemon refused to attach".into(),
            });
        }
        Ok(socket)
    }
}

pub(crate) fn transport<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
    err: E,
) -> Error {
    Error::Transport {
        operation,
        source: Box::new(err),
    }
}

fn write_request(
    socket: &mut Socket,
    method: &str,
    path: &str,
    body: Body<'_>,
    upgrade: bool,
) -> io::Result<()> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: dock-lite\r\n");
    if upgrade {
        head.push_str("Connection: Upgrade\r\nUpgrade: tcp\r\n");
    } else {
        head.push_str("Connection: close\r\n");
    }
    match body {
        Body::Empty => {
            head.push_str("Content-Length: 0\r\n\r\n");
            socket.write_all(head.as_bytes())
        }
        Body::Json(bytes) => {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                bytes.len()
            ));
            socket.write_all(head.as_bytes())?;
            socket.write_all(&bytes)
        }
        Body::Streamed {
            content_type,
            write,
        } => {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ));
            socket.write_all(head.as_bytes())?;
            let mut chunked = io::BufWriter::with_capacity(256 * 1024, ChunkedWriter(socket));
            write(&mut chunked)?;
            chunked.flush()?;
            drop(chunked);
            socket.write_all(b"0\r\n\r\n")
        }
    }
}

struct Head {
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
}

fn read_head(reader: &mut impl BufRead) -> io::Result<Head> {
    let invalid = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad HTTP response: {what}"),
        )
    };
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(line.trim()))?;
    let (mut content_length, mut chunked) = (None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("the connection closed in the headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            return Ok(Head {
                status,
                content_length,
                chunked,
            });
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
}

/// Writes each buffer it is given as one HTTP chunk.
struct ChunkedWriter<'a>(&'a mut Socket);

impl Write for ChunkedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        write!(self.0, "{:x}\r\n", buf.len())?;
        self.0.write_all(buf)?;
        self.0.write_all(b"\r\n")?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Reads a chunked HTTP body.
struct ChunkedReader {
    inner: BufReader<Socket>,
    remaining: u64,
    done: bool,
}

impl ChunkedReader {
    fn new(inner: BufReader<Socket>) -> Self {
        ChunkedReader {
            inner,
            remaining: 0,
            done: false,
        }
    }
}

impl Read for ChunkedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if self.remaining == 0 {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            let size = line.trim().split(';').next().unwrap_or("");
            self.remaining = u64::from_str_radix(size, 16).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad chunk size {size:?}"),
                )
            })?;
            if self.remaining == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let wanted = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..wanted])?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the body ended mid-chunk",
            ));
        }
        self.remaining -= read as u64;
        if self.remaining == 0 {
            let mut crlf = [0u8; 2];
            self.inner.read_exact(&mut crlf)?;
        }
        Ok(read)
    }
}
