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
