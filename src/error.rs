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
    /// consumer the broker cancelled, a resource alarm. The worker and the committer carry on
    /// after one; the job at hand went back to its queue. A lost
    /// connection is not one: under a reconnect policy mq-lite finds the
    /// broker again itself, and without one it stays lost.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PlatformError::Broker(
                mq_lite::Error::NotConfirmed { .. }
                    | mq_lite::Error::Blocked { .. }
                    | mq_lite::Error::PublishTimeout { .. }
                    | mq_lite::Error::Timeout { .. }
                    | mq_lite::Error::DeliveryChannelClosed { .. }
                    | mq_lite::Error::ConsumerCancelled { .. }
            )
        )
    }
}

/// The first wait after a transient error; it doubles, up to [`MAX_PAUSE`].
const FIRST_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);
const MAX_PAUSE: std::time::Duration = std::time::Duration::from_secs(30);
/// Transient errors in a row, with nothing handled in between, after which
/// a run gives up (some three minutes of waiting): then it is not passing.
const MAX_TRANSIENT_IN_A_ROW: u32 = 10;

/// Runs `consume` (which adds what it handles to the count it is given)
/// until it returns; after a [transient](PlatformError::is_transient)
/// error, says so on stderr, pauses (doubling from 1 s to 30 s) and runs it
/// again, unless `stop` is set or ten came in a row with nothing handled
/// in between. Returns the count, or the error it stopped on.
pub(crate) fn carry_on(
    who: &str,
    stop: &std::sync::atomic::AtomicBool,
    mut consume: impl FnMut(&mut usize) -> Result<(), PlatformError>,
) -> Result<usize, PlatformError> {
    let mut count = 0;
    let mut in_a_row = 0;
    let mut count_at_last_error = 0;
    loop {
        match consume(&mut count) {
            Err(err) if err.is_transient() && !stop.load(std::sync::atomic::Ordering::SeqCst) => {
                in_a_row = if count == count_at_last_error {
                    in_a_row + 1
                } else {
                    1
                };
                count_at_last_error = count;
                if in_a_row > MAX_TRANSIENT_IN_A_ROW {
                    return Err(err);
                }
                let pause = FIRST_PAUSE
                    .saturating_mul(2u32.saturating_pow(in_a_row - 1))
                    .min(MAX_PAUSE);
                eprintln!("ondemand: {who}: {err}; going on in {pause:?}");
                std::thread::sleep(pause);
            }
            outcome => return outcome.map(|()| count),
        }
    }
}
