//! Completion callbacks: a finished job's status POSTed (JSON) to the
//! `callback_url` its submitter gave, tried up to [`ATTEMPTS`] times with
//! a doubling back-off. A callback never blocks or fails a job: they are
//! queued (at most [`MAX_QUEUED`]; past that one is dropped, and said so)
//! and made on the server's runtime.

use std::time::Duration;

use tokio::sync::mpsc;

use super::hub::Finished;

/// Tries per callback.
pub const ATTEMPTS: u32 = 5;
/// The wait before the second try; doubled for each next one.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Each try's deadline.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Callbacks waiting at most.
pub const MAX_QUEUED: usize = 10_000;

/// Where finished jobs go to have their callbacks made.
pub struct Callbacks {
    queue: mpsc::Sender<Finished>,
}

impl Callbacks {
    /// Queues the callback of `finished`, if it has one; never waits.
    pub fn send(&self, finished: Finished) {
        if finished.known.callback_url.is_none() {
            return;
        }
        if let Err(err) = self.queue.try_send(finished) {
            eprintln!(
                "ondemand: callback dropped ({} waiting already): {err}",
                MAX_QUEUED
            );
        }
    }
}

/// Starts making callbacks on `runtime`. Fails if the HTTP client cannot
/// be built (its TLS set-up).
pub fn start(runtime: &tokio::runtime::Handle) -> Result<Callbacks, crate::PlatformError> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|err| crate::PlatformError::Http {
            url: "callback_url".to_owned(),
            reason: format!("cannot build the callbacks' HTTP client: {err}"),
        })?;
    let (queue, mut finished) = mpsc::channel::<Finished>(MAX_QUEUED);
    runtime.spawn(async move {
        while let Some(job) = finished.recv().await {
            tokio::spawn(call_back(client.clone(), job));
        }
    });
    Ok(Callbacks { queue })
}

async fn call_back(client: reqwest::Client, job: Finished) {
    let Some(url) = job.known.callback_url.clone() else {
        return;
    };
    let body = serde_json::json!({
        "id": job.id,
        "status": job.known.phase,
        "format": job.known.format,
        "error": job.known.error,
        "commit": job.known.commit,
        "timings": job.known.timings,
        "links": super::jobs::Links::for_job(&job.id),
    })
    .to_string();
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => return,
            Ok(response) => eprintln!(
                "ondemand: callback for job {} answered {} (try {attempt} of {ATTEMPTS})",
                job.id,
                response.status()
            ),
            Err(err) => eprintln!(
                "ondemand: callback for job {} failed: {} (try {attempt} of {ATTEMPTS})",
                job.id,
                err.without_url()
            ),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
}
