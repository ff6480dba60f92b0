//! How the server answers: JSON errors, error images, and the headers every
//! rendered output carries.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Rendered outputs may be SVG written by whoever submitted the graph:
/// served with no script, no plug-in, no fetch allowed, and never sniffed
/// into another type.
pub const OUTPUT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// An error answer: a status and a message, as JSON (`{"error": ...}`) or,
/// for a client that wants an image, as an SVG showing the message.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
    /// Seconds after which to try again (429, 503).
    pub retry_after: Option<u32>,
    /// Answer with an image (Kroki clients asking for `image/*`).
    pub as_image: bool,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
            as_image: false,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// A 503 (or other) to try again after `seconds`.
    pub fn retry_after(mut self, seconds: u32) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// Answered as an image if `headers` accept `image/*` (and not JSON).
    pub fn for_accept(mut self, headers: &HeaderMap) -> ApiError {
        self.as_image = wants_image(headers);
        self
    }
}

/// True when the client asks for an image rather than JSON.
pub fn wants_image(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    accept.contains("image/") && !accept.contains("application/json")
}

impl From<crate::PlatformError> for ApiError {
    fn from(err: crate::PlatformError) -> ApiError {
        match err {
            crate::PlatformError::Broker(err) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the broker is not available: {err}"),
            )
            .retry_after(5),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = if self.as_image {
            (
                self.status,
                [
                    (header::CONTENT_TYPE, "image/svg+xml"),
                    (header::CONTENT_SECURITY_POLICY, OUTPUT_CSP),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                error_svg(&self.message),
            )
                .into_response()
        } else {
            (self.status, axum::Json(json!({ "error": self.message }))).into_response()
        };
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// An SVG image showing `message`, a line per line of it (at most 40).
pub fn error_svg(message: &str) -> String {
    let lines: Vec<String> = message
        .lines()
        .take(40)
        .map(|line| line.chars().take(160).collect::<String>())
        .collect();
    let width = lines
        .iter()
        .map(|line| line.chars().count())
        .max()
        .unwrap_or(0)
        .max(20)
        * 8
        + 20;
    let height = lines.len() * 18 + 40;
    let mut text = String::new();
    for (n, line) in lines.iter().enumerate() {
        text.push_str(&format!(
            "<tspan x=\"10\" y=\"{}\">{}</tspan>",
            n * 18 + 44,
            escape_xml(line)
        ));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff5f5\" stroke=\"#c00\"/>\
         <text x=\"10\" y=\"22\" font-family=\"sans-serif\" font-size=\"14\" font-weight=\"bold\" fill=\"#c00\">Error</text>\
         <text font-family=\"monospace\" font-size=\"13\" fill=\"#300\">{text}</text></svg>"
    )
}

/// Escapes the five characters XML gives a meaning to.
pub fn escape_xml(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c if c.is_control() => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The answer for stored bytes with blob id `blob`: 304 when the client
/// has them (`If-None-Match`), else the bytes, cacheable for a year (a
/// blob id never names other contents), with the output headers.
pub fn stored_bytes(
    request: &HeaderMap,
    blob: &str,
    content_type: &'static str,
    bytes: Vec<u8>,
) -> Response {
    let etag = format!("\"{blob}\"");
    let has_it = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let headers = [
        (header::ETAG, etag.clone()),
        (
            header::CACHE_CONTROL,
            "public, max-age=31536000, immutable".to_owned(),
        ),
        (header::CONTENT_SECURITY_POLICY, OUTPUT_CSP.to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    if has_it {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (
        StatusCode::OK,
        headers,
        [(header::CONTENT_TYPE, content_type)],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_image_escapes_the_message() {
        let svg = error_svg("syntax error near <script>&\"'\nline 2");
        assert!(svg.contains("&lt;script&gt;&amp;&quot;&apos;"), "{svg}");
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("line 2"));
    }
}
