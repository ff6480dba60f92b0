//! What the examples share: error reports, broker hints, submitting files.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Prints `result`'s error with its chain of causes; the exit code says whether it failed.
pub fn report<E: Into<Box<dyn Error>>>(result: Result<(), E>) -> ExitCode {
    match result.map_err(Into::into) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            let mut source = err.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// When no broker answers, says how to start one with Docker.
pub fn explain_broker_error(err: &mq_lite::Error) {
    if matches!(
        err,
        mq_lite::Error::BrokerUnreachable { .. } | mq_lite::Error::HandshakeFailed { .. }
    ) {
        eprintln!(
            "No RabbitMQ broker answers at AMQP_URL ({}). Start one with Docker:\n    \
             docker run -d --name rabbitmq -p 5672:5672 rabbitmq:4.1\n\
             then wait a few seconds for it to start. Offline, `scripts/test-images` \
             builds a local broker image (ondemand-local/rabbitmq:bookworm) to run the same way.",
            std::env::var(mq_lite::URL_ENV_VAR).unwrap_or_else(|_| mq_lite::DEFAULT_URL.to_owned())
        );
    }
}

/// Says how to start a broker when a platform error is the broker's.
pub fn explain_platform_error(err: &crate::PlatformError) {
    if let crate::PlatformError::Broker(err) = err {
        explain_broker_error(err);
    }
}

/// Connects to the broker at `AMQP_URL` and declares `queue` (durable).
pub fn declare_from_env(
    queue: &str,
) -> Result<(mq_lite::Connection, mq_lite::Queue), mq_lite::Error> {
    let connection = mq_lite::Connection::from_env()?;
    let queue = connection.declare_queue(queue, &mq_lite::QueueOptions::default())?;
    Ok((connection, queue))
}

/// The `.dot` files of `dir`, sorted.
pub fn dot_files(dir: &Path) -> Result<Vec<PathBuf>, crate::PlatformError> {
    let entries = std::fs::read_dir(dir).map_err(|source| crate::PlatformError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "dot"))
        .collect();
    files.sort();
    Ok(files)
}

/// Submits each file as a job (id: the file's stem and a time stamp), then
/// prints each result as it arrives, waiting up to `wait` for each.
pub fn submit_files(
    client: &mut crate::Client,
    files: &[PathBuf],
    format: &str,
    wait: Duration,
) -> Result<(), crate::PlatformError> {
    let stamp = crate::now_ms();
    for file in files {
        let source = std::fs::read_to_string(file).map_err(|source| crate::PlatformError::Io {
            path: file.clone(),
            source,
        })?;
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let id: String = format!("{stem}-{stamp}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        client.submit(&crate::Job {
            id: id.clone(),
            format: format.to_owned(),
            source,
        })?;
        println!("submitted {id} ({})", file.display());
    }
    for _ in files {
        match client.next_result(wait)? {
            Some(result) => println!("{}", describe(&result)),
            None => {
                eprintln!("no result within {wait:?}: is a render_worker running?");
                break;
            }
        }
    }
    Ok(())
}

/// One line about a job's result.
pub fn describe(result: &crate::JobResult) -> String {
    match result.status {
        crate::Status::Rendered => format!(
            "{}: rendered {} in commit {} (queue {} ms, container {} ms, git {} ms)",
            result.id,
            result.output_path.as_deref().unwrap_or(""),
            result
                .commit
                .as_deref()
                .unwrap_or("")
                .get(..12)
                .unwrap_or(""),
            result.timings.queue_ms,
            result.timings.container_ms,
            result.timings.git_ms
        ),
        crate::Status::Failed => format!(
            "{}: failed: {}",
            result.id,
            result.error.as_deref().unwrap_or("")
        ),
    }
}
