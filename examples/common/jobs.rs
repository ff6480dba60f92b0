//! Submitting graphs as jobs and printing their results.

use std::path::PathBuf;
use std::time::Duration;

/// Submits each file as a job (id: the file's stem and a time stamp), then
/// prints each result as it arrives, waiting up to `wait` for each.
pub fn submit_files(
    client: &mut ondemand_platform::Client,
    files: &[PathBuf],
    format: &str,
    wait: Duration,
) -> Result<(), ondemand_platform::PlatformError> {
    let stamp = ondemand_platform::now_ms();
    for file in files {
        let source = std::fs::read_to_string(file).map_err(|source| {
            ondemand_platform::PlatformError::Io {
                path: file.clone(),
                source,
            }
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
        client.submit(&ondemand_platform::Job {
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
pub fn describe(result: &ondemand_platform::JobResult) -> String {
    match result.status {
        ondemand_platform::Status::Rendered => format!(
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
        ondemand_platform::Status::Rendering => format!("{}: rendering", result.id),
        ondemand_platform::Status::Failed => format!(
            "{}: failed: {}",
            result.id,
            result.error.as_deref().unwrap_or("")
        ),
    }
}
