//! A unix-socket proxy in front of the engine: it records the request
//! lines that pass, and can go silent (accept, hold, never answer).

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dock_lite::DockerHost;

/// The engine's socket.
pub const ENGINE_SOCKET: &str = "/var/run/docker.sock";

pub struct Proxy {
    path: PathBuf,
    silent: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Proxy {
    /// Listens on a new socket, forwarding to `upstream`.
    pub fn start(upstream: &str) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proxy.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let silent = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (flag, log, upstream) = (silent.clone(), requests.clone(), upstream.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                if flag.load(Ordering::SeqCst) {
                    hold(client);
                    continue;
                }
                let Ok(server) = UnixStream::connect(&upstream) else {
                    continue;
                };
                let (client_in, server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (f1, f2, log) = (flag.clone(), flag.clone(), log.clone());
                std::thread::spawn(move || pump(client_in, server_out, f1, Some(log)));
                std::thread::spawn(move || pump(server, client, f2, None));
            }
        });
        Proxy {
            path,
            silent,
            requests,
            _dir: dir,
        }
    }

    pub fn host(&self) -> DockerHost {
        DockerHost::Unix(self.path.to_string_lossy().into_owned())
    }

    /// From now on nothing passes, in either direction, on any connection.
    pub fn go_silent(&self) {
        self.silent.store(true, Ordering::SeqCst);
    }

    /// The paths of the requests seen so far (`/v1.41/containers/json?...`).
    pub fn request_paths(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Keeps a connection open, reading nothing, answering nothing.
fn hold(stream: UnixStream) {
    std::thread::spawn(move || {
        let _kept = stream;
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    });
}

fn pump(
    mut from: UnixStream,
    mut to: UnixStream,
    silent: Arc<AtomicBool>,
    log: Option<Arc<Mutex<Vec<String>>>>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(std::net::Shutdown::Write);
                return;
            }
            Ok(read) => read,
        };
        if silent.load(Ordering::SeqCst) {
            // Swallow this and everything after it.
            hold(from);
            hold(to);
            return;
        }
        if let Some(log) = &log {
            record(&buffer[..read], log);
        }
        if to.write_all(&buffer[..read]).is_err() {
            return;
        }
    }
}

/// Notes the request lines (`GET /path HTTP/1.1`) in a chunk.
fn record(chunk: &[u8], log: &Mutex<Vec<String>>) {
    let text = String::from_utf8_lossy(chunk);
    for line in text.split("\r\n") {
        let mut words = line.split(' ');
        if let (Some(method), Some(path), Some("HTTP/1.1"), None) =
            (words.next(), words.next(), words.next(), words.next())
        {
            if ["GET", "POST", "PUT", "DELETE", "HEAD"].contains(&method) {
                log.lock().unwrap().push(path.to_owned());
            }
        }
    }
}
