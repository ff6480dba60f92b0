//! The platform beyond one machine, on this one: a three-node RabbitMQ
//! cluster (testkit's `Cluster`, each node its own address), three
//! `ondemand worker` processes (one reaching Docker over TCP with TLS,
//! through a proxy in front of the engine socket, as a worker on another
//! host would), the committer with a mirror, and the HTTP server. Two
//! clients submit 200 jobs while a worker is killed mid-render and the
//! broker node holding the job queue's leader is killed; then a job that
//! stops its worker every time is dead-lettered.

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dock_lite::{Docker, DockerHost, ListOptions};
use mq_lite::{ConnectOptions, ReconnectPolicy};
use ondemand_platform::server::{HubConfig, Phase, RunningServer, ServerConfig};
use ondemand_platform::{
    remove_orphaned_renders, ApiClient, Committer, CommitterConfig, Queues, DELIVERY_LIMIT,
    JOB_LABEL,
};
use testkit::Cluster;

const CLIENTS: usize = 2;
const JOBS_PER_CLIENT: usize = 100;
/// The whole test's bound; past it the process exits (the cluster's
/// watcher removes the brokers, the workers die with their pipes).
const TEST_LIMIT: Duration = Duration::from_secs(900);

#[test]
fn two_hundred_jobs_outlive_node_and_worker_deaths_and_a_poison_job_is_dead_lettered() {
    testkit::exit_after(TEST_LIMIT, "the platform's cluster test");
    testkit::require_docker();
    let started = Instant::now();
    let cluster = Cluster::start();
    eprintln!("cluster formed in {:?}", started.elapsed());
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("renders");
    let mirror = dir.path().join("mirror.git");
    git(
        dir.path(),
        &["init", "--quiet", "--bare", "-b", "main", "mirror.git"],
    );
    let queue = format!("cluster-test.jobs.{}", std::process::id());
    let broker = ConnectOptions::new(cluster.urls())
        .connection_timeout(Duration::from_secs(5))
        .reconnect(ReconnectPolicy::default().give_up_after(Duration::from_secs(90)));

    // A worker on a "remote" engine: TCP with TLS, client certificate required.
    let material = testkit::tls::Material::new(None);
    let proxy =
        testkit::tls::start_proxy(&material, IpAddr::V4(Ipv4Addr::LOCALHOST), &engine_socket());
    let mut workers = Workers::default();
    let remote_engine = [
        ("DOCKER_HOST", format!("tcp://{proxy}")),
        ("DOCKER_TLS_VERIFY", "1".to_owned()),
        (
            "DOCKER_CERT_PATH",
            material.path("client").display().to_string(),
        ),
    ];
    for (index, engine) in [&[][..], &[][..], &remote_engine[..]]
        .into_iter()
        .enumerate()
    {
        workers.spawn(&cluster.urls(), &queue, index, engine, dir.path());
    }

    let mut committer = CommitterConfig::new(&project);
    committer.queue = queue.clone();
    committer.mirror = Some(mirror.display().to_string());
    let mut committer = Committer::start(&broker, committer).expect("start the committer");
    let stop = Arc::new(AtomicBool::new(false));
    let committing = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || committer.run(&stop, |_| {}))
    };
    let hub = HubConfig {
        broker,
        job_queue: queue.clone(),
        result_queue: format!("{queue}.results"),
        project: project.clone(),
    };
    let server = RunningServer::start(
        "127.0.0.1:0".parse().unwrap(),
        &hub,
        ServerConfig::default(),
    )
    .expect("start the server");
    let base = format!("http://{}", server.address());

    let submitting = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let base = base.clone();
            std::thread::spawn(move || submit_and_wait(&base, client))
        })
        .collect();

    // A worker killed while it renders: its job goes back to the queue.
    wait_for_commits(&project, 40, Duration::from_secs(300));
    let renders = render_containers();
    workers.kill(0);
    eprintln!(
        "killed worker 0 at {} commits, with {renders} render(s) under way",
        commits(&project)
    );

    // The broker node holding the job queue's leader, killed.
    wait_for_commits(&project, 90, Duration::from_secs(300));
    let leader = cluster
        .leader_of(&queue)
        .expect("the job queue has a leader");
    let before = commits(&project);
    let killed = Instant::now();
    cluster.kill(leader);
    wait_for_commits(&project, before + 1, Duration::from_secs(120));
    let recovered = killed.elapsed();
    eprintln!("killed broker node {leader} (the job queue's leader) at {before} commits; the next commit came {recovered:?} later");

    let mut ids = BTreeSet::new();
    for client in clients {
        ids.extend(client.join().expect("client thread"));
    }
    let elapsed = submitting.elapsed();
    eprintln!(
        "{} jobs rendered in {elapsed:?} ({:.0} jobs/min)",
        ids.len(),
        ids.len() as f64 * 60.0 / elapsed.as_secs_f64()
    );
    assert_eq!(ids.len(), CLIENTS * JOBS_PER_CLIENT);

    // One history, each job in it exactly once.
    let subjects = git(&project, &["log", "--format=%s"]);
    let committed: Vec<&str> = subjects
        .lines()
        .map(|subject| {
            subject
                .strip_prefix("Render job ")
                .and_then(|rest| rest.strip_suffix(" (svg)"))
                .unwrap_or_else(|| panic!("not a job's commit: {subject}"))
        })
        .collect();
    let unique: BTreeSet<String> = committed.iter().map(|id| (*id).to_owned()).collect();
    assert_eq!(committed.len(), ids.len(), "commits: {}", committed.len());
    assert_eq!(unique, ids, "each job committed exactly once");
    git(&project, &["fsck", "--strict"]);

    // The mirror has the same history.
    let head = git(&project, &["rev-parse", "HEAD"]);
    let mirrored = Instant::now();
    while git_maybe(&mirror, &["rev-parse", "main"]).as_deref() != Some(head.as_str()) {
        assert!(
            mirrored.elapsed() < Duration::from_secs(60),
            "the mirror never got {head}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        git(&mirror, &["log", "--format=%H %s", "main"]),
        git(&project, &["log", "--format=%H %s"])
    );

    let handled = workers.handled();
    eprintln!("jobs handled per worker (from their logs): {handled:?}");
    assert!(
        handled[2] > 0,
        "the worker on the remote engine rendered nothing"
    );

    // A job that stops its worker every time (each worker is killed as
    // soon as it starts rendering it) is dead-lettered, answered as
    // failed, and parked.
    drop(workers);
    let mut workers = Workers::default();
    let api = ApiClient::new(&base, None, Duration::from_secs(90)).expect("API client");
    let poison = api
        .submit(&complete_graph(30), "svg", Duration::ZERO)
        .expect("submit the poison job");
    let mut seen = HashSet::new();
    for delivery in 0..=DELIVERY_LIMIT as usize {
        workers.spawn(&cluster.urls(), &queue, delivery, &[], dir.path());
        let render = wait_for_new_render(&poison.id, &seen);
        seen.insert(render);
        workers.kill(delivery);
    }
    let answer = api
        .status(&poison.id, Duration::from_secs(60))
        .expect("the poison job's status");
    assert_eq!(answer.status, Phase::Failed, "{answer:?}");
    let error = answer.error.unwrap_or_default();
    assert!(
        error.contains(&format!("{} times", DELIVERY_LIMIT + 1)),
        "{error}"
    );
    eprintln!("the poison job: {error}");
    let parked = mq_lite::Connection::open(&cluster.urls())
        .expect("connect")
        .queue_info(&Queues::for_jobs(&queue).parked)
        .expect("inspect")
        .map(|info| info.message_count);
    assert_eq!(parked, Some(1), "the poison job is parked");
    ids.insert(poison.id);

    server.stop();
    stop.store(true, Ordering::SeqCst);
    committing
        .join()
        .expect("committer thread")
        .expect("the committer went on through the node's loss");
    drop(workers);
    // A killed worker's running render ends on its own and the engine
    // removes it; one it had created but not started yet stays until a
    // worker on that engine sweeps it (each does at start and every
    // minute, 60 s past the render's timeout; here at once).
    let cleaning = Instant::now();
    let docker = Docker::connect().unwrap();
    let mut swept = 0;
    while render_containers_of(&docker, &ids) > 0 {
        assert!(
            cleaning.elapsed() < Duration::from_secs(120),
            "render containers left behind"
        );
        swept += remove_orphaned_renders(&docker, Duration::ZERO).expect("sweep");
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("render containers removed as orphans: {swept}");
    eprintln!("whole test: {:?}", started.elapsed());
}

/// A complete graph on `n` nodes: `dot` takes seconds for 30.
fn complete_graph(n: usize) -> String {
    let edges: Vec<String> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| format!("n{i} -> n{j};")))
        .collect();
    format!(
        "digraph poison_{} {{ {} }}",
        std::process::id(),
        edges.join(" ")
    )
}

/// Waits (up to 120 s) for a render container of job `id` not in `seen`; its id.
fn wait_for_new_render(id: &str, seen: &HashSet<String>) -> String {
    let docker = Docker::connect().unwrap();
    let started = Instant::now();
    loop {
        let renders = docker
            .list_containers(&ListOptions::default().label(JOB_LABEL, id))
            .expect("list");
        if let Some(render) = renders.iter().find(|render| !seen.contains(&render.id)) {
            return render.id.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "job {id} was not handed to the new worker"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Submits this client's jobs (again, after a refusal, as a client would)
/// and waits for each to finish; returns their ids, all rendered.
fn submit_and_wait(base: &str, client: usize) -> Vec<String> {
    let api = ApiClient::new(base, None, Duration::from_secs(90)).expect("API client");
    let run = std::process::id();
    let mut ids = Vec::new();
    for job in 0..JOBS_PER_CLIENT {
        let source =
            format!("digraph c{client}j{job} {{ client{client} -> \"job {job} of run {run}\" }}");
        let status = with_retries(|| api.submit(&source, "svg", Duration::ZERO));
        ids.push(status.id);
    }
    for id in &ids {
        let waited = Instant::now();
        loop {
            let status = with_retries(|| api.status(id, Duration::from_secs(30)));
            match status.status {
                Phase::Rendered => break,
                Phase::Failed => panic!("job {id} failed: {:?}", status.error),
                Phase::Queued | Phase::Rendering => {
                    assert!(
                        waited.elapsed() < Duration::from_secs(300),
                        "job {id} never finished"
                    )
                }
            }
        }
    }
    ids
}

/// Calls `request` until it succeeds, for up to 60 s (the server answers
/// 503 while it cannot reach the broker).
fn with_retries<T>(mut request: impl FnMut() -> Result<T, ondemand_platform::PlatformError>) -> T {
    let started = Instant::now();
    loop {
        match request() {
            Ok(value) => return value,
            Err(err) => {
                assert!(started.elapsed() < Duration::from_secs(60), "{err}");
                eprintln!("client: {err}; trying again");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// `ondemand worker` processes, killed when dropped.
#[derive(Default)]
struct Workers {
    processes: Vec<(Child, PathBuf)>,
}

impl Workers {
    fn spawn(
        &mut self,
        urls: &str,
        queue: &str,
        index: usize,
        engine: &[(&str, String)],
        logs: &Path,
    ) {
        let log = logs.join(format!("worker-{index}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_ondemand"));
        command
            .arg("worker")
            .env("AMQP_URL", urls)
            .env("ONDEMAND_JOB_QUEUE", queue)
            .env("GRAPHVIZ_IMAGE", testkit::GRAPHVIZ.require())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (name, value) in engine {
            command.env(name, value);
        }
        let child = command.spawn().expect("start a worker");
        self.processes.push((child, log));
    }

    fn kill(&mut self, index: usize) {
        let child = &mut self.processes[index].0;
        child.kill().expect("kill the worker");
        child.wait().unwrap();
    }

    /// Jobs each worker says it handled.
    fn handled(&self) -> Vec<usize> {
        self.processes
            .iter()
            .map(|(_, log)| {
                std::fs::read_to_string(log)
                    .unwrap_or_default()
                    .lines()
                    .filter(|line| line.starts_with("ondemand: job "))
                    .count()
            })
            .collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (child, _) in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The engine's unix socket, for the TLS proxy to forward to.
fn engine_socket() -> String {
    match DockerHost::from_env() {
        Ok(DockerHost::Unix(path)) => path,
        other => panic!(
            "this test puts a TLS proxy in front of the engine's unix socket; DOCKER_HOST is \
             {other:?}: unset it or point it at the socket (unix:///var/run/docker.sock)"
        ),
    }
}

fn render_containers() -> usize {
    Docker::connect()
        .unwrap()
        .list_containers(&ListOptions::default().all(true))
        .unwrap()
        .iter()
        .filter(|container| container.labels.contains_key(JOB_LABEL))
        .count()
}

fn render_containers_of(docker: &Docker, ids: &BTreeSet<String>) -> usize {
    let ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
    docker
        .list_containers(&ListOptions::default().all(true))
        .unwrap()
        .iter()
        .filter(|container| {
            container
                .labels
                .get(JOB_LABEL)
                .is_some_and(|id| ids.contains(id.as_str()))
        })
        .count()
}

fn commits(project: &Path) -> usize {
    git_maybe(project, &["rev-list", "--count", "HEAD"])
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

fn wait_for_commits(project: &Path, count: usize, limit: Duration) {
    let started = Instant::now();
    while commits(project) < count {
        assert!(
            started.elapsed() < limit,
            "{count} commits within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    git_maybe(dir, args).unwrap_or_else(|| panic!("git {args:?} in {} failed", dir.display()))
}

/// `git -C dir args`'s output, `None` if it fails.
fn git_maybe(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
