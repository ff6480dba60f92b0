//! Deadlines for the network, where gix's transports leave them open.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gix::protocol::transport::client::blocking_io::http;

/// How long an HTTP(S) request may take as a whole unless told otherwise:
/// a push's request carries the whole pack.
const HTTP_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// The deadlines of one operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    /// One read or write on a `git://` socket.
    pub io: Duration,
    /// One HTTP(S) request, from connecting to the end of its answer.
    pub http_request: Duration,
}

impl Deadlines {
    /// The defaults, or `timeout` for both.
    pub fn new(timeout: Option<Duration>) -> Deadlines {
        Deadlines {
            io: timeout.unwrap_or(crate::daemon::IO_TIMEOUT),
            http_request: timeout.unwrap_or(HTTP_REQUEST_TIMEOUT),
        }
    }
}

/// gix's transport options for `url` from git config (`None` for other
/// schemes than HTTP(S)), with every request limited to `request_timeout`:
/// gix's HTTP client has a connect timeout only, so a server that accepts
/// and never answers would otherwise hold the call forever.
pub(crate) fn http_options(
    repo: &gix::Repository,
    url: &str,
    request_timeout: Duration,
) -> gix::Result<Option<Box<dyn std::any::Any>>> {
    let Some(mut options) = repo.transport_options(url, None)? else {
        return Ok(None);
    };
    if let Some(http) = options.downcast_mut::<http::Options>() {
        let client = http::reqwest::Options {
            configure_client: Some(Box::new(
                move |builder| Ok(builder.timeout(request_timeout)),
            )),
            configure_request: None,
        };
        http.backend = Some(Arc::new(Mutex::new(client)));
    }
    Ok(Some(options))
}
