//! Running a container to completion and collecting what it printed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use shiplift::tty::TtyChunk;
use shiplift::{ContainerOptions, LogsOptions, RmContainerOptions};

use crate::client::Docker;
use crate::error::{Error, Result};

/// What to run. Only the image is required.
///
/// ```
/// use std::time::Duration;
/// let options = dock_lite::RunOptions::new("alpine:3.20")
///     .command(["sh", "-c", "echo hello"])
///     .env("GREETING", "hello")
///     .label("com.example.owner", "docs")
///     .timeout(Duration::from_secs(30));
/// assert_eq!(options.image(), "alpine:3.20");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    image: String,
    entrypoint: Option<String>,
    command: Vec<String>,
    env: Vec<(String, String)>,
    labels: BTreeMap<String, String>,
    timeout: Option<Duration>,
}

impl RunOptions {
    /// Runs `image` with its default command.
    pub fn new(image: impl Into<String>) -> Self {
        RunOptions {
            image: image.into(),
            entrypoint: None,
            command: Vec::new(),
            env: Vec::new(),
            labels: BTreeMap::new(),
            timeout: None,
        }
    }

    /// The image to run.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Replaces the image's entrypoint by `program`; the [`command`](Self::command)
    /// becomes its arguments (`entrypoint("sh")` with `command(["-c", script])`).
    pub fn entrypoint(mut self, program: impl Into<String>) -> Self {
        self.entrypoint = Some(program.into());
        self
    }

    /// Replaces the image's command (the arguments of its entrypoint, if it has one).
    pub fn command<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.command = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Adds a label to the container (to find or clean up what you started).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Kills and removes the container if it has not finished after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn to_container_options(&self) -> ContainerOptions {
        let mut builder = ContainerOptions::builder(&self.image);
        if let Some(program) = &self.entrypoint {
            builder.entrypoint(program);
        }
        if !self.command.is_empty() {
            builder.cmd(self.command.iter().map(String::as_str).collect());
        }
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        builder.env(env);
        let labels = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        builder.labels(&labels);
        builder.build()
    }
}

/// How a container ended, and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunOutput {
    /// The exit code of the container's main process. Non-zero is a result,
    /// not an error.
    pub exit_code: i64,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr, kept apart from stdout.
    pub stderr: Vec<u8>,
    /// Time from creating the container to its exit.
    pub duration: Duration,
}

impl RunOutput {
    /// True when the exit code is 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

impl Docker {
    /// Creates a container from `options`, starts it, waits for it to exit,
    /// collects its stdout and stderr, and removes it, whatever happened
    /// (non-zero exit, timeout, error): no container is left behind.
    pub fn run(&self, options: &RunOptions) -> Result<RunOutput> {
        self.block_on(self.run_async(options))?
    }

    async fn run_async(&self, options: &RunOptions) -> Result<RunOutput> {
        let started = Instant::now();
        let containers = self.api.containers();
        let created = containers
            .create(&options.to_container_options())
            .await
            .map_err(|err| match err {
                shiplift::Error::Fault { code, .. } if code.as_u16() == 404 => {
                    Error::ImageNotFound {
                        image: options.image.clone(),
                    }
                }
                other => self.backend_error("create container", other),
            })?;
        let container = containers.get(&created.id);
        let outcome = async {
            container
                .start()
                .await
                .map_err(|err| self.backend_error("start container", err))?;
            let exit = match options.timeout {
                Some(timeout) => tokio::time::timeout(timeout, container.wait())
                    .await
                    .map_err(|_| Error::RunTimeout {
                        image: options.image.clone(),
                        timeout,
                    })?,
                None => container.wait().await,
            }
            .map_err(|err| self.backend_error("wait for container", err))?;
            let duration = started.elapsed();
            let (stdout, stderr) = collect_logs(self, &container).await?;
            Ok(RunOutput {
                exit_code: exit.status_code as i64,
                stdout,
                stderr,
                duration,
            })
        }
        .await;
        let removed = container
            .remove(
                RmContainerOptions::builder()
                    .force(true)
                    .volumes(true)
                    .build(),
            )
            .await
            .map_err(|err| self.backend_error("remove container", err));
        // The run's own error matters more than a failed clean-up.
        let output = outcome?;
        removed?;
        Ok(output)
    }
}

async fn collect_logs(
    docker: &Docker,
    container: &shiplift::Container<'_>,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut logs = container.logs(&LogsOptions::builder().stdout(true).stderr(true).build());
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    while let Some(chunk) = logs.next().await {
        match chunk.map_err(|err| docker.backend_error("read container output", err))? {
            TtyChunk::StdOut(bytes) => stdout.extend_from_slice(&bytes),
            TtyChunk::StdErr(bytes) => stderr.extend_from_slice(&bytes),
            TtyChunk::StdIn(_) => {}
        }
    }
    Ok((stdout, stderr))
}
