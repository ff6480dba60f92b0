//! The committer: the one writer of the git history. It takes rendered
//! jobs from the workers, commits each once, answers its submitter, and
//! only then acks; it answers the jobs that went to the dead-letter queue
//! and parks them; a [`Mirror`] pushes the history to a remote.
//!
//! One writer, rather than workers committing to a shared project: workers
//! need no shared file system (they can run on any host), no two commits
//! race for the branch, and "already committed?" is one lookup, so a job
//! rendered twice (its worker died after handing it over) is committed once.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mq_lite::{ConnectOptions, Connection, ConsumeOptions, Consumer, Delivery, Message, Queue};
use repo_lite::{Outcome, Project};

use crate::error::{carry_on, PlatformError};
use crate::job::{valid_job_id, Job, JobResult, RenderedJob, Status, DEFAULT_JOB_QUEUE, FORMATS};
use crate::mirror::Mirror;
use crate::queues::{quorum, Queues, DELIVERY_LIMIT};
use crate::replies::Replies;
use crate::store;

/// How a committer runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CommitterConfig {
    /// The job queue; the queues of rendered and dead jobs are named after
    /// it (see [`Queues`]).
    pub queue: String,
    /// The git project (a bare repository, created if missing).
    pub project: PathBuf,
    /// A remote repository (any URL repo-lite pushes to) the history is
    /// pushed to after commits, as remote `mirror`; `None`: no mirror.
    pub mirror: Option<String>,
    /// Rendered jobs taken ahead.
    pub prefetch: u16,
}

impl CommitterConfig {
    /// Defaults: queue `render.jobs`, no mirror, prefetch 32.
    pub fn new(project: impl Into<PathBuf>) -> Self {
        CommitterConfig {
            queue: DEFAULT_JOB_QUEUE.to_owned(),
            project: project.into(),
            mirror: None,
            prefetch: 32,
        }
    }
}

/// The committer, connected to the broker and holding the git project.
pub struct Committer {
    connection: Connection,
    queues: Queues,
    rendered: Queue,
    dead: Queue,
    parked: Queue,
    prefetch: u16,
    project: Project,
    replies: Replies,
    mirror: Option<Mirror>,
}

/// How often a dead job is looked for while rendered jobs keep coming.
const POLL: Duration = Duration::from_millis(100);

impl Committer {
    /// Connects to the broker, declares the queues it reads and writes,
    /// opens (or creates) the git project and starts the mirror.
    pub fn start(
        broker: &ConnectOptions,
        config: CommitterConfig,
    ) -> Result<Committer, PlatformError> {
        let connection = Connection::open_with(broker)?;
        let queues = Queues::for_jobs(&config.queue);
        let dead = connection.declare_queue(&queues.dead, &quorum())?;
        let rendered = connection.declare_queue(&queues.rendered, &quorum())?;
        let parked = connection.declare_queue(&queues.parked, &quorum())?;
        let project = store::open_or_init(&config.project)?;
        let mirror = match &config.mirror {
            Some(url) => Some(Mirror::start(&project, url)?),
            None => None,
        };
        Ok(Committer {
            connection,
            queues,
            rendered,
            dead,
            parked,
            prefetch: config.prefetch,
            project,
            replies: Replies::default(),
            mirror,
        })
    }

    /// Commits and answers until `stop` is set (checked at least every
    /// 100 ms), calling `on_result` with each answer. Returns how many
    /// jobs it answered. Goes on after a [transient](PlatformError::is_transient)
    /// broker error; stops with any other broker or git error. Either way
    /// the job at hand goes back to its queue, not lost. The mirror is
    /// given a last push (bounded) before it returns.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        mut on_result: impl FnMut(&JobResult),
    ) -> Result<usize, PlatformError> {
        let outcome = carry_on("committer", stop, |answered| {
            self.consume(stop, &mut on_result, answered)
        });
        if let Some(mirror) = self.mirror.take() {
            mirror.stop();
        }
        outcome
    }

    fn consume(
        &mut self,
        stop: &AtomicBool,
        on_result: &mut impl FnMut(&JobResult),
        answered: &mut usize,
    ) -> Result<(), PlatformError> {
        let options = ConsumeOptions::default().prefetch(self.prefetch);
        let mut rendered = self.rendered.consume(&options)?;
        let mut dead = self.dead.consume(&ConsumeOptions::default().prefetch(1))?;
        while !stop.load(Ordering::SeqCst) {
            if let Some(delivery) = rendered.next_timeout(POLL)? {
                on_result(&self.commit_rendered(delivery)?);
                *answered += 1;
            }
            while let Some(delivery) = next_now(&mut dead)? {
                on_result(&self.answer_dead(delivery)?);
                *answered += 1;
            }
        }
        Ok(())
    }

    /// Commits a rendered job unless the history has it already, answers
    /// its submitter, then acks.
    fn commit_rendered(&mut self, delivery: Delivery) -> Result<JobResult, PlatformError> {
        let rendered = match RenderedJob::from_bytes(delivery.body()).and_then(|rendered| {
            check_job(&rendered.job)?;
            Ok(rendered)
        }) {
            Ok(rendered) => rendered,
            Err(reason) => {
                // Nothing to commit: answer, park for an operator, and go
                // on (a message refused again and again would hold up
                // every job behind it).
                let id = delivery.properties().correlation_id.clone();
                let result = JobResult::failed(
                    id.as_deref().unwrap_or_default(),
                    format!("the worker's message could not be committed: {reason}"),
                    Default::default(),
                );
                self.park(&delivery, id.unwrap_or_default())?;
                self.answer(&delivery, &result)?;
                delivery.ack()?;
                return Ok(result);
            }
        };
        let started = Instant::now();
        let job = &rendered.job;
        let commit = match store::find(&self.project, &job.id, &job.format)? {
            // Rendered twice (its first worker died after handing it over):
            // the history keeps the first.
            Some(stored) => stored.commit,
            None => self.commit(&rendered)?,
        };
        let mut timings = rendered.timings;
        timings.git_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let result = JobResult {
            id: job.id.clone(),
            status: Status::Rendered,
            commit: Some(commit),
            output_path: Some(store::output_path(&job.id, &job.format)),
            error: None,
            timings,
        };
        if let Some(mirror) = &self.mirror {
            mirror.notify();
        }
        self.answer(&delivery, &result)?;
        delivery.ack()?;
        Ok(result)
    }

    /// Source and output in one commit; its id.
    fn commit(&mut self, rendered: &RenderedJob) -> Result<String, PlatformError> {
        let job = &rendered.job;
        let files = [
            (store::source_path(&job.id), job.source.as_bytes()),
            (
                store::output_path(&job.id, &job.format),
                rendered.output.as_slice(),
            ),
        ];
        let message = store::commit_message(&job.id, &job.format);
        match self.project.write_files(&files, &message)? {
            Outcome::Committed { id } => Ok(id),
            // A source committed without this output: nothing new to write.
            Outcome::Unchanged => Ok(self.project.head_commit()?.unwrap_or_default()),
        }
    }

    /// Answers a job that reached the delivery limit with a failed result,
    /// parks it for an operator, then acks it. A job the history holds
    /// (its last worker handed it over and died before acking) is answered
    /// as rendered instead, and not parked.
    fn answer_dead(&mut self, delivery: Delivery) -> Result<JobResult, PlatformError> {
        let job = delivery.json::<Job>().ok();
        if let Some(job) = job.as_ref().filter(|job| check_job(job).is_ok()) {
            if let Some(stored) = store::find(&self.project, &job.id, &job.format)? {
                let result = JobResult {
                    id: job.id.clone(),
                    status: Status::Rendered,
                    commit: Some(stored.commit),
                    output_path: Some(stored.output_path),
                    error: None,
                    timings: Default::default(),
                };
                self.answer(&delivery, &result)?;
                delivery.ack()?;
                return Ok(result);
            }
        }
        let id = match job {
            Some(job) => job.id,
            None => delivery
                .properties()
                .correlation_id
                .clone()
                .unwrap_or_default(),
        };
        let result = JobResult::failed(
            &id,
            format!(
                "the job was handed to a worker {} times and never finished (its worker \
                 stopped each time: the graph may crash it); it is kept in queue {}",
                DELIVERY_LIMIT + 1,
                self.queues.parked
            ),
            Default::default(),
        );
        self.park(&delivery, id)?;
        self.answer(&delivery, &result)?;
        delivery.ack()?;
        Ok(result)
    }

    /// Keeps a copy of `delivery` in the parked queue, its message id the
    /// job's (a committer that dies before its ack parks it again: the id
    /// tells the copies apart).
    fn park(&mut self, delivery: &Delivery, id: String) -> Result<(), PlatformError> {
        let mut parked = Message::new(delivery.body().to_vec())
            .correlation_id(id.clone())
            .message_id(id);
        if let Some(content_type) = &delivery.properties().content_type {
            parked = parked.content_type(content_type.clone());
        }
        Ok(self.parked.publish_message(&parked)?)
    }

    fn answer(&mut self, delivery: &Delivery, result: &JobResult) -> Result<(), PlatformError> {
        match &delivery.properties().reply_to {
            Some(reply_to) => self.replies.send(&self.connection, reply_to, result),
            None => Ok(()),
        }
    }
}

/// Refuses a job whose id or format would not make the platform's paths
/// (a worker checks them too; this message may come from elsewhere).
fn check_job(job: &Job) -> Result<(), String> {
    if !valid_job_id(&job.id) {
        return Err(format!("invalid job id {:?}", job.id));
    }
    if !FORMATS.contains(&job.format.as_str()) {
        return Err(format!("unknown format {:?}", job.format));
    }
    Ok(())
}

/// The next delivery if one is there already.
fn next_now(consumer: &mut Consumer) -> Result<Option<Delivery>, PlatformError> {
    Ok(consumer.next_timeout(Duration::ZERO)?)
}
