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
/// (`spawn_blocking`), or inside `block_in_place`, may block, and passes.
///
/// If it misjudges, nothing panics: every wait of dock-lite on the
/// caller's thread is a plain one (a std channel, or [`wait_here`]; never
/// tokio's `blocking_recv`, `blocking_send` or `block_on`, which panic in
/// an async context). A call judged async where it may block is refused
/// with `InsideAsyncRuntime`, before anything is sent. A call judged
/// blocking in async code runs as any blocking function would: it holds
/// that thread of the caller's runtime (every task of a `current_thread`
/// runtime) until it returns, within its deadlines; it cannot deadlock,
/// since dock-lite's own runtime runs on its own thread. The one case known
/// to be misjudged is the second: a future wrapped in
/// `tokio::task::unconstrained`, which has no budget to run out (see
/// `tests/blocking.rs`).
pub(crate) fn refuse_inside_async_runtime() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() && polls_async_tasks() {
        return Err(Error::InsideAsyncRuntime);
    }
    Ok(())
}

/// Waits on this thread for `future` (a channel's send or receive), as
/// tokio's `blocking_send` and `blocking_recv` do, but without their check
/// for an async context, which panics (see [`refuse_inside_async_runtime`]),
/// and without the check of futures-executor's `block_on`, which panics
/// inside another executor's `block_on`: the thread sleeps until the
/// future's waker wakes it.
pub(crate) fn wait_here<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A wake before this park makes it return at once.
        std::thread::park();
    }
}

/// Both kinds of thread carry the runtime's context (`Handle::try_current`
/// succeeds on both), and tokio offers no public way to tell them apart:
/// its own check, the one that panics in `block_on` or `blocking_recv`, is
/// private, and the current task's id is set on both. What differs is the
/// cooperative budget (public, in `tokio::task::coop`): the scheduler gives
/// each poll of a task, and each poll of a `block_on` future, a budget of
/// 128, while the blocking pool and `block_in_place` run unconstrained. The
/// budget is spent here, to see whether it runs out, and given back.
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
