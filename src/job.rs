//! What travels on the queues: render jobs and their results, as JSON.

use serde::{Deserialize, Serialize};

/// The queue that carries jobs, unless told otherwise.
pub const DEFAULT_JOB_QUEUE: &str = "render.jobs";

/// The output formats a worker renders. Never `ps` or `eps`: PostScript
/// output lets a graph copy local files of the container into it.
pub const FORMATS: [&str; 4] = ["svg", "png", "pdf", "jpeg"];

/// The media type of an output `format` (one of [`FORMATS`]).
pub fn content_type(format: &str) -> &'static str {
    match format {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "pdf" => "application/pdf",
        "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// The id of the job that renders `source` as `format`: the same graph in
/// the same format is always the same job (32 hex digits of SHA-256).
pub fn job_id_for(format: &str, source: &str) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(format.as_bytes());
    hash.update([0]);
    hash.update(source.as_bytes());
    let digest = hash.finalize();
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

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

/// How a job ended, or that it is being rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A worker took the job and is rendering it: a notice sent before the
    /// result, only to submitters that ask for it (header
    /// [`NOTIFY_RENDERING_HEADER`](crate::NOTIFY_RENDERING_HEADER)).
    Rendering,
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
    /// The notice that job `id` is being rendered (see
    /// [`Status::Rendering`]).
    pub fn rendering(id: &str) -> Self {
        JobResult {
            id: id.to_owned(),
            status: Status::Rendering,
            commit: None,
            output_path: None,
            error: None,
            timings: Timings::default(),
        }
    }

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

/// A rendered job on its way from a worker to the committer: the job, its
/// output and where its time went so far.
///
/// On the wire: a 4-byte big-endian length, that many bytes of JSON (the
/// job and the timings), then the output as it is (no base64 inflating it
/// by a third).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedJob {
    /// The job.
    pub job: Job,
    /// What `dot` wrote.
    pub output: Vec<u8>,
    /// Queue and container time; the committer adds the commit's.
    pub timings: Timings,
}

#[derive(Serialize, Deserialize)]
struct RenderedHead {
    job: Job,
    timings: Timings,
}

impl RenderedJob {
    /// The message body.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings and numbers always serialize; were it ever to fail, the
        // empty head is refused by the committer, never misread.
        let head = serde_json::to_vec(&RenderedHead {
            job: self.job.clone(),
            timings: self.timings,
        })
        .unwrap_or_default();
        let length = u32::try_from(head.len()).unwrap_or(u32::MAX);
        let mut bytes = Vec::with_capacity(4 + head.len() + self.output.len());
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(&head);
        bytes.extend_from_slice(&self.output);
        bytes
    }

    /// Reads a message body written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<RenderedJob, String> {
        let (length, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or("shorter than its 4-byte length")?;
        let length = u32::from_be_bytes(*length) as usize;
        if rest.len() < length {
            return Err(format!(
                "its head says {length} bytes, and {} follow",
                rest.len()
            ));
        }
        let (head, output) = rest.split_at(length);
        let head: RenderedHead = serde_json::from_slice(head).map_err(|err| err.to_string())?;
        Ok(RenderedJob {
            job: head.job,
            output: output.to_vec(),
            timings: head.timings,
        })
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
    fn the_same_graph_and_format_is_the_same_job_and_nothing_else_is() {
        let id = job_id_for("svg", "digraph { a -> b }");
        assert_eq!(id.len(), 32);
        assert!(valid_job_id(&id));
        assert_eq!(id, job_id_for("svg", "digraph { a -> b }"));
        assert_ne!(id, job_id_for("png", "digraph { a -> b }"));
        assert_ne!(id, job_id_for("svg", "digraph { a -> c }"));
        // The separator keeps format and source apart.
        assert_ne!(
            job_id_for("sv", "gdigraph{}"),
            job_id_for("svg", "digraph{}")
        );
    }

    #[test]
    fn a_rendered_job_round_trips_and_a_truncated_one_is_refused() {
        let rendered = RenderedJob {
            job: Job {
                id: "j1".into(),
                format: "png".into(),
                source: "digraph { a }".into(),
            },
            output: vec![0x89, b'P', b'N', b'G', 0, 255],
            timings: Timings {
                queue_ms: 3,
                container_ms: 400,
                git_ms: 0,
            },
        };
        let bytes = rendered.to_bytes();
        assert_eq!(RenderedJob::from_bytes(&bytes).unwrap(), rendered);
        for cut in [0, 3, 10] {
            assert!(RenderedJob::from_bytes(&bytes[..cut]).is_err(), "{cut}");
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
