//! Where jobs live in the git project, and reading them back.
//!
//! A job's source and output sit two directory levels down, sharded by a
//! hash of the job's id as git shards its objects:
//! `jobs/3f/a2/<id>.dot` and `jobs/3f/a2/<id>.svg`. A commit rewrites the
//! trees along its paths only (the root, `jobs/`, one of 256 shards and one
//! of its 256), where one flat `jobs/` directory made every commit rewrite
//! a tree of every job. The project is a bare repository, so a commit
//! writes no index of every file either: its cost stays flat as jobs
//! accumulate. Reading
//! a job back is a lookup of its path at `HEAD`, not a scan of history.

use std::path::Path;

use repo_lite::{InitOptions, Project};

use crate::error::PlatformError;
use sha2::Digest;

use crate::job::valid_job_id;

/// The directory every job's files are under.
pub const JOBS_DIR: &str = "jobs";

/// `jobs/<xx>/<yy>` for job `id`: the first two bytes of its SHA-256, in hex.
fn shard(id: &str) -> String {
    let digest = sha2::Sha256::digest(id.as_bytes());
    format!("{JOBS_DIR}/{:02x}/{:02x}", digest[0], digest[1])
}

/// The path of job `id`'s source in the project.
pub fn source_path(id: &str) -> String {
    format!("{}/{id}.dot", shard(id))
}

/// The path of job `id`'s output in `format` in the project.
pub fn output_path(id: &str, format: &str) -> String {
    format!("{}/{id}.{format}", shard(id))
}

/// The commit message of job `id`'s commit.
pub fn commit_message(id: &str, format: &str) -> String {
    format!("Render job {id} ({format})")
}

/// Reads a commit message written by [`commit_message`] back: the job's id
/// and format.
pub fn parse_commit_message(message: &str) -> Option<(String, String)> {
    let rest = message.trim_end().strip_prefix("Render job ")?;
    let (id, format) = rest.split_once(" (")?;
    let format = format.strip_suffix(')')?;
    valid_job_id(id).then(|| (id.to_owned(), format.to_owned()))
}

/// Opens the git project at `path`, creating it if missing: a bare
/// repository, so that a commit writes only its objects and the branch and
/// its cost stays flat as jobs accumulate (a work tree's index is rewritten
/// whole by every commit). A project made earlier with a work tree is
/// opened as it is.
pub fn open_or_init(path: &Path) -> Result<Project, PlatformError> {
    if let Ok(project) = Project::open(path) {
        return Ok(project);
    }
    std::fs::create_dir_all(path).map_err(|source| PlatformError::Io {
        path: path.to_owned(),
        source,
    })?;
    match Project::init(path, &InitOptions::default().bare(true)) {
        Ok(project) => Ok(project),
        // The committer and the server start together and race to create
        // the project: the loser opens it.
        Err(init_error) => Project::open(path).map_err(|_| init_error.into()),
    }
}

/// A job rendered and committed, as `HEAD` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredJob {
    /// The commit `HEAD` points at, which holds the job's files.
    pub commit: String,
    /// The blob id of the output (an `ETag`).
    pub output_id: String,
    /// The output's path.
    pub output_path: String,
}

/// Job `id` in `format`, if `HEAD` holds its output.
pub fn find(project: &Project, id: &str, format: &str) -> repo_lite::Result<Option<StoredJob>> {
    if !valid_job_id(id) {
        return Ok(None);
    }
    let path = output_path(id, format);
    // The commit first: a commit landing between the two reads only adds
    // files, and the output found is then in the commit named as well.
    let Some(commit) = project.head_commit()? else {
        return Ok(None);
    };
    Ok(project.file_id(&path)?.map(|output_id| StoredJob {
        commit,
        output_id,
        output_path: path,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sharded_two_levels_down_by_a_hash_of_the_id() {
        let source = source_path("abc");
        let output = output_path("abc", "svg");
        let parts: Vec<&str> = source.split('/').collect();
        assert_eq!(parts.len(), 4, "{source}");
        assert_eq!(parts[0], "jobs");
        assert!(parts[1..3]
            .iter()
            .all(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_hexdigit())));
        assert_eq!(parts[3], "abc.dot");
        assert_eq!(output, format!("{}/abc.svg", parts[..3].join("/")));
        assert_ne!(shard("abc"), shard("abd"));
    }

    #[test]
    fn commit_messages_read_back() {
        let message = commit_message("graph-1", "svg");
        assert_eq!(
            parse_commit_message(&format!("{message}\n")),
            Some(("graph-1".to_owned(), "svg".to_owned()))
        );
        assert_eq!(parse_commit_message("Initial commit"), None);
        assert_eq!(parse_commit_message("Render job ../x (svg)"), None);
    }
}
