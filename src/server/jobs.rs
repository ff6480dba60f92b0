//! Submitting a job and finding out where it is: what the JSON API and the
//! Kroki routes share.

use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::reply::ApiError;
use super::tracker::{wait_final, Enqueued, Known, Phase};
use super::AppState;
use crate::job::{job_id_for, valid_job_id, Job, Timings, FORMATS};
use crate::worker::now_ms;

/// Links of a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Links {
    /// This status.
    #[serde(rename = "self")]
    pub this: String,
    /// The rendered output.
    pub output: String,
    /// The graph.
    pub source: String,
}

/// What the API says of a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobStatus {
    /// The job's id (derived from format and source).
    pub id: String,
    /// `queued`, `rendering`, `rendered` or `failed`.
    pub status: Phase,
    /// The output format.
    pub format: String,
    /// Why it failed: for a bad graph, `dot`'s own message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The commit holding source and output, once rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The output's blob id (its `ETag`), once rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_id: Option<String>,
    /// Where the time went, once finished through this server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
    /// True when the answer came from git without rendering.
    #[serde(default)]
    pub cached: bool,
    /// Where to find more.
    pub links: Links,
}

impl Links {
    /// The links of job `id`.
    pub fn for_job(id: &str) -> Links {
        let this = format!("/api/v1/jobs/{id}");
        Links {
            output: format!("{this}/output"),
            source: format!("{this}/source"),
            this,
        }
    }
}

impl JobStatus {
    fn new(id: &str, format: &str, status: Phase) -> JobStatus {
        JobStatus {
            id: id.to_owned(),
            status,
            format: format.to_owned(),
            error: None,
            commit: None,
            output_id: None,
            timings: None,
            cached: false,
            links: Links::for_job(id),
        }
    }

    fn from_known(id: &str, known: &Known) -> JobStatus {
        let mut status = JobStatus::new(id, &known.format, known.phase);
        status.error = known.error.clone();
        status.commit = known.commit.clone();
        status.timings = known.phase.is_final().then_some(known.timings);
        status
    }

    /// 200 once finished, 202 while in flight.
    pub fn http_status(&self) -> StatusCode {
        if self.status.is_final() {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        }
    }
}

/// Checks a format and a source before anything is sent.
pub fn check_job(state: &AppState, format: &str, source: &str) -> Result<(), ApiError> {
    if !FORMATS.contains(&format) {
        return Err(ApiError::bad_request(format!(
            "format {format:?} is not allowed; use one of {}",
            FORMATS.join(", ")
        )));
    }
    if source.len() > state.config.max_source_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the source has {} bytes, over the limit of {}",
                source.len(),
                state.config.max_source_bytes
            ),
        ));
    }
    if source.trim().is_empty() {
        return Err(ApiError::bad_request("the source is empty"));
    }
    Ok(())
}

/// Runs `work` on the hub in the blocking pool.
pub async fn on_hub<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&super::Hub) -> Result<T, crate::PlatformError> + Send + 'static,
) -> Result<T, ApiError> {
    let hub = state.hub.clone();
    tokio::task::spawn_blocking(move || work(&hub))
        .await
        .map_err(|err| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("a background task failed: {err}"),
            )
        })?
        .map_err(ApiError::from)
}

/// Submits `source` as `format` (checked already): answers from git when
/// it is rendered, joins the job when it is in flight, else publishes it.
/// Waits up to `wait` (capped) for it to finish.
pub async fn submit(
    state: &AppState,
    format: &str,
    source: String,
    callback_url: Option<String>,
    wait: Duration,
) -> Result<JobStatus, ApiError> {
    let id = job_id_for(format, &source);
    if let Some(status) = rendered(state, &id, format).await? {
        state.hub.metrics.cache_hits.inc();
        return Ok(status);
    }
    let known = match state.hub.tracker.enqueue(
        &id,
        format,
        now_ms(),
        callback_url,
        state.config.max_in_flight,
    ) {
        Enqueued::Known(known) => known,
        Enqueued::Full => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "{} jobs are in flight, the most this server takes; try again later",
                    state.config.max_in_flight
                ),
            )
            .retry_after(5))
        }
        Enqueued::New(known) => {
            let job = Job {
                id: id.clone(),
                format: format.to_owned(),
                source,
            };
            if let Err(err) = on_hub(state, move |hub| hub.publish(&job)).await {
                state.hub.tracker.withdraw(&id);
                return Err(err);
            }
            state.hub.metrics.submitted.inc();
            known
        }
    };
    let known = wait_final(known, wait.min(state.config.max_wait)).await;
    let mut status = JobStatus::from_known(&id, &known);
    if known.phase == Phase::Rendered {
        if let Some(stored) = rendered(state, &id, format).await? {
            status.output_id = stored.output_id;
            status.commit = stored.commit;
        }
    }
    Ok(status)
}

/// Job `id` in `format` as git holds it, if rendered.
async fn rendered(state: &AppState, id: &str, format: &str) -> Result<Option<JobStatus>, ApiError> {
    let (key, format_owned) = (id.to_owned(), format.to_owned());
    let stored = on_hub(state, move |hub| hub.find(&key, &format_owned)).await?;
    Ok(stored.map(|stored| {
        let mut status = JobStatus::new(id, format, Phase::Rendered);
        status.commit = Some(stored.commit);
        status.output_id = Some(stored.output_id);
        status.cached = true;
        status
    }))
}

/// Where job `id` is, waiting up to `wait` (capped) while it is in flight.
/// A job this server does not know (submitted before a restart, or
/// elsewhere) is looked for until `wait` ends: it is found once its result
/// arrives.
pub async fn status(state: &AppState, id: &str, wait: Duration) -> Result<JobStatus, ApiError> {
    if !valid_job_id(id) {
        return Err(ApiError::bad_request(format!("{id:?} is not a job id")));
    }
    let deadline = tokio::time::Instant::now() + wait.min(state.config.max_wait);
    loop {
        if let Some(known) = state.hub.tracker.watch(id) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let known = wait_final(known, left).await;
            if known.phase != Phase::Rendered {
                return Ok(JobStatus::from_known(id, &known));
            }
            if let Some(mut status) = rendered(state, id, &known.format).await? {
                status.timings = Some(known.timings);
                status.cached = false;
                return Ok(status);
            }
        }
        for format in FORMATS {
            if let Some(status) = rendered(state, id, format).await? {
                return Ok(status);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::not_found(format!("no job {id}")));
        }
        tokio::time::sleep(UNKNOWN_JOB_POLL).await;
    }
}

/// How often a job this server does not know is looked for while waiting.
const UNKNOWN_JOB_POLL: Duration = Duration::from_millis(200);
