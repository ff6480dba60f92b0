//! A blocking client of the platform's HTTP API, for the `ondemand submit`
//! command and the examples.

use std::time::Duration;

use crate::error::PlatformError;
use crate::server::JobStatus;

/// Talks to one server.
pub struct ApiClient {
    base: String,
    token: Option<String>,
    http: reqwest::blocking::Client,
}

impl ApiClient {
    /// A client of the server at `base` (`http://127.0.0.1:8080`), sending
    /// `token` as a bearer token when given. Each request has `timeout`.
    pub fn new(
        base: &str,
        token: Option<String>,
        timeout: Duration,
    ) -> Result<ApiClient, PlatformError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|err| PlatformError::Http {
                url: base.to_owned(),
                reason: err.to_string(),
            })?;
        Ok(ApiClient {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http,
        })
    }

    /// The absolute URL of `path` (`/api/v1/...`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Submits `source` as `format`, waiting up to `wait` for the result.
    /// A refusal (4xx, 5xx) is an [`PlatformError::Http`] with the
    /// server's message.
    pub fn submit(
        &self,
        source: &str,
        format: &str,
        wait: Duration,
    ) -> Result<JobStatus, PlatformError> {
        let url = self.url(&format!(
            "/api/v1/jobs?wait={}&format={format}",
            wait.as_secs_f64()
        ));
        let request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "text/vnd.graphviz")
            .body(source.to_owned());
        self.send(request, &url)
    }

    /// The status of job `id`, waiting up to `wait` for it to finish.
    pub fn status(&self, id: &str, wait: Duration) -> Result<JobStatus, PlatformError> {
        let url = self.url(&format!("/api/v1/jobs/{id}?wait={}", wait.as_secs_f64()));
        self.send(self.http.get(&url), &url)
    }

    /// Sends `request` (with the token, if any) and reads a job status.
    fn send(
        &self,
        mut request: reqwest::blocking::RequestBuilder,
        url: &str,
    ) -> Result<JobStatus, PlatformError> {
        let failed = |reason: String| PlatformError::Http {
            url: url.to_owned(),
            reason,
        };
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .map_err(|err| failed(err.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .map_err(|err| failed(err.without_url().to_string()))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|value| value["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(failed(format!("{status}: {message}")));
        }
        serde_json::from_slice(&body).map_err(|err| failed(format!("not a job status: {err}")))
    }
}
