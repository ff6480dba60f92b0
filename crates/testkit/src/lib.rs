//! Test support for the workspace: which container images the tests use, a
//! loud failure when Docker is not there, and RabbitMQ brokers: one shared
//! by the tests of a process ([`shared_broker`]), brokers of a test's own
//! ([`Broker::start`]: memory alarms, pauses, settings of its own) and
//! brokers that restart at the same address ([`RestartableBroker`]). Each
//! broker start is bounded (90 s, tried twice).
//!
//! Each image is named by an environment variable whose default is the
//! official image. When the variable is unset and the official image is not
//! present locally but the offline fallback built by `scripts/test-images`
//! is, the fallback is used, so a plain `cargo test` works once the images
//! exist.
#![deny(missing_docs)]

use std::process::{Command, Stdio};

mod broker;
pub use broker::{
    docker, free_port, remove_container_at_exit, shared_broker, Broker, RestartableBroker,
};

/// A container image that tests need, with its official name and the name of
/// the fallback that `scripts/test-images` builds offline.
#[derive(Debug, Clone, Copy)]
pub struct TestImage {
    /// The environment variable that overrides the image name.
    pub variable: &'static str,
    /// The default: the official image.
    pub official: &'static str,
    /// What `scripts/test-images` builds when the official image cannot be pulled.
    pub offline: &'static str,
}

/// The RabbitMQ broker.
pub const RABBITMQ: TestImage = TestImage {
    variable: "RABBITMQ_IMAGE",
    official: "rabbitmq:4.1",
    offline: "ondemand-local/rabbitmq:bookworm",
};

/// A small base image with a POSIX shell (`sh`, `cat`, `true`, `sleep`); it is
/// also the base of the Graphviz image.
pub const BASE: TestImage = TestImage {
    variable: "BASE_IMAGE",
    official: "alpine:3.20",
    offline: "ondemand-local/debian:bookworm",
};

/// The Graphviz image built from `dockerfiles/graphviz` (on [`BASE`]).
pub const GRAPHVIZ: TestImage = TestImage {
    variable: "GRAPHVIZ_IMAGE",
    official: "ondemand-platform/graphviz:latest",
    offline: "ondemand-platform/graphviz:latest",
};

impl TestImage {
    /// The image to use: the variable's value if set, else the official
    /// image if present locally, else the offline one if present, else the
    /// official name (which Docker will try to pull).
    pub fn name(&self) -> String {
        if let Ok(value) = std::env::var(self.variable) {
            if !value.trim().is_empty() {
                return value.trim().to_owned();
            }
        }
        if !image_present(self.official) && image_present(self.offline) {
            return self.offline.to_owned();
        }
        self.official.to_owned()
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
