//! `/api/v1`: jobs as JSON.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::jobs::{self, check_job, on_hub, JobStatus, Links};
use super::reply::{stored_bytes, ApiError};
use super::AppState;
use crate::job::{content_type, FORMATS};
use crate::store;

/// A job as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// The graph, in the DOT language.
    pub source: String,
    /// The output format (default `svg`).
    #[serde(default = "default_format")]
    pub format: String,
    /// Where to POST the result once the job has finished.
    #[serde(default)]
    pub callback_url: Option<String>,
}

fn default_format() -> String {
    "svg".to_owned()
}

/// Query parameters of submit and status.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Seconds to wait for the job to finish (capped).
    #[serde(default)]
    pub wait: Option<f64>,
    /// The format of a raw graph body.
    #[serde(default)]
    pub format: Option<String>,
}

impl Params {
    fn wait(&self) -> Result<Duration, ApiError> {
        match self.wait {
            None => Ok(Duration::ZERO),
            Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
                Ok(Duration::from_secs_f64(seconds.min(3600.0)))
            }
            Some(seconds) => Err(ApiError::bad_request(format!(
                "wait={seconds} is not a number of seconds"
            ))),
        }
    }
}

/// The body, or the error it gets (413 past the limit).
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))
}

/// The query string, or a 400.
pub fn params<T: serde::de::DeserializeOwned>(
    query: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query
        .map(|Query(params)| params)
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

fn is_raw_graph(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.starts_with("text/vnd.graphviz") || kind.starts_with("text/plain"))
}

/// Checks `callback_url`: absolute `http` or `https`.
fn check_callback(url: &Option<String>) -> Result<(), ApiError> {
    if let Some(url) = url {
        let parsed = url::Url::parse(url)
            .map_err(|err| ApiError::bad_request(format!("callback_url: {err}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(ApiError::bad_request(
                "callback_url must be an http or https URL with a host",
            ));
        }
    }
    Ok(())
}

/// Reads a job request from a JSON or raw graph body.
fn job_request(headers: &HeaderMap, params: &Params, body: &Bytes) -> Result<JobRequest, ApiError> {
    if is_raw_graph(headers) {
        let source = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("the graph is not UTF-8"))?
            .to_owned();
        return Ok(JobRequest {
            source,
            format: params.format.clone().unwrap_or_else(default_format),
            callback_url: None,
        });
    }
    if params.format.is_some() {
        return Err(ApiError::bad_request(
            "format= goes with a raw graph body (Content-Type: text/vnd.graphviz); in JSON, use the format field",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request(format!("invalid JSON: {err}")))
}

/// `POST /api/v1/jobs`.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    state.authorize(&headers)?;
    let params = params(query)?;
    let wait = params.wait()?;
    let body = body_bytes(body)?;
    let request = job_request(&headers, &params, &body)?;
    check_job(&state, &request.format, &request.source)?;
    check_callback(&request.callback_url)?;
    let status = jobs::submit(
        &state,
        &request.format,
        request.source,
        request.callback_url,
        wait,
    )
    .await?;
    Ok((status.http_status(), Json(status)).into_response())
}

/// A batch of jobs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The jobs.
    pub jobs: Vec<JobRequest>,
}

/// One entry of a batch's answer: a status, or why the job was refused.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum BatchEntry {
    /// Submitted (or found).
    Status(Box<JobStatus>),
    /// Refused.
    Error {
        /// Why.
        error: String,
        /// The HTTP status it would have had alone.
        code: u16,
    },
}

/// `POST /api/v1/batches`: up to `max_batch` jobs, one entry each.
pub async fn submit_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    state.authorize(&headers)?;
    let body = body_bytes(body)?;
    let batch: BatchRequest = serde_json::from_slice(&body)
        .map_err(|err| ApiError::bad_request(format!("invalid JSON: {err}")))?;
    if batch.jobs.is_empty() || batch.jobs.len() > state.config.max_batch {
        return Err(ApiError::bad_request(format!(
            "a batch holds 1 to {} jobs, not {}",
            state.config.max_batch,
            batch.jobs.len()
        )));
    }
    let mut entries = Vec::with_capacity(batch.jobs.len());
    for request in batch.jobs {
        let submitted = match check_job(&state, &request.format, &request.source)
            .and_then(|()| check_callback(&request.callback_url))
        {
            Ok(()) => {
                jobs::submit(
                    &state,
                    &request.format,
                    request.source,
                    request.callback_url,
                    Duration::ZERO,
                )
                .await
            }
            Err(err) => Err(err),
        };
        entries.push(match submitted {
            Ok(status) => BatchEntry::Status(Box::new(status)),
            Err(err) => BatchEntry::Error {
                error: err.message,
                code: err.status.as_u16(),
            },
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "jobs": entries })),
    )
        .into_response())
}

/// `GET /api/v1/jobs/{id}`.
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let wait = params(query)?.wait()?;
    let status = jobs::status(&state, &id, wait).await?;
    Ok((status.http_status(), Json(status)).into_response())
}

/// `GET /api/v1/jobs/{id}/output`.
pub async fn output(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let status = jobs::status(&state, &id, Duration::ZERO).await?;
    if status.status != super::tracker::Phase::Rendered {
        return Err(ApiError::not_found(format!(
            "job {id} is {}, with no output",
            serde_json::to_value(status.status)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default()
        )));
    }
    let path = store::output_path(&id, &status.format);
    file(&state, &headers, path, content_type(&status.format)).await
}

/// `GET /api/v1/jobs/{id}/source`.
pub async fn source(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !crate::valid_job_id(&id) {
        return Err(ApiError::bad_request(format!("{id:?} is not a job id")));
    }
    file(
        &state,
        &headers,
        store::source_path(&id),
        "text/vnd.graphviz; charset=utf-8",
    )
    .await
}

async fn file(
    state: &AppState,
    headers: &HeaderMap,
    path: String,
    kind: &'static str,
) -> Result<Response, ApiError> {
    let shown = path.clone();
    match on_hub(state, move |hub| hub.read(&path)).await? {
        Some((blob, bytes)) => Ok(stored_bytes(headers, &blob, kind, bytes)),
        None => Err(ApiError::not_found(format!(
            "{shown} is not in the project"
        ))),
    }
}

/// Query of the job list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// How many (at most 100; 20 by default).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `GET /api/v1/jobs`: the latest jobs committed, newest first.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let limit = params(query)?.limit.unwrap_or(20).min(100);
    let recent = on_hub(&state, move |hub| hub.recent(limit)).await?;
    let jobs: Vec<_> = recent
        .into_iter()
        .filter(|(_, format, _, _)| FORMATS.contains(&format.as_str()))
        .map(|(id, format, commit, time)| {
            serde_json::json!({
                "id": id,
                "format": format,
                "commit": commit,
                "committed_at": time,
                "links": Links::for_job(&id),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "jobs": jobs })).into_response())
}

/// `GET /api/v1/commits/{id}`: a commit of the project (who, when, and its
/// message, which names the job).
pub async fn commit(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let key = id.clone();
    let found = on_hub(&state, move |hub| match hub.commit(&key) {
        Err(crate::PlatformError::Git(repo_lite::Error::InvalidCommitId { .. })) => Ok(Err(())),
        other => other.map(Ok),
    })
    .await?;
    let commit = match found {
        Err(()) => return Err(ApiError::bad_request(format!("{id:?} is not a commit id"))),
        Ok(None) => return Err(ApiError::not_found(format!("no commit {id}"))),
        Ok(Some(commit)) => commit,
    };
    let job = store::parse_commit_message(&commit.message).map(|(job, format)| {
        serde_json::json!({
            "id": job,
            "format": format,
            "links": Links::for_job(&job),
        })
    });
    Ok(Json(serde_json::json!({
        "id": commit.id,
        "author": { "name": commit.author_name, "email": commit.author_email },
        "time": commit.time,
        "message": commit.message,
        "job": job,
    }))
    .into_response())
}
