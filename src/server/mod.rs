//! The platform's front door: an HTTP server with a JSON API (`/api/v1`),
//! Kroki-compatible rendering (`/graphviz/...`), a web page (`/`), health
//! (`/healthz`) and metrics (`/metrics`).
//!
//! Handlers are async (axum on tokio); the broker and git calls
//! are blocking and run on tokio's blocking pool, through the [`Hub`].

mod api;
mod callbacks;
mod hub;
mod jobs;
mod kroki;
mod metrics;
mod page;
mod reply;
mod tracker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use hub::{Hub, HubConfig, DEFAULT_RESULT_QUEUE};
pub use jobs::JobStatus;
pub use kroki::{decode_source, encode_source};
pub use reply::OUTPUT_CSP;
pub use tracker::Phase;

use crate::error::PlatformError;
use reply::ApiError;

/// How the server answers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// With a token, submitting needs `Authorization: Bearer <token>`;
    /// reading stays open.
    pub token: Option<String>,
    /// Larger sources (bodies, decoded Kroki sources) are refused with 413.
    pub max_source_bytes: usize,
    /// Longer URLs are refused with 414.
    pub max_url_bytes: usize,
    /// The most a request waits for a job (`?wait=`).
    pub max_wait: Duration,
    /// How long a Kroki request waits for its render.
    pub kroki_wait: Duration,
    /// Jobs in flight at most; past it submitting answers 429.
    pub max_in_flight: usize,
    /// Jobs in one batch at most.
    pub max_batch: usize,
}

impl Default for ServerConfig {
    /// No token, 256 KiB sources, 16 KiB URLs, waits of at most 60 s
    /// (Kroki: 30 s), 1,000 jobs in flight, batches of 100.
    fn default() -> Self {
        ServerConfig {
            token: None,
            max_source_bytes: 256 * 1024,
            max_url_bytes: 16 * 1024,
            max_wait: Duration::from_secs(60),
            kroki_wait: Duration::from_secs(30),
            max_in_flight: 1000,
            max_batch: 100,
        }
    }
}

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct AppState {
    hub: Arc<Hub>,
    config: Arc<ServerConfig>,
}

impl AppState {
    /// Checks the bearer token, when the server has one.
    fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(token) = &self.config.token else {
            return Ok(());
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        // Compared in constant time: the time taken says nothing of the token.
        let matches = given.is_some_and(|given| {
            given.len() == token.len()
                && given
                    .bytes()
                    .zip(token.bytes())
                    .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                    == 0
        });
        if matches {
            Ok(())
        } else {
            let mut err = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "submitting needs Authorization: Bearer <token>",
            );
            err.as_image = reply::wants_image(headers);
            Err(err)
        }
    }
}

/// The routes, on `hub`.
pub fn router(hub: Arc<Hub>, config: ServerConfig) -> Router {
    let body_limit = config.max_source_bytes.saturating_mul(2).max(64 * 1024);
    let state = AppState {
        hub,
        config: Arc::new(config),
    };
    Router::new()
        .route("/", get(page::index))
        .route("/static/page.js", get(page::script))
        .route("/static/page.css", get(page::style))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/jobs", post(api::submit).get(api::list))
        .route("/api/v1/batches", post(api::submit_batch))
        .route("/api/v1/jobs/{id}", get(api::status))
        .route("/api/v1/jobs/{id}/output", get(api::output))
        .route("/api/v1/jobs/{id}/source", get(api::source))
        .route("/api/v1/commits/{id}", get(api::commit))
        .route("/graphviz/{format}", post(kroki::post))
        .route("/graphviz/{format}/{source}", get(kroki::get))
        .route("/dot/{format}", post(kroki::post))
        .route("/dot/{format}/{source}", get(kroki::get))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), limit_url))
        .with_state(state)
}

/// 414 for a URL over the limit, before any handler reads it.
async fn limit_url(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |path| path.as_str().len());
    if length > state.config.max_url_bytes {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "the URL has {length} bytes, over the limit of {}",
                state.config.max_url_bytes
            ),
        )
        .for_accept(request.headers())
        .into_response();
    }
    next.run(request).await
}

/// `GET /healthz`: the broker and git, each up or not; 503 when one
/// is down.
async fn healthz(State(state): State<AppState>) -> Response {
    let hub = state.hub.clone();
    let checks = tokio::time::timeout(
        Duration::from_secs(15),
        tokio::task::spawn_blocking(move || hub.health()),
    )
    .await;
    let Ok(Ok(checks)) = checks else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the health checks did not finish within 15 s",
        )
        .into_response();
    };
    let healthy = checks.iter().all(|(_, result)| result.is_ok());
    let body: serde_json::Map<String, serde_json::Value> = checks
        .into_iter()
        .map(|(name, result)| {
            let value = match result {
                Ok(()) => serde_json::json!({ "up": true }),
                Err(error) => serde_json::json!({ "up": false, "error": error }),
            };
            (name.to_owned(), value)
        })
        .collect();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "healthy": healthy, "checks": body })),
    )
        .into_response()
}

/// `GET /metrics`, in Prometheus' text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let hub = state.hub.clone();
    // The queue depth as of this scrape; left as it was if the broker is away.
    if let Ok(Ok(Ok(depth))) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::task::spawn_blocking(move || hub.queue_depth()),
    )
    .await
    {
        state.hub.metrics.queue_depth.set(i64::from(depth));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.hub.metrics.render(),
    )
        .into_response()
}

/// Blocks until Ctrl-C (SIGINT) or SIGTERM.
pub fn wait_for_shutdown_signal() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    })
}

/// A server running on a thread of its own, with its own runtime.
pub struct RunningServer {
    address: SocketAddr,
    hub: Arc<Hub>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    results: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// Connects the hub, binds `listen` (port 0 picks a free one) and
    /// serves until [`stop`](Self::stop) or drop.
    pub fn start(
        listen: SocketAddr,
        hub_config: &HubConfig,
        config: ServerConfig,
    ) -> Result<RunningServer, PlatformError> {
        let io = |source| PlatformError::Io {
            path: listen.to_string().into(),
            source,
        };
        let hub = Arc::new(Hub::connect(hub_config)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(io)?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .map_err(io)?;
        let address = listener.local_addr().map_err(io)?;
        let callbacks = callbacks::start(runtime.handle())?;
        let results = hub::spawn_results(hub.clone(), move |finished| callbacks.send(finished))
            .map_err(io)?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(hub.clone(), config);
        let thread = std::thread::Builder::new()
            .name("ondemand-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                    if let Err(err) = served {
                        eprintln!("ondemand: the HTTP server stopped: {err}");
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(5));
            })
            .map_err(io)?;
        Ok(RunningServer {
            address,
            hub,
            shutdown: Some(shutdown),
            thread: Some(thread),
            results: Some(results),
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops serving (requests in progress finish) and taking results.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.hub.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(results) = self.results.take() {
            let _ = results.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}
