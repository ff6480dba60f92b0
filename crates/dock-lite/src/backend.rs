//! Turning bollard's errors into dock-lite's, keeping the daemon's message.

use std::error::Error as StdError;
use std::io::ErrorKind;

use crate::error::{BoxError, Error};
use crate::host::DockerHost;

/// Converts `err`, raised while doing `operation` against `host`.
pub(crate) fn convert(
    host: &DockerHost,
    operation: &'static str,
    err: bollard::errors::Error,
) -> Error {
    use bollard::errors::Error as Bollard;
    match err {
        Bollard::DockerResponseServerError {
            status_code,
            message,
        } => Error::Daemon {
            operation,
            host: host.to_string(),
            resource: None,
            status: status_code,
            message,
        },
        err => classify(host, operation, Box::new(err)),
    }
}

/// Sorts an error below the HTTP layer: a connection that could not be
/// opened (unreachable daemon, refused permission), a failed TLS session,
/// or anything else.
pub(crate) fn classify(host: &DockerHost, operation: &'static str, err: BoxError) -> Error {
    let mut tls = false;
    let mut connect = false;
    let mut kinds = Vec::new();
    for cause in causes(err.as_ref()) {
        if cause.is::<crate::transport::TlsFailure>() || is_rustls_error(cause) {
            tls = true;
        }
        if let Some(legacy) = cause.downcast_ref::<hyper_util::client::legacy::Error>() {
            connect |= legacy.is_connect();
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            kinds.push(io.kind());
        }
    }
    // Wrappers say `Other`; the OS's error says what happened.
    let kind = kinds.into_iter().find(|kind| *kind != ErrorKind::Other);
    if tls {
        return Error::Tls {
            host: host.to_string(),
            source: err,
        };
    }
    match kind {
        Some(ErrorKind::PermissionDenied) => Error::PermissionDenied {
            host: host.to_string(),
            source: err,
        },
        Some(
            ErrorKind::NotFound
            | ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::AddrNotAvailable
            | ErrorKind::TimedOut,
        ) => Error::DaemonUnreachable {
            host: host.to_string(),
            source: err,
        },
        _ if connect => Error::DaemonUnreachable {
            host: host.to_string(),
            source: err,
        },
        _ => Error::Transport {
            operation,
            host: host.to_string(),
            resource: None,
            source: err,
        },
    }
}

/// `err` and its causes. bollard's transparent variants hide the error
/// they wrap from `source()`, and `io::Error::source()` skips the error it
/// wraps: both are looked into here.
fn causes<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut found = Vec::new();
    let mut pending = vec![err];
    while let Some(current) = pending.pop() {
        if found.len() > 32 {
            break;
        }
        found.push(current);
        if let Some(bollard) = current.downcast_ref::<bollard::errors::Error>() {
            use bollard::errors::Error as Bollard;
            match bollard {
                Bollard::IOError { err } => pending.push(err),
                Bollard::HyperResponseError { err } => pending.push(err),
                _ => {}
            }
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            pending.push(inner);
        }
        if let Some(source) = current.source() {
            pending.push(source);
        }
    }
    found
}

#[cfg(feature = "tls")]
fn is_rustls_error(err: &(dyn StdError + 'static)) -> bool {
    err.is::<tokio_rustls::rustls::Error>()
}

#[cfg(not(feature = "tls"))]
fn is_rustls_error(_: &(dyn StdError + 'static)) -> bool {
    false
}
