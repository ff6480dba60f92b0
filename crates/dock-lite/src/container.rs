//! The lifecycle steps shared by runs and detached containers: create (with
//! the pull policy), start, wait, remove. Each is an async step on the
//! runtime; the blocking calls bound them (see [`within`]).

use std::future::Future;
use std::time::Duration;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, StartContainerOptions,
};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};

use crate::client::Api;
use crate::error::{Error, Result};
use crate::options::PullPolicy;
use crate::timeouts::Timeouts;

/// How much of a small answer read directly (the wait's) is kept.
const SMALL_ANSWER_LIMIT: usize = 64 * 1024;

/// `future`, or [`Error::DaemonTimeout`] for `operation` after `timeout`.
pub(crate) async fn within<T>(
    operation: &'static str,
    timeout: Duration,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(timeout, future)
        .await
        .unwrap_or(Err(Error::DaemonTimeout { operation, timeout }))
}

impl Api {
    /// Creates a container. A 404 is told apart: a missing image is pulled
    /// or reported, per `pull`; anything else missing (a network, say) is
    /// the daemon's own message.
    pub async fn create_container(
        &self,
        body: ContainerCreateBody,
        image: &str,
        pull: PullPolicy,
        timeouts: Timeouts,
    ) -> Result<String> {
        let operation = "create container";
        let create = || {
            within(operation, timeouts.request, async {
                self.docker
                    .create_container(None::<CreateContainerOptions>, body.clone())
                    .await
                    .map(|created| created.id)
                    .map_err(|err| self.error(operation, err))
            })
        };
        match create().await {
            Err(Error::Daemon {
                status: 404,
                message,
                ..
            }) => {
                let present =
                    within("inspect image", timeouts.request, self.image_exists(image)).await?;
                if present {
                    return Err(Error::Daemon {
                        operation,
                        status: 404,
                        message,
                    });
                }
                match pull {
                    PullPolicy::IfMissing => {
                        self.pull(image, timeouts, None).await?;
                        create().await
                    }
                    PullPolicy::Never => Err(Error::ImageNotFound {
                        image: image.to_owned(),
                    }),
                }
            }
            other => other,
        }
    }

    pub async fn start_container(&self, id: &str) -> Result<()> {
        self.docker
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|err| self.error("start container", err))
    }

    /// Removes the container, killing it first if it runs, with its
    /// anonymous volumes. A container already gone, or going, is fine.
    pub async fn remove_container(&self, id: &str) -> Result<()> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }) => Ok(()),
            Err(err) => Err(self.error("remove container", err)),
        }
    }

    /// Asks the daemon to report the container's exit once it has been
    /// removed, and returns as soon as the daemon has registered the wait
    /// (it answers the response head at once), before the container starts.
    ///
    /// A direct call on the same client, because bollard's `wait_container`
    /// yields nothing until the container exits: there would be no knowing
    /// that the wait is registered before the start, and an auto-removed
    /// container that exits fast could be gone before a late wait arrives
    /// (a 404, and the exit code lost).
    pub async fn register_wait(&self, id: &str) -> Result<Response<Incoming>> {
        let operation = "wait for container";
        let request = Request::post(format!(
            "http://docker/containers/{id}/wait?condition=removed"
        ))
        .body(bollard::body_full(Bytes::new()))
        .map_err(|err| Error::Transport {
            operation,
            source: Box::new(err),
        })?;
        let response = self
            .transport
            .send(request)
            .await
            .map_err(|err| crate::backend::classify(&self.host, operation, Box::new(err)))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = read_small(operation, response).await?;
        Err(Error::Daemon {
            operation,
            status,
            message: daemon_message(&body),
        })
    }
}

/// Reads the exit code from the answer of [`Api::register_wait`].
pub(crate) async fn read_exit_code(response: Response<Incoming>) -> Result<i64> {
    let operation = "wait for container";
    let body = read_small(operation, response).await?;
    let exit: bollard::models::ContainerWaitResponse =
        serde_json::from_slice(&body).map_err(|err| Error::Transport {
            operation,
            source: Box::new(err),
        })?;
    match exit.error.and_then(|error| error.message) {
        Some(message) if !message.is_empty() => Err(Error::Daemon {
            operation,
            status: 200,
            message,
        }),
        _ => Ok(exit.status_code),
    }
}

pub(crate) async fn read_small(
    operation: &'static str,
    response: Response<Incoming>,
) -> Result<Bytes> {
    http_body_util::Limited::new(response.into_body(), SMALL_ANSWER_LIMIT)
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|source| Error::Transport { operation, source })
}

/// The daemon answers errors as `{"message": "..."}`; keep just the text.
pub(crate) fn daemon_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct DaemonError {
        message: String,
    }
    match serde_json::from_slice::<DaemonError>(body) {
        Ok(parsed) => parsed.message,
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::daemon_message;

    #[test]
    fn keeps_the_daemons_message_text() {
        assert_eq!(
            daemon_message(br#"{"message":"No such image: nope:latest"}"#),
            "No such image: nope:latest"
        );
        assert_eq!(daemon_message(b"plain text\n"), "plain text");
    }
}
