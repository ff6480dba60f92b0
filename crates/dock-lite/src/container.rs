//! The lifecycle steps shared by runs and detached containers: create (with
//! the pull policy), start, wait, remove.

use serde::Deserialize;

use crate::client::Docker;
use crate::engine::Body;
use crate::error::{Error, Result};
use crate::options::{PullPolicy, RunOptions};

impl Docker {
    /// Creates a container; a missing image is pulled or reported, per the
    /// options' pull policy.
    pub(crate) fn create_container(&self, options: &RunOptions) -> Result<String> {
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "Id")]
            id: String,
        }
        let body = serde_json::to_vec(&options.to_create_body())
            .map_err(|err| crate::engine::transport("create container", err))?;
        let create = || {
            self.engine().json::<Created>(
                "create container",
                "POST",
                "/containers/create",
                Body::Json(body.clone()),
            )
        };
        match create() {
            Ok(created) => Ok(created.id),
            Err(Error::Daemon { status: 404, .. }) if options.pull == PullPolicy::IfMissing => {
                self.pull_image(&options.image, |_| {})?;
                Ok(create()?.id)
            }
            Err(Error::Daemon { status: 404, .. }) => Err(Error::ImageNotFound {
                image: options.image.clone(),
            }),
            Err(err) => Err(err),
        }
    }

    pub(crate) fn start_container(&self, id: &str) -> Result<()> {
        self.block_on(self.api().containers().get(id).start())?
            .map_err(|err| self.backend_error("start container", err))
    }

    /// Removes the container, killing it first if it runs, with its anonymous volumes.
    pub(crate) fn remove_container(&self, id: &str) -> Result<()> {
        let options = shiplift::RmContainerOptions::builder()
            .force(true)
            .volumes(true)
            .build();
        match self.block_on(self.api().containers().get(id).remove(options))? {
            Ok(()) => Ok(()),
            // Already gone, or going (auto-removal): what was asked for is true.
            Err(shiplift::Error::Fault { code, .. }) if matches!(code.as_u16(), 404 | 409) => {
                Ok(())
            }
            Err(err) => Err(self.backend_error("remove container", err)),
        }
    }
}
