//! The one error type of dock-lite.

use std::time::Duration;

/// A boxed error from the layer below (the HTTP client or the OS), kept as a
/// source so that no backend type appears in dock-lite's API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in dock-lite.
///
/// Each variant names what failed and carries the input that caused it; the
/// daemon's own message is kept whenever the daemon sent one. A host is
/// shown with any credentials masked (`tcp://***@host:2376`), in `Display`
/// and `Debug` alike.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `DOCKER_HOST` (or the host given) is not a URL dock-lite can use.
    #[error("malformed Docker host {host:?}: {reason}")]
    MalformedHost {
        /// The host as given, with any credentials (`user:password@`, a
        /// query) masked.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Nothing answered at the Docker host.
    #[error("the Docker daemon at {host} is unreachable")]
    DaemonUnreachable {
        /// The host that was tried.
        host: String,
        /// Why the connection failed.
        #[source]
        source: BoxError,
    },

    /// The daemon's socket exists but this user may not use it.
    #[error("permission denied on the Docker socket {host} (is this user in the `docker` group?)")]
    PermissionDenied {
        /// The host that was tried.
        host: String,
        /// The OS error.
        #[source]
        source: BoxError,
    },

    /// The daemon did not answer within the time allowed.
    #[error("{operation}{} got no answer from the Docker daemon at {host} within {timeout:?}", concerning(.resource))]
    DaemonTimeout {
        /// What was being done.
        operation: &'static str,
        /// The daemon's address.
        host: String,
        /// The container (its id), image or build context concerned, when
        /// there is one.
        resource: Option<String>,
        /// The time allowed.
        timeout: Duration,
    },

    /// The daemon speaks no Engine API version dock-lite can use.
    #[error("the Docker daemon at {host} speaks Engine API {daemon_min} to {daemon_max}; dock-lite speaks up to {client_max}")]
    UnsupportedApiVersion {
        /// The daemon's address.
        host: String,
        /// The oldest version the daemon accepts.
        daemon_min: String,
        /// The newest version the daemon speaks.
        daemon_max: String,
        /// The newest version dock-lite speaks.
        client_max: String,
    },

    /// The TLS files (`DOCKER_CERT_PATH`) could not be loaded.
    #[error("cannot use the TLS file {path}: {reason}")]
    TlsConfig {
        /// The file concerned (the CA, the client certificate or its key).
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// The TLS session with the daemon failed: an untrusted server
    /// certificate, or a client certificate the daemon refused.
    #[error("the TLS session with the Docker daemon at {host} failed")]
    Tls {
        /// The daemon's address.
        host: String,
        /// The TLS error.
        #[source]
        source: BoxError,
    },

    /// An option was refused before anything was sent to the daemon.
    #[error("invalid option {option} = {value}: {reason}")]
    InvalidOption {
        /// The option, as named by its builder method (`cpus`, `memory_bytes`, `mount`...).
        option: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A container wrote more than allowed on one of its streams; it was
    /// killed and removed.
    #[error("container of image {image:?} wrote more than {limit} bytes on {stream} ({received} bytes received); it was killed and removed")]
    OutputTooLarge {
        /// The image that was run.
        image: String,
        /// The stream that went over the limit.
        stream: crate::run::OutputStream,
        /// The limit, in bytes.
        limit: u64,
        /// How many bytes of that stream had arrived when it was cut.
        received: u64,
    },

    /// The image is not present locally (and the pull policy did not allow pulling it).
    #[error("image {image:?} is not present locally")]
    ImageNotFound {
        /// The image asked for.
        image: String,
    },

    /// The daemon refused a request; `message` is what it said.
    #[error("{operation}{} failed: the Docker daemon at {host} answered {status}: {message}", concerning(.resource))]
    Daemon {
        /// What was being done.
        operation: &'static str,
        /// The daemon's address.
        host: String,
        /// The container (its id), image or build context concerned, when
        /// there is one.
        resource: Option<String>,
        /// The HTTP status code.
        status: u16,
        /// The daemon's message.
        message: String,
    },

    /// A request failed below the HTTP layer, or its answer could not be read.
    #[error("{operation}{} failed on the connection to the Docker daemon at {host}", concerning(.resource))]
    Transport {
        /// What was being done.
        operation: &'static str,
        /// The daemon's address.
        host: String,
        /// The container (its id), image or build context concerned, when
        /// there is one.
        resource: Option<String>,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// A container ran longer than its timeout; it was killed and removed.
    #[error(
        "container of image {image:?} did not finish within {timeout:?}; it was killed and removed"
    )]
    RunTimeout {
        /// The image that was run.
        image: String,
        /// The timeout that ran out.
        timeout: Duration,
    },

    /// A pull failed; `message` is the daemon's (or the registry's) reason.
    #[error("pulling image {image:?} failed: {message}")]
    PullFailed {
        /// The image asked for.
        image: String,
        /// Why.
        message: String,
    },

    /// The container does not publish the port asked about.
    #[error("container {container} does not publish port {port}")]
    PortNotPublished {
        /// The container's id.
        container: String,
        /// The container port.
        port: u16,
    },

    /// A detached container did not become ready in time.
    #[error("container {container} did not show {waited_for} within {timeout:?}")]
    NotReady {
        /// The container's id.
        container: String,
        /// What was waited for.
        waited_for: String,
        /// The time allowed.
        timeout: Duration,
    },

    /// A build failed at one of its steps.
    #[error("building {context} failed at step {step:?}: {message}")]
    BuildFailed {
        /// The build context directory.
        context: std::path::PathBuf,
        /// The step that failed (e.g. `Step 3/5 : RUN make`), when known.
        step: Option<String>,
        /// The daemon's error message.
        message: String,
        /// The last lines of the build output.
        log_tail: Vec<String>,
    },

    /// The build context could not be read or packed.
    #[error("cannot pack the build context {context}")]
    BuildContext {
        /// The build context directory.
        context: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: BoxError,
    },

    /// A blocking call was made from inside an async runtime, where it would
    /// block the runtime's thread (and tokio would panic).
    #[error("dock-lite's blocking API was called from inside an async runtime; call it from a plain thread or through tokio::task::spawn_blocking")]
    InsideAsyncRuntime,

    /// dock-lite could not start its background runtime.
    #[error("cannot start dock-lite's runtime thread")]
    Runtime {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The result type of dock-lite.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// ` (resource)` after an operation's name, when there is one.
fn concerning(resource: &Option<String>) -> String {
    resource
        .as_ref()
        .map(|resource| format!(" ({resource})"))
        .unwrap_or_default()
}

impl Error {
    /// The same error, naming `resource` (a container id, an image, a build
    /// context) if it concerns a request to the daemon and names none yet:
    /// the innermost call, which knows best, names it first.
    pub(crate) fn concerning(mut self, resource: &str) -> Error {
        if let Error::DaemonTimeout { resource: slot, .. }
        | Error::Daemon { resource: slot, .. }
        | Error::Transport { resource: slot, .. } = &mut self
        {
            slot.get_or_insert_with(|| resource.to_owned());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_errors_name_the_host_and_the_innermost_resource() {
        let err = Error::DaemonTimeout {
            operation: "stop container",
            host: "unix:///var/run/docker.sock".into(),
            resource: None,
            timeout: Duration::from_secs(11),
        }
        .concerning("0123abcd")
        .concerning("alpine:3.20");
        assert_eq!(
            err.to_string(),
            "stop container (0123abcd) got no answer from the Docker daemon at unix:///var/run/docker.sock within 11s"
        );
        let err = Error::Daemon {
            operation: "list containers",
            host: "tcp://***@host:2376".into(),
            resource: None,
            status: 500,
            message: "boom".into(),
        };
        assert_eq!(
            err.to_string(),
            "list containers failed: the Docker daemon at tcp://***@host:2376 answered 500: boom"
        );
    }
}
