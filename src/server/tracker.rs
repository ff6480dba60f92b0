//! The jobs this server has in flight or saw fail, and whoever waits on
//! them.
//!
//! Git is the record of what was rendered and the broker of what is in
//! flight: this table only remembers, for the life of the process, what
//! neither says directly (that a job is queued or rendering, why one
//! failed), and wakes the requests waiting for a job to finish. It is
//! bounded: at most the configured number of jobs in flight, and the
//! latest [`MAX_FINISHED`] finished ones.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::job::{JobResult, Status, Timings};

/// Finished jobs remembered (failures, mostly: rendered ones are in git).
pub const MAX_FINISHED: usize = 10_000;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Published, waiting for a worker.
    Queued,
    /// A worker is rendering it.
    Rendering,
    /// Rendered and committed.
    Rendered,
    /// Refused or failed.
    Failed,
}

impl Phase {
    /// True once the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Rendered | Phase::Failed)
    }
}

/// What is known of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// Where it is.
    pub phase: Phase,
    /// The output format.
    pub format: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The commit holding it, once rendered.
    pub commit: Option<String>,
    /// Where its time went.
    pub timings: Timings,
    /// When it was submitted (Unix ms), if through this server.
    pub submitted_at_ms: Option<u64>,
    /// Where the result is to be posted, once finished.
    pub callback_url: Option<String>,
}

struct Entry {
    known: watch::Sender<Known>,
}

#[derive(Default)]
struct Table {
    jobs: HashMap<String, Entry>,
    /// Finished jobs, oldest first, to forget the oldest past the cap.
    finished: VecDeque<String>,
    in_flight: usize,
}

/// The table of jobs.
#[derive(Default)]
pub struct Tracker {
    table: Mutex<Table>,
}

/// What [`Tracker::enqueue`] found.
pub enum Enqueued {
    /// A new entry: publish the job.
    New(watch::Receiver<Known>),
    /// Already known (in flight, or finished and failed): nothing to publish.
    Known(watch::Receiver<Known>),
    /// `max_in_flight` jobs are in flight already.
    Full,
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock leaves a table still consistent
        // (every change is one insert or remove).
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Jobs queued or rendering.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// What is known of job `id`, to read or to wait on.
    pub fn watch(&self, id: &str) -> Option<watch::Receiver<Known>> {
        self.lock()
            .jobs
            .get(id)
            .map(|entry| entry.known.subscribe())
    }

    /// Records job `id` as queued, unless it is known already or
    /// `max_in_flight` jobs are in flight. A job that failed is queued
    /// again when `retry_failed`.
    pub fn enqueue(
        &self,
        id: &str,
        format: &str,
        submitted_at_ms: u64,
        callback_url: Option<String>,
        max_in_flight: usize,
    ) -> Enqueued {
        let mut table = self.lock();
        if let Some(entry) = table.jobs.get(id) {
            let phase = entry.known.borrow().phase;
            if phase != Phase::Failed {
                return Enqueued::Known(entry.known.subscribe());
            }
            // Failed before: submitting it again tries again.
            table.finished.retain(|finished| finished != id);
            table.jobs.remove(id);
        }
        if table.in_flight >= max_in_flight {
            return Enqueued::Full;
        }
        let (sender, receiver) = watch::channel(Known {
            phase: Phase::Queued,
            format: format.to_owned(),
            error: None,
            commit: None,
            timings: Timings::default(),
            submitted_at_ms: Some(submitted_at_ms),
            callback_url,
        });
        table.jobs.insert(id.to_owned(), Entry { known: sender });
        table.in_flight += 1;
        Enqueued::New(receiver)
    }

    /// Forgets a job whose publish failed: nothing is in flight.
    pub fn withdraw(&self, id: &str) {
        let mut table = self.lock();
        if let Some(entry) = table.jobs.remove(id) {
            if !entry.known.borrow().phase.is_final() {
                table.in_flight -= 1;
            }
        }
    }

    /// Records what a worker said of a job; returns what is now known, with
    /// the callback to make if the job just finished.
    pub fn record(&self, result: &JobResult) -> Option<Known> {
        let phase = match result.status {
            Status::Rendering => Phase::Rendering,
            Status::Rendered => Phase::Rendered,
            Status::Failed => Phase::Failed,
        };
        let mut table = self.lock();
        let table = &mut *table;
        let was_final = match table.jobs.get(&result.id) {
            Some(entry) => entry.known.borrow().phase.is_final(),
            None => {
                // Submitted before a restart, or by another server.
                let format = result
                    .output_path
                    .as_deref()
                    .and_then(|path| path.rsplit_once('.'))
                    .map(|(_, format)| format.to_owned())
                    .unwrap_or_default();
                let (sender, _) = watch::channel(Known {
                    phase: Phase::Queued,
                    format,
                    error: None,
                    commit: None,
                    timings: Timings::default(),
                    submitted_at_ms: None,
                    callback_url: None,
                });
                table
                    .jobs
                    .insert(result.id.clone(), Entry { known: sender });
                table.in_flight += 1;
                false
            }
        };
        if was_final {
            return None; // a redelivery's second answer
        }
        let entry = table.jobs.get(&result.id)?;
        entry.known.send_modify(|known| {
            known.phase = phase;
            if phase.is_final() {
                known.error = result.error.clone();
                known.commit = result.commit.clone();
                known.timings = result.timings;
            }
        });
        let known = entry.known.borrow().clone();
        if phase.is_final() {
            table.in_flight -= 1;
            table.finished.push_back(result.id.clone());
            while table.finished.len() > MAX_FINISHED {
                if let Some(oldest) = table.finished.pop_front() {
                    table.jobs.remove(&oldest);
                }
            }
        }
        Some(known)
    }
}

/// Waits until `known` is final or `wait` has passed; returns what is known.
pub async fn wait_final(mut known: watch::Receiver<Known>, wait: std::time::Duration) -> Known {
    let _ = tokio::time::timeout(wait, known.wait_for(|known| known.phase.is_final())).await;
    let now = known.borrow().clone();
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, status: Status) -> JobResult {
        JobResult {
            status,
            ..JobResult::rendering(id)
        }
    }

    #[test]
    fn a_job_is_queued_once_counted_in_flight_until_it_finishes_and_a_failed_one_can_retry() {
        let tracker = Tracker::default();
        assert!(matches!(
            tracker.enqueue("a", "svg", 0, None, 1),
            Enqueued::New(_)
        ));
        assert!(matches!(
            tracker.enqueue("a", "svg", 0, None, 1),
            Enqueued::Known(_)
        ));
        assert!(matches!(
            tracker.enqueue("b", "svg", 0, None, 1),
            Enqueued::Full
        ));
        assert_eq!(tracker.in_flight(), 1);
        let rendering = tracker.record(&result("a", Status::Rendering)).unwrap();
        assert_eq!(rendering.phase, Phase::Rendering);
        let failed = tracker.record(&result("a", Status::Failed)).unwrap();
        assert_eq!(failed.phase, Phase::Failed);
        assert_eq!(tracker.in_flight(), 0);
        assert!(tracker.record(&result("a", Status::Rendered)).is_none());
        assert!(matches!(
            tracker.enqueue("a", "svg", 0, None, 1),
            Enqueued::New(_)
        ));
        tracker.withdraw("a");
        assert_eq!(tracker.in_flight(), 0);
        assert!(tracker.watch("a").is_none());
    }

    #[test]
    fn finished_jobs_past_the_cap_are_forgotten_oldest_first() {
        let tracker = Tracker::default();
        for n in 0..=MAX_FINISHED {
            let id = format!("j{n}");
            tracker.enqueue(&id, "svg", 0, None, 1);
            tracker.record(&result(&id, Status::Failed));
        }
        assert!(tracker.watch("j0").is_none());
        assert!(tracker.watch("j1").is_some());
        assert_eq!(tracker.in_flight(), 0);
    }
}
