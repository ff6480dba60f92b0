//! Agreeing on the Engine API version with the daemon, as the docker CLI
//! does: the daemon's newest version comes with its answer to a ping, and
//! the older of the two sides' newest versions is used (provided the daemon
//! still accepts it, when it says which it accepts). A fixed
//! version cannot serve every engine: Docker 20.10 refuses anything above
//! 1.41, Docker 29 anything below 1.44.

use std::fmt;

use crate::error::{Error, Result};
use crate::host::DockerHost;

/// An Engine API version, such as 1.41.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl ApiVersion {
    /// Parses `1.41`.
    pub fn parse(text: &str) -> Option<ApiVersion> {
        let (major, minor) = text.trim().split_once('.')?;
        Some(ApiVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// The newest version dock-lite speaks: that of bollard's models.
    pub fn newest_supported() -> ApiVersion {
        let version = bollard::API_DEFAULT_VERSION;
        ApiVersion {
            major: u32::try_from(version.major_version).unwrap_or(1),
            minor: u32::try_from(version.minor_version).unwrap_or(0),
        }
    }
}

/// The version to use with a daemon that speaks `daemon_max` and accepts
/// nothing older than `daemon_min` (when it says).
pub(crate) fn agree(
    host: &DockerHost,
    daemon_max: Option<&str>,
    daemon_min: Option<&str>,
) -> Result<ApiVersion> {
    let ours = ApiVersion::newest_supported();
    let Some(max) = daemon_max.and_then(ApiVersion::parse) else {
        return Err(Error::Transport {
            operation: "agree on the API version",
            host: host.to_string(),
            resource: None,
            source: format!(
                "the daemon's version answer has no usable ApiVersion ({daemon_max:?})"
            )
            .into(),
        });
    };
    let chosen = ours.min(max);
    match daemon_min.and_then(ApiVersion::parse) {
        Some(min) if chosen < min => Err(Error::UnsupportedApiVersion {
            host: host.to_string(),
            daemon_min: min.to_string(),
            daemon_max: max.to_string(),
            client_max: ours.to_string(),
        }),
        _ => Ok(chosen),
    }
}

/// `path` without a leading `/v1.41`-style version.
pub(crate) fn strip_version_prefix(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match ApiVersion::parse(&rest[..end]) {
        Some(_) => &rest[end..],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> DockerHost {
        DockerHost::Unix("/var/run/docker.sock".into())
    }

    #[test]
    fn the_older_of_the_two_newest_versions_is_chosen() {
        let old_engine = agree(&local(), Some("1.41"), Some("1.12")).unwrap();
        assert_eq!(old_engine.to_string(), "1.41");
        let newer_engine = agree(&local(), Some("1.52"), Some("1.44")).unwrap();
        assert_eq!(newer_engine.to_string(), "1.52");
        let future_engine = agree(&local(), Some("1.99"), None).unwrap();
        assert_eq!(future_engine, ApiVersion::newest_supported());
    }

    #[test]
    fn a_daemon_that_accepts_only_newer_versions_is_a_typed_error() {
        let err = agree(&local(), Some("2.10"), Some("2.0")).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedApiVersion { .. }),
            "{err:?}"
        );
        let err = agree(&local(), None, None).unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    }

    #[test]
    fn version_prefixes_are_recognised() {
        assert_eq!(
            strip_version_prefix("/v1.41/containers/json"),
            "/containers/json"
        );
        assert_eq!(strip_version_prefix("/version"), "/version");
        assert_eq!(strip_version_prefix("/volumes/x"), "/volumes/x");
        assert_eq!(strip_version_prefix("/v1.41"), "");
    }
}
