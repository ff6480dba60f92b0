//! A worker and a committer on threads of this process: the back end of a
//! platform on one machine (the one-command example, the tests).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use mq_lite::ConnectOptions;

use crate::committer::{Committer, CommitterConfig};
use crate::error::PlatformError;
use crate::worker::{Worker, WorkerConfig};

type Running = JoinHandle<Result<usize, PlatformError>>;

/// A [`Worker`] and a [`Committer`] running on threads of their own until
/// [`stop`](Self::stop) (or drop, which stops them without waiting).
pub struct LocalBackEnd {
    stop: Arc<AtomicBool>,
    worker: Option<Running>,
    committer: Option<Running>,
}

impl LocalBackEnd {
    /// Starts both; fails, with nothing left running, if either cannot start.
    pub fn start(
        broker: &ConnectOptions,
        worker: WorkerConfig,
        committer: CommitterConfig,
    ) -> Result<LocalBackEnd, PlatformError> {
        let mut worker = Worker::start(broker, worker)?;
        let mut committer = Committer::start(broker, committer)?;
        let stop = Arc::new(AtomicBool::new(false));
        let spawn = |name: &str, run: Box<dyn FnOnce() -> Result<usize, PlatformError> + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(run)
                .map_err(|source| PlatformError::ThreadSpawnFailed {
                    thread: name.into(),
                    source,
                })
        };
        let stopper = Arc::clone(&stop);
        let worker = spawn(
            "ondemand-worker",
            Box::new(move || worker.run(&stopper, |_| {})),
        )?;
        let stopper = Arc::clone(&stop);
        let committer = spawn(
            "ondemand-committer",
            Box::new(move || committer.run(&stopper, |_| {})),
        );
        let committer = match committer {
            Ok(committer) => committer,
            Err(err) => {
                stop.store(true, Ordering::SeqCst);
                let _ = worker.join();
                return Err(err);
            }
        };
        Ok(LocalBackEnd {
            stop,
            worker: Some(worker),
            committer: Some(committer),
        })
    }

    /// True while both still run (neither stopped on an error).
    pub fn is_running(&self) -> bool {
        [&self.worker, &self.committer]
            .iter()
            .all(|thread| thread.as_ref().is_some_and(|thread| !thread.is_finished()))
    }

    /// Stops both (once the job at hand is done, and the committer's mirror
    /// has had its last push, 15 s at most) and
    /// returns how many jobs the worker handled and the committer answered,
    /// or the error either stopped on.
    pub fn stop(mut self) -> Result<(usize, usize), PlatformError> {
        self.stop.store(true, Ordering::SeqCst);
        // Both joined before either error is returned: nothing left running.
        let handled = join(self.worker.take());
        let answered = join(self.committer.take());
        Ok((handled?, answered?))
    }
}

fn join(thread: Option<Running>) -> Result<usize, PlatformError> {
    let Some(thread) = thread else {
        return Ok(0);
    };
    let name = thread.thread().name().unwrap_or_default().to_owned();
    thread
        .join()
        .unwrap_or(Err(PlatformError::ThreadPanicked { thread: name }))
}

impl Drop for LocalBackEnd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
