//! Single jobs on an idle worker: where the submit-to-result time goes.

use std::time::{Duration, Instant};

use ondemand_platform::{Client, Job, JobResult};

use crate::jobs;
use crate::site::Site;
use crate::workers::Workers;
use crate::Result;

/// How long the worker gets to print a job after its result came.
const SETTLE: Duration = Duration::from_secs(10);

/// One job's submit-to-result time and its parts, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub total: f64,
    /// Submission to the worker picking the job up (the worker's figure).
    pub queue: f64,
    /// The container run of `dot`.
    pub container: f64,
    /// The commit.
    pub git: f64,
    /// The rest: decoding and checking the job, publishing the result, the
    /// client receiving it.
    pub other: f64,
}

impl Split {
    fn new(total: Duration, result: &JobResult) -> Split {
        let timings = result.timings;
        let total = total.as_secs_f64() * 1000.0;
        let (queue, container, git) = (
            timings.queue_ms as f64,
            timings.container_ms as f64,
            timings.git_ms as f64,
        );
        Split {
            total,
            queue,
            container,
            git,
            other: total - queue - container - git,
        }
    }
}

/// `warmup` untimed jobs, then `count` timed ones, one at a time through a
/// single fresh worker; each is submitted once the worker is idle again.
pub fn measure(site: &Site, count: u32, warmup: u32) -> Result<Vec<Split>> {
    let setup = site.fresh("latency")?;
    let queue = setup.declare_queue(&site.broker())?;
    let mut worker = Workers::start(site, &setup, &queue, 1)?;
    let mut client = Client::connect(&site.broker(), &setup.queue)?;
    let mut splits = Vec::new();
    for number in 1..=warmup + count {
        let job = jobs::job(&setup.id_prefix, number);
        let (elapsed, result) = one_job(site, &mut client, &mut worker, &job)?;
        // The result can overtake the worker's ack: wait for the worker to
        // finish, so that the next job finds it idle.
        worker.wait_until_handled(number as usize, SETTLE)?;
        if number > warmup {
            let split = Split::new(elapsed, &result);
            eprintln!(
                "single job {}/{count}: {:.1} ms (queue {}, container {}, git {}, other {:.1})",
                number - warmup,
                split.total,
                split.queue,
                split.container,
                split.git,
                split.other
            );
            splits.push(split);
        }
    }
    jobs::check_commits(&setup.project, (warmup + count) as usize)?;
    drop(worker);
    drop(client);
    queue.delete()?;
    setup.remove()?;
    Ok(splits)
}

fn one_job(
    site: &Site,
    client: &mut Client,
    worker: &mut Workers,
    job: &Job,
) -> Result<(Duration, JobResult)> {
    let started = Instant::now();
    client.submit(job)?;
    let mut results = jobs::collect(client, 1, site.result_timeout, worker)?;
    let elapsed = started.elapsed();
    jobs::check_rendered(std::slice::from_ref(job), &results)?;
    Ok((elapsed, results.remove(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ondemand_platform::Timings;

    #[test]
    fn other_is_what_the_three_parts_leave_of_the_total() {
        let mut result = JobResult::failed("j", "", Timings::default());
        result.timings = Timings {
            queue_ms: 2,
            container_ms: 300,
            git_ms: 10,
        };
        let split = Split::new(Duration::from_micros(320_500), &result);
        assert!((split.other - 8.5).abs() < 1e-9, "{split:?}");
    }
}
