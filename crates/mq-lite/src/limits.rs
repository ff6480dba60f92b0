//! What an AMQP 0-9-1 frame can carry, checked before anything is sent.
//!
//! A short string (queue names, most message properties, header names) has
//! a one-byte length. amiquip writes a longer one with its length truncated
//! to that byte, so the broker reads a corrupt frame and closes the whole
//! connection: every handle on it fails for one bad property.

/// The longest AMQP short string, in bytes.
pub(crate) const MAX_SHORT_STRING_BYTES: usize = 255;

/// Why `value` cannot be sent as a short string, if it cannot.
pub(crate) fn short_string_problem(value: &str) -> Option<String> {
    (value.len() > MAX_SHORT_STRING_BYTES).then(|| {
        format!(
            "{} bytes long; AMQP carries at most {MAX_SHORT_STRING_BYTES} here",
            value.len()
        )
    })
}

/// Keeps error messages readable when the offending text is huge.
pub(crate) fn shorten(text: &str) -> String {
    const KEEP: usize = 64;
    if text.len() <= KEEP {
        return text.to_owned();
    }
    let mut end = KEEP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_stop_at_255_bytes() {
        assert_eq!(short_string_problem(&"a".repeat(255)), None);
        let problem = short_string_problem(&"é".repeat(128)).unwrap();
        assert!(problem.starts_with("256 bytes"), "{problem}");
    }

    #[test]
    fn shortening_respects_character_boundaries() {
        let long = "é".repeat(100);
        let short = shorten(&long);
        assert!(short.ends_with("(200 bytes)"), "{short}");
        assert!(short.len() < 100);
    }
}
