//! Turning the async client's errors into dock-lite's, keeping the daemon's message.

use std::error::Error as _;
use std::io::ErrorKind;

use crate::error::{BoxError, Error};
use crate::host::DockerHost;

/// Converts `err`, raised while doing `operation` against `host`.
pub(crate) fn convert(host: &DockerHost, operation: &'static str, err: shiplift::Error) -> Error {
    if let shiplift::Error::Fault { code, message } = &err {
        return Error::Daemon {
            operation,
            status: code.as_u16(),
            message: daemon_message(message),
        };
    }
    match io_error_kind(&err) {
        Some(kind @ ErrorKind::PermissionDenied) => connect_failed(host, kind, Box::new(err)),
        Some(
            kind @ (ErrorKind::NotFound
            | ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::AddrNotAvailable
            | ErrorKind::TimedOut),
        ) => connect_failed(host, kind, Box::new(err)),
        _ if is_connect_error(&err) => connect_failed(host, ErrorKind::Other, Box::new(err)),
        _ => Error::Transport {
            operation,
            source: Box::new(err),
        },
    }
}

/// The error for a connection to `host` that failed with an I/O error of
/// `kind`: refused permission, or no daemon there.
pub(crate) fn connect_failed(host: &DockerHost, kind: ErrorKind, source: BoxError) -> Error {
    match kind {
        ErrorKind::PermissionDenied => Error::PermissionDenied {
            host: host.to_string(),
            source,
        },
        _ => Error::DaemonUnreachable {
            host: host.to_string(),
            source,
        },
    }
}

/// The daemon answers errors as `{"message": "..."}`; keep just the text.
pub(crate) fn daemon_message(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct DaemonError {
        message: String,
    }
    match serde_json::from_str::<DaemonError>(body) {
        Ok(parsed) => parsed.message,
        Err(_) => body.trim().to_owned(),
    }
}

/// The kind of the first I/O error in `err`'s source chain.
fn io_error_kind(err: &shiplift::Error) -> Option<ErrorKind> {
    if let shiplift::Error::IO(io) = err {
        return Some(io.kind());
    }
    // shiplift does not give its hyper error as a source: start from it.
    let mut source = match err {
        shiplift::Error::Hyper(hyper) => Some(hyper as &(dyn std::error::Error + 'static)),
        other => other.source(),
    };
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = current.source();
    }
    None
}

fn is_connect_error(err: &shiplift::Error) -> bool {
    matches!(err, shiplift::Error::Hyper(hyper) if hyper.is_connect())
}

#[cfg(test)]
mod tests {
    use super::daemon_message;

    #[test]
    fn keeps_the_daemons_message_text() {
        assert_eq!(
            daemon_message(r#"{"message":"No such image: nope:latest"}"#),
            "No such image: nope:latest"
        );
        assert_eq!(daemon_message("plain text\n"), "plain text");
    }
}
