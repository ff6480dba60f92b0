//! Kroki-compatible rendering: `GET /graphviz/{format}/{source}` with the
//! source deflated (zlib) and base64url-encoded as Kroki defines it, and
//! `POST /graphviz/{format}` with the raw graph. Both answer the rendered
//! bytes, through the same queue, cache and git as the JSON API; `dot` is
//! an alias of `graphviz`, as in Kroki.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;

use super::api::body_bytes;
use super::jobs::{self, check_job, on_hub};
use super::reply::{stored_bytes, ApiError};
use super::tracker::Phase;
use super::AppState;
use crate::job::content_type;
use crate::store;

/// Decodes a Kroki source: base64url (padded or not), then zlib, at most
/// `max_bytes` once inflated.
pub fn decode_source(encoded: &str, max_bytes: usize) -> Result<String, ApiError> {
    let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|err| ApiError::bad_request(format!("the source is not base64url: {err}")))?;
    let mut inflated = Vec::new();
    // One byte over the limit tells "too large" from "exactly the limit".
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .take(limit)
        .read_to_end(&mut inflated)
        .map_err(|err| ApiError::bad_request(format!("the source is not zlib data: {err}")))?;
    if inflated.len() > max_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the decoded source is over the limit of {max_bytes} bytes"),
        ));
    }
    String::from_utf8(inflated).map_err(|_| ApiError::bad_request("the source is not UTF-8"))
}

/// Encodes a source as Kroki's URLs carry it.
pub fn encode_source(source: &str) -> String {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(source.as_bytes());
    let compressed = encoder.finish().unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE.encode(compressed)
}

/// `GET /graphviz/{format}/{source}`.
pub async fn get(
    State(state): State<AppState>,
    Path((format, encoded)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let source = decode_source(&encoded, state.config.max_source_bytes)
        .map_err(|err| err.for_accept(&headers))?;
    render(&state, &headers, &format, source).await
}

/// `POST /graphviz/{format}`.
pub async fn post(
    State(state): State<AppState>,
    Path(format): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    state.authorize(&headers)?;
    let body = body_bytes(body).map_err(|err| err.for_accept(&headers))?;
    let source = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad_request("the graph is not UTF-8").for_accept(&headers))?;
    render(&state, &headers, &format, source).await
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    format: &str,
    source: String,
) -> Result<Response, ApiError> {
    let image_error = |err: ApiError| err.for_accept(headers);
    check_job(state, format, &source).map_err(image_error)?;
    let status = jobs::submit(state, format, source, None, state.config.kroki_wait)
        .await
        .map_err(image_error)?;
    match status.status {
        Phase::Rendered => {
            let path = store::output_path(&status.id, format);
            let shown = path.clone();
            match on_hub(state, move |hub| hub.read(&path)).await? {
                Some((blob, bytes)) => {
                    Ok(stored_bytes(headers, &blob, content_type(format), bytes))
                }
                None => Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("{shown} was rendered but is not in the project"),
                )),
            }
        }
        Phase::Failed => Err(image_error(ApiError::bad_request(
            status
                .error
                .unwrap_or_else(|| "the render failed".to_owned()),
        ))),
        Phase::Queued | Phase::Rendering => Err(image_error(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "job {} is still {} after {:?}; its status is at {}",
                status.id,
                if status.status == Phase::Queued {
                    "queued"
                } else {
                    "rendering"
                },
                state.config.kroki_wait,
                status.links.this
            ),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kroki_sources_round_trip_and_bad_ones_are_typed() {
        let source = "digraph G { Hello -> World }";
        assert_eq!(decode_source(&encode_source(source), 1024).unwrap(), source);
        // This graph as the Python snippet of Kroki's documentation encodes
        // it: zlib.compress(level 9), then base64.urlsafe_b64encode.
        let documented = "eNpLyUwvSizIUHBXqPZIzcnJ17ULzy_KSakFAGxACMY=";
        assert_eq!(
            decode_source(documented, 1024).unwrap(),
            "digraph G {Hello->World}"
        );
        let err = decode_source("not base64!", 1024).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        let err = decode_source("aGVsbG8", 1024).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST, "{}", err.message);
        let big = encode_source(&"a".repeat(2000));
        let err = decode_source(&big, 1000).unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(decode_source(&big, 2000).unwrap().len(), 2000);
    }
}
