//! The platform's queues, named after the job queue, and how each is
//! declared: every part of the platform declares them alike, or the broker
//! refuses the second declaration.
//!
//! All are quorum queues: replicated over a cluster's nodes (Raft), so the
//! loss of one node of three loses no job, result or rendered output; and
//! jobs are dead-lettered at least once.

use mq_lite::{Connection, DeadLetter, Queue, QueueOptions, QueueType};

/// How many times a job may be handed back (its worker died or gave it
/// back) before it is dead-lettered: it is delivered at most this many
/// times plus one. A job that crashes its worker every time ends there,
/// not in endless redelivery.
///
/// A worker that stops gracefully, or a publish refused during a broker's
/// failover, hands a job back too, and counts: the limit leaves room for a
/// few of those.
pub const DELIVERY_LIMIT: u32 = 4;

/// The queues of one platform, derived from the job queue's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queues {
    /// Jobs, from clients and the server to the workers.
    pub jobs: String,
    /// Rendered outputs, from the workers to the committer
    /// (`<jobs>.rendered`).
    pub rendered: String,
    /// Jobs past the delivery limit (`<jobs>.dead`): the committer answers
    /// their clients with a failed result.
    pub dead: String,
    /// Dead jobs once answered, kept for an operator (`<jobs>.parked`).
    pub parked: String,
}

impl Queues {
    /// The queues of the platform whose job queue is `jobs`.
    pub fn for_jobs(jobs: &str) -> Queues {
        Queues {
            jobs: jobs.to_owned(),
            rendered: format!("{jobs}.rendered"),
            dead: format!("{jobs}.dead"),
            parked: format!("{jobs}.parked"),
        }
    }

    /// Declares the dead-letter queue, then the job queue, and returns a
    /// handle on the job queue.
    pub fn declare_jobs(&self, connection: &Connection) -> mq_lite::Result<Queue> {
        connection.declare_queue(&self.dead, &quorum())?;
        connection.declare_queue(&self.jobs, &self.jobs_options())
    }

    /// The job queue: a quorum queue with the [`DELIVERY_LIMIT`], whose
    /// dead jobs go to [`dead`](Self::dead), at least once (a dead queue
    /// whose leader is failing over loses none).
    pub fn jobs_options(&self) -> QueueOptions {
        quorum()
            .delivery_limit(DELIVERY_LIMIT)
            .dead_letter(DeadLetter::to_queue(&self.dead))
            .dead_letter_at_least_once(true)
    }
}

/// A durable quorum queue: the declaration of every other platform queue
/// (rendered, dead, parked, the server's results).
pub fn quorum() -> QueueOptions {
    QueueOptions::default().queue_type(QueueType::Quorum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queues_are_named_after_the_job_queue() {
        let queues = Queues::for_jobs("render.jobs");
        assert_eq!(queues.rendered, "render.jobs.rendered");
        assert_eq!(queues.dead, "render.jobs.dead");
        assert_eq!(queues.parked, "render.jobs.parked");
        let options = queues.jobs_options();
        assert_eq!(options.queue_type, QueueType::Quorum);
    }
}
