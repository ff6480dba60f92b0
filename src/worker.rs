//! The render worker: takes jobs from the queue, renders them in a
//! container, hands the output to the committer (or answers a failure
//! itself), and only then acks. It needs no disk of its own: a worker runs
//! on any host that reaches the broker and a Docker engine.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dock_lite::{Docker, RunOptions};
use mq_lite::{ConnectOptions, Connection, ConsumeOptions, Delivery, HeaderValue, Message, Queue};

use crate::error::{carry_on, PlatformError};
use crate::job::{
    valid_job_id, Job, JobResult, RenderedJob, Status, Timings, DEFAULT_JOB_QUEUE, FORMATS,
};
use crate::orphans::{remove_orphaned_renders, timeout_label, ORPHAN_GRACE, RENDER_TIMEOUT_LABEL};
use crate::queues::{quorum, Queues};
use crate::replies::Replies;
use crate::store;

/// The label on every render container; its value is the job id.
pub const JOB_LABEL: &str = "dev.ondemand.platform.job";

/// The header in which clients put the submission time (Unix milliseconds).
pub const SUBMITTED_AT_HEADER: &str = "submitted_at_ms";

/// A job carrying this header (`true`) gets a [`Status::Rendering`] notice
/// on its reply-to queue when a worker starts rendering it, before its
/// result.
pub const NOTIFY_RENDERING_HEADER: &str = "notify_rendering";

/// How a worker renders.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerConfig {
    /// The queue to take jobs from (the other queues are named after it,
    /// see [`Queues`]).
    pub queue: String,
    /// The Graphviz image (`dot` as entrypoint).
    pub image: String,
    /// A render taking longer fails.
    pub timeout: Duration,
    /// Memory limit of a render container.
    pub memory_bytes: u64,
    /// Larger sources are refused.
    pub max_source_bytes: usize,
    /// Jobs taken ahead; 1 spreads them evenly between workers.
    pub prefetch: u16,
    /// The most output a render may write; past it the job fails.
    pub max_output_bytes: u64,
    /// The most processes (and threads) a render container may run.
    pub pids_limit: i64,
    /// The user a render container runs as (`uid:gid`): not root.
    pub user: String,
}

impl WorkerConfig {
    /// Defaults: queue `render.jobs`, 10 s timeout, 256 MiB, 256 KiB sources,
    /// prefetch 1, 8 MiB of output (a rendered job travels to the
    /// committer as one message, and RabbitMQ 4 refuses messages over
    /// 16 MiB), 64 processes, user `65534:65534` (nobody).
    pub fn new(image: impl Into<String>) -> Self {
        WorkerConfig {
            queue: DEFAULT_JOB_QUEUE.to_owned(),
            image: image.into(),
            timeout: Duration::from_secs(10),
            memory_bytes: 256 * 1024 * 1024,
            max_source_bytes: 256 * 1024,
            prefetch: 1,
            max_output_bytes: 8 * 1024 * 1024,
            pids_limit: 64,
            user: "65534:65534".to_owned(),
        }
    }
}

/// A worker connected to the broker and to Docker.
pub struct Worker {
    config: WorkerConfig,
    connection: Connection,
    jobs: Queue,
    /// Where rendered jobs go, for the committer.
    rendered: Queue,
    docker: Docker,
    replies: Replies,
    /// When orphaned render containers were last looked for.
    swept: Instant,
}

/// How often a running worker looks for render containers whose worker
/// died (see [`remove_orphaned_renders`]).
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The in-memory `/tmp` of a render container (within its memory limit).
const SCRATCH_BYTES: u64 = 16 * 1024 * 1024;

impl Worker {
    /// Connects to the broker and to Docker (`DOCKER_HOST`: the local
    /// socket, or another host over TCP with TLS from `DOCKER_CERT_PATH`),
    /// declares the job queue, its dead-letter queue and the queue of
    /// rendered jobs, and removes the render containers a dead worker left
    /// on its engine (see [`remove_orphaned_renders`]; a running worker
    /// does so every minute too).
    pub fn start(broker: &ConnectOptions, config: WorkerConfig) -> Result<Worker, PlatformError> {
        let connection = Connection::open_with(broker)?;
        let queues = Queues::for_jobs(&config.queue);
        let jobs = queues.declare_jobs(&connection)?;
        let rendered = connection.declare_queue(&queues.rendered, &quorum())?;
        let docker = Docker::connect()?;
        docker.ping()?;
        remove_orphaned_renders(&docker, ORPHAN_GRACE)?;
        Ok(Worker {
            config,
            connection,
            jobs,
            rendered,
            docker,
            replies: Replies::default(),
            swept: Instant::now(),
        })
    }

    /// Handles jobs until `stop` is set (checked at least every 200 ms),
    /// calling `on_result` after each (a rendered job's result has no
    /// commit yet: the committer makes it). Goes on after a
    /// [transient](PlatformError::is_transient) broker error. Returns how many jobs were handled.
    /// Stops with an error when the broker, Docker or git fail: the job at
    /// hand is then handed back to the queue, not lost.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        mut on_result: impl FnMut(&JobResult),
    ) -> Result<usize, PlatformError> {
        carry_on("worker", stop, |handled| {
            let mut consumer = self
                .jobs
                .consume(&ConsumeOptions::default().prefetch(self.config.prefetch))?;
            while !stop.load(Ordering::SeqCst) {
                self.sweep_now_and_then();
                let Some(delivery) = consumer.next_timeout(Duration::from_millis(200))? else {
                    continue;
                };
                let result = self.handle(delivery)?;
                *handled += 1;
                on_result(&result);
            }
            Ok(())
        })
    }

    /// Removes orphaned render containers once per [`SWEEP_INTERVAL`]. A
    /// failure waits for the next sweep: the engine's trouble shows in the
    /// next render, which hands its job back.
    fn sweep_now_and_then(&mut self) {
        if self.swept.elapsed() >= SWEEP_INTERVAL {
            self.swept = Instant::now();
            let _ = remove_orphaned_renders(&self.docker, ORPHAN_GRACE);
        }
    }

    fn handle(&mut self, delivery: Delivery) -> Result<JobResult, PlatformError> {
        let timings = Timings {
            queue_ms: waited_ms(&delivery),
            ..Timings::default()
        };
        let reply_to = delivery.properties().reply_to.clone();
        let outcome = match delivery.json::<Job>() {
            Ok(job) => match self
                .notify_rendering(&delivery, &job, reply_to.as_deref())
                .and_then(|()| self.render(job, timings))
            {
                Ok(outcome) => outcome,
                Err(err) => {
                    // Not the job's fault: give it back for another try.
                    let _ = delivery.nack(true);
                    return Err(err);
                }
            },
            Err(err) => {
                let id = delivery
                    .properties()
                    .correlation_id
                    .clone()
                    .unwrap_or_default();
                Rendering::Failed(JobResult::failed(
                    &id,
                    format!("not a render job: {err}"),
                    timings,
                ))
            }
        };
        let result = match outcome {
            Rendering::Done(rendered) => {
                // Rendered; its commit is the committer's to make.
                let result = JobResult {
                    id: rendered.job.id.clone(),
                    status: Status::Rendered,
                    commit: None,
                    output_path: Some(store::output_path(&rendered.job.id, &rendered.job.format)),
                    error: None,
                    timings: rendered.timings,
                };
                self.hand_over(&rendered, reply_to.as_deref())?;
                result
            }
            Rendering::Failed(result) => {
                if let Some(reply_to) = &reply_to {
                    self.reply(reply_to, &result)?;
                }
                result
            }
        };
        // Acked only now: a worker that dies before this line leaves the job
        // to be delivered again, and the committer commits it once.
        delivery.ack()?;
        Ok(result)
    }

    /// Publishes a rendered job to the committer, confirmed, with the
    /// submitter's reply-to for the committer to answer.
    fn hand_over(
        &mut self,
        rendered: &RenderedJob,
        reply_to: Option<&str>,
    ) -> Result<(), PlatformError> {
        let mut message = Message::new(rendered.to_bytes())
            .content_type("application/vnd.ondemand.rendered")
            .correlation_id(rendered.job.id.clone());
        if let Some(reply_to) = reply_to {
            message = message.reply_to(reply_to);
        }
        Ok(self.rendered.publish_message(&message)?)
    }

    /// Tells the submitter that the job is being rendered, if it asked.
    fn notify_rendering(
        &mut self,
        delivery: &Delivery,
        job: &Job,
        reply_to: Option<&str>,
    ) -> Result<(), PlatformError> {
        let asked = matches!(
            delivery.properties().headers.get(NOTIFY_RENDERING_HEADER),
            Some(HeaderValue::Bool(true))
        );
        match reply_to {
            Some(reply_to) if asked => self.reply(reply_to, &JobResult::rendering(&job.id)),
            _ => Ok(()),
        }
    }

    fn reply(&mut self, reply_to: &str, result: &JobResult) -> Result<(), PlatformError> {
        self.replies.send(&self.connection, reply_to, result)
    }

    fn render(&mut self, job: Job, mut timings: Timings) -> Result<Rendering, PlatformError> {
        let failed = |error: String, timings| {
            Ok(Rendering::Failed(JobResult::failed(
                &job.id, error, timings,
            )))
        };
        if !valid_job_id(&job.id) {
            return failed(format!("invalid job id {:?}", job.id), timings);
        }
        if !FORMATS.contains(&job.format.as_str()) {
            return failed(
                format!(
                    "unknown format {:?}; expected one of {}",
                    job.format,
                    FORMATS.join(", ")
                ),
                timings,
            );
        }
        if job.source.len() > self.config.max_source_bytes {
            return failed(
                format!(
                    "the source has {} bytes, over the limit of {}",
                    job.source.len(),
                    self.config.max_source_bytes
                ),
                timings,
            );
        }
        let started = Instant::now();
        let run = self.docker.run(
            &RunOptions::new(&self.config.image)
                .command([format!("-T{}", job.format)])
                .stdin(job.source.as_bytes().to_vec())
                .network("none")
                .memory_bytes(self.config.memory_bytes)
                .pids_limit(self.config.pids_limit)
                .user(&self.config.user)
                .locked_down()
                // fontconfig wants a writable cache directory; the root
                // file system is read-only.
                .tmpfs("/tmp", SCRATCH_BYTES)
                .env("HOME", "/tmp")
                .env("XDG_CACHE_HOME", "/tmp")
                .output_limit(self.config.max_output_bytes)
                .label(JOB_LABEL, &job.id)
                .label(RENDER_TIMEOUT_LABEL, timeout_label(self.config.timeout))
                .timeout(self.config.timeout),
        );
        timings.container_ms = millis(started.elapsed());
        let output = match run {
            Ok(output) => output,
            Err(dock_lite::Error::RunTimeout { timeout, .. }) => {
                return failed(format!("rendering took longer than {timeout:?}"), timings)
            }
            Err(dock_lite::Error::OutputTooLarge {
                stream,
                limit,
                received,
                ..
            }) => {
                return failed(
                    format!(
                        "dot wrote over {received} bytes on {stream}, over the limit of {limit}"
                    ),
                    timings,
                )
            }
            Err(err) => return Err(err.into()),
        };
        if !output.success() {
            let message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            // 137: killed by SIGKILL, which the kernel's OOM killer sends.
            if output.exit_code == 137 {
                return failed(
                    format!(
                        "dot was killed (exit 137), most likely for exceeding the memory limit of {} bytes",
                        self.config.memory_bytes
                    ),
                    timings,
                );
            }
            return failed(
                format!("dot failed (exit {}): {message}", output.exit_code),
                timings,
            );
        }
        Ok(Rendering::Done(RenderedJob {
            job,
            output: output.stdout,
            timings,
        }))
    }
}

/// What became of a job in a worker's hands.
enum Rendering {
    /// Rendered: for the committer.
    Done(RenderedJob),
    /// Refused or failed: answered by the worker.
    Failed(JobResult),
}

fn waited_ms(delivery: &Delivery) -> u64 {
    match delivery.properties().headers.get(SUBMITTED_AT_HEADER) {
        Some(HeaderValue::Int(submitted)) => {
            now_ms().saturating_sub(u64::try_from(*submitted).unwrap_or(0))
        }
        _ => 0,
    }
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
