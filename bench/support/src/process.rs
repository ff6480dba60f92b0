//! Running a child process to its end: checked, and timed from spawn to
//! exit where the child is the tool being measured.
//!
//! The clock is read right before the spawn and right after the exit, and
//! nothing else happens in between: the figure is what a user's script
//! calling the tool would wait.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The most of a failed child's stderr that an [`Error::Failed`] keeps: its
/// end, where the reason usually is.
pub const STDERR_TAIL: usize = 4096;

/// Runs `command` to its end and returns its output: stdout and stderr
/// captured, stdin closed unless the command set it. Fails when it cannot
/// start or exits unsuccessfully, with the end of its stderr; `what` names
/// it in the error.
pub fn run(command: &mut Command, what: &str) -> Result<Output> {
    timed(command, what).map(|(_, output)| output)
}

/// [`run`], also returning the time from spawn to exit.
pub fn timed(command: &mut Command, what: &str) -> Result<(Duration, Output)> {
    let started = Instant::now();
    let output = command.output();
    let elapsed = started.elapsed();
    let output = output.map_err(|source| Error::Spawn {
        what: what.to_owned(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::Failed {
            what: what.to_owned(),
            status: output.status,
            stderr: tail(&String::from_utf8_lossy(&output.stderr), STDERR_TAIL)
                .trim()
                .to_owned(),
        });
    }
    Ok((elapsed, output))
}

/// The last `max` bytes of `text` at most, cut at a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_child_is_an_error_with_its_stderr() {
        let err = run(
            Command::new("sh").args(["-c", "echo out; echo why >&2; exit 3"]),
            "sh -c",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Failed { .. }), "{err:?}");
        assert!(err.to_string().starts_with("sh -c failed ("), "{err}");
        assert!(err.to_string().ends_with(": why"), "{err}");
    }

    #[test]
    fn a_missing_program_is_a_spawn_error_naming_it() {
        let err = run(&mut Command::new("/nonexistent/bench-peer"), "the peer").unwrap_err();
        assert!(matches!(err, Error::Spawn { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with("cannot run the peer: "),
            "{err}"
        );
    }

    #[test]
    fn a_successful_child_gives_its_stdout_and_its_time() {
        let (elapsed, output) = timed(Command::new("sh").args(["-c", "echo 42"]), "sh").unwrap();
        assert_eq!(output.stdout, b"42\n");
        assert!(elapsed > Duration::ZERO);
    }

    #[test]
    fn only_the_end_of_a_long_stderr_is_kept() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ab", 3), "ab");
        assert_eq!(tail("aé", 1), "");
    }
}
