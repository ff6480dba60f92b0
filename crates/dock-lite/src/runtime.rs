//! The runtime behind the blocking API: a one-thread tokio runtime on a
//! thread of its own, as reqwest's blocking client has. Callers hand it
//! futures and wait for their output on their own thread, so the runtime is
//! never blocked by them, is never dropped inside someone else's runtime
//! (tokio panics there), and outlives no `Docker` handle.

use std::future::Future;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::task::TaskTracker;

use crate::error::{Error, Result};

/// How long clean-ups started without a waiting caller (a removal from a
/// `Drop` inside an async runtime) may still run once the last handle is gone.
const DETACHED_GRACE: Duration = Duration::from_secs(15);

pub(crate) struct Runtime {
    handle: tokio::runtime::Handle,
    detached: TaskTracker,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Runtime {
    /// Starts the runtime's thread.
    pub fn start() -> Result<Runtime> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Runtime { source })?;
        let handle = runtime.handle().clone();
        let detached = TaskTracker::new();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let tracker = detached.clone();
        let thread = std::thread::Builder::new()
            .name("dock-lite".into())
            .spawn(move || {
                runtime.block_on(async move {
                    // Either a message or the sender dropped: time to stop.
                    let _ = stopped.await;
                    tracker.close();
                    let _ = tokio::time::timeout(DETACHED_GRACE, tracker.wait()).await;
                });
                // Not a plain drop, which would wait for ever for work on
                // the blocking pool (a name lookup that the resolver holds):
                // that work is left to end on its own.
                runtime.shutdown_background();
            })
            .map_err(|source| Error::Runtime { source })?;
        Ok(Runtime {
            handle,
            detached,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Runs `future` on the runtime and waits for its output on this thread.
    /// Refused inside an async runtime, whose thread this would block.
    pub fn run<F>(&self, future: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (receiver, _) = self.spawn(future)?;
        Self::wait(&receiver)
    }

    /// Starts `future` on the runtime; its output arrives on the receiver.
    /// The abort handle stops it early.
    pub fn spawn<F>(
        &self,
        future: F,
    ) -> Result<(mpsc::Receiver<F::Output>, tokio::task::AbortHandle)>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        refuse_inside_async_runtime()?;
        let (sender, receiver) = mpsc::sync_channel(1);
        let task = self.handle.spawn(async move {
            let _ = sender.send(future.await);
        });
        Ok((receiver, task.abort_handle()))
    }

    /// Waits for the output of a future started with [`spawn`](Self::spawn).
    pub fn wait<T>(receiver: &mpsc::Receiver<T>) -> Result<T> {
        receiver.recv().map_err(|_| stopped())
    }

    /// Starts `future` without waiting for it: for clean-ups that must not
    /// block (a `Drop` inside an async runtime). The runtime gives such
    /// tasks a little time to finish when the last handle goes.
    pub fn detach<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn(self.detached.track_future(future));
    }
}

/// [`Error::InsideAsyncRuntime`] when called from async code: a thread
/// that polls a tokio runtime's tasks (or its `block_on` future), where
/// blocking would stall them. A thread of a runtime's blocking pool
/// (`spawn_blocking`) may block, and passes.
pub(crate) fn refuse_inside_async_runtime() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() && polls_async_tasks() {
        return Err(Error::InsideAsyncRuntime);
    }
    Ok(())
}

/// Both kinds of thread carry the runtime's context; tokio tells them apart
/// only by the cooperative budget of the task being polled, which its
/// blocking pool does not have (tokio's own check, the one that panics in
/// `block_on` or `blocking_recv`, is private). The budget is spent, to see
/// whether it runs out, and given back.
fn polls_async_tasks() -> bool {
    use std::task::{Context, Poll, Waker};
    /// Far above tokio's budget per poll (128).
    const PROBE: usize = 4096;
    let mut cx = Context::from_waker(Waker::noop());
    let mut spent = Vec::new();
    let mut ran_out = false;
    while spent.len() < PROBE {
        match tokio::task::coop::poll_proceed(&mut cx) {
            Poll::Ready(restore) => spent.push(restore),
            Poll::Pending => {
                ran_out = true;
                break;
            }
        }
    }
    // Each guard gives back the budget it found: the first one last.
    while let Some(restore) = spent.pop() {
        drop(restore);
    }
    ran_out
}

fn stopped() -> Error {
    Error::Runtime {
        source: std::io::Error::other("dock-lite's runtime thread has stopped"),
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let Some(thread) = self.thread.take() else {
            return;
        };
        // Inside an async runtime (the runtime's own thread included),
        // waiting would block it: the thread then finishes alone.
        if refuse_inside_async_runtime().is_ok() {
            let _ = thread.join();
        }
    }
}
