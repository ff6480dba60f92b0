//! Test support for the workspace: which container images the tests use, a
//! loud failure when Docker is not there, and RabbitMQ brokers: one shared
//! by the tests of a process ([`shared_broker`]), brokers of a test's own
//! ([`Broker::start`]: memory alarms, pauses, settings of its own) and
//! brokers that restart at the same address ([`RestartableBroker`]). Each
//! broker start is bounded (90 s, tried twice). A three-node [`Cluster`]
//! serves tests of failover and partitions, and [`tls`] a TLS proxy in
//! front of the Docker engine, as a remote engine has.
//!
//! Each image is named by an environment variable; unset, the image is the
//! one `scripts/test-images` resolves (present, else pulled, else the
//! offline fallback it builds), run once per process. The names live in
//! `dockerfiles/images.env` only.
#![deny(missing_docs)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

mod broker;
pub use broker::{
    docker, exit_after, free_port, remove_container_at_exit, run_at_exit, shared_broker, Broker,
    RestartableBroker,
};
mod cluster;
pub use cluster::Cluster;
pub mod tls;

/// A container image that tests need.
#[derive(Debug, Clone, Copy)]
pub struct TestImage {
    /// The environment variable that overrides the image name, and that
    /// `scripts/test-images` exports.
    pub variable: &'static str,
}

/// The RabbitMQ broker.
pub const RABBITMQ: TestImage = TestImage {
    variable: "RABBITMQ_IMAGE",
};

/// A small base image with a POSIX shell (`sh`, `cat`, `true`, `sleep`); it is
/// also the base of the Graphviz image.
pub const BASE: TestImage = TestImage {
    variable: "BASE_IMAGE",
};

/// The Graphviz image built from `dockerfiles/graphviz` (on [`BASE`]).
pub const GRAPHVIZ: TestImage = TestImage {
    variable: "GRAPHVIZ_IMAGE",
};

/// The workspace's root.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What `scripts/test-images` exports, run once per process (its progress
/// goes to stderr).
fn prepared() -> &'static HashMap<String, String> {
    static PREPARED: OnceLock<HashMap<String, String>> = OnceLock::new();
    PREPARED.get_or_init(|| {
        require_docker();
        let script = workspace_root().join("scripts/test-images");
        let output = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
        assert!(
            output.status.success(),
            "{} failed ({}): see its output above",
            script.display(),
            output.status
        );
        parse_exports(&String::from_utf8_lossy(&output.stdout))
    })
}

/// Reads `export NAME=value` lines.
pub fn parse_exports(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.replace('\\', "")))
        .collect()
}

impl TestImage {
    /// The image to use: the variable's value if set, else the image
    /// `scripts/test-images` resolved (which it prepares first).
    pub fn name(&self) -> String {
        if let Ok(value) = std::env::var(self.variable) {
            if !value.trim().is_empty() {
                return value.trim().to_owned();
            }
        }
        prepared()
            .get(self.variable)
            .cloned()
            .unwrap_or_else(|| panic!("scripts/test-images exported no {}", self.variable))
    }

    /// Like [`name`](Self::name), but fails the test with instructions when
    /// Docker is not answering or the image is not present.
    pub fn require(&self) -> String {
        require_docker();
        let name = self.name();
        assert!(
            image_present(&name),
            "the image {name} (from {var}) is not present. Prepare the test images with \
             `scripts/test-images` (it pulls the official image or builds an offline one), \
             or set {var} to an image you have.",
            var = self.variable,
        );
        name
    }
}

/// Splits `repository[:tag]` into repository and tag (`latest` when absent),
/// leaving a registry's `host:port/` prefix alone.
pub fn split_name_and_tag(image: &str) -> (&str, &str) {
    let name_start = image.rfind('/').map_or(0, |slash| slash + 1);
    match image[name_start..].rfind(':') {
        Some(colon) => (
            &image[..name_start + colon],
            &image[name_start + colon + 1..],
        ),
        None => (image, "latest"),
    }
}

/// True when Docker has the image locally.
pub fn image_present(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Fails the test, saying how to start Docker, when the engine does not answer.
pub fn require_docker() {
    let answer = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    let problem = match answer {
        Ok(output) if output.status.success() => return,
        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        Err(err) => format!("cannot run the docker CLI: {err}"),
    };
    panic!(
        "this test needs the Docker engine, which does not answer ({problem}). \
         Start it (e.g. `sudo systemctl start docker`, or `sudo dockerd &`), \
         check that `docker version` shows a Server section, then run `scripts/test`."
    );
}

#[cfg(test)]
mod tests {
    use super::split_name_and_tag;

    #[test]
    fn splits_names_with_and_without_tags_and_registries() {
        assert_eq!(split_name_and_tag("rabbitmq:4.1"), ("rabbitmq", "4.1"));
        assert_eq!(split_name_and_tag("alpine"), ("alpine", "latest"));
        assert_eq!(
            split_name_and_tag("host:5000/team/img:1"),
            ("host:5000/team/img", "1")
        );
        assert_eq!(
            split_name_and_tag("host:5000/team/img"),
            ("host:5000/team/img", "latest")
        );
    }
}
