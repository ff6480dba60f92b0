//! What the examples share: error reports, broker hints, the bundled graphs
//! and submitting them. Each example is its own crate and uses a part of
//! this module, so the rest would be dead code there.
#![allow(dead_code)]

pub mod broker;
pub mod graphs;
pub mod jobs;

use std::error::Error;
use std::process::ExitCode;

/// Prints `result`'s error with its chain of causes; the exit code says whether it failed.
pub fn report<E: Into<Box<dyn Error>>>(result: Result<(), E>) -> ExitCode {
    match result.map_err(Into::into) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            let mut source = err.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
