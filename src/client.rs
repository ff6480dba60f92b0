//! The client side: submit jobs, receive their results on a reply queue.

use std::time::Duration;

use mq_lite::{ConnectOptions, Connection, ConsumeOptions, Consumer, Message, Queue};

use crate::error::PlatformError;
use crate::job::{Job, JobResult};
use crate::queues::Queues;
use crate::worker::{now_ms, SUBMITTED_AT_HEADER};

/// `job` as a message: its results go to `reply_to`, and it carries the
/// time it was submitted.
pub(crate) fn job_message(job: &Job, reply_to: &str) -> Result<Message, PlatformError> {
    Ok(Message::json(job)?
        .reply_to(reply_to)
        .correlation_id(job.id.clone())
        .header(
            SUBMITTED_AT_HEADER,
            i64::try_from(now_ms()).unwrap_or(i64::MAX),
        ))
}

/// Submits jobs and receives their results on an exclusive reply queue.
pub struct Client {
    _connection: Connection,
    jobs: Queue,
    replies: Queue,
    results: Consumer,
}

impl Client {
    /// Connects, declares the job queue (a quorum queue, with its
    /// dead-letter queue) and a reply queue.
    pub fn connect(broker: &ConnectOptions, job_queue: &str) -> Result<Client, PlatformError> {
        let connection = Connection::open_with(broker)?;
        let jobs = Queues::for_jobs(job_queue).declare_jobs(&connection)?;
        let replies = connection.declare_reply_queue()?;
        let results = replies.consume(&ConsumeOptions::default().prefetch(50))?;
        Ok(Client {
            _connection: connection,
            jobs,
            replies,
            results,
        })
    }

    /// Publishes `job`, confirmed by the broker.
    pub fn submit(&self, job: &Job) -> Result<(), PlatformError> {
        let message = job_message(job, self.replies.name())?;
        Ok(self.jobs.publish_message(&message)?)
    }

    /// The next result, waiting up to `timeout`; `None` if none came.
    /// [`Status::Rendering`](crate::Status::Rendering) notices (which this
    /// client does not ask for) are skipped.
    pub fn next_result(&mut self, timeout: Duration) -> Result<Option<JobResult>, PlatformError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Some(delivery) = self.results.next_timeout(left)? else {
                return Ok(None);
            };
            let result = delivery.json::<JobResult>()?;
            delivery.ack()?;
            if result.status != crate::Status::Rendering {
                return Ok(Some(result));
            }
        }
    }
}
