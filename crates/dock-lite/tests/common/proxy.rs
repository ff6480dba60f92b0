//! A proxy in front of the engine's unix socket, listening on a unix socket
//! or on TCP (as a remote daemon does): it records the request lines that
//! pass, can go silent (accept, hold, never answer), and can refuse a
//! request itself.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dock_lite::DockerHost;

/// The engine's unix socket: that of `DOCKER_HOST`, or the default one when
/// it is unset. These tests reach the engine through a proxy on its socket:
/// any other `DOCKER_HOST` fails them, saying so.
pub fn engine_socket() -> String {
    match DockerHost::from_env() {
        Ok(DockerHost::Unix(path)) => path,
        Ok(other) => panic!(
            "these tests reach the engine through a proxy on its unix socket, and DOCKER_HOST \
             is {other}: point DOCKER_HOST at the engine's socket (unix:///path) or unset it"
        ),
        Err(err) => panic!("DOCKER_HOST: {err}"),
    }
}

pub struct Proxy {
    host: DockerHost,
    state: Arc<State>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Default)]
struct State {
    silent: AtomicBool,
    /// The method of the next request to answer with a 500 instead of
    /// passing it on.
    fail_next: Mutex<Option<String>>,
    requests: Mutex<Vec<String>>,
}

impl Proxy {
    /// Listens on a new unix socket, forwarding to the socket `upstream`.
    pub fn start(upstream: &str) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proxy.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let host = DockerHost::Unix(path.to_string_lossy().into_owned());
        let mut proxy = Proxy::serving(host, upstream, move || {
            listener.accept().map(|(stream, _)| stream)
        });
        proxy._dir = Some(dir);
        proxy
    }

    /// Listens on a free TCP port of the loopback interface, forwarding to
    /// the socket `upstream`; [`host`](Self::host) names it `127.0.0.1`.
    pub fn start_tcp(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = DockerHost::Tcp {
            host: "127.0.0.1".into(),
            port: listener.local_addr().unwrap().port(),
        };
        Proxy::serving(host, upstream, move || {
            listener.accept().map(|(stream, _)| stream)
        })
    }

    /// Serves each connection that `next` accepts on threads of its own.
    fn serving<C: Connection>(
        host: DockerHost,
        upstream: &str,
        next: impl FnMut() -> std::io::Result<C> + Send + 'static,
    ) -> Proxy {
        let state = Arc::new(State::default());
        accept(next, upstream, &state);
        Proxy {
            host,
            state,
            _dir: None,
        }
    }

    pub fn host(&self) -> DockerHost {
        self.host.clone()
    }

    /// From now on nothing passes, in either direction, on any connection.
    pub fn go_silent(&self) {
        self.state.silent.store(true, Ordering::SeqCst);
    }

    /// The next request with this method (`DELETE`) is answered by the
    /// proxy with a 500, and its connection closed; the engine never sees it.
    pub fn fail_next(&self, method: &str) {
        *self.state.fail_next.lock().unwrap() = Some(method.to_owned());
    }

    /// The paths of the requests seen so far (`/v1.41/containers/json?...`).
    pub fn request_paths(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

/// A connection of either kind.
trait Connection: Read + Write + Send + Sized + 'static {
    fn duplicate(&self) -> Self;
    fn close_write(&self);
}

impl Connection for UnixStream {
    fn duplicate(&self) -> Self {
        self.try_clone().unwrap()
    }
    fn close_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl Connection for TcpStream {
    fn duplicate(&self) -> Self {
        self.try_clone().unwrap()
    }
    fn close_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

/// Forwards each connection that `next` accepts to `upstream`.
fn accept<C: Connection>(
    mut next: impl FnMut() -> std::io::Result<C> + Send + 'static,
    upstream: &str,
    state: &Arc<State>,
) {
    let (state, upstream) = (state.clone(), upstream.to_owned());
    std::thread::spawn(move || loop {
        let Ok(client) = next() else { return };
        if state.silent.load(Ordering::SeqCst) {
            hold(client);
            continue;
        }
        let Ok(server) = UnixStream::connect(&upstream) else {
            continue;
        };
        let (client_in, client_reply) = (client.duplicate(), client.duplicate());
        let server_out = server.duplicate();
        let (s1, s2) = (state.clone(), state.clone());
        std::thread::spawn(move || pump(client_in, server_out, s1, Some(client_reply)));
        std::thread::spawn(move || pump(server, client, s2, None::<UnixStream>));
    });
}

/// Keeps a connection open, reading nothing, answering nothing.
fn hold<T: Send + 'static>(stream: T) {
    std::thread::spawn(move || {
        let _kept = stream;
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    });
}

/// Copies `from` to `to`. Requests (those that come with the client's
/// connection, `client`) are recorded and may be refused.
fn pump<F: Connection, T: Connection, C: Connection>(
    mut from: F,
    mut to: T,
    state: Arc<State>,
    mut client: Option<C>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => {
                to.close_write();
                return;
            }
            Ok(read) => read,
        };
        if state.silent.load(Ordering::SeqCst) {
            // Swallow this and everything after it.
            hold(from);
            hold(to);
            return;
        }
        if let Some(client) = client.as_mut() {
            let methods = record(&buffer[..read], &state.requests);
            let mut fail_next = state.fail_next.lock().unwrap();
            if fail_next
                .as_ref()
                .is_some_and(|method| methods.contains(method))
            {
                *fail_next = None;
                let body = r#"{"message":"refused by the test's proxy"}"#;
                let _ = write!(
                    client,
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                client.close_write();
                to.close_write();
                return;
            }
        }
        if to.write_all(&buffer[..read]).is_err() {
            return;
        }
    }
}

/// Notes the request lines (`GET /path HTTP/1.1`) in a chunk; returns their
/// methods.
fn record(chunk: &[u8], log: &Mutex<Vec<String>>) -> Vec<String> {
    let text = String::from_utf8_lossy(chunk);
    let mut methods = Vec::new();
    for line in text.split("\r\n") {
        let mut words = line.split(' ');
        if let (Some(method), Some(path), Some("HTTP/1.1"), None) =
            (words.next(), words.next(), words.next(), words.next())
        {
            if ["GET", "POST", "PUT", "DELETE", "HEAD"].contains(&method) {
                log.lock().unwrap().push(path.to_owned());
                methods.push(method.to_owned());
            }
        }
    }
    methods
}
