//! What travels on the queues: render jobs and their results, as JSON.

use serde::{Deserialize, Serialize};

/// The queue that carries jobs, unless told otherwise.
pub const DEFAULT_JOB_QUEUE: &str = "render.jobs";

/// The output formats a worker renders.
pub const FORMATS: [&str; 3] = ["svg", "png", "pdf"];

/// A render job: a Graphviz source and the output format wanted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Names the job in results, commits and file names: letters, digits,
    /// `-`, `_` and `.` only.
    pub id: String,
    /// `svg`, `png` or `pdf`.
    pub format: String,
    /// The graph, in the DOT language.
    pub source: String,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Rendered and committed.
    Rendered,
    /// Refused or failed; the result's `error` says why.
    Failed,
}

/// Where the time of a job went, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// From submission to the worker picking the job up.
    pub queue_ms: u64,
    /// The container run.
    pub container_ms: u64,
    /// Writing the commit.
    pub git_ms: u64,
}

/// The answer a worker sends to the job's reply-to queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    /// The job's id.
    pub id: String,
    /// Rendered or failed.
    pub status: Status,
    /// The commit holding the source and the output (rendered jobs).
    pub commit: Option<String>,
    /// The output's path inside the git project (rendered jobs).
    pub output_path: Option<String>,
    /// What went wrong (failed jobs): for a bad graph, `dot`'s own message.
    pub error: Option<String>,
    /// Where the time went.
    pub timings: Timings,
}

impl JobResult {
    /// A failed result for job `id`.
    pub fn failed(id: &str, error: impl Into<String>, timings: Timings) -> Self {
        JobResult {
            id: id.to_owned(),
            status: Status::Failed,
            commit: None,
            output_path: None,
            error: Some(error.into()),
            timings,
        }
    }
}

/// Checks a job id: it becomes part of file names and commit messages.
pub fn valid_job_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_that_could_escape_a_file_name_are_refused() {
        assert!(valid_job_id("graph-1.v2_x"));
        for bad in ["", "../x", "a/b", ".hidden", "sp ace", &"x".repeat(129)] {
            assert!(!valid_job_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn results_round_trip_as_json() {
        let result = JobResult::failed("j1", "syntax error", Timings::default());
        let json = serde_json::to_string(&result).unwrap();
        assert!(json.contains("\"status\":\"failed\""), "{json}");
        assert_eq!(serde_json::from_str::<JobResult>(&json).unwrap(), result);
    }
}
