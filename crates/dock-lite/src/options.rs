//! What a container is created with: the options shared by a run to
//! completion and a detached start, and their Engine API form.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value};

/// Whether a missing image is pulled before the container is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PullPolicy {
    /// Never pull: a missing image is an [`Error::ImageNotFound`](crate::Error::ImageNotFound).
    #[default]
    Never,
    /// Pull the image if it is not present locally.
    IfMissing,
}

/// A host directory or file made visible inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Absolute path on the Docker host.
    pub host_path: PathBuf,
    /// Absolute path inside the container.
    pub container_path: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// What to run. Only the image is required.
///
/// ```
/// use std::time::Duration;
/// let options = dock_lite::RunOptions::new("alpine:3.20")
///     .command(["sh", "-c", "wc -c"])
///     .stdin(b"some input".to_vec())
///     .env("LANG", "C")
///     .network("none")
///     .memory_bytes(64 * 1024 * 1024)
///     .cpus(0.5)
///     .label("com.example.owner", "docs")
///     .timeout(Duration::from_secs(30));
/// assert_eq!(options.image(), "alpine:3.20");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    pub(crate) image: String,
    entrypoint: Option<Vec<String>>,
    command: Vec<String>,
    env: Vec<(String, String)>,
    working_dir: Option<String>,
    user: Option<String>,
    mounts: Vec<Mount>,
    network: Option<String>,
    memory_bytes: Option<u64>,
    nano_cpus: Option<u64>,
    labels: BTreeMap<String, String>,
    pub(crate) published_ports: Vec<u16>,
    pub(crate) stdin: Option<Vec<u8>>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) pull: PullPolicy,
    /// The daemon removes the container when it exits, even if this process
    /// is gone by then: set for runs to completion, not for detached starts.
    pub(crate) auto_remove: bool,
}

impl RunOptions {
    /// Runs `image` with its default entrypoint and command.
    pub fn new(image: impl Into<String>) -> Self {
        RunOptions {
            image: image.into(),
            entrypoint: None,
            command: Vec::new(),
            env: Vec::new(),
            working_dir: None,
            user: None,
            mounts: Vec::new(),
            network: None,
            memory_bytes: None,
            nano_cpus: None,
            labels: BTreeMap::new(),
            published_ports: Vec::new(),
            stdin: None,
            timeout: None,
            pull: PullPolicy::Never,
            auto_remove: false,
        }
    }

    /// The image to run.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Replaces the image's entrypoint (`["sh", "-c"]`, say); the
    /// [`command`](Self::command) then gives its arguments.
    pub fn entrypoint<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.entrypoint = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// Replaces the image's command (the arguments of its entrypoint, if it has one).
    pub fn command<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.command = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Sets the working directory inside the container.
    pub fn working_dir(mut self, dir: impl Into<String>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// Runs as `user` (a name, `uid` or `uid:gid`).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Bind-mounts `host_path` at `container_path`.
    pub fn mount(
        mut self,
        host_path: impl Into<PathBuf>,
        container_path: impl Into<String>,
        read_only: bool,
    ) -> Self {
        self.mounts.push(Mount {
            host_path: host_path.into(),
            container_path: container_path.into(),
            read_only,
        });
        self
    }

    /// Sets the network mode: `none` (no network at all), `bridge`, `host`,
    /// or the name of a user-defined network.
    pub fn network(mut self, mode: impl Into<String>) -> Self {
        self.network = Some(mode.into());
        self
    }

    /// Limits the container's memory.
    pub fn memory_bytes(mut self, bytes: u64) -> Self {
        self.memory_bytes = Some(bytes);
        self
    }

    /// Limits the container to `cpus` CPUs (0.5 is half a CPU).
    pub fn cpus(mut self, cpus: f64) -> Self {
        self.nano_cpus = Some((cpus.max(0.0) * 1e9) as u64);
        self
    }

    /// Adds a label to the container (to find or clean up what you started).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Publishes the container's TCP `port` on a free port of the host's
    /// loopback interface (detached containers; see
    /// [`RunningContainer::host_port`](crate::RunningContainer::host_port)).
    pub fn publish_port(mut self, port: u16) -> Self {
        self.published_ports.push(port);
        self
    }

    /// Feeds `bytes` to the container's stdin, then closes it, so that a
    /// program reading to the end of its input (`dot -Tsvg`) finishes.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Kills and removes the container if it has not finished after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets what to do when the image is missing.
    pub fn pull(mut self, policy: PullPolicy) -> Self {
        self.pull = policy;
        self
    }

    /// The body of `POST /containers/create`.
    pub(crate) fn to_create_body(&self) -> Value {
        let with_stdin = self.stdin.is_some();
        let mut config = Map::new();
        config.insert("Image".into(), json!(self.image));
        if let Some(entrypoint) = &self.entrypoint {
            config.insert("Entrypoint".into(), json!(entrypoint));
        }
        if !self.command.is_empty() {
            config.insert("Cmd".into(), json!(self.command));
        }
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        config.insert("Env".into(), json!(env));
        if let Some(dir) = &self.working_dir {
            config.insert("WorkingDir".into(), json!(dir));
        }
        if let Some(user) = &self.user {
            config.insert("User".into(), json!(user));
        }
        config.insert("Labels".into(), json!(self.labels));
        // StdinOnce closes the container's stdin when the attached client
        // closes its side: without it, `dot` would wait for input for ever.
        config.insert("AttachStdin".into(), json!(with_stdin));
        config.insert("OpenStdin".into(), json!(with_stdin));
        config.insert("StdinOnce".into(), json!(with_stdin));
        config.insert("AttachStdout".into(), json!(true));
        config.insert("AttachStderr".into(), json!(true));
        config.insert("Tty".into(), json!(false));

        let mut host = Map::new();
        host.insert("AutoRemove".into(), json!(self.auto_remove));
        let binds: Vec<String> = self
            .mounts
            .iter()
            .map(|m| {
                let mode = if m.read_only { ":ro" } else { "" };
                format!("{}:{}{mode}", m.host_path.display(), m.container_path)
            })
            .collect();
        host.insert("Binds".into(), json!(binds));
        if let Some(network) = &self.network {
            host.insert("NetworkMode".into(), json!(network));
        }
        if let Some(bytes) = self.memory_bytes {
            host.insert("Memory".into(), json!(bytes));
        }
        if let Some(nano) = self.nano_cpus {
            host.insert("NanoCpus".into(), json!(nano));
        }
        if !self.published_ports.is_empty() {
            let exposed: Map<String, Value> = self
                .published_ports
                .iter()
                .map(|port| (format!("{port}/tcp"), json!({})))
                .collect();
            let bindings: Map<String, Value> = self
                .published_ports
                .iter()
                .map(|port| {
                    (
                        format!("{port}/tcp"),
                        json!([{"HostIp": "127.0.0.1", "HostPort": ""}]),
                    )
                })
                .collect();
            config.insert("ExposedPorts".into(), Value::Object(exposed));
            host.insert("PortBindings".into(), Value::Object(bindings));
        }
        config.insert("HostConfig".into(), Value::Object(host));
        Value::Object(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_turns_on_stdin_once_and_limits_reach_the_host_config() {
        let body = RunOptions::new("img")
            .entrypoint(["sh", "-c"])
            .command(["cat"])
            .stdin(b"x".to_vec())
            .mount("/data", "/in", true)
            .network("none")
            .memory_bytes(1 << 20)
            .cpus(0.5)
            .publish_port(5672)
            .to_create_body();
        assert_eq!(body["StdinOnce"], json!(true));
        assert_eq!(body["OpenStdin"], json!(true));
        assert_eq!(body["Entrypoint"], json!(["sh", "-c"]));
        assert_eq!(body["HostConfig"]["Binds"], json!(["/data:/in:ro"]));
        assert_eq!(body["HostConfig"]["NetworkMode"], json!("none"));
        assert_eq!(body["HostConfig"]["Memory"], json!(1 << 20));
        assert_eq!(body["HostConfig"]["NanoCpus"], json!(500_000_000u64));
        assert_eq!(
            body["HostConfig"]["PortBindings"]["5672/tcp"][0]["HostIp"],
            json!("127.0.0.1")
        );
    }

    #[test]
    fn without_stdin_nothing_is_attached_to_it() {
        let body = RunOptions::new("img").to_create_body();
        assert_eq!(body["StdinOnce"], json!(false));
        assert_eq!(body["AttachStdin"], json!(false));
    }
}
