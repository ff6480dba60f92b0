//! Long-running containers: start detached, wait until ready, stop, remove.

use std::net::{TcpStream, ToSocketAddrs};
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

    /// Waits until the container's output (stdout or stderr) contains `text`.
    pub fn wait_for_log(&self, text: &str, timeout: Duration) -> Result<()> {
        self.wait_until(timeout, &format!("log line {text:?}"), || {
            Ok(self
                .logs()?
                .windows(text.len().max(1))
                .any(|w| w == text.as_bytes()))
        })
    }

    /// Waits until the container's TCP `port` accepts connections on the host.
    pub fn wait_for_port(&self, port: u16, timeout: Duration) -> Result<()> {
        let host_port = self.host_port(port)?;
        let address = format!("{}:{host_port}", self.host_address());
        self.wait_until(timeout, &format!("port {port} ({address})"), || {
            let reachable = address
                .to_socket_addrs()
                .ok()
                .and_then(|mut addresses| addresses.next())
                .is_some_and(|socket| TcpStream::connect_timeout(&socket, POLL_INTERVAL).is_ok());
            Ok(reachable)
        })
    }

    /// Everything the container has written so far, stdout and stderr
    /// together, up to [`LOGS_LIMIT`] bytes (the latest ones).
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
                let mut logs = Vec::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|err| api.error("read container logs", err))?;
                    logs.extend_from_slice(&chunk.into_bytes());
                    if logs.len() > LOGS_LIMIT {
                        logs.drain(..logs.len() - LOGS_LIMIT);
                    }
                }
                Ok(logs)
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

    fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        mut ready: impl FnMut() -> Result<bool>,
    ) -> Result<()> {
        let started = Instant::now();
        loop {
            if ready()? {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(Error::NotReady {
                    container: self.id.clone(),
                    waited_for: what.to_owned(),
                    timeout,
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
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
