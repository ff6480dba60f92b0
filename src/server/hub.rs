//! The server's blocking side: the broker (jobs out, results in), the git
//! project (what was rendered, read only: the committer writes it), and
//! the table of jobs in flight. It needs no Docker: workers render. Handlers reach it through `spawn_blocking`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mq_lite::{ConnectOptions, Connection, ConsumeOptions, Queue};
use repo_lite::Project;

use super::metrics::Metrics;
use super::tracker::{Known, Tracker};
use crate::error::PlatformError;
use crate::job::{Job, JobResult};
use crate::queues::{quorum, Queues};
use crate::store::open_or_init;
use crate::store::{self, StoredJob};
use crate::worker::NOTIFY_RENDERING_HEADER;

/// The queue results come back on, unless told otherwise.
pub const DEFAULT_RESULT_QUEUE: &str = "render.results";

/// What the hub connects to.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The broker.
    pub broker: ConnectOptions,
    /// The queue jobs go to.
    pub job_queue: String,
    /// The durable queue results come back on: a restarted server finds
    /// the results of jobs submitted before it stopped.
    pub result_queue: String,
    /// The git project the committer commits to (read only here).
    pub project: PathBuf,
}

/// A finished job, for a callback.
pub struct Finished {
    /// The job's id.
    pub id: String,
    /// What is known of it.
    pub known: Known,
}

/// The broker, git, and the jobs in flight.
pub struct Hub {
    _connection: Connection,
    jobs: Queue,
    results: Queue,
    /// A repo-lite project is `Send`, not `Sync`: one reader at a time.
    project: Mutex<Project>,
    /// Jobs in flight and failed.
    pub tracker: Tracker,
    /// What `/metrics` shows.
    pub metrics: Metrics,
    stop: AtomicBool,
}

impl Hub {
    /// Connects to the broker (declaring the job queue and the result
    /// queue, quorum queues both), opens (or
    /// creates) the git project.
    pub fn connect(config: &HubConfig) -> Result<Hub, PlatformError> {
        let connection = Connection::open_with(&config.broker)?;
        let jobs = Queues::for_jobs(&config.job_queue).declare_jobs(&connection)?;
        let results = connection.declare_queue(&config.result_queue, &quorum())?;
        let project = open_or_init(&config.project)?;
        Ok(Hub {
            _connection: connection,
            jobs,
            results,
            project: Mutex::new(project),
            tracker: Tracker::default(),
            metrics: Metrics::new(),
            stop: AtomicBool::new(false),
        })
    }

    fn project(&self) -> MutexGuard<'_, Project> {
        // A reader that panicked left the handle as it was: reads change
        // nothing but caches.
        self.project
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Job `id` in `format`, if the git project holds its output.
    pub fn find(&self, id: &str, format: &str) -> Result<Option<StoredJob>, PlatformError> {
        Ok(store::find(&self.project(), id, format)?)
    }

    /// The file at `path` at `HEAD`, with its blob id; `None` if absent.
    pub fn read(&self, path: &str) -> Result<Option<(String, Vec<u8>)>, PlatformError> {
        let project = self.project();
        let Some(id) = project.file_id(path)? else {
            return Ok(None);
        };
        Ok(Some((id, project.read_file(path)?)))
    }

    /// The latest `limit` jobs committed: id, format, commit, time (Unix s).
    pub fn recent(
        &self,
        limit: usize,
    ) -> Result<Vec<(String, String, String, i64)>, PlatformError> {
        Ok(self
            .project()
            .log(limit)?
            .into_iter()
            .filter_map(|commit| {
                let (id, format) = store::parse_commit_message(&commit.message)?;
                Some((id, format, commit.id, commit.time))
            })
            .collect())
    }

    /// Commit `id` of the project, if it has it.
    pub fn commit(&self, id: &str) -> Result<Option<repo_lite::CommitInfo>, PlatformError> {
        Ok(self.project().commit(id)?)
    }

    /// Publishes `job`, confirmed, asking for a rendering notice.
    pub fn publish(&self, job: &Job) -> Result<(), PlatformError> {
        let message = crate::client::job_message(job, self.results.name())?
            .header(NOTIFY_RENDERING_HEADER, true);
        Ok(self.jobs.publish_message(&message)?)
    }

    /// Messages waiting in the job queue.
    pub fn queue_depth(&self) -> Result<u32, PlatformError> {
        Ok(self.jobs.info()?.message_count)
    }

    /// Whether the broker and git answer, each with what failed.
    pub fn health(&self) -> [(&'static str, Result<(), String>); 2] {
        [
            (
                "broker",
                self.jobs.info().map(drop).map_err(|err| err.to_string()),
            ),
            (
                "git",
                self.project()
                    .head_commit()
                    .map(drop)
                    .map_err(|err| err.to_string()),
            ),
        ]
    }

    /// Takes results from the result queue until [`stop`](Self::stop),
    /// recording each; calls `finished` for each job that just finished.
    /// Survives the broker going away: it tries again every second.
    pub fn take_results(&self, mut finished: impl FnMut(Finished)) {
        while !self.stop.load(Ordering::SeqCst) {
            if let Err(err) = self.take_results_once(&mut finished) {
                eprintln!("ondemand: results: {err}; trying again in 1 s");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }

    fn take_results_once(&self, finished: &mut impl FnMut(Finished)) -> Result<(), PlatformError> {
        let mut consumer = self
            .results
            .consume(&ConsumeOptions::default().prefetch(100))?;
        while !self.stop.load(Ordering::SeqCst) {
            let Some(delivery) = consumer.next_timeout(Duration::from_millis(200))? else {
                continue;
            };
            match delivery.json::<JobResult>() {
                Ok(result) => {
                    if let Some(known) = self.tracker.record(&result) {
                        self.metrics.observe(&known);
                        if known.phase.is_final() {
                            finished(Finished {
                                id: result.id.clone(),
                                known,
                            });
                        }
                    }
                }
                Err(err) => eprintln!("ondemand: results: a message that is not a result: {err}"),
            }
            delivery.ack()?;
        }
        Ok(())
    }

    /// Ends [`take_results`](Self::take_results) within 200 ms.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Starts [`Hub::take_results`] on a thread of its own.
pub fn spawn_results(
    hub: Arc<Hub>,
    finished: impl FnMut(Finished) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ondemand-results".into())
        .spawn(move || hub.take_results(finished))
}
