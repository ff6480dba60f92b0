//! How long each call may wait on the daemon.

use std::time::Duration;

/// How long [`Docker::ping`](crate::Docker::ping) and
/// [`Docker::version`](crate::Docker::version) wait for the daemon by default.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The deadlines of a [`Docker`](crate::Docker)'s calls. A daemon that
/// accepts a connection and never answers makes each call fail with
/// [`Error::DaemonTimeout`](crate::Error::DaemonTimeout) once its deadline
/// has passed. Each deadline covers the whole call: connecting (and the TLS
/// handshake), agreeing on the API version on first use, the request and
/// its answer.
///
/// | calls | deadline | default |
/// |---|---|---|
/// | `ping`, `version` | [`ping`](Self::ping) | 2 s |
/// | `image_exists`, `list_images`, `remove_image`, `list_containers`, creating, starting, inspecting and removing a container, `logs`, `host_port` | [`request`](Self::request) | 10 s |
/// | `stop(grace)` | `grace` + [`request`](Self::request) | 10 s + grace |
/// | `build`: the daemon's first answer after it read the last byte of the context | [`request`](Self::request) | 10 s |
/// | `build`: the whole build | [`build`](Self::build) | 30 min |
/// | `pull_image`: the daemon's first answer | [`request`](Self::request) | 10 s |
/// | `pull_image`: the whole pull | [`pull`](Self::pull) | 30 min |
///
/// A [`run`](crate::Docker::run) makes its requests (create, attach, start)
/// within [`request`](Self::request) each; the container's own run time is
/// bounded by [`RunOptions::timeout`](crate::RunOptions::timeout).
///
/// ```
/// use std::time::Duration;
/// let timeouts = dock_lite::Timeouts::default().request(Duration::from_secs(5));
/// assert_eq!(timeouts.ping, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// `ping` and `version`.
    pub ping: Duration,
    /// Every call answered with one response, and the first answer of a
    /// build or a pull.
    pub request: Duration,
    /// A whole build, once the daemon has started answering.
    pub build: Duration,
    /// A whole pull.
    pub pull: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            ping: PING_TIMEOUT,
            request: Duration::from_secs(10),
            build: Duration::from_secs(30 * 60),
            pull: Duration::from_secs(30 * 60),
        }
    }
}

impl Timeouts {
    /// Sets the deadline of `ping` and `version`.
    pub fn ping(mut self, timeout: Duration) -> Self {
        self.ping = timeout;
        self
    }

    /// Sets the deadline of the calls answered with one response.
    pub fn request(mut self, timeout: Duration) -> Self {
        self.request = timeout;
        self
    }

    /// Sets the deadline of a whole build.
    pub fn build(mut self, timeout: Duration) -> Self {
        self.build = timeout;
        self
    }

    /// Sets the deadline of a whole pull.
    pub fn pull(mut self, timeout: Duration) -> Self {
        self.pull = timeout;
        self
    }
}
