//! The JSON-lines streams that build and pull answer with.

use std::io::BufRead;

use serde::Deserialize;

use crate::engine::transport;
use crate::error::Result;

/// One message of a build or pull stream. The daemon reports failures as
/// messages inside the stream (with a 200 status), not as HTTP errors.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StreamMessage {
    /// Build output text.
    #[serde(default)]
    pub stream: Option<String>,
    /// Pull progress status (`Downloading`, `Pull complete`, ...).
    #[serde(default)]
    pub status: Option<String>,
    /// Layer id the status is about.
    #[serde(default)]
    pub id: Option<String>,
    /// Human-readable progress bar.
    #[serde(default)]
    pub progress: Option<String>,
    /// A failure.
    #[serde(default)]
    pub error: Option<String>,
    /// Extra data, such as the built image's id.
    #[serde(default)]
    pub aux: Option<serde_json::Value>,
}

/// Calls `each` with every message of the stream, in order.
pub(crate) fn for_each_message(
    operation: &'static str,
    reader: impl BufRead,
    mut each: impl FnMut(StreamMessage) -> Result<()>,
) -> Result<()> {
    let mut decoder = serde_json::Deserializer::from_reader(reader).into_iter::<StreamMessage>();
    for message in decoder.by_ref() {
        each(message.map_err(|err| transport(operation, err))?)?;
    }
    Ok(())
}
