//! The render worker: takes jobs from the queue, renders them in a
//! container, commits source and output, answers, and only then acks.

use std::collections::hash_map::{Entry, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dock_lite::{Docker, RunOptions};
use mq_lite::{
    ConnectOptions, Connection, ConsumeOptions, Delivery, HeaderValue, Message, Queue, QueueOptions,
};
use repo_lite::{InitOptions, Outcome, Project};

use crate::error::PlatformError;
use crate::job::{valid_job_id, Job, JobResult, Status, Timings, DEFAULT_JOB_QUEUE, FORMATS};
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
    /// The queue to take jobs from.
    pub queue: String,
    /// The Graphviz image (`dot` as entrypoint).
    pub image: String,
    /// The git project where sources and outputs are committed (created if missing).
    pub project: PathBuf,
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
    /// prefetch 1, 16 MiB of output, 64 processes, user `65534:65534`
    /// (nobody).
    pub fn new(image: impl Into<String>, project: impl Into<PathBuf>) -> Self {
        WorkerConfig {
            queue: DEFAULT_JOB_QUEUE.to_owned(),
            image: image.into(),
            project: project.into(),
            timeout: Duration::from_secs(10),
            memory_bytes: 256 * 1024 * 1024,
            max_source_bytes: 256 * 1024,
            prefetch: 1,
            max_output_bytes: 16 * 1024 * 1024,
            pids_limit: 64,
            user: "65534:65534".to_owned(),
        }
    }
}

/// A worker connected to the broker, Docker and its git project.
pub struct Worker {
    config: WorkerConfig,
    connection: Connection,
    jobs: Queue,
    docker: Docker,
    project: Project,
    /// Handles on clients' reply queues, kept so that each answer does not
    /// open (and close) a channel of its own.
    replies: HashMap<String, Queue>,
}

/// The in-memory `/tmp` of a render container (within its memory limit).
const SCRATCH_BYTES: u64 = 16 * 1024 * 1024;

/// Reply handles kept at most; past that the cache starts afresh.
const MAX_REPLY_HANDLES: usize = 64;

impl Worker {
    /// Connects to the broker and Docker, declares the job queue (durable)
    /// and opens (or creates) the git project.
    pub fn start(broker: &ConnectOptions, config: WorkerConfig) -> Result<Worker, PlatformError> {
        let connection = Connection::open_with(broker)?;
        let jobs = connection.declare_queue(&config.queue, &QueueOptions::default())?;
        let docker = Docker::connect()?;
        docker.ping()?;
        let project = open_or_init(&config.project)?;
        Ok(Worker {
            config,
            connection,
            jobs,
            docker,
            project,
            replies: HashMap::new(),
        })
    }

    /// Handles jobs until `stop` is set (checked at least every 200 ms),
    /// calling `on_result` after each. Returns how many jobs were handled.
    /// Stops with an error when the broker, Docker or git fail: the job at
    /// hand is then handed back to the queue, not lost.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        mut on_result: impl FnMut(&JobResult),
    ) -> Result<usize, PlatformError> {
        let mut consumer = self
            .jobs
            .consume(&ConsumeOptions::default().prefetch(self.config.prefetch))?;
        let mut handled = 0;
        while !stop.load(Ordering::SeqCst) {
            let Some(delivery) = consumer.next_timeout(Duration::from_millis(200))? else {
                continue;
            };
            let result = self.handle(delivery)?;
            handled += 1;
            on_result(&result);
        }
        Ok(handled)
    }

    fn handle(&mut self, delivery: Delivery) -> Result<JobResult, PlatformError> {
        let timings = Timings {
            queue_ms: waited_ms(&delivery),
            ..Timings::default()
        };
        let reply_to = delivery.properties().reply_to.clone();
        let result = match delivery.json::<Job>() {
            Ok(job) => match self
                .notify_rendering(&delivery, &job, reply_to.as_deref())
                .and_then(|()| self.render(&job, timings))
            {
                Ok(result) => result,
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
                JobResult::failed(&id, format!("not a render job: {err}"), timings)
            }
        };
        if let Some(reply_to) = reply_to {
            self.reply(&reply_to, &result)?;
        }
        // Acked only now: a worker that dies before this line leaves the job
        // to be delivered again, and the second commit finds nothing to change.
        delivery.ack()?;
        Ok(result)
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
        let message = Message::json(result)?.correlation_id(result.id.clone());
        if self.replies.len() >= MAX_REPLY_HANDLES && !self.replies.contains_key(reply_to) {
            self.replies.clear();
        }
        let handle = match self.replies.entry(reply_to.to_owned()) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert(self.connection.existing_queue(reply_to)?),
        };
        let published = handle.publish_message(&message);
        match published {
            // The client went away: nobody waits for this answer, or the next.
            Err(mq_lite::Error::Unroutable { .. }) => {
                self.replies.remove(reply_to);
                Ok(())
            }
            other => Ok(other?),
        }
    }

    fn render(&mut self, job: &Job, mut timings: Timings) -> Result<JobResult, PlatformError> {
        let failed = |error: String, timings| Ok(JobResult::failed(&job.id, error, timings));
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
        let started = Instant::now();
        let output_path = store::output_path(&job.id, &job.format);
        let commit = self.commit(job, &output_path, &output.stdout)?;
        timings.git_ms = millis(started.elapsed());
        Ok(JobResult {
            id: job.id.clone(),
            status: Status::Rendered,
            commit: Some(commit),
            output_path: Some(output_path),
            error: None,
            timings,
        })
    }

    /// Commits source and output in one commit; returns its id. Retries
    /// when another worker committed to the same project meanwhile.
    fn commit(
        &mut self,
        job: &Job,
        output_path: &str,
        output: &[u8],
    ) -> Result<String, PlatformError> {
        let files = [
            (store::source_path(&job.id), job.source.as_bytes()),
            (output_path.to_owned(), output),
        ];
        let message = store::commit_message(&job.id, &job.format);
        let mut attempt = 0;
        loop {
            match self.project.write_files(&files, &message) {
                Ok(Outcome::Committed { id }) => return Ok(id),
                // Delivered again after an earlier worker committed it (or
                // rendered again): HEAD holds these very files.
                Ok(Outcome::Unchanged) => {
                    return Ok(self.project.head_commit()?.unwrap_or_default())
                }
                // Another worker committed first (or held the branch's
                // lock): commit again on top of its commit.
                Err(repo_lite::Error::BranchMoved { .. } | repo_lite::Error::Commit { .. })
                    if attempt < 5 =>
                {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(20 * attempt));
                    self.project = Project::open(&self.config.project)?;
                }
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// Opens the git project at `path`, creating it if missing: a bare
/// repository, so that a commit writes only its objects and the branch and
/// its cost stays flat as jobs accumulate (a work tree's index is rewritten
/// whole by every commit). A project made earlier with a work tree is
/// opened as it is.
pub(crate) fn open_or_init(path: &std::path::Path) -> Result<Project, PlatformError> {
    if let Ok(project) = Project::open(path) {
        return Ok(project);
    }
    std::fs::create_dir_all(path).map_err(|source| PlatformError::Io {
        path: path.to_owned(),
        source,
    })?;
    match Project::init(path, &InitOptions::default().bare(true)) {
        Ok(project) => Ok(project),
        // Workers started together race to create the project: the loser opens it.
        Err(init_error) => Project::open(path).map_err(|_| init_error.into()),
    }
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
