//! Queue-name checks made before anything reaches the broker.

use crate::error::{Error, Result};
use crate::limits::{shorten, MAX_SHORT_STRING_BYTES};

/// The longest queue name AMQP 0-9-1 allows, in bytes.
pub const MAX_QUEUE_NAME_BYTES: usize = MAX_SHORT_STRING_BYTES;

/// Checks `name` for a queue declared by the client (not passive, not
/// server-named): what [`check_queue_name_syntax`] checks, and not in the
/// broker's reserved `amq.` namespace.
pub fn check_queue_name(name: &str) -> Result<()> {
    check_queue_name_syntax(name)?;
    if name.starts_with("amq.") {
        return Err(Error::InvalidQueueName {
            name: shorten(name),
            reason: "the amq. prefix is reserved for the broker",
        });
    }
    Ok(())
}

/// Checks what any queue name must satisfy, including the broker's own
/// `amq.` names that may be inspected: non-empty, at most 255 bytes, and no
/// control character. The broker strips CR and LF from names, so a queue
/// declared as `"jobs\n"` would be called `"jobs"`, not what its holder
/// thinks; the other control characters are refused alike.
pub fn check_queue_name_syntax(name: &str) -> Result<()> {
    let refuse = |reason| Error::InvalidQueueName {
        name: shorten(name),
        reason,
    };
    if name.is_empty() {
        return Err(refuse(
            "empty; only the broker may name a queue (see Connection::declare_reply_queue)",
        ));
    }
    if name.len() > MAX_QUEUE_NAME_BYTES {
        return Err(refuse("longer than 255 bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err(refuse(
            "contains a control character (the broker would strip CR and LF, renaming the queue)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names_up_to_255_bytes() {
        check_queue_name("render.jobs").unwrap();
        check_queue_name("ünïcode-ok").unwrap();
        check_queue_name(&"q".repeat(255)).unwrap();
    }

    #[test]
    fn rejects_names_over_255_bytes() {
        let err = check_queue_name(&"é".repeat(128)).unwrap_err();
        assert!(matches!(err, Error::InvalidQueueName { .. }), "{err}");
        assert!(err.to_string().contains("256 bytes"), "{err}");
    }

    #[test]
    fn rejects_the_reserved_prefix_and_the_empty_name() {
        assert!(check_queue_name("amq.mine").is_err());
        assert!(check_queue_name("").is_err());
    }

    #[test]
    fn rejects_control_characters() {
        for name in ["jobs\n", "jo\rbs", "a\0b", "tab\there", "\u{7f}"] {
            let err = check_queue_name_syntax(name).unwrap_err();
            assert!(matches!(err, Error::InvalidQueueName { .. }), "{name:?}");
        }
    }
}
