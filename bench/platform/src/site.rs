//! Where a run happens: the broker, the image, the worker binary, and a
//! fresh queue and git project for every run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mq_lite::{ConnectOptions, Connection, Queue};
use ondemand_platform::Queues;
use tempfile::TempDir;

use crate::Result;

/// What the command line chose.
pub struct Options {
    pub url: String,
    pub image: String,
    pub worker_bin: PathBuf,
    pub work_dir: PathBuf,
    pub result_timeout: Duration,
}

/// The settings every run shares, and the temporary directory that holds
/// the runs' git projects and worker logs (removed when dropped).
pub struct Site {
    pub url: String,
    pub image: String,
    pub worker_bin: PathBuf,
    pub result_timeout: Duration,
    dir: TempDir,
}

impl Site {
    pub fn create(options: Options) -> Result<Site> {
        if !options.worker_bin.is_file() {
            return Err(format!(
                "no worker binary at {}: run `cargo build --release --example render_worker` \
                 or pass --worker-bin",
                options.worker_bin.display()
            )
            .into());
        }
        let dir = tempfile::Builder::new()
            .prefix("bench-platform.")
            .tempdir_in(&options.work_dir)?;
        Ok(Site {
            url: options.url,
            image: options.image,
            worker_bin: options.worker_bin,
            result_timeout: options.result_timeout,
            dir,
        })
    }

    /// The broker, reconnecting (to the next node of a cluster) as the
    /// platform's commands do.
    pub fn broker(&self) -> ConnectOptions {
        ConnectOptions::new(&self.url).reconnect(mq_lite::ReconnectPolicy::default())
    }

    /// A queue and a git project that no other run used: `label` names the
    /// run, the process id keeps two benchmarks on one broker apart.
    pub fn fresh(&self, label: &str) -> Result<RunSetup> {
        let dir = self.dir.path().join(label);
        std::fs::create_dir(&dir)?;
        Ok(RunSetup {
            queue: format!("bench.platform.{}.{label}", std::process::id()),
            project: dir.join("project"),
            id_prefix: format!("bench-platform-{label}"),
            dir,
        })
    }
}

/// One run's names and places.
pub struct RunSetup {
    /// The job queue.
    pub queue: String,
    /// The git project the committer commits to; it creates it.
    pub project: PathBuf,
    /// Job ids start with this (bench/platform/run finds leftover render
    /// containers by it).
    pub id_prefix: String,
    /// Holds the project, the worker logs and pid files.
    dir: PathBuf,
}

impl RunSetup {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Declares the job queue as the platform does (a quorum queue with
    /// its dead-letter queue), so that the benchmark can watch its
    /// consumers and delete it and the queues named after it afterwards.
    pub fn declare_queue(&self, broker: &ConnectOptions) -> Result<RunQueue> {
        let connection = Connection::open_with(broker)?;
        let queue = Queues::for_jobs(&self.queue).declare_jobs(&connection)?;
        Ok(RunQueue { queue, connection })
    }

    /// Removes the project and logs of a finished run.
    pub fn remove(self) -> Result<()> {
        Ok(std::fs::remove_dir_all(&self.dir)?)
    }
}

/// The job queue, on a connection of the benchmark's own.
pub struct RunQueue {
    queue: Queue,
    connection: Connection,
}

impl RunQueue {
    pub fn consumers(&self) -> Result<u32> {
        Ok(self.queue.info()?.consumer_count)
    }

    /// Durable queues outlive the run on a shared broker: delete it and
    /// the queues named after it.
    pub fn delete(self) -> Result<()> {
        let queues = Queues::for_jobs(self.queue.name());
        for name in [&queues.rendered, &queues.dead, &queues.parked] {
            if self.connection.queue_info(name)?.is_some() {
                self.connection.existing_queue(name)?.delete()?;
            }
        }
        self.queue.delete()?;
        Ok(())
    }
}
