//! The HTTP API: (a) cache hits, (b) a cache miss from submit to result,
//! (c) a batch of distinct graphs, and the Kroki route under `wrk`. The
//! server runs in this process, on a fresh queue and git project per run,
//! with `render_worker` processes as in the AMQP runs.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench_support::process;
use ondemand_platform::server::{encode_source, HubConfig, Phase, RunningServer, ServerConfig};
use ondemand_platform::ApiClient;

use crate::jobs;
use crate::site::{RunQueue, RunSetup, Site};
use crate::workers::Workers;
use crate::Result;

/// A server and its workers on a fresh run.
pub struct ApiSite {
    pub server: RunningServer,
    pub client: ApiClient,
    pub workers: Workers,
    setup: Option<RunSetup>,
    queue: Option<RunQueue>,
}

impl ApiSite {
    pub fn start(site: &Site, label: &str, workers: u32) -> Result<ApiSite> {
        let setup = site.fresh(label)?;
        let queue = setup.declare_queue(&site.broker())?;
        let workers = Workers::start(site, &setup, &queue, workers)?;
        let hub = HubConfig {
            broker: site.broker(),
            job_queue: setup.queue.clone(),
            result_queue: format!("{}.results", setup.queue),
            project: setup.project.clone(),
        };
        let listen: SocketAddr = "127.0.0.1:0".parse()?;
        let server = RunningServer::start(listen, &hub, ServerConfig::default())?;
        let client = ApiClient::new(
            &format!("http://{}", server.address()),
            None,
            site.result_timeout,
        )?;
        Ok(ApiSite {
            server,
            client,
            workers,
            setup: Some(setup),
            queue: Some(queue),
        })
    }

    /// Submits `source` and waits for it to be rendered.
    pub fn render(&self, source: &str) -> Result<()> {
        let job = self.client.submit(source, "svg", Duration::from_secs(60))?;
        match job.status {
            Phase::Rendered => Ok(()),
            other => Err(format!("job {} ended {other:?}: {:?}", job.id, job.error).into()),
        }
    }

    pub fn finish(mut self) -> Result<()> {
        let (setup, queue) = (self.setup.take(), self.queue.take());
        drop(self);
        if let Some(queue) = queue {
            queue.delete()?;
        }
        if let Some(setup) = setup {
            setup.remove()?;
        }
        Ok(())
    }
}

/// (a) `count` submissions of a graph already rendered: each answered from
/// git. Milliseconds per request, sorted.
pub fn cache_hits(api: &ApiSite, source: &str, count: u32) -> Result<Vec<f64>> {
    api.render(source)?;
    let mut millis = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let started = Instant::now();
        let job = api.client.submit(source, "svg", Duration::ZERO)?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        if !job.cached {
            return Err("a cache hit was not served from git".into());
        }
    }
    millis.sort_by(f64::total_cmp);
    Ok(millis)
}

/// The `q` quantile of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

/// (b) `count` distinct graphs, one at a time, submit to result through the
/// API (one idle worker). Milliseconds each.
pub fn cache_misses(api: &mut ApiSite, run: u32, count: u32) -> Result<Vec<f64>> {
    let mut millis = Vec::new();
    for number in 0..=count {
        let source = jobs::job(&format!("api-miss-{run}"), number).source;
        let started = Instant::now();
        api.render(&source)?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        // The worker acks just after answering: let it be idle again. (Its
        // log lines name jobs by id, which the API derives from the graph,
        // so they cannot be counted by the run's id prefix.)
        std::thread::sleep(Duration::from_millis(200));
        api.workers.check_alive()?;
        // The first render of a fresh worker is a warm-up.
        if number > 0 {
            millis.push(elapsed);
        }
    }
    Ok(millis)
}

/// (b) The same render with the docker CLI: `docker run --rm -i --network
/// none IMAGE -Tsvg`, spawn to exit, in milliseconds.
pub fn docker_cli(image: &str, count: u32) -> Result<Vec<f64>> {
    let mut millis = Vec::new();
    for number in 0..count {
        let graph = jobs::job("cli", number).source;
        let path = std::env::temp_dir().join(format!("bench-platform-{}.dot", std::process::id()));
        std::fs::write(&path, graph)?;
        let mut command = Command::new("docker");
        command
            .args(["run", "--rm", "-i", "--network", "none", image, "-Tsvg"])
            .stdin(std::fs::File::open(&path)?);
        let (elapsed, _) = process::timed(&mut command, "docker run")?;
        std::fs::remove_file(&path)?;
        millis.push(elapsed.as_secs_f64() * 1000.0);
    }
    Ok(millis)
}

/// (c) `count` distinct graphs through the API with `workers` workers:
/// submitted one after another without waiting, then each waited for.
/// Seconds from the first submit to the last result.
pub fn throughput(site: &Site, run: u32, workers: u32, count: u32) -> Result<f64> {
    let api = ApiSite::start(site, &format!("api-r{run}-w{workers}"), workers)?;
    let batch = jobs::numbered(&format!("api-r{run}-w{workers}"), count);
    let started = Instant::now();
    let mut ids = Vec::with_capacity(batch.len());
    for job in &batch {
        ids.push(api.client.submit(&job.source, "svg", Duration::ZERO)?.id);
    }
    for (job, id) in batch.iter().zip(&ids) {
        let status = api
            .client
            .submit(&job.source, "svg", Duration::from_secs(60))?;
        if status.status != Phase::Rendered || &status.id != id {
            return Err(format!("job {id} ended {:?}: {:?}", status.status, status.error).into());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    api.finish()?;
    Ok(seconds)
}

/// What `wrk` measured.
pub struct Wrk {
    pub requests_per_second: f64,
    pub p50: String,
    pub p99: String,
}

/// The Kroki route under `wrk` for `seconds` on a graph already rendered;
/// `None` when `wrk` is not installed.
pub fn wrk(api: &ApiSite, seconds: u32) -> Result<Option<Wrk>> {
    let source = "digraph wrk { kroki -> cached }";
    api.render(source)?;
    let url = format!(
        "http://{}/graphviz/svg/{}",
        api.server.address(),
        encode_source(source)
    );
    let output = match Command::new("wrk")
        .args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency", &url])
        .stderr(Stdio::inherit())
        .output()
    {
        Ok(output) => output,
        Err(_) => return Ok(None),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    eprintln!("{text}");
    let field = |prefix: &str| {
        text.lines()
            .find_map(|line| {
                line.trim()
                    .strip_prefix(prefix)
                    .map(|rest| rest.trim().to_owned())
            })
            .unwrap_or_else(|| "n/a".to_owned())
    };
    Ok(Some(Wrk {
        requests_per_second: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50: field("50%"),
        p99: field("99%"),
    }))
}
