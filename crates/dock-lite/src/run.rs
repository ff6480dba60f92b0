//! Running a container to completion: stdin in, stdout and stderr out.

use std::pin::Pin;
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::query_parameters::AttachContainerOptions;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::client::{Api, Docker};
use crate::error::{Error, Result};
use crate::options::{PullPolicy, RunOptions};
use crate::runtime::refuse_inside_async_runtime;
use crate::timeouts::Timeouts;

/// How long the exit code may take to arrive once the output has ended,
/// for a run without a timeout of its own.
const EXIT_REPORT_TIMEOUT: Duration = Duration::from_secs(30);

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

/// One of a container's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl std::fmt::Display for OutputStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
        })
    }
}

/// What the runtime needs of a run, owned.
struct Plan {
    body: bollard::models::ContainerCreateBody,
    image: String,
    pull: PullPolicy,
    stdin: Option<Bytes>,
    timeout: Option<Duration>,
    output_limit: u64,
    timeouts: Timeouts,
}

impl Docker {
    /// Creates a container from `options`, attaches to it, starts it, feeds
    /// it the options' stdin, collects its stdout and stderr until it exits,
    /// and removes it, whatever happened (non-zero exit, timeout, too much
    /// output, error): no container is left behind.
    ///
    /// The options are checked first ([`Error::InvalidOption`]), and nothing
    /// is created from inside an async runtime ([`Error::InsideAsyncRuntime`]). The
    /// [`timeout`](RunOptions::timeout) holds whatever the container does
    /// with its stdin: one that never reads it, or exits without reading it,
    /// ends the run on time. Each of stdout and stderr is kept up to the
    /// [`output_limit`](RunOptions::output_limit).
    ///
    /// The daemon is also told to remove the container when it exits, so
    /// that it goes even if this process dies first (only a process killed
    /// in the few milliseconds between creating and starting the container
    /// leaves it behind, created but never started: label your runs to find
    /// such leftovers).
    pub fn run(&self, options: &RunOptions) -> Result<RunOutput> {
        refuse_inside_async_runtime()?;
        options.validate()?;
        let started = Instant::now();
        let plan = Plan {
            body: options.to_create_body(true, self.host().is_local()),
            image: options.image.clone(),
            pull: options.pull,
            stdin: options.stdin.as_deref().map(Bytes::copy_from_slice),
            timeout: options.timeout,
            output_limit: options.output_limit,
            timeouts: self.timeouts(),
        };
        let api = self.api();
        self.run_on_runtime(run(api, plan, started))
    }
}

/// A run; the daemon's errors name the image until the container exists,
/// and the container's id after.
async fn run(api: Api, plan: Plan, started: Instant) -> Result<RunOutput> {
    let create = async {
        api.agree_within("create container", plan.timeouts.request)
            .await?;
        api.create_container(plan.body.clone(), &plan.image, plan.pull, plan.timeouts)
            .await
    };
    let id = create.await.map_err(|err| err.concerning(&plan.image))?;
    match run_created(&api, &id, &plan, started).await {
        // The wait ended with the daemon's removal: nothing left to do.
        Ok(output) => Ok(output),
        Err(err) => {
            // The run's own error matters more than a failed clean-up.
            let _ = api
                .within(
                    "remove container",
                    plan.timeouts.request,
                    api.remove_container(&id),
                )
                .await;
            Err(err.concerning(&id))
        }
    }
}

async fn run_created(api: &Api, id: &str, plan: &Plan, started: Instant) -> Result<RunOutput> {
    let request = plan.timeouts.request;
    let options = AttachContainerOptions {
        stream: true,
        stdout: true,
        stderr: true,
        stdin: plan.stdin.is_some(),
        logs: false,
        detach_keys: None,
    };
    // Attached, and waited for, before the start: no output is missed, and
    // the exit code is caught. The wait ends once the daemon has removed
    // the container, so none is listed after `run` returns.
    let attached = api
        .within("attach to container", request, async {
            api.docker
                .attach_container(id, Some(options))
                .await
                .map_err(|err| api.error("attach to container", err))
        })
        .await?;
    let exit = api
        .within("wait for container", request, api.register_wait(id))
        .await?;
    api.within("start container", request, api.start_container(id))
        .await?;

    let deadline = plan
        .timeout
        .map(|timeout| tokio::time::Instant::from_std(started + timeout));
    let timed_out = || Error::RunTimeout {
        image: plan.image.clone(),
        timeout: plan.timeout.unwrap_or_default(),
    };
    // The writer is a task of its own: a container that reads its input
    // slowly, or never, cannot hold up the output, and the task is dropped
    // (with its half of the connection) once the output has ended.
    let mut input = attached.input;
    let writer = plan.stdin.clone().map(|bytes| {
        tokio::spawn(async move {
            // A container that exits without reading its input makes the
            // write fail: that is its choice.
            if input.write_all(&bytes).await.is_ok() {
                // Half-closes the connection: the container sees the end of its stdin.
                let _ = input.shutdown().await;
            }
        })
    });
    let collected = collect(attached.output, plan.output_limit, deadline).await;
    if let Some(writer) = writer {
        writer.abort();
    }
    let (stdout, stderr) = match collected {
        Ok(output) => output,
        Err(Collect::TimedOut) => return Err(timed_out()),
        Err(Collect::TooLarge { stream, received }) => {
            return Err(Error::OutputTooLarge {
                image: plan.image.clone(),
                stream,
                limit: plan.output_limit,
                received,
            })
        }
        Err(Collect::Failed(err)) => return Err(api.error("read container output", err)),
    };
    let exit_code = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, api.read_exit_code(exit))
            .await
            .map_err(|_| timed_out())??,
        None => {
            api.within(
                "wait for container",
                EXIT_REPORT_TIMEOUT,
                api.read_exit_code(exit),
            )
            .await?
        }
    };
    Ok(RunOutput {
        exit_code,
        stdout,
        stderr,
        duration: started.elapsed(),
    })
}

enum Collect {
    TimedOut,
    TooLarge { stream: OutputStream, received: u64 },
    Failed(bollard::errors::Error),
}

type Output =
    Pin<Box<dyn Stream<Item = std::result::Result<LogOutput, bollard::errors::Error>> + Send>>;

/// Reads the container's output until it ends, keeping each stream up to
/// `limit` bytes; gives up at `deadline`.
async fn collect(
    mut output: Output,
    limit: u64,
    deadline: Option<tokio::time::Instant>,
) -> std::result::Result<(Vec<u8>, Vec<u8>), Collect> {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    loop {
        let next = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, output.next())
                .await
                .map_err(|_| Collect::TimedOut)?,
            None => output.next().await,
        };
        let (stream, target, message) = match next {
            None => return Ok((stdout, stderr)),
            Some(Err(err)) => return Err(Collect::Failed(err)),
            Some(Ok(LogOutput::StdErr { message })) => (OutputStream::Stderr, &mut stderr, message),
            // Without a TTY the daemon multiplexes; a raw stream is stdout.
            Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                (OutputStream::Stdout, &mut stdout, message)
            }
            Some(Ok(LogOutput::StdIn { .. })) => continue,
        };
        let received = (target.len() + message.len()) as u64;
        if received > limit {
            return Err(Collect::TooLarge { stream, received });
        }
        reserve_within(target, message.len(), limit);
        target.extend_from_slice(&message);
    }
}

/// Makes room for `more` bytes in `buffer` as a `Vec` would (doubling its
/// capacity, so that a long output is copied a few times only), but never
/// past `limit`: doubling alone could reserve up to twice the limit.
/// `buffer.len() + more` must not exceed `limit`.
fn reserve_within(buffer: &mut Vec<u8>, more: usize, limit: u64) {
    let needed = buffer.len() + more;
    if needed <= buffer.capacity() {
        return;
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(needed);
    let capacity = buffer.capacity().saturating_mul(2).max(needed).min(limit);
    buffer.reserve_exact(capacity - buffer.len());
}

#[cfg(test)]
mod tests {
    use super::reserve_within;

    #[test]
    fn output_buffers_double_up_to_the_limit_and_no_further() {
        let limit = 17 * 1024 * 1024;
        let mut buffer = Vec::new();
        let chunk = vec![0u8; 100_000];
        let mut capacities = Vec::new();
        while buffer.len() + chunk.len() <= limit {
            reserve_within(&mut buffer, chunk.len(), limit as u64);
            buffer.extend_from_slice(&chunk);
            if capacities.last() != Some(&buffer.capacity()) {
                capacities.push(buffer.capacity());
            }
        }
        assert_eq!(buffer.capacity(), limit, "{capacities:?}");
        // Grown by doubling: a few copies, not one per chunk.
        assert!(capacities.len() < 12, "{capacities:?}");
    }
}
