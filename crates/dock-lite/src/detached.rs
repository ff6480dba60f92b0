//! Long-running containers: start detached, wait until ready, stop, remove.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bollard::query_parameters::{InspectContainerOptions, LogsOptions, StopContainerOptions};
use futures_util::StreamExt;

use crate::client::Docker;
use crate::error::{Error, Result};
use crate::host::DockerHost;
use crate::options::RunOptions;

/// How often readiness is checked.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A container started with [`Docker::start_detached`]. It is removed
/// (killed first if needed) when this handle is dropped, unless
/// [`keep`](Self::keep) was called.
#[derive(Debug)]
pub struct RunningContainer {
    docker: Docker,
    id: String,
    /// Set once the container is removed or kept: the drop leaves it alone.
    released: bool,
    /// Set when [`remove`](Self::remove) failed: the drop tries again
    /// without making the caller wait a second time.
    remove_in_background: bool,
}

impl Docker {
    /// Creates and starts a container that keeps running, publishing the
    /// options' [`publish_port`](RunOptions::publish_port)s on free host
    /// ports. The options' stdin and timeout do not apply.
    ///
    /// Ports are bound to the loopback interface of a local daemon, and to
    /// all the interfaces of a remote one (`tcp://` to another machine), so
    /// that they can be reached from here at
    /// [`host_address`](RunningContainer::host_address).
    pub fn start_detached(&self, options: &RunOptions) -> Result<RunningContainer> {
        crate::runtime::refuse_inside_async_runtime()?;
        options.validate()?;
        let mut body = options.to_create_body(false, self.host().is_local());
        // No stdin for a detached container.
        body.attach_stdin = Some(false);
        body.open_stdin = Some(false);
        body.stdin_once = Some(false);
        let (image, pull, timeouts) = (options.image.clone(), options.pull, self.timeouts());
        let id = self
            .run_on_runtime({
                let api = self.api();
                async move {
                    api.agree_within("create container", timeouts.request)
                        .await?;
                    api.create_container(body, &image, pull, timeouts).await
                }
            })
            .map_err(|err| err.concerning(&options.image))?;
        let container = RunningContainer {
            docker: self.clone(),
            id,
            released: false,
            remove_in_background: false,
        };
        let id = container.id.clone();
        self.call(
            "start container",
            Some(&container.id),
            timeouts.request,
            move |api| async move { api.start_container(&id).await },
        )?;
        Ok(container)
    }
}

impl RunningContainer {
    /// The container's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The host port on which the container's TCP `port` is published.
    pub fn host_port(&self, port: u16) -> Result<u16> {
        let id = self.id.clone();
        let inspect = self.docker.call(
            "inspect container",
            Some(&self.id),
            self.docker.timeouts().request,
            move |api| async move {
                api.docker
                    .inspect_container(&id, None::<InspectContainerOptions>)
                    .await
                    .map_err(|err| api.error("inspect container", err))
            },
        )?;
        inspect
            .network_settings
            .and_then(|network| network.ports)
            .and_then(|mut ports| ports.remove(&format!("{port}/tcp")))
            .flatten()
            .and_then(|bindings| bindings.into_iter().find_map(|b| b.host_port))
            .and_then(|host_port| host_port.parse().ok())
            .ok_or(Error::PortNotPublished {
                container: self.id.clone(),
                port,
            })
    }

    /// The address at which published ports are reached: the loopback
    /// address for a local daemon (a unix socket), the daemon's host for a
    /// `tcp://` one.
    pub fn host_address(&self) -> String {
        match self.docker.host() {
            DockerHost::Unix(_) => "127.0.0.1".to_owned(),
            DockerHost::Tcp { host, .. } => host.clone(),
        }
    }

    /// Waits until the container's output (stdout or stderr) contains
    /// `text`, or gives up with [`Error::NotReady`] after `timeout`.
    ///
    /// The log is read once, from its start, as the daemon follows it: a
    /// long log is not read again and again, and `text` is found even when
    /// it arrives in pieces. A container that stops without having shown it
    /// is [`Error::NotReady`] at once; so is, after `timeout`, one whose
    /// daemon sends nothing (it cannot be told from a silent container).
    pub fn wait_for_log(&self, text: &str, timeout: Duration) -> Result<()> {
        let (id, needle) = (self.id.clone(), text.as_bytes().to_vec());
        // The outer deadline bites only if agreeing on the API version stalls.
        let deadline = timeout + self.docker.timeouts().request;
        let shown = self.docker.call(
            "read container logs",
            Some(&self.id),
            deadline,
            move |api| async move {
                let shown = log_shows(&api, &id, &needle);
                tokio::time::timeout(timeout, shown)
                    .await
                    .unwrap_or(Ok(false))
            },
        )?;
        match shown {
            true => Ok(()),
            false => Err(Error::NotReady {
                container: self.id.clone(),
                waited_for: format!("log line {text:?}"),
                timeout,
            }),
        }
    }

    /// Waits until the container's TCP `port` accepts connections at
    /// [`host_address`](Self::host_address), or gives up with
    /// [`Error::NotReady`] after `timeout` (give or take one attempt to
    /// connect, 200 ms). The host's name is resolved within that time too: a
    /// resolver that does not answer cannot hold the call.
    pub fn wait_for_port(&self, port: u16, timeout: Duration) -> Result<()> {
        let host_port = self.host_port(port)?;
        let host = self.host_address();
        let started = Instant::now();
        let mut address = None;
        loop {
            if address.is_none() {
                let left = timeout.saturating_sub(started.elapsed());
                address = self.resolve(&host, host_port, left)?;
            }
            let reachable = address
                .is_some_and(|socket| TcpStream::connect_timeout(&socket, POLL_INTERVAL).is_ok());
            if reachable {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(Error::NotReady {
                    container: self.id.clone(),
                    waited_for: format!("port {port} ({host}:{host_port})"),
                    timeout,
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// The first address of `host` (a name, or an address, `[::1]` style
    /// for IPv6), resolved on the runtime, where the lookup can be given
    /// up after `within`: `None` if it cannot be resolved by then.
    fn resolve(&self, host: &str, port: u16, within: Duration) -> Result<Option<SocketAddr>> {
        let name = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        self.docker.run_on_runtime(async move {
            let lookup = tokio::net::lookup_host((name.as_str(), port));
            let found = tokio::time::timeout(within, lookup).await;
            Ok(found
                .ok()
                .and_then(Result::ok)
                .and_then(|mut all| all.next()))
        })
    }

    /// Everything the container has written so far, stdout and stderr
    /// together, up to [`LOGS_LIMIT`] bytes (the latest ones: the earlier
    /// ones are let go as the log is read, so that reading a long log costs
    /// time in proportion to its length and memory up to the limit).
    pub fn logs(&self) -> Result<Vec<u8>> {
        let id = self.id.clone();
        self.docker.call(
            "read container logs",
            Some(&self.id),
            self.docker.timeouts().request,
            move |api| async move {
                let options = LogsOptions {
                    stdout: true,
                    stderr: true,
                    ..Default::default()
                };
                let mut stream = api.docker.logs(&id, Some(options));
                let mut logs = Tail::new(LOGS_LIMIT);
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|err| api.error("read container logs", err))?;
                    logs.push(&chunk.into_bytes());
                }
                Ok(logs.into_vec())
            },
        )
    }

    /// Stops the container (SIGTERM, then SIGKILL after `grace`); it can be
    /// removed or inspected afterwards. Waits at most `grace` plus
    /// [`Timeouts::request`](crate::Timeouts::request).
    pub fn stop(&self, grace: Duration) -> Result<()> {
        let id = self.id.clone();
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let timeout = grace + self.docker.timeouts().request;
        self.docker.call(
            "stop container",
            Some(&self.id),
            timeout,
            move |api| async move {
                let options = StopContainerOptions {
                    t: Some(seconds),
                    signal: None,
                };
                match api.docker.stop_container(&id, Some(options)).await {
                    // 304: already stopped.
                    Ok(()) => Ok(()),
                    Err(err) => Err(api.error("stop container", err)),
                }
            },
        )
    }

    /// Removes the container now (killing it if it runs), within
    /// [`Timeouts::request`](crate::Timeouts::request).
    ///
    /// If that fails, the error is returned and the removal is tried once
    /// more in the background, as a drop would (within the same deadline;
    /// it goes on for up to 15 s after the last handle on the daemon is
    /// dropped), so that a passing failure leaves no container behind.
    pub fn remove(mut self) -> Result<()> {
        let id = self.id.clone();
        let removed = self.docker.call(
            "remove container",
            Some(&self.id),
            self.docker.timeouts().request,
            move |api| async move { api.remove_container(&id).await },
        );
        match removed {
            Ok(()) => self.released = true,
            Err(_) => self.remove_in_background = true,
        }
        removed
    }

    /// Leaves the container running after this handle is gone; returns its id.
    pub fn keep(mut self) -> String {
        self.released = true;
        std::mem::take(&mut self.id)
    }
}

impl Drop for RunningContainer {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let id = std::mem::take(&mut self.id);
        let timeout = self.docker.timeouts().request;
        let removal = {
            let api = self.docker.api();
            async move {
                let _ = api
                    .within("remove container", timeout, api.remove_container(&id))
                    .await;
            }
        };
        // Blocking inside an async runtime would block the caller's
        // runtime, and after a failed `remove` the caller has waited once
        // already: the removal goes on in the background then.
        if self.remove_in_background || crate::runtime::refuse_inside_async_runtime().is_err() {
            self.docker.detach(removal);
        } else {
            let _ = self.docker.run_on_runtime(async move {
                removal.await;
                Ok(())
            });
        }
    }
}

/// The most [`RunningContainer::logs`] returns: 16 MiB.
pub const LOGS_LIMIT: usize = 16 * 1024 * 1024;

/// True once the container's log, followed from its start, shows `needle`;
/// false if the log ends (the container stopped) first.
async fn log_shows(api: &crate::client::Api, id: &str, needle: &[u8]) -> Result<bool> {
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut stream = api.docker.logs(id, Some(options));
    let mut search = Search::new(needle);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| api.error("read container logs", err))?;
        if search.found_in(&chunk.into_bytes()) {
            return Ok(true);
        }
    }
    Ok(search.found_in(&[]))
}

/// A search for a byte string in a stream that comes in chunks: it keeps
/// only what could start a match that the next chunk completes.
struct Search {
    finder: memchr::memmem::Finder<'static>,
    window: Vec<u8>,
}

impl Search {
    fn new(needle: &[u8]) -> Search {
        Search {
            finder: memchr::memmem::Finder::new(needle).into_owned(),
            window: Vec::new(),
        }
    }

    /// True when what came so far, `chunk` included, holds the needle.
    fn found_in(&mut self, chunk: &[u8]) -> bool {
        self.window.extend_from_slice(chunk);
        if self.finder.find(&self.window).is_some() {
            return true;
        }
        let kept = self.finder.needle().len().saturating_sub(1);
        let spent = self.window.len().saturating_sub(kept);
        self.window.drain(..spent);
        false
    }
}

/// The last `limit` bytes of what is pushed: the earlier ones are let go
/// without moving the rest (a plain `Vec` would move the whole log for
/// every chunk past the limit).
struct Tail {
    bytes: std::collections::VecDeque<u8>,
    limit: usize,
}

impl Tail {
    fn new(limit: usize) -> Tail {
        Tail {
            bytes: std::collections::VecDeque::new(),
            limit,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        let chunk = &chunk[chunk.len().saturating_sub(self.limit)..];
        let excess = (self.bytes.len() + chunk.len()).saturating_sub(self.limit);
        self.bytes.drain(..excess);
        self.bytes.extend(chunk);
    }

    fn into_vec(self) -> Vec<u8> {
        self.bytes.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_finds_a_needle_split_across_chunks() {
        let mut search = Search::new(b"ready");
        assert!(!search.found_in(b"starting... rea"));
        assert!(!search.found_in(b"d"));
        assert!(search.found_in(b"y\n"));
        let mut search = Search::new(b"ready");
        for chunk in [&b"r"[..], b"e", b"x", b"ready"] {
            if search.found_in(chunk) {
                return;
            }
        }
        panic!("not found");
    }

    #[test]
    fn an_empty_needle_is_found_at_once() {
        assert!(Search::new(b"").found_in(&[]));
    }

    #[test]
    fn a_tail_lets_go_of_old_bytes_without_moving_the_rest() {
        // A million chunks past the limit: moving the 16 MiB kept for each
        // would move 16 TB.
        let mut tail = Tail::new(LOGS_LIMIT);
        let chunk = [7u8; 16];
        let started = std::time::Instant::now();
        for _ in 0..(LOGS_LIMIT / 16 + 1_000_000) {
            tail.push(&chunk);
        }
        let elapsed = started.elapsed();
        assert_eq!(tail.bytes.len(), LOGS_LIMIT);
        assert!(
            tail.bytes.capacity() <= LOGS_LIMIT,
            "{}",
            tail.bytes.capacity()
        );
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }

    #[test]
    fn a_tail_keeps_the_last_bytes() {
        let mut tail = Tail::new(5);
        tail.push(b"abc");
        tail.push(b"defg");
        assert_eq!(tail.into_vec(), b"cdefg");
        let mut tail = Tail::new(3);
        tail.push(b"abcdefgh");
        assert_eq!(tail.into_vec(), b"fgh");
    }
}
