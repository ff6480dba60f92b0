//! Running a container to completion: stdin in, stdout and stderr out.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::client::Docker;
use crate::engine::{transport, Body, Response, Socket};
use crate::error::{Error, Result};
use crate::options::RunOptions;

/// How a container ended, and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunOutput {
    /// The exit code of the container's main process. Non-zero is a result,
    /// not an error.
    pub exit_code: i64,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr, kept apart from stdout.
    pub stderr: Vec<u8>,
    /// Time from creating the container to its exit.
    pub duration: Duration,
}

impl RunOutput {
    /// True when the exit code is 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

impl Docker {
    /// Creates a container from `options`, attaches to it, starts it, feeds
    /// it the options' stdin, collects its stdout and stderr until it exits,
    /// and removes it, whatever happened (non-zero exit, timeout, error): no
    /// container is left behind.
    ///
    /// The daemon is also told to remove the container when it exits, so
    /// that it goes even if this process dies first (only a process killed
    /// in the few milliseconds between creating and starting the container
    /// leaves it behind, created but never started: label your runs to find
    /// such leftovers).
    pub fn run(&self, options: &RunOptions) -> Result<RunOutput> {
        let started = Instant::now();
        let mut options = options.clone();
        options.auto_remove = true;
        let options = &options;
        let id = self.create_container(options)?;
        match self.run_created(&id, options, started) {
            // The wait ended with the daemon's removal: nothing left to do.
            Ok(output) => Ok(output),
            Err(err) => {
                // The run's own error matters more than a failed clean-up.
                let _ = self.remove_container(&id);
                Err(err)
            }
        }
    }

    fn run_created(&self, id: &str, options: &RunOptions, started: Instant) -> Result<RunOutput> {
        let stdin = options.stdin.as_deref();
        let path = format!(
            "/containers/{id}/attach?stream=1&stdout=1&stderr=1{}",
            if stdin.is_some() { "&stdin=1" } else { "" }
        );
        // Attached, and waited for, before the start: no output is missed,
        // and the exit code is caught. The wait ends once the daemon has
        // removed the container, so none is listed after `run` returns.
        let socket = self.engine().upgrade("attach to container", &path)?;
        let exit = self.engine().send(
            "wait for container",
            "POST",
            &format!("/containers/{id}/wait?condition=removed"),
            Body::Empty,
            Some(EXIT_REPORT_TIMEOUT),
        )?;
        self.start_container(id)?;
        let deadline = options.timeout.map(|timeout| started + timeout);
        let timed_out = || Error::RunTimeout {
            image: options.image.clone(),
            timeout: options.timeout.unwrap_or_default(),
        };
        let (stdout, stderr) = exchange(socket, stdin, deadline).map_err(|err| match err {
            Exchange::TimedOut => timed_out(),
            Exchange::Io(err) => transport("read container output", err),
        })?;
        let exit_code = read_exit_code(exit)?;
        Ok(RunOutput {
            exit_code,
            stdout,
            stderr,
            duration: started.elapsed(),
        })
    }
}

/// How long the exit code may take to arrive once the output has ended.
const EXIT_REPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the answer of `POST /containers/{id}/wait`.
fn read_exit_code(response: Response) -> Result<i64> {
    #[derive(Deserialize)]
    struct Exit {
        #[serde(rename = "StatusCode")]
        status_code: i64,
        #[serde(rename = "Error", default)]
        error: Option<ExitError>,
    }
    #[derive(Deserialize)]
    struct ExitError {
        #[serde(rename = "Message", default)]
        message: String,
    }
    let operation = "wait for container";
    let body = response.success(operation)?.bytes(operation)?;
    let exit: Exit = serde_json::from_slice(&body).map_err(|err| transport(operation, err))?;
    match exit.error {
        Some(error) if !error.message.is_empty() => Err(Error::Daemon {
            operation,
            status: 200,
            message: error.message,
        }),
        _ => Ok(exit.status_code),
    }
}

enum Exchange {
    TimedOut,
    Io(std::io::Error),
}

/// Writes `stdin` (then closes it) while reading the multiplexed output
/// until the container closes the stream; gives up at `deadline`.
fn exchange(
    socket: Socket,
    stdin: Option<&[u8]>,
    deadline: Option<Instant>,
) -> std::result::Result<(Vec<u8>, Vec<u8>), Exchange> {
    let writer = match stdin {
        Some(_) => Some(socket.try_clone().map_err(Exchange::Io)?),
        None => None,
    };
    std::thread::scope(|scope| {
        if let (Some(mut writer), Some(bytes)) = (writer, stdin) {
            // A separate thread, so that a container that writes a lot before
            // reading all its input cannot deadlock us. A container that exits
            // without reading its input makes the write fail: that is its choice.
            scope.spawn(move || {
                let _ = writer.write_all(bytes);
                let _ = writer.shutdown_write();
            });
        }
        read_frames(socket, deadline)
    })
}

/// Reads the attach stream: frames of an 8-byte header (stream, 0, 0, 0,
/// big-endian length) and a payload.
fn read_frames(
    mut socket: Socket,
    deadline: Option<Instant>,
) -> std::result::Result<(Vec<u8>, Vec<u8>), Exchange> {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut header = [0u8; 8];
    loop {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Exchange::TimedOut);
            }
            socket.set_read_timeout(Some(left)).map_err(Exchange::Io)?;
        }
        match read_exact_or_eof(&mut socket, &mut header) {
            Ok(false) => return Ok((stdout, stderr)),
            Ok(true) => {}
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(Exchange::TimedOut)
            }
            Err(err) => return Err(Exchange::Io(err)),
        }
        let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let target = if header[0] == 2 {
            &mut stderr
        } else {
            &mut stdout
        };
        let start = target.len();
        target.resize(start + length, 0);
        socket
            .read_exact(&mut target[start..])
            .map_err(|err| match err.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => Exchange::TimedOut,
                _ => Exchange::Io(err),
            })?;
    }
}

/// Fills `buf`; `Ok(false)` on a clean end of stream before the first byte.
fn read_exact_or_eof(socket: &mut Socket, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match socket.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(read) => filled += read,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(true)
}
