//! Long-running containers: start detached, wait until ready, stop, remove.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::client::Docker;
use crate::engine::Body;
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
    keep: bool,
}

impl Docker {
    /// Creates and starts a container that keeps running, publishing the
    /// options' [`publish_port`](RunOptions::publish_port)s on free host
    /// ports. The options' stdin and timeout do not apply.
    pub fn start_detached(&self, options: &RunOptions) -> Result<RunningContainer> {
        let mut options = options.clone();
        options.stdin = None;
        let id = self.create_container(&options)?;
        let container = RunningContainer {
            docker: self.clone(),
            id,
            keep: false,
        };
        self.start_container(&container.id)?;
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
        #[derive(Deserialize)]
        struct Inspect {
            #[serde(rename = "NetworkSettings")]
            network: Network,
        }
        #[derive(Deserialize)]
        struct Network {
            #[serde(rename = "Ports", default)]
            ports: std::collections::BTreeMap<String, Option<Vec<Binding>>>,
        }
        #[derive(Deserialize)]
        struct Binding {
            #[serde(rename = "HostPort")]
            host_port: String,
        }
        let path = format!("/containers/{}/json", self.id);
        let inspect: Inspect =
            self.docker
                .engine()
                .json("inspect container", "GET", &path, Body::Empty)?;
        inspect
            .network
            .ports
            .get(&format!("{port}/tcp"))
            .and_then(|bindings| bindings.as_ref()?.first()?.host_port.parse().ok())
            .ok_or(Error::PortNotPublished {
                container: self.id.clone(),
                port,
            })
    }

    /// The address at which published ports are reached: the loopback
    /// address for a local daemon, the daemon's host for a `tcp://` one.
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

    /// Everything the container has written so far, stdout and stderr together.
    pub fn logs(&self) -> Result<Vec<u8>> {
        let path = format!("/containers/{}/logs?stdout=1&stderr=1", self.id);
        let response = self
            .docker
            .engine()
            .send(
                "read container logs",
                "GET",
                &path,
                Body::Empty,
                Some(Duration::from_secs(30)),
            )?
            .success("read container logs")?;
        let mut raw = Vec::new();
        response
            .reader()
            .read_to_end(&mut raw)
            .map_err(|err| crate::engine::transport("read container logs", err))?;
        Ok(demultiplex(&raw))
    }

    /// Stops the container (SIGTERM, then SIGKILL after `grace`); it can be
    /// removed or inspected afterwards.
    pub fn stop(&self, grace: Duration) -> Result<()> {
        let path = format!("/containers/{}/stop?t={}", self.id, grace.as_secs());
        let response =
            self.docker
                .engine()
                .send("stop container", "POST", &path, Body::Empty, None)?;
        match response.status {
            304 => Ok(()), // already stopped
            _ => response.success("stop container").map(drop),
        }
    }

    /// Removes the container now (killing it if it runs).
    pub fn remove(mut self) -> Result<()> {
        self.keep = true;
        self.docker.remove_container(&self.id)
    }

    /// Leaves the container running after this handle is gone; returns its id.
    pub fn keep(mut self) -> String {
        self.keep = true;
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
        if !self.keep {
            let _ = self.docker.remove_container(&self.id);
        }
    }
}

/// Joins the payloads of a multiplexed log stream (8-byte frame headers).
fn demultiplex(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while rest.len() >= 8 {
        let length = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let end = (8 + length).min(rest.len());
        out.extend_from_slice(&rest[8..end]);
        rest = &rest[end..];
    }
    out
}
