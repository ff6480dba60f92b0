//! Where the Docker daemon is: `DOCKER_HOST`, checked before any client sees it.

use crate::error::{Error, Result};

/// The environment variable naming the daemon, as for the docker CLI.
pub const HOST_ENV_VAR: &str = "DOCKER_HOST";

/// The daemon's socket when `DOCKER_HOST` is unset.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// A validated Docker daemon address.
///
/// Its `Display` and `Debug` mask any credentials that a host built by
/// hand may hold (`tcp://***@host:2376`); [`parse`](Self::parse) accepts
/// none.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DockerHost {
    /// A unix socket, from `unix:///path`.
    Unix(String),
    /// A daemon reached over TCP, from `tcp://host:port` or
    /// `http://host:port`: plain HTTP with
    /// [`Docker::connect_to`](crate::Docker::connect_to), HTTPS with client
    /// certificates with [`Docker::connect_with_tls`](crate::Docker::connect_with_tls)
    /// (which [`Docker::connect`](crate::Docker::connect) picks when
    /// `DOCKER_TLS_VERIFY` is set).
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
}

impl std::fmt::Display for DockerHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DockerHost::Unix(path) => write!(f, "unix://{path}"),
            DockerHost::Tcp { host, port } => {
                write!(f, "{}", mask_credentials(&format!("tcp://{host}:{port}")))
            }
        }
    }
}

impl std::fmt::Debug for DockerHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DockerHost::Unix(path) => f.debug_tuple("Unix").field(path).finish(),
            DockerHost::Tcp { host, port } => f
                .debug_struct("Tcp")
                .field("host", &mask_credentials(host))
                .field("port", port)
                .finish(),
        }
    }
}

/// `raw` with its credentials masked, for messages: whatever stands before
/// the last `@` of a URL's authority (`tcp://user:secret@host` gives
/// `tcp://***@host`; a password holding `/` or `@` is masked whole) and a
/// query (`?***`). A unix socket's path is kept whole: an `@` there is part
/// of a file name.
pub(crate) fn mask_credentials(raw: &str) -> String {
    if raw.starts_with("unix://") {
        return raw.to_owned();
    }
    let (scheme, rest) = match raw.find("://") {
        Some(at) => raw.split_at(at + 3),
        None => ("", raw),
    };
    let (user, rest) = match rest.rfind('@') {
        Some(at) => ("***@", &rest[at + 1..]),
        None => ("", rest),
    };
    match rest.split_once('?') {
        Some((before, _)) => format!("{scheme}{user}{before}?***"),
        None => format!("{scheme}{user}{rest}"),
    }
}

impl DockerHost {
    /// True when the daemon runs on this machine: a unix socket, or TCP to
    /// a loopback address. Published ports are then bound to the loopback
    /// interface only; those of a remote daemon on all its interfaces, so
    /// that this machine can reach them.
    pub fn is_local(&self) -> bool {
        match self {
            DockerHost::Unix(_) => true,
            DockerHost::Tcp { host, .. } => {
                let name = host.trim_start_matches('[').trim_end_matches(']');
                name.eq_ignore_ascii_case("localhost")
                    || name
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|address| address.is_loopback())
            }
        }
    }

    /// The host named by `DOCKER_HOST`, or the default unix socket when it is
    /// unset or empty.
    pub fn from_env() -> Result<DockerHost> {
        match std::env::var(HOST_ENV_VAR) {
            Ok(value) if !value.trim().is_empty() => DockerHost::parse(value.trim()),
            _ => Ok(DockerHost::Unix(DEFAULT_SOCKET.to_owned())),
        }
    }

    /// Parses `unix:///path`, `tcp://host:port` or `http://host:port`.
    /// `tcp://` without a port means 2375, Docker's plain-TCP port.
    pub fn parse(raw: &str) -> Result<DockerHost> {
        let malformed = |reason| Error::MalformedHost {
            host: mask_credentials(raw),
            reason,
        };
        if let Some(path) = raw.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(malformed(
                    "a unix socket path must be absolute (unix:///path)",
                ));
            }
            return Ok(DockerHost::Unix(path.to_owned()));
        }
        let rest = raw
            .strip_prefix("tcp://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or_else(|| {
                if raw.starts_with("https://") {
                    malformed("for TLS, use tcp://host:port with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH")
                } else if raw.starts_with("ssh://") {
                    malformed("SSH hosts are not supported; use unix:// or tcp://")
                } else {
                    malformed("expected unix:///path or tcp://host:port")
                }
            })?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() {
            return Err(malformed("the host name is missing"));
        }
        if authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(malformed("expected only host:port after the scheme"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            // An IPv6 address without a port, such as [::1].
            Some((_, tail)) if tail.ends_with(']') => (authority, None),
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err(malformed("the host name is missing"));
        }
        let port = match port {
            None => 2375,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|port| *port != 0)
                .ok_or_else(|| malformed("the port is not a number from 1 to 65535"))?,
        };
        Ok(DockerHost::Tcp {
            host: host.to_owned(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_and_tcp_hosts() {
        assert_eq!(
            DockerHost::parse("unix:///run/docker.sock").unwrap(),
            DockerHost::Unix("/run/docker.sock".into())
        );
        assert_eq!(
            DockerHost::parse("tcp://10.0.0.5:2376").unwrap(),
            DockerHost::Tcp {
                host: "10.0.0.5".into(),
                port: 2376
            }
        );
        assert_eq!(
            DockerHost::parse("tcp://docker").unwrap(),
            DockerHost::Tcp {
                host: "docker".into(),
                port: 2375
            }
        );
        assert_eq!(
            DockerHost::parse("tcp://[::1]:2375").unwrap(),
            DockerHost::Tcp {
                host: "[::1]".into(),
                port: 2375
            }
        );
    }

    #[test]
    fn loopback_and_unix_hosts_are_local() {
        for local in [
            "unix:///run/docker.sock",
            "tcp://127.0.0.1:2375",
            "tcp://localhost:1",
            "tcp://[::1]:2375",
        ] {
            assert!(DockerHost::parse(local).unwrap().is_local(), "{local}");
        }
        for remote in [
            "tcp://10.0.0.5:2376",
            "tcp://docker.example:2376",
            "tcp://172.17.0.1",
        ] {
            assert!(!DockerHost::parse(remote).unwrap().is_local(), "{remote}");
        }
    }

    #[test]
    fn credentials_are_masked() {
        for (raw, shown) in [
            ("tcp://user:secret@host:2375", "tcp://***@host:2375"),
            ("tcp://user:se/cr@et@host:2375", "tcp://***@host:2375"),
            ("ssh://me@host", "ssh://***@host"),
            ("user:secret@host:2375", "***@host:2375"),
            ("tcp://host:2375?token=secret", "tcp://host:2375?***"),
            ("tcp://host:2375/", "tcp://host:2375/"),
            ("unix:///run/a@b.sock", "unix:///run/a@b.sock"),
        ] {
            assert_eq!(mask_credentials(raw), shown, "{raw}");
        }
        let err = DockerHost::parse("tcp://user:secret@host:2375").unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("secret") && !text.contains("user"), "{text}");
        }
        let by_hand = DockerHost::Tcp {
            host: "user:secret@host".into(),
            port: 2375,
        };
        assert_eq!(by_hand.to_string(), "tcp://***@host:2375");
        assert!(!format!("{by_hand:?}").contains("secret"));
    }

    #[test]
    fn rejects_malformed_hosts_with_a_typed_error() {
        for bad in [
            "localhost:2375",
            "tcp://",
            "tcp://:2375",
            "tcp://host:notaport",
            "tcp://host:70000",
            "tcp://host:2375/path",
            "unix://relative.sock",
            "https://host:2376",
            "not a url",
        ] {
            assert!(
                matches!(DockerHost::parse(bad), Err(Error::MalformedHost { .. })),
                "{bad} was accepted"
            );
        }
    }
}
