//! The lifecycle steps shared by runs and detached containers: create (with
//! the pull policy), start, wait, remove. Each is an async step on the
//! runtime; the blocking calls bound them (see [`Api::within`]).

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, StartContainerOptions,
};
use hyper::body::Incoming;
use hyper::{Method, Response};

use crate::client::Api;
use crate::error::{Error, Result};
use crate::options::PullPolicy;
use crate::timeouts::Timeouts;

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
            self.within(operation, timeouts.request, async {
                self.docker
                    .create_container(None::<CreateContainerOptions>, body.clone())
                    .await
                    .map(|created| created.id)
                    .map_err(|err| self.error(operation, err))
            })
        };
        match create().await {
            Err(err @ Error::Daemon { status: 404, .. }) => {
                let present = self
                    .within("inspect image", timeouts.request, self.image_exists(image))
                    .await?;
                if present {
                    return Err(err);
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
    /// anonymous volumes. A container already gone is fine; one the daemon
    /// is removing already is waited for, until it is gone.
    pub async fn remove_container(&self, id: &str) -> Result<()> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            // The daemon is removing it already (an auto-removed container
            // that has just exited): gone once that removal ends, which the
            // caller's deadline bounds.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => loop {
                match self.docker.inspect_container(id, None).await {
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 404,
                        ..
                    }) => return Ok(()),
                    Err(err) => return Err(self.error("remove container", err)),
                    Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                }
            },
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
        let path = format!("/containers/{id}/wait?condition=removed");
        self.send_direct("wait for container", Method::POST, &path)
            .await
    }

    /// Reads the exit code from the answer of [`register_wait`](Self::register_wait).
    pub async fn read_exit_code(&self, response: Response<Incoming>) -> Result<i64> {
        let operation = "wait for container";
        let body = self.read_small(operation, response).await?;
        let exit: bollard::models::ContainerWaitResponse =
            serde_json::from_slice(&body).map_err(|err| self.broken(operation, err))?;
        match exit.error.and_then(|error| error.message) {
            Some(message) if !message.is_empty() => Err(Error::Daemon {
                operation,
                host: self.host.to_string(),
                resource: None,
                status: 200,
                message,
            }),
            _ => Ok(exit.status_code),
        }
    }
}
