//! The jobs, waiting for their results, and the checks after a run.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bench_support::process;
use ondemand_platform::{Client, Job, JobResult, Status};

use crate::workers::Workers;
use crate::Result;

/// How long one wait for a result lasts before the workers are checked.
const RESULT_POLL: Duration = Duration::from_secs(1);

/// Job `number` of a run: a small labelled graph of three nodes.
pub fn job(id_prefix: &str, number: u32) -> Job {
    Job {
        id: format!("{id_prefix}-{number}"),
        format: "svg".to_owned(),
        source: format!(
            "digraph g{number} {{ label=\"job {number}\"; a{number} -> b{number} -> c{number} }}"
        ),
    }
}

/// Jobs 1 to `count`.
pub fn numbered(id_prefix: &str, count: u32) -> Vec<Job> {
    (1..=count).map(|number| job(id_prefix, number)).collect()
}

/// The next `count` results. Fails when a worker exits or when no result
/// comes for `timeout`.
pub fn collect(
    client: &mut Client,
    count: usize,
    timeout: Duration,
    workers: &mut Workers,
) -> Result<Vec<JobResult>> {
    let mut results = Vec::with_capacity(count);
    let mut last = Instant::now();
    while results.len() < count {
        if let Some(result) = client.next_result(RESULT_POLL)? {
            results.push(result);
            last = Instant::now();
            continue;
        }
        workers.check_alive()?;
        if last.elapsed() > timeout {
            return Err(format!(
                "{} of {count} results came; none for {timeout:?}",
                results.len()
            )
            .into());
        }
    }
    Ok(results)
}

/// Every job came back once, rendered.
pub fn check_rendered(jobs: &[Job], results: &[JobResult]) -> Result<()> {
    if let Some(result) = results.iter().find(|r| r.status != Status::Rendered) {
        return Err(format!(
            "job {} failed: {}",
            result.id,
            result.error.as_deref().unwrap_or("no error given")
        )
        .into());
    }
    let expected: BTreeSet<&str> = jobs.iter().map(|job| job.id.as_str()).collect();
    let got: BTreeSet<&str> = results.iter().map(|r| r.id.as_str()).collect();
    if got != expected || results.len() != jobs.len() {
        return Err(format!(
            "{} results for {} jobs; {} distinct ids, {} of them submitted",
            results.len(),
            jobs.len(),
            got.len(),
            got.intersection(&expected).count()
        )
        .into());
    }
    Ok(())
}

/// The project's history holds `expected` commits, counted by the git CLI.
pub fn check_commits(project: &Path, expected: usize) -> Result<()> {
    let output = process::run(
        Command::new("git")
            .arg("-C")
            .arg(project)
            .args(["rev-list", "--count", "HEAD"]),
        &format!("git rev-list in {}", project.display()),
    )?;
    let count = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if count != expected.to_string() {
        return Err(format!("{} has {count} commits, not {expected}", project.display()).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ondemand_platform::{valid_job_id, Timings};

    fn rendered(id: &str) -> JobResult {
        JobResult {
            id: id.to_owned(),
            status: Status::Rendered,
            commit: Some("c".into()),
            output_path: Some(format!("jobs/{id}.svg")),
            error: None,
            timings: Timings::default(),
        }
    }

    #[test]
    fn jobs_have_valid_distinct_ids_and_their_number_in_the_graph() {
        let jobs = numbered("bench-platform-r1-w2", 3);
        assert!(jobs.iter().all(|job| valid_job_id(&job.id)));
        assert_eq!(jobs[2].id, "bench-platform-r1-w2-3");
        assert!(
            jobs[2].source.contains("a3 -> b3 -> c3"),
            "{}",
            jobs[2].source
        );
    }

    #[test]
    fn a_missing_duplicated_or_failed_result_is_reported() {
        let jobs = numbered("p", 2);
        assert!(check_rendered(&jobs, &[rendered("p-2"), rendered("p-1")]).is_ok());
        assert!(check_rendered(&jobs, &[rendered("p-1"), rendered("p-1")]).is_err());
        assert!(check_rendered(&jobs, &[rendered("p-1")]).is_err());
        let failed = JobResult::failed("p-2", "syntax error", Timings::default());
        let err = check_rendered(&jobs, &[rendered("p-1"), failed]).unwrap_err();
        assert!(err.to_string().contains("syntax error"), "{err}");
    }
}
