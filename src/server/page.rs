//! The web page at `/`: one HTML file, its script and its style, built
//! into the binary (no build step).

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The page may load its own script, style and images, and talk to this
/// server only; no inline script runs.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                        img-src 'self'; connect-src 'self'; form-action 'none'; \
                        frame-ancestors 'none'; base-uri 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`.
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", include_str!("page/index.html"))
}

/// `GET /static/page.js`.
pub async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("page/page.js"),
    )
}

/// `GET /static/page.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("page/page.css"))
}
