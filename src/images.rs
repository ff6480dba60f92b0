//! The container images the platform runs: their names, which live in
//! `dockerfiles/images.env` only, and getting them ready, which
//! `scripts/test-images` does (the image if present, else the official one
//! pulled, else the offline fallback built from a Debian root file system,
//! with progress on stderr).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::PlatformError;

/// `dockerfiles/images.env`, built in.
const IMAGES_ENV: &str = include_str!("../dockerfiles/images.env");

/// The longest the preparation may take: building the offline images from
/// nothing takes about two minutes here.
pub const PREPARE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The value of `name` in `dockerfiles/images.env`.
fn named(name: &str) -> String {
    IMAGES_ENV
        .lines()
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default()
}

/// The Graphviz image's default name.
pub fn default_graphviz() -> String {
    named("GRAPHVIZ")
}

/// The broker's official image.
pub fn official_rabbitmq() -> String {
    named("OFFICIAL_RABBITMQ")
}

/// The images to run, once ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// A small image with a POSIX shell; the Graphviz image's base.
    pub base: String,
    /// The broker.
    pub rabbitmq: String,
    /// `dot` as entrypoint.
    pub graphviz: String,
}

impl Images {
    /// Runs `scripts/test-images` in the checkout at `root` (variables
    /// such as `RABBITMQ_IMAGE` choose other images), its progress shown on
    /// stderr, within [`PREPARE_TIMEOUT`].
    pub fn prepare(root: &Path) -> Result<Images, PlatformError> {
        let script = root.join("scripts/test-images");
        let failed = |reason: String| PlatformError::ImagePreparation {
            script: script.clone(),
            reason,
        };
        let mut child = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| failed(format!("cannot run it: {err}")))?;
        // Its output is three short lines: read once it has exited.
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > PREPARE_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(failed(format!("it took over {PREPARE_TIMEOUT:?}")));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                Err(err) => return Err(failed(format!("cannot wait for it: {err}"))),
            }
        };
        let mut stdout = String::new();
        if let Some(mut out) = child.stdout.take() {
            use std::io::Read;
            let _ = out.read_to_string(&mut stdout);
        }
        if !status.success() {
            return Err(failed(format!("it failed ({status}); its output is above")));
        }
        let exported = |name: &str| {
            stdout
                .lines()
                .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.replace('\\', ""))
                .ok_or_else(|| failed(format!("it exported no {name}")))
        };
        Ok(Images {
            base: exported("BASE_IMAGE")?,
            rabbitmq: exported("RABBITMQ_IMAGE")?,
            graphviz: exported("GRAPHVIZ_IMAGE")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkout_without_the_script_is_a_typed_error() {
        let dir = std::env::temp_dir().join("ondemand-images-test-no-checkout");
        let err = Images::prepare(&dir).unwrap_err();
        assert!(
            matches!(&err, PlatformError::ImagePreparation { script, .. }
                if script.ends_with("scripts/test-images")),
            "{err:?}"
        );
        assert!(err.to_string().contains("failed"), "{err}");
    }

    #[test]
    fn the_names_come_from_the_one_file() {
        assert_eq!(default_graphviz(), "ondemand-platform/graphviz:latest");
        assert!(official_rabbitmq().starts_with("rabbitmq:"));
    }
}
