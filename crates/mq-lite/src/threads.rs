//! Starting mq-lite's helper threads (closer, consumer sessions, watchdog,
//! name resolution), with small stacks: they only call into amiquip.

use std::thread::JoinHandle;

use crate::error::Error;

/// Starts the thread `mq-lite-<name>`; the error names it.
pub(crate) fn spawn<T: Send + 'static>(
    name: &'static str,
    stack_size: usize,
    run: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, Error> {
    #[cfg(test)]
    if tests::REFUSE.with(std::cell::Cell::get) {
        return Err(Error::ThreadSpawnFailed {
            thread: name,
            source: std::io::Error::other("refused by the test"),
        });
    }
    std::thread::Builder::new()
        .name(format!("mq-lite-{name}"))
        .stack_size(stack_size)
        .spawn(run)
        .map_err(|source| Error::ThreadSpawnFailed {
            thread: name,
            source,
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    thread_local! {
        /// While set, [`spawn`](super::spawn) fails on this thread, as it
        /// would with the process out of threads.
        pub(crate) static REFUSE: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `run` with every thread start on this thread refused.
    pub(crate) fn without_threads<T>(run: impl FnOnce() -> T) -> T {
        REFUSE.with(|refuse| refuse.set(true));
        let result = run();
        REFUSE.with(|refuse| refuse.set(false));
        result
    }
}
