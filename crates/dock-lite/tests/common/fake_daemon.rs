//! A stand-in for a newer engine (Docker 29: API 1.44 to 1.52) on a unix
//! socket: it answers the version call, refuses requests of older API
//! versions as that engine does, and records what it was asked.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Mutex};

use dock_lite::DockerHost;

pub struct NewerDaemon {
    host: DockerHost,
    requests: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

const VERSION: &str = r#"{"Platform":{"Name":"Docker Engine - Community"},"Version":"29.0.0","ApiVersion":"1.52","MinAPIVersion":"1.44","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0"}"#;

impl NewerDaemon {
    /// A daemon whose pings say its API version, as Docker's do.
    pub fn start() -> NewerDaemon {
        Self::start_with(true)
    }

    /// A daemon (or a proxy in front of one) whose pings do not say it:
    /// its version answer does.
    pub fn start_without_ping_header() -> NewerDaemon {
        Self::start_with(false)
    }

    fn start_with(ping_header: bool) -> NewerDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker29.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || serve(stream, &log, ping_header));
            }
        });
        NewerDaemon {
            host: DockerHost::Unix(path.to_string_lossy().into_owned()),
            requests,
            _dir: dir,
        }
    }

    pub fn host(&self) -> DockerHost {
        self.host.clone()
    }

    /// The paths asked for so far.
    pub fn request_paths(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Serves the requests of one keep-alive connection.
fn serve(stream: UnixStream, log: &Mutex<Vec<String>>, ping_header: bool) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split(' ').nth(1).unwrap_or("").to_owned();
        let mut length = 0;
        let mut close = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if name.eq_ignore_ascii_case("connection") {
                    close = value.trim().eq_ignore_ascii_case("close");
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        log.lock().unwrap().push(path.clone());
        let (status, answer) = answer(&path);
        let header = match ping_header {
            true => "Api-Version: 1.52\r\n",
            false => "",
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{header}Content-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if writer.write_all(response.as_bytes()).is_err() || close {
            return;
        }
    }
}

fn answer(path: &str) -> (&'static str, String) {
    let (version, route) = match path
        .strip_prefix("/v")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((version, route)) => (Some(version.to_owned()), format!("/{route}")),
        None => (None, path.to_owned()),
    };
    if let Some(version) = &version {
        let minor: u32 = version
            .strip_prefix("1.")
            .and_then(|minor| minor.parse().ok())
            .unwrap_or(0);
        if minor < 44 {
            return (
                "400 Bad Request",
                format!(
                    r#"{{"message":"client version {version} is too old. Minimum supported API version is 1.44, please upgrade your client to a newer version"}}"#
                ),
            );
        }
        if minor > 52 {
            return (
                "400 Bad Request",
                format!(
                    r#"{{"message":"client version {version} is too new. Maximum supported API version is 1.52"}}"#
                ),
            );
        }
    }
    let route = route.split('?').next().unwrap_or("");
    match route {
        "/version" => ("200 OK", VERSION.to_owned()),
        "/_ping" => ("200 OK", "OK".to_owned()),
        "/containers/json" | "/images/json" => ("200 OK", "[]".to_owned()),
        // Docker 29 checks the network at create: a 404 that is not about the image.
        "/containers/create" => (
            "404 Not Found",
            r#"{"message":"network dock-lite-test-missing not found"}"#.to_owned(),
        ),
        "/images/present:latest/json" => (
            "200 OK",
            r#"{"Id":"sha256:0123","RepoTags":["present:latest"]}"#.to_owned(),
        ),
        "/images/absent:latest/json" => (
            "404 Not Found",
            r#"{"message":"No such image: absent:latest"}"#.to_owned(),
        ),
        _ => (
            "404 Not Found",
            r#"{"message":"page not found"}"#.to_owned(),
        ),
    }
}
