//! Running a container to completion: stdin in, stdout and stderr out.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use crate::client::Docker;
use crate::engine::Socket;
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
    pub fn run(&self, options: &RunOptions) -> Result<RunOutput> {
        let started = Instant::now();
        let id = self.create_container(options)?;
        let outcome = self.run_created(&id, options, started);
        let removed = self.remove_container(&id);
        // The run's own error matters more than a failed clean-up.
        let output = outcome?;
        removed?;
        Ok(output)
    }

    fn run_created(&self, id: &str, options: &RunOptions, started: Instant) -> Result<RunOutput> {
        let stdin = options.stdin.as_deref();
        let path = format!(
            "/containers/{id}/attach?stream=1&stdout=1&stderr=1{}",
            if stdin.is_some() { "&stdin=1" } else { "" }
        );
        // Attached before the start, so that no output is missed.
        let socket = self.engine().upgrade("attach to container", &path)?;
        self.start_container(id)?;
        let deadline = options.timeout.map(|timeout| started + timeout);
        let timed_out = || Error::RunTimeout {
            image: options.image.clone(),
            timeout: options.timeout.unwrap_or_default(),
        };
        let (stdout, stderr) = exchange(socket, stdin, deadline).map_err(|err| match err {
            Exchange::TimedOut => timed_out(),
            Exchange::Io(err) => crate::engine::transport("read container output", err),
        })?;
        let remaining = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let exit_code = self
            .wait_container(id, remaining)
            .map_err(|err| match err {
                Error::DaemonTimeout { .. } => timed_out(),
                other => other,
            })?;
        Ok(RunOutput {
            exit_code,
            stdout,
            stderr,
            duration: started.elapsed(),
        })
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
