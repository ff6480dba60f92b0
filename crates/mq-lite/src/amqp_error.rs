//! What amiquip's errors mean: a channel the broker closed, a lost
//! connection, or the broker refusing a request with a reply code; and the
//! context a call gives its errors. A leaf: the connection and channel
//! layers both sort their errors here.

use std::time::Duration;

use crate::error::{boxed, BoxError, Error};

/// What a call is, for its errors.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub operation: &'static str,
    pub queue: &'a str,
    /// The broker's `host:port`.
    pub address: &'a str,
    /// The timeout the call's deadline came from.
    pub timeout: Duration,
    /// The body size of a publish (of a batch's largest message).
    pub bytes: usize,
}

impl Call<'_> {
    /// The broker blocks the connection, so the call was refused or given up.
    pub fn blocked(&self, reason: String) -> Error {
        self.blocked_in_doubt(reason, 0)
    }

    /// Like [`blocked`](Self::blocked), with `in_doubt` messages sent and not confirmed.
    pub fn blocked_in_doubt(&self, reason: String, in_doubt: usize) -> Error {
        Error::Blocked {
            operation: self.operation,
            queue: self.queue.to_owned(),
            reason,
            in_doubt,
        }
    }

    /// The call got no answer within its timeout.
    pub fn timed_out(&self) -> Error {
        Error::Timeout {
            operation: self.operation,
            address: self.address.to_owned(),
            timeout: self.timeout,
        }
    }

    /// The connection went away under the call.
    pub fn lost(&self, source: impl Into<BoxError>) -> Error {
        Error::ConnectionLost {
            address: self.address.to_owned(),
            source: source.into(),
        }
    }
}

/// True when `err` means that the channel can no longer be used.
pub(crate) fn channel_is_gone(err: &amiquip::Error) -> bool {
    matches!(
        err,
        amiquip::Error::ServerClosedChannel { .. } | amiquip::Error::ClientClosedChannel
    ) || connection_is_lost(err)
}

/// True when `err` means that the connection itself is gone.
pub(crate) fn connection_is_lost(err: &amiquip::Error) -> bool {
    matches!(
        err,
        amiquip::Error::ServerClosedConnection { .. }
            | amiquip::Error::ClientClosedConnection
            | amiquip::Error::EventLoopDropped
            | amiquip::Error::EventLoopClientDropped
            | amiquip::Error::UnexpectedSocketClose
            | amiquip::Error::IoErrorReadingSocket { .. }
            | amiquip::Error::IoErrorWritingSocket { .. }
            | amiquip::Error::MissedServerHeartbeats
    )
}

/// RabbitMQ's reply text when a message is over `max_message_size`.
const OVER_MAX_SIZE: &str = "larger than configured max size";

/// Sorts a failed channel operation into the error a caller can act on.
/// A channel the broker closed is never a lost connection.
pub(crate) fn classify(call: Call<'_>, err: amiquip::Error) -> Error {
    let amiquip::Error::ServerClosedChannel { code, message, .. } = &err else {
        return if connection_is_lost(&err) {
            call.lost(boxed(err))
        } else {
            Error::QueueOperation {
                operation: call.operation,
                queue: call.queue.to_owned(),
                source: boxed(err),
            }
        };
    };
    let (code, message) = (*code, message.clone());
    let (operation, queue, source) = (call.operation, call.queue.to_owned(), boxed(err));
    match code {
        403 => Error::AccessRefused {
            operation,
            queue,
            message,
            source,
        },
        404 => Error::QueueNotFound {
            operation,
            queue,
            message,
            source,
        },
        405 => Error::QueueLocked {
            operation,
            queue,
            message,
            source,
        },
        406 if operation == "publish" && message.contains(OVER_MAX_SIZE) => {
            Error::MessageTooLarge {
                queue,
                bytes: call.bytes,
                message,
                source,
            }
        }
        406 => Error::PreconditionFailed {
            operation,
            queue,
            message,
            source,
        },
        code => Error::ChannelRefused {
            operation,
            queue,
            code,
            message,
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(code: u16, text: &str) -> amiquip::Error {
        amiquip::Error::ServerClosedChannel {
            channel_id: 1,
            code,
            message: text.to_owned(),
        }
    }

    #[test]
    fn every_channel_error_names_the_brokers_reply_code_and_text() {
        let call = Call {
            operation: "publish",
            queue: "jobs",
            address: "localhost:5672",
            timeout: Duration::from_secs(1),
            bytes: 7,
        };
        for (code, text) in [
            (403, "ACCESS_REFUSED - no access"),
            (404, "NOT_FOUND - no queue 'jobs'"),
            (405, "RESOURCE_LOCKED - exclusive"),
            (
                406,
                "PRECONDITION_FAILED - message size 7 is larger than configured max size 1",
            ),
            (406, "PRECONDITION_FAILED - inequivalent arg 'durable'"),
            (506, "RESOURCE_ERROR - too many"),
        ] {
            let err = classify(call, closed(code, text));
            let display = err.to_string();
            assert!(display.contains(&code.to_string()), "{display}");
            assert!(display.contains(text), "{display}");
            assert!(display.contains("\"jobs\""), "{display}");
            assert!(std::error::Error::source(&err).is_some(), "{err:?}");
        }
    }
}
