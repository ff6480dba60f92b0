//! A `git daemon` serving one directory on a free local port for the run.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::git_cli::git;
use crate::Result;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The daemon; dropping it kills it.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    pub port: u16,
}

impl Daemon {
    /// Serves every repository under `base`, for fetching and pushing; writes its pid to `pid_file`
    /// so that bench/git/run can kill it should this process die first.
    /// Its stderr goes to `log`: its upload-pack children complain about
    /// connections closed unused (the readiness probe here, and repo-lite,
    /// which replaces gix's first connection by one with `TCP_NODELAY`).
    pub fn start(base: &Path, pid_file: &Path, log: &Path) -> Result<Daemon> {
        let port = free_port()?;
        let log_file = std::fs::File::create(log)?;
        let child = Command::new(daemon_program()?)
            .arg("--reuseaddr")
            .arg(format!("--base-path={}", base.display()))
            .arg("--export-all")
            // The push workloads push to it.
            .arg("--enable=receive-pack")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--pid-file={}", pid_file.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()?;
        let mut daemon = Daemon { child, port };
        daemon.wait_until_listening().map_err(|err| {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            format!("{err}; its stderr: {}", log.trim())
        })?;
        Ok(daemon)
    }

    fn wait_until_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("git daemon exited at start ({status})").into());
            }
            if Instant::now() > deadline {
                return Err(
                    format!("git daemon is not listening after {STARTUP_TIMEOUT:?}").into(),
                );
            }
            sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `git-daemon` itself: `git daemon` would run it as a child of its own,
/// which killing `git` leaves running.
fn daemon_program() -> Result<PathBuf> {
    let exec_path = git(Path::new("."), &["--exec-path"])?;
    Ok(Path::new(exec_path.trim()).join("git-daemon"))
}

/// A port the kernel just handed out; the daemon binds it right after.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
