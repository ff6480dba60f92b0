//! The workers of a run: `render_worker` processes on the run's queue,
//! killed when dropped, and the committer of the run's git project, on a
//! thread of this process, stopped when dropped.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ondemand_platform::{Committer, CommitterConfig};

use crate::site::{RunQueue, RunSetup, Site};
use crate::Result;

/// How long workers get to connect to the broker and Docker.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the waits below look again.
const POLL: Duration = Duration::from_millis(5);

/// Running worker processes. Each writes a line per handled job to its
/// stdout file, its diagnostics to its stderr file, and its pid to a file
/// that bench/platform/run reads should the benchmark die first.
pub struct Workers {
    processes: Vec<Process>,
    committer: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    /// The run's job ids start with it, and so do the workers' lines about them.
    id_prefix: String,
}

struct Process {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    pid_file: PathBuf,
}

impl Workers {
    /// Starts `count` workers and returns once all of them consume `queue`,
    /// so that their start-up is not timed.
    pub fn start(site: &Site, setup: &RunSetup, queue: &RunQueue, count: u32) -> Result<Workers> {
        let mut workers = Workers {
            processes: Vec::new(),
            committer: Some(start_committer(site, setup)?),
            id_prefix: setup.id_prefix.clone(),
        };
        for index in 1..=count {
            workers.processes.push(Process::spawn(site, setup, index)?);
        }
        workers.wait_until_consuming(queue, count)?;
        Ok(workers)
    }

    fn wait_until_consuming(&mut self, queue: &RunQueue, count: u32) -> Result<()> {
        let started = Instant::now();
        while queue.consumers()? < count {
            self.check_alive()?;
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "{count} worker(s) did not all consume the queue within {START_TIMEOUT:?}"
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Fails, with the end of its log, if a worker has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        for process in &mut self.processes {
            if let Some(status) = process.child.try_wait()? {
                return Err(format!(
                    "worker {} exited ({status}); its log ends:\n{}",
                    process.child.id(),
                    process.log_tail()
                )
                .into());
            }
        }
        Ok(())
    }

    /// Jobs handled by each worker, from the lines they printed.
    pub fn handled(&self) -> Result<Vec<usize>> {
        self.processes
            .iter()
            .map(|process| process.handled(&self.id_prefix))
            .collect()
    }

    /// Waits until the workers printed `total` handled jobs. A worker prints
    /// after acking, and the client may get the result before that: waiting
    /// leaves the workers idle, with nothing in flight.
    pub fn wait_until_handled(&mut self, total: usize, timeout: Duration) -> Result<Vec<usize>> {
        let started = Instant::now();
        loop {
            let handled = self.handled()?;
            if handled.iter().sum::<usize>() >= total {
                return Ok(handled);
            }
            self.check_alive()?;
            if started.elapsed() > timeout {
                return Err(format!(
                    "the workers reported {} of {total} jobs handled after {timeout:?}",
                    handled.iter().sum::<usize>()
                )
                .into());
            }
            std::thread::sleep(POLL);
        }
    }
}

/// The run's committer, on a thread of its own: the one writer of its git
/// project, as in production.
fn start_committer(site: &Site, setup: &RunSetup) -> Result<(Arc<AtomicBool>, JoinHandle<()>)> {
    let mut config = CommitterConfig::new(&setup.project);
    config.queue = setup.queue.clone();
    let mut committer = Committer::start(&site.broker(), config)?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        if let Err(err) = committer.run(&stopper, |_| {}) {
            eprintln!("bench: the committer stopped: {err}");
        }
    });
    Ok((stop, thread))
}

impl Drop for Workers {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.committer.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = thread.join();
        }
        for process in &mut self.processes {
            // render_worker has no stop signal; idle, it loses nothing.
            let _ = process.child.kill();
            let _ = process.child.wait();
            let _ = std::fs::remove_file(&process.pid_file);
        }
    }
}

impl Process {
    fn spawn(site: &Site, setup: &RunSetup, index: u32) -> Result<Process> {
        let stdout = setup.dir().join(format!("worker-{index}.out"));
        let stderr = setup.dir().join(format!("worker-{index}.err"));
        let child = Command::new(&site.worker_bin)
            .arg("--queue")
            .arg(&setup.queue)
            .arg("--image")
            .arg(&site.image)
            .env(mq_lite::URL_ENV_VAR, &site.url)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout)?)
            .stderr(File::create(&stderr)?)
            .spawn()
            .map_err(|err| format!("starting {}: {err}", site.worker_bin.display()))?;
        let pid_file = setup.dir().join(format!("worker-{index}.pid"));
        std::fs::write(&pid_file, child.id().to_string())?;
        Ok(Process {
            child,
            stdout,
            stderr,
            pid_file,
        })
    }

    /// render_worker prints one line per job, starting with the job's id
    /// (`ID: rendered ...`, `ID: failed: ...`); only whole lines count.
    fn handled(&self, id_prefix: &str) -> Result<usize> {
        Ok(job_lines(
            &std::fs::read_to_string(&self.stdout)?,
            id_prefix,
        ))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// Whole lines starting with `id_prefix`: a line still being written is not
/// a job handled yet.
fn job_lines(text: &str, id_prefix: &str) -> usize {
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n') && line.starts_with(id_prefix))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_lines_about_the_runs_jobs_count() {
        let text = "p-1: rendered jobs/p-1.svg in commit abc\n\
                    warning: something else\n\
                    p-2: failed: syntax error\n\
                    p-3: rend";
        assert_eq!(job_lines(text, "p-"), 2);
        assert_eq!(job_lines("", "p-"), 0);
    }
}
