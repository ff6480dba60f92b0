//! One throughput run: a batch of jobs through N worker processes, timed
//! from the first submit to the last result.

use std::time::{Duration, Instant};

use ondemand_platform::Client;

use crate::jobs;
use crate::site::Site;
use crate::workers::Workers;
use crate::Result;

/// How long the workers get to print their last job after its result came.
const SETTLE: Duration = Duration::from_secs(10);

/// What one run measured.
pub struct Outcome {
    pub seconds: f64,
    /// Jobs each worker handled.
    pub per_worker: Vec<usize>,
}

/// Runs `count` jobs through `workers` fresh workers on a fresh queue and
/// git project, checks that all were rendered and committed, and cleans up.
pub fn measure(site: &Site, run: u32, workers: u32, count: u32) -> Result<Outcome> {
    let setup = site.fresh(&format!("r{run}-w{workers}"))?;
    let queue = setup.declare_queue(&site.broker())?;
    let mut processes = Workers::start(site, &setup, &queue, workers)?;
    let mut client = Client::connect(&site.broker(), &setup.queue)?;
    let batch = jobs::numbered(&setup.id_prefix, count);
    let total = batch.len();

    // Submitting is part of the time: the workers start on the first job
    // while the rest are still being published.
    let started = Instant::now();
    for job in &batch {
        client.submit(job)?;
    }
    let results = jobs::collect(&mut client, total, site.result_timeout, &mut processes)?;
    let seconds = started.elapsed().as_secs_f64();

    jobs::check_rendered(&batch, &results)?;
    // A worker commits before it answers, so every commit is in by now.
    jobs::check_commits(&setup.project, total)?;
    let per_worker = processes.wait_until_handled(total, SETTLE)?;
    drop(processes);
    drop(client);
    queue.delete()?;
    setup.remove()?;
    Ok(Outcome {
        seconds,
        per_worker,
    })
}
