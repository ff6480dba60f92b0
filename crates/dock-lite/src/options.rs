//! What a container is created with: the options shared by a run to
//! completion and a detached start, and their Engine API form.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};

use crate::error::{Error, Result};

/// The smallest memory limit the daemon accepts (Docker Engine 25 and later;
/// older engines accept 4 MiB).
pub(crate) const MIN_MEMORY_BYTES: u64 = 6 * 1024 * 1024;

/// What a run keeps of each of stdout and stderr by default: 64 MiB.
pub const DEFAULT_OUTPUT_LIMIT: u64 = 64 * 1024 * 1024;

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
    tmpfs: Vec<(String, u64)>,
    network: Option<String>,
    memory_bytes: Option<u64>,
    cpus: Option<f64>,
    pids_limit: Option<i64>,
    read_only_root: bool,
    drop_all_capabilities: bool,
    no_new_privileges: bool,
    labels: BTreeMap<String, String>,
    pub(crate) published_ports: Vec<u16>,
    pub(crate) stdin: Option<Vec<u8>>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) output_limit: u64,
    pub(crate) pull: PullPolicy,
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
            tmpfs: Vec::new(),
            network: None,
            memory_bytes: None,
            cpus: None,
            pids_limit: None,
            read_only_root: false,
            drop_all_capabilities: false,
            no_new_privileges: false,
            labels: BTreeMap::new(),
            published_ports: Vec::new(),
            stdin: None,
            timeout: None,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            pull: PullPolicy::Never,
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

    /// Bind-mounts `host_path` at `container_path`. Both must be absolute: a
    /// relative host path (which the daemon would take for the name of a
    /// volume) is an [`Error::InvalidOption`] when the container is created,
    /// before anything is sent.
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

    /// Mounts a fresh, empty in-memory file system of at most `size_bytes`
    /// at `container_path` (`noexec`, `nosuid`): somewhere to write under
    /// a [`read_only_root`](Self::read_only_root). It counts against the
    /// memory limit and is gone with the container. A relative path or a
    /// size of zero is an [`Error::InvalidOption`] when the container is
    /// created.
    pub fn tmpfs(mut self, container_path: impl Into<String>, size_bytes: u64) -> Self {
        self.tmpfs.push((container_path.into(), size_bytes));
        self
    }

    /// Sets the network mode: `none` (no network at all), `bridge`, `host`,
    /// or the name of a user-defined network.
    pub fn network(mut self, mode: impl Into<String>) -> Self {
        self.network = Some(mode.into());
        self
    }

    /// Limits the container's memory. The daemon's minimum is 6 MiB: a
    /// smaller limit is an [`Error::InvalidOption`] when the container is
    /// created, before anything is sent.
    pub fn memory_bytes(mut self, bytes: u64) -> Self {
        self.memory_bytes = Some(bytes);
        self
    }

    /// Limits the container to `cpus` CPUs (0.5 is half a CPU). Zero, a
    /// negative number or NaN is an [`Error::InvalidOption`] when the
    /// container is created, before anything is sent.
    pub fn cpus(mut self, cpus: f64) -> Self {
        self.cpus = Some(cpus);
        self
    }

    /// Limits how many processes (and threads) the container may run at
    /// once: a fork bomb stops there. Zero or less is an
    /// [`Error::InvalidOption`] when the container is created.
    pub fn pids_limit(mut self, limit: i64) -> Self {
        self.pids_limit = Some(limit);
        self
    }

    /// Mounts the container's root file system read-only: what it runs
    /// cannot change the image's files (mount a directory to write to).
    pub fn read_only_root(mut self) -> Self {
        self.read_only_root = true;
        self
    }

    /// Drops every Linux capability (`--cap-drop ALL`): even root inside
    /// the container cannot change ownership, bind low ports, or trace.
    pub fn drop_all_capabilities(mut self) -> Self {
        self.drop_all_capabilities = true;
        self
    }

    /// Sets `no-new-privileges`: no process in the container gains
    /// privileges through set-user-id programs or file capabilities.
    pub fn no_new_privileges(mut self) -> Self {
        self.no_new_privileges = true;
        self
    }

    /// All of [`read_only_root`](Self::read_only_root),
    /// [`drop_all_capabilities`](Self::drop_all_capabilities) and
    /// [`no_new_privileges`](Self::no_new_privileges), for running code
    /// nobody vetted (add a network, memory, pids and user of your choice).
    pub fn locked_down(self) -> Self {
        self.read_only_root()
            .drop_all_capabilities()
            .no_new_privileges()
    }

    /// Adds a label to the container (to find or clean up what you started).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Publishes the container's TCP `port` on a free port of the daemon's
    /// host (detached containers; see
    /// [`RunningContainer::host_port`](crate::RunningContainer::host_port)
    /// and [`host_address`](crate::RunningContainer::host_address)).
    ///
    /// A local daemon (a unix socket, or `tcp://` to a loopback address)
    /// binds it to the loopback interface only. A remote daemon binds it to
    /// all the interfaces of its host (`0.0.0.0`), so that this machine can
    /// reach it: the port is then exposed on the remote host's network, to
    /// whoever can reach that host.
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

    /// Kills and removes the container if it has not finished after
    /// `timeout`, counted from the start of [`Docker::run`](crate::Docker::run)
    /// (its requests included); stdin still being written does not delay it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The most a run keeps of each of stdout and stderr, in bytes
    /// ([`DEFAULT_OUTPUT_LIMIT`] unless set). A container that writes more on
    /// either stream is killed and removed, and the run fails with
    /// [`Error::OutputTooLarge`], naming the stream.
    pub fn output_limit(mut self, bytes: u64) -> Self {
        self.output_limit = bytes;
        self
    }

    /// Sets what to do when the image is missing.
    pub fn pull(mut self, policy: PullPolicy) -> Self {
        self.pull = policy;
        self
    }

    /// Refuses what the daemon would refuse, or silently misread, before
    /// anything is sent.
    pub(crate) fn validate(&self) -> Result<()> {
        let invalid = |option, value: String, reason| {
            Err(Error::InvalidOption {
                option,
                value,
                reason,
            })
        };
        if self.image.trim().is_empty() {
            return invalid(
                "image",
                format!("{:?}", self.image),
                "the image name is empty",
            );
        }
        if let Some(cpus) = self.cpus {
            if !cpus.is_finite() || cpus <= 0.0 {
                return invalid(
                    "cpus",
                    cpus.to_string(),
                    "must be a positive number of CPUs",
                );
            }
            if cpus * 1e9 < 1.0 {
                return invalid("cpus", cpus.to_string(), "below a billionth of a CPU");
            }
        }
        if let Some(bytes) = self.memory_bytes {
            if bytes < MIN_MEMORY_BYTES {
                return invalid(
                    "memory_bytes",
                    bytes.to_string(),
                    "below the daemon's minimum of 6 MiB (6291456 bytes)",
                );
            }
            if i64::try_from(bytes).is_err() {
                return invalid("memory_bytes", bytes.to_string(), "too large");
            }
        }
        for mount in &self.mounts {
            if !mount.host_path.is_absolute() {
                return invalid(
                    "mount",
                    mount.host_path.display().to_string(),
                    "the host path must be absolute (a relative one would name a volume)",
                );
            }
            if !mount.container_path.starts_with('/') {
                return invalid(
                    "mount",
                    mount.container_path.clone(),
                    "the container path must be absolute",
                );
            }
            if mount
                .host_path
                .to_str()
                .is_none_or(|path| path.contains(':'))
                || mount.container_path.contains(':')
            {
                return invalid(
                    "mount",
                    mount.host_path.display().to_string(),
                    "paths with `:` (or not UTF-8) cannot be bind-mounted",
                );
            }
        }
        if self.output_limit == 0 {
            return invalid("output_limit", "0".into(), "must be at least one byte");
        }
        for (path, size) in &self.tmpfs {
            if !path.starts_with('/') || path.contains([':', ',']) {
                return invalid(
                    "tmpfs",
                    path.clone(),
                    "the container path must be absolute, without `:` or `,`",
                );
            }
            if *size == 0 {
                return invalid("tmpfs", path.clone(), "the size must be at least one byte");
            }
        }
        if let Some(limit) = self.pids_limit {
            if limit <= 0 {
                // The daemon reads 0 and -1 as "no limit".
                return invalid(
                    "pids_limit",
                    limit.to_string(),
                    "must be at least one process",
                );
            }
        }
        Ok(())
    }

    /// The body of `POST /containers/create`. Published ports are bound to
    /// the loopback interface of a local daemon (`local_ports`), to all the
    /// interfaces of a remote one.
    pub(crate) fn to_create_body(
        &self,
        auto_remove: bool,
        local_ports: bool,
    ) -> ContainerCreateBody {
        let with_stdin = self.stdin.is_some();
        let binds: Vec<String> = self
            .mounts
            .iter()
            .map(|m| {
                let mode = if m.read_only { ":ro" } else { "" };
                format!("{}:{}{mode}", m.host_path.display(), m.container_path)
            })
            .collect();
        let ports: Vec<String> = self
            .published_ports
            .iter()
            .map(|port| format!("{port}/tcp"))
            .collect();
        let host_ip = if local_ports { "127.0.0.1" } else { "0.0.0.0" };
        let bindings: HashMap<String, Option<Vec<PortBinding>>> = ports
            .iter()
            .map(|port| {
                let binding = PortBinding {
                    host_ip: Some(host_ip.to_owned()),
                    host_port: Some(String::new()),
                };
                (port.clone(), Some(vec![binding]))
            })
            .collect();
        let host_config = HostConfig {
            auto_remove: Some(auto_remove),
            binds: Some(binds),
            network_mode: self.network.clone(),
            memory: self
                .memory_bytes
                .and_then(|bytes| i64::try_from(bytes).ok()),
            nano_cpus: self.cpus.map(|cpus| (cpus * 1e9).round() as i64),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            pids_limit: self.pids_limit,
            tmpfs: (!self.tmpfs.is_empty()).then(|| {
                self.tmpfs
                    .iter()
                    .map(|(path, size)| (path.clone(), format!("rw,noexec,nosuid,size={size}")))
                    .collect()
            }),
            readonly_rootfs: self.read_only_root.then_some(true),
            cap_drop: self.drop_all_capabilities.then(|| vec!["ALL".to_owned()]),
            security_opt: self
                .no_new_privileges
                .then(|| vec!["no-new-privileges".to_owned()]),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(self.image.clone()),
            entrypoint: self.entrypoint.clone(),
            cmd: (!self.command.is_empty()).then(|| self.command.clone()),
            env: Some(self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: self.working_dir.clone(),
            user: self.user.clone(),
            labels: Some(self.labels.clone().into_iter().collect()),
            // StdinOnce closes the container's stdin when the attached client
            // closes its side: without it, `dot` would wait for input for ever.
            attach_stdin: Some(with_stdin),
            open_stdin: Some(with_stdin),
            stdin_once: Some(with_stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            exposed_ports: (!ports.is_empty()).then_some(ports),
            host_config: Some(host_config),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_body(options: &RunOptions, local: bool) -> serde_json::Value {
        serde_json::to_value(options.to_create_body(true, local)).unwrap()
    }

    #[test]
    fn stdin_turns_on_stdin_once_and_limits_reach_the_host_config() {
        let options = RunOptions::new("img")
            .entrypoint(["sh", "-c"])
            .command(["cat"])
            .stdin(b"x".to_vec())
            .mount("/data", "/in", true)
            .network("none")
            .memory_bytes(64 << 20)
            .cpus(0.5)
            .publish_port(5672);
        options.validate().unwrap();
        let body = json_body(&options, true);
        assert_eq!(body["StdinOnce"], json!(true));
        assert_eq!(body["OpenStdin"], json!(true));
        assert_eq!(body["Entrypoint"], json!(["sh", "-c"]));
        assert_eq!(body["ExposedPorts"], json!({"5672/tcp": {}}));
        assert_eq!(body["HostConfig"]["AutoRemove"], json!(true));
        assert_eq!(body["HostConfig"]["Binds"], json!(["/data:/in:ro"]));
        assert_eq!(body["HostConfig"]["NetworkMode"], json!("none"));
        assert_eq!(body["HostConfig"]["Memory"], json!(64 << 20));
        assert_eq!(body["HostConfig"]["NanoCpus"], json!(500_000_000u64));
        assert_eq!(
            body["HostConfig"]["PortBindings"]["5672/tcp"][0],
            json!({"HostIp": "127.0.0.1", "HostPort": ""})
        );
        let remote = json_body(&options, false);
        assert_eq!(
            remote["HostConfig"]["PortBindings"]["5672/tcp"][0]["HostIp"],
            json!("0.0.0.0")
        );
    }

    #[test]
    fn a_locked_down_container_has_a_read_only_root_no_capabilities_and_no_new_privileges() {
        let options = RunOptions::new("img")
            .locked_down()
            .pids_limit(64)
            .tmpfs("/tmp", 1 << 20);
        options.validate().unwrap();
        let host = &json_body(&options, true)["HostConfig"];
        assert_eq!(
            host["Tmpfs"],
            json!({"/tmp": "rw,noexec,nosuid,size=1048576"})
        );
        assert_eq!(host["ReadonlyRootfs"], json!(true));
        assert_eq!(host["CapDrop"], json!(["ALL"]));
        assert_eq!(host["SecurityOpt"], json!(["no-new-privileges"]));
        assert_eq!(host["PidsLimit"], json!(64));
        let plain = &json_body(&RunOptions::new("img"), true)["HostConfig"];
        for field in ["ReadonlyRootfs", "CapDrop", "SecurityOpt", "PidsLimit"] {
            assert!(plain.get(field).is_none_or(|v| v.is_null()), "{field}");
        }
        for bad in [
            RunOptions::new("img").tmpfs("tmp", 1),
            RunOptions::new("img").tmpfs("/tmp", 0),
        ] {
            let err = bad.validate().unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidOption {
                        option: "tmpfs",
                        ..
                    }
                ),
                "{err:?}"
            );
        }
        for limit in [0, -1] {
            let err = RunOptions::new("img")
                .pids_limit(limit)
                .validate()
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidOption {
                        option: "pids_limit",
                        ..
                    }
                ),
                "{err:?}"
            );
        }
    }

    #[test]
    fn without_stdin_nothing_is_attached_to_it() {
        let body = json_body(&RunOptions::new("img"), true);
        assert_eq!(body["StdinOnce"], json!(false));
        assert_eq!(body["AttachStdin"], json!(false));
        assert!(body.get("Cmd").is_none());
    }

    fn refused(options: RunOptions) -> &'static str {
        match options.validate() {
            Err(Error::InvalidOption { option, .. }) => option,
            other => panic!("expected InvalidOption, got {other:?}"),
        }
    }

    #[test]
    fn impossible_limits_and_relative_mounts_are_refused() {
        let base = || RunOptions::new("img");
        assert_eq!(refused(base().cpus(-1.0)), "cpus");
        assert_eq!(refused(base().cpus(f64::NAN)), "cpus");
        assert_eq!(refused(base().cpus(0.0)), "cpus");
        assert_eq!(refused(base().cpus(f64::INFINITY)), "cpus");
        assert_eq!(refused(base().memory_bytes(0)), "memory_bytes");
        assert_eq!(
            refused(base().memory_bytes(MIN_MEMORY_BYTES - 1)),
            "memory_bytes"
        );
        assert_eq!(refused(base().mount("data", "/in", false)), "mount");
        assert_eq!(refused(base().mount("/data", "in", false)), "mount");
        assert_eq!(refused(base().output_limit(0)), "output_limit");
        assert_eq!(refused(RunOptions::new(" ")), "image");
        base()
            .cpus(0.01)
            .memory_bytes(MIN_MEMORY_BYTES)
            .validate()
            .unwrap();
    }
}
