//! Helpers shared by the integration tests: the real git CLI is the oracle.
#![allow(dead_code)] // Each test binary uses its own subset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use repo_lite::{InitOptions, Project, Signature};

fn run_git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("the git CLI is installed")
}

/// Runs `git args...` in `dir` and returns its stdout as bytes, failing on a
/// non-zero exit.
pub fn git_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = run_git(dir, args);
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs `git args...` in `dir` and returns its trimmed stdout, failing on a
/// non-zero exit.
pub fn git(dir: &Path, args: &[&str]) -> String {
    String::from_utf8_lossy(&git_bytes(dir, args))
        .trim()
        .to_owned()
}

/// The number of commits reachable from `HEAD`; 0 on an unborn branch.
pub fn commit_count(dir: &Path) -> usize {
    if !run_git(dir, &["rev-parse", "--verify", "-q", "HEAD"])
        .status
        .success()
    {
        return 0;
    }
    git(dir, &["rev-list", "--count", "HEAD"])
        .parse()
        .expect("a count")
}

/// Asserts that git sees the work tree, the index and `HEAD` agree and the
/// repository is sound.
pub fn assert_clean_and_sound(dir: &Path) {
    assert_eq!(git(dir, &["status", "--porcelain"]), "", "git status");
    git(dir, &["fsck", "--strict"]);
}

/// The signature the tests commit with unless they test identities.
pub fn tester() -> Signature {
    Signature::new("Test Er", "tester@example.com")
}

/// A fresh project on `main` in a temporary directory, committing as
/// [`tester`].
pub fn new_project() -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let project = Project::init(dir.path().join("project"), &InitOptions::default())
        .expect("init")
        .with_signature(tester());
    (dir, project)
}

/// A fresh project, as [`new_project`], whose repository config sets `key`
/// to `value` before the project is opened.
pub fn new_project_with_config(key: &str, value: &str) -> (tempfile::TempDir, Project) {
    let (dir, project) = new_project();
    git(project.root(), &["config", key, value]);
    let project = Project::open(project.root())
        .expect("open")
        .with_signature(tester());
    (dir, project)
}

/// Makes a repository with the git CLI at `dir`: three commits on `main`
/// and a branch `feature` with one more, `HEAD` back on `main`.
pub fn make_origin(dir: &Path) {
    std::fs::create_dir_all(dir).expect("origin directory");
    git(dir, &["init", "-q", "-b", "main"]);
    let commit = |path: &str, content: &str, message: &str| {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("parent directory");
        std::fs::write(file, content).expect("write origin file");
        git(dir, &["add", path]);
        git(
            dir,
            &[
                "-c",
                "user.name=Origin",
                "-c",
                "user.email=origin@example.com",
                "commit",
                "-q",
                "-m",
                message,
            ],
        );
    };
    commit("README.md", "# origin\n", "Add a README");
    commit("src/lib.rs", "pub fn one() -> u32 { 1 }\n", "Add a library");
    commit(
        "README.md",
        "# origin\n\nWith a library.\n",
        "Describe the library",
    );
    git(dir, &["checkout", "-q", "-b", "feature"]);
    commit("docs/feature.md", "A feature.\n", "Document the feature");
    git(dir, &["checkout", "-q", "main"]);
}

/// The subjects of the commits reachable from `HEAD` with their ids, newest
/// first, as git prints them.
pub fn history(dir: &Path) -> String {
    git(dir, &["log", "--format=%H %s"])
}

/// A certificate authority and a server certificate for 127.0.0.1 it
/// signed, made with the openssl CLI in `dir`: `(ca.pem, cert.pem, key.pem)`.
pub fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("the openssl CLI runs");
        assert!(output.status.success(), "openssl {args:?}: {output:?}");
    };
    let days = ["-days", "2"];
    openssl(
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=repo-lite test CA",
            ][..],
            &days,
        ]
        .concat(),
    );
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            &[
                "x509",
                "-req",
                "-in",
                "cert.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "cert.pem",
                "-extfile",
                "ext.cnf",
            ][..],
            &days,
        ]
        .concat(),
    );
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

/// Commits what is staged in the clone at `dir` as someone else (with
/// git) and pushes it to its `origin`.
pub fn commit_and_push_as_someone_else(dir: &Path, message: &str) {
    git(
        dir,
        &[
            "-c",
            "user.name=O",
            "-c",
            "user.email=o@example.com",
            "commit",
            "-qm",
            message,
        ],
    );
    git(dir, &["push", "-q", "origin", "main"]);
}

/// Whether the tests run as root.
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The current user's name, as `id -un` prints it.
pub fn user_name() -> String {
    let output = Command::new("id").arg("-un").output().expect("id runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A TCP port on 127.0.0.1 that nothing listened on a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
fn wait_for_port(port: u16, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited early: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listens on port {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A server child process on loopback, killed when dropped.
pub struct Server {
    child: std::process::Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `git daemon` serving every repository under `base` on 127.0.0.1.
    pub fn git_daemon(base: &Path) -> Server {
        Self::git_daemon_with(base, &[])
    }

    /// [`git_daemon`](Self::git_daemon) with more options, such as
    /// `--enable=receive-pack` to take pushes.
    pub fn git_daemon_with(base: &Path, options: &[&str]) -> Server {
        let port = free_port();
        // `git-daemon` itself: `git daemon` would run it as a child of its
        // own, which killing `git` would leave running after the test.
        let exec_path = git(Path::new("."), &["--exec-path"]);
        let mut child = Command::new(Path::new(&exec_path).join("git-daemon"))
            .args(options)
            .arg("--reuseaddr")
            .arg(format!("--base-path={}", base.display()))
            .arg("--export-all")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(base)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("git daemon starts");
        wait_for_port(port, &mut child);
        Server { child, port }
    }

    /// OpenSSH's `sshd` on 127.0.0.1, letting the current user in with a
    /// key made for it (no password). Returns the server and the `ssh`
    /// command (for `core.sshCommand`) that logs in with that key.
    pub fn sshd(dir: &Path) -> (Server, String) {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "the ssh:// tests need OpenSSH's server: apt-get install openssh-server \
             (scripts/test installs it)"
        );
        std::fs::create_dir_all(dir).unwrap();
        let keygen = |name: &str| {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(name))
                .status()
                .expect("ssh-keygen runs");
            assert!(status.success(), "ssh-keygen {name}");
        };
        keygen("host_key");
        keygen("client_key");
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        if running_as_root() {
            // sshd insists on its privilege separation directory.
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let port = free_port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\n\
                 AuthorizedKeysFile {keys}\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\n\
                 PermitRootLogin prohibit-password\nPidFile {pid}\n",
                host = dir.join("host_key").display(),
                keys = dir.join("authorized_keys").display(),
                pid = dir.join("sshd.pid").display(),
            ),
        )
        .unwrap();
        let mut child = Command::new(sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sshd starts");
        wait_for_port(port, &mut child);
        let command = format!(
            "ssh -i {} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
             -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            dir.join("client_key").display()
        );
        (Server { child, port }, command)
    }

    /// `git http-backend` as CGI behind a small Python web server on
    /// 127.0.0.1, serving every repository under `base` over smart HTTP.
    pub fn git_http(base: &Path) -> Server {
        Self::git_http_with_login(base, None)
    }

    /// [`git_http`](Self::git_http) that answers 401 unless the request
    /// carries `login` (`user:password`) as Basic authentication, and
    /// passes the user on to `git http-backend` (which takes pushes only
    /// from an authenticated user, or where `http.receivepack` is set).
    pub fn git_http_with_login(base: &Path, login: Option<&str>) -> Server {
        Self::git_http_with(base, login, None)
    }

    /// [`git_http_with_login`](Self::git_http_with_login), over HTTPS
    /// when `tls` names a certificate and its key (PEM files).
    pub fn git_http_with(base: &Path, login: Option<&str>, tls: Option<(&Path, &Path)>) -> Server {
        let script = base.join("..").join("git-http-server.py");
        std::fs::write(&script, GIT_HTTP_SERVER).expect("write the server script");
        let mut command = Command::new("python3");
        if let Some(login) = login {
            command.env("GIT_HTTP_LOGIN", login);
        }
        if let Some((cert, key)) = tls {
            command.env("GIT_HTTP_CERT", cert).env("GIT_HTTP_KEY", key);
        }
        let mut child = command
            .arg(&script)
            .arg(base)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("the server prints its port");
        let port = line.trim().parse().expect("a port number");
        wait_for_port(port, &mut child);
        Server { child, port }
    }
}

/// Runs `git http-backend` for each request. Python's CGI handler is not
/// enough: it neither de-chunks request bodies (reqwest streams them chunked)
/// nor passes the `Git-Protocol` header.
const GIT_HTTP_SERVER: &str = r#"
import base64, http.server, os, ssl, subprocess, sys

ROOT = sys.argv[1]
LOGIN = os.environ.get("GIT_HTTP_LOGIN")

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        self.backend(b"")

    def do_POST(self):
        self.backend(self.read_body())

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()

    def backend(self, body):
        user = ""
        if LOGIN is not None:
            given = self.headers.get("Authorization", "")
            expected = "Basic " + base64.b64encode(LOGIN.encode()).decode()
            if given != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            user = LOGIN.split(":")[0]
        path, _, query = self.path.partition("?")
        env = dict(os.environ, GIT_PROJECT_ROOT=ROOT, GIT_HTTP_EXPORT_ALL="1",
                   REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=query,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(body)), REMOTE_ADDR="127.0.0.1")
        if user:
            env["REMOTE_USER"] = user
        for name in ("Content-Encoding", "Git-Protocol"):
            if name in self.headers:
                env["HTTP_" + name.upper().replace("-", "_")] = self.headers[name]
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             stdout=subprocess.PIPE).stdout
        crlf, lf = out.find(b"\r\n\r\n"), out.find(b"\n\n")
        if crlf != -1 and (lf == -1 or crlf < lf):
            head, payload = out[:crlf], out[crlf + 4:]
        else:
            head, payload = out[:lf], out[lf + 2:]
        status, headers = 200, []
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if os.environ.get("GIT_HTTP_CERT"):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.environ["GIT_HTTP_CERT"], os.environ["GIT_HTTP_KEY"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// The variable that tells a test binary it runs as [`run_in_child`]'s child.
pub const CHILD_ENV: &str = "REPO_LITE_TEST_CHILD";

/// True in the child process that [`run_in_child`] started.
pub fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Runs the test `name` of this test binary again, alone, in a child
/// process (through `sh -c "<shell_prefix> exec ..."`, so that a prefix can set
/// limits), with `env` set and [`in_child`] true; returns its output, failing
/// if it runs longer than `timeout`. Measurements that are per process
/// (peak memory, file size limits) are made there, away from the other tests'
/// threads.
pub fn run_in_child(
    name: &str,
    shell_prefix: &str,
    env: &[(&str, &str)],
    timeout: std::time::Duration,
) -> Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{shell_prefix} exec \"$0\" --exact \"$1\" --nocapture --test-threads=1"
        ))
        .arg(exe)
        .arg(name)
        .env(CHILD_ENV, "1")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test binary starts again");
    let deadline = std::time::Instant::now() + timeout;
    while child.try_wait().expect("wait for the child").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child running {name} took longer than {timeout:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("the child's output")
}

/// Runs `work` on a thread and returns its result, failing the test if it
/// takes longer than `timeout` (a blocked call fails instead of hanging).
pub fn within<T: Send + 'static>(
    timeout: std::time::Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(work());
    });
    receive
        .recv_timeout(timeout)
        .unwrap_or_else(|_| panic!("still blocked after {timeout:?}"))
}

/// What git's state looks like to a test: `HEAD`, the index and the work
/// tree, as the git CLI prints them; equal before and after a refused call
/// means nothing was changed.
pub fn git_state(dir: &Path) -> String {
    let head = run_git(dir, &["rev-parse", "-q", "--verify", "HEAD"]);
    format!(
        "HEAD {}\nindex\n{}\nstatus\n{}\nfiles\n{}",
        String::from_utf8_lossy(&head.stdout).trim(),
        git(dir, &["ls-files", "-s"]),
        git(
            dir,
            &[
                "status",
                "--porcelain",
                "--untracked-files=all",
                "--ignored"
            ]
        ),
        walk(dir).join("\n"),
    )
}

/// Every path under `dir` outside `.git`, sorted, directories with a `/`.
fn walk(dir: &Path) -> Vec<String> {
    fn visit(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read a work tree directory") {
            let entry = entry.expect("a directory entry");
            let path = entry.path();
            if path.file_name() == Some(std::ffi::OsStr::new(".git")) {
                continue;
            }
            let relative = path.strip_prefix(root).expect("under the root");
            if entry.file_type().expect("a file type").is_dir() {
                out.push(format!("{}/", relative.display()));
                visit(root, &path, out);
            } else {
                out.push(relative.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    visit(dir, dir, &mut out);
    out.sort();
    out
}
