//! The platform's error: which building block failed.

/// What can stop a worker or a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The broker failed.
    #[error("broker: {0}")]
    Broker(#[from] mq_lite::Error),
    /// Docker failed.
    #[error("docker: {0}")]
    Docker(#[from] dock_lite::Error),
    /// The git project failed.
    #[error("git: {0}")]
    Git(#[from] repo_lite::Error),
    /// The container images could not be made ready.
    #[error("preparing the images with {script}: {reason}")]
    ImagePreparation {
        /// The script that prepares them.
        script: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An HTTP request to the platform's server failed.
    #[error("HTTP request to {url}: {reason}")]
    Http {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A thread could not be started.
    #[error("starting thread {thread}: {source}")]
    ThreadSpawnFailed {
        /// The thread's name.
        thread: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A thread of the platform's panicked.
    #[error("thread {thread} panicked")]
    ThreadPanicked {
        /// The thread's name.
        thread: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl PlatformError {
    /// True for a broker error that passes: a message refused while a
    /// queue's leader fails over, a confirm or an answer that came late, a
    /// consumer the broker cancelled. The worker and the committer carry on
    /// after one; the job at hand went back to its queue. A lost
    /// connection is not one: under a reconnect policy mq-lite finds the
    /// broker again itself, and without one it stays lost.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PlatformError::Broker(
                mq_lite::Error::NotConfirmed { .. }
                    | mq_lite::Error::PublishTimeout { .. }
                    | mq_lite::Error::Timeout { .. }
                    | mq_lite::Error::DeliveryChannelClosed { .. }
                    | mq_lite::Error::ConsumerCancelled { .. }
            )
        )
    }
}

/// How long a run waits after a transient error before it consumes again.
const TRANSIENT_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `consume` (which adds what it handles to the count it is given)
/// until it returns; after a [transient](PlatformError::is_transient)
/// error, says so on stderr, pauses and runs it again, unless `stop` is
/// set. Returns the count, or the first other error.
pub(crate) fn carry_on(
    who: &str,
    stop: &std::sync::atomic::AtomicBool,
    mut consume: impl FnMut(&mut usize) -> Result<(), PlatformError>,
) -> Result<usize, PlatformError> {
    let mut count = 0;
    loop {
        match consume(&mut count) {
            Err(err) if err.is_transient() && !stop.load(std::sync::atomic::Ordering::SeqCst) => {
                eprintln!("ondemand: {who}: {err}; going on in {TRANSIENT_PAUSE:?}");
                std::thread::sleep(TRANSIENT_PAUSE);
            }
            outcome => return outcome.map(|()| count),
        }
    }
}
