//! The platform end to end: a real broker, the real Docker engine, a real
//! git project checked with the git CLI. Workers render and the committer
//! (one writer) commits, as in production.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dock_lite::{Docker, ListOptions};
use mq_lite::{ConnectOptions, Connection};
use ondemand_platform::{
    remove_orphaned_renders, Client, Committer, CommitterConfig, Job, JobResult, LocalBackEnd,
    Queues, Status, WorkerConfig, DELIVERY_LIMIT, JOB_LABEL, RENDER_TIMEOUT_LABEL,
};

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn broker() -> ConnectOptions {
    ConnectOptions::new(testkit::shared_broker().url())
}

fn config(queue: &str, timeout: Duration) -> WorkerConfig {
    let mut config = WorkerConfig::new(testkit::GRAPHVIZ.require());
    config.queue = queue.to_owned();
    config.timeout = timeout;
    config
}

fn committer_config(queue: &str, project: &Path) -> CommitterConfig {
    let mut config = CommitterConfig::new(project);
    config.queue = queue.to_owned();
    config
}

/// A worker and a committer on threads of this process.
fn back_end(queue: &str, project: &Path, timeout: Duration) -> LocalBackEnd {
    LocalBackEnd::start(
        &broker(),
        config(queue, timeout),
        committer_config(queue, project),
    )
    .expect("start a worker and a committer")
}

/// A complete graph on `n` nodes: `dot` needs seconds (n = 30) to minutes (n = 45).
fn complete_graph(n: usize) -> String {
    let edges: Vec<String> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| format!("n{i} -> n{j};")))
        .collect();
    format!("digraph slow {{ {} }}", edges.join(" "))
}

fn job(id: &str, source: String) -> Job {
    Job {
        id: id.to_owned(),
        format: "svg".to_owned(),
        source,
    }
}

/// Containers of jobs whose id starts with `prefix`, running or not.
fn job_containers(docker: &Docker, prefix: &str) -> usize {
    docker
        .list_containers(&ListOptions::default().all(true))
        .expect("list containers")
        .iter()
        .filter(|container| {
            container
                .labels
                .get(JOB_LABEL)
                .is_some_and(|id| id.starts_with(prefix))
        })
        .count()
}

fn collect_results(client: &mut Client, count: usize) -> Vec<JobResult> {
    let mut results = Vec::new();
    while results.len() < count {
        match client
            .next_result(Duration::from_secs(120))
            .expect("receive")
        {
            Some(result) => results.push(result),
            None => panic!(
                "only {} of {count} results arrived: {results:#?}",
                results.len()
            ),
        }
    }
    results
}

#[test]
fn twenty_jobs_give_seventeen_commits_and_three_error_results_and_the_worker_goes_on() {
    let queue = format!("platform.test.twenty.{}", std::process::id());
    let project = tempfile::tempdir().unwrap();
    let back_end = back_end(&queue, project.path(), Duration::from_secs(8));
    {
        let mut client = Client::connect(&broker(), &queue).unwrap();
        for i in 0..17 {
            let source = format!("digraph g{i} {{ a{i} -> b{i} [label=\"job {i}\"] }}");
            client
                .submit(&job(&format!("twenty-good-{i}"), source))
                .unwrap();
        }
        client
            .submit(&job("twenty-bad-0", "digraph { a -> }".into()))
            .unwrap();
        client
            .submit(&job("twenty-bad-1", "this is not a graph".into()))
            .unwrap();
        client
            .submit(&job("twenty-slow", complete_graph(45)))
            .unwrap();

        let results = collect_results(&mut client, 20);
        assert!(back_end.is_running(), "{:?}", back_end.stop());
        let (handled, committed) = back_end.stop().expect("worker and committer");
        assert_eq!((handled, committed), (20, 17));

        let rendered: Vec<&JobResult> = results
            .iter()
            .filter(|r| r.status == Status::Rendered)
            .collect();
        let failed: Vec<&JobResult> = results
            .iter()
            .filter(|r| r.status == Status::Failed)
            .collect();
        assert_eq!(rendered.len(), 17, "{results:#?}");
        assert_eq!(failed.len(), 3, "{results:#?}");
        for result in &failed {
            let error = result.error.as_deref().unwrap_or("");
            match result.id.as_str() {
                "twenty-slow" => assert!(error.contains("longer than"), "{error}"),
                _ => assert!(error.contains("syntax error"), "{}: {error}", result.id),
            }
        }
    }

    let root = project.path();
    assert_eq!(git(root, &["rev-list", "--count", "HEAD"]), "17");
    let files = git(root, &["ls-tree", "-r", "--name-only", "HEAD", "jobs"]);
    assert_eq!(files.lines().count(), 34, "{files}");
    assert!(
        files
            .lines()
            .all(|f| f.starts_with("jobs/")
                && f.rsplit('/').next().unwrap().starts_with("twenty-good-")),
        "{files}"
    );
    let third = ondemand_platform::store::output_path("twenty-good-3", "svg");
    assert!(git(root, &["show", &format!("HEAD:{third}")]).contains("job 3"));
    // A bare repository: commits cost the same however many jobs it holds.
    assert_eq!(git(root, &["rev-parse", "--is-bare-repository"]), "true");
    git(root, &["fsck", "--strict"]);
    assert_eq!(
        job_containers(&Docker::connect().unwrap(), "twenty-"),
        0,
        "containers left behind"
    );
}

/// What a killed worker leaves: a render container created but never
/// started (the engine's auto-removal acts on exit only), and one still
/// running past its timeout. Any worker on the engine removes them; a
/// render within its time, and containers that are not renders, stay.
#[test]
fn render_containers_past_their_timeout_are_removed_and_the_rest_stay() {
    let docker = Docker::connect().expect("Docker");
    let image = testkit::GRAPHVIZ.require();
    let run = format!("orphans-{}", std::process::id());
    let create = |name: &str, timeout: Option<&str>, start: bool| {
        let mut args = vec!["create".to_owned(), "--rm".to_owned()];
        args.extend(["--label".to_owned(), format!("{JOB_LABEL}={run}-{name}")]);
        if let Some(timeout) = timeout {
            args.extend([
                "--label".to_owned(),
                format!("{RENDER_TIMEOUT_LABEL}={timeout}"),
            ]);
        }
        args.extend(["--entrypoint", "sleep", image.as_str(), "300"].map(str::to_owned));
        let output = Command::new("docker")
            .args(&args)
            .output()
            .expect("docker CLI");
        assert!(output.status.success(), "{output:?}");
        let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if start {
            let output = Command::new("docker")
                .args(["start", &id])
                .output()
                .unwrap();
            assert!(output.status.success(), "{output:?}");
        }
        id
    };
    let never_started = create("never-started", Some("0"), false);
    let overdue = create("overdue", Some("0"), true);
    let within_time = create("within-time", Some("3600"), true);
    let unlabelled = create("older-worker", None, true);
    let _cleanup = RemoveOnDrop(vec![
        never_started.clone(),
        overdue.clone(),
        within_time.clone(),
        unlabelled.clone(),
    ]);
    let ours = |docker: &Docker| -> Vec<String> {
        let mut ids: Vec<String> = docker
            .list_containers(&ListOptions::default().all(true).has_label(JOB_LABEL))
            .unwrap()
            .into_iter()
            .filter(|c| c.labels[JOB_LABEL].starts_with(&run))
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ours(&docker).len(), 4);
    // Creation times are whole seconds: past "now + 0 s" takes up to 2 s.
    std::thread::sleep(Duration::from_millis(2100));

    let removed = remove_orphaned_renders(&docker, Duration::ZERO).expect("sweep");
    assert!(removed >= 2, "removed {removed}");
    let mut left = vec![within_time, unlabelled];
    left.sort();
    assert_eq!(ours(&docker), left);
    for id in &left {
        docker.remove_container(id).expect("clean up");
    }
    assert!(ours(&docker).is_empty());
}

/// Removes containers when a test ends, passed or not.
struct RemoveOnDrop(Vec<String>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f"])
            .args(&self.0)
            .output();
    }
}

/// The render_worker example, built by `cargo test` next to this test binary.
fn render_worker_binary() -> PathBuf {
    let deps = std::env::current_exe().expect("test binary path");
    let binary = deps
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("examples/render_worker"))
        .expect("target directory");
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test`, which builds the examples",
        binary.display()
    );
    binary
}

#[test]
fn a_job_whose_worker_is_killed_mid_render_is_finished_by_another_worker_with_one_commit() {
    let queue = format!("platform.test.killed.{}", std::process::id());
    let project = tempfile::tempdir().unwrap();
    let docker = Docker::connect().unwrap();
    let mut first = spawn_render_worker(&queue);

    let mut client = Client::connect(&broker(), &queue).unwrap();
    client
        .submit(&job("killed-slow", complete_graph(30)))
        .unwrap();
    let started = Instant::now();
    let rendering = || {
        docker
            .list_containers(&ListOptions::default().label(JOB_LABEL, "killed-slow"))
            .expect("list")
            .len()
            == 1
    };
    while !rendering() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first worker never started rendering"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill();

    let second = back_end(&queue, project.path(), Duration::from_secs(300));
    let results = collect_results(&mut client, 1);
    second.stop().expect("worker and committer");
    assert_eq!(results[0].id, "killed-slow");
    assert_eq!(results[0].status, Status::Rendered, "{results:#?}");
    let commits = git(
        project.path(),
        &["log", "--format=%s", "--grep=Render job killed-slow "],
    );
    assert_eq!(commits.lines().count(), 1, "{commits}");
    // The killed worker's container finishes on its own and the daemon removes it.
    while job_containers(&docker, "killed-") > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the orphaned render container stayed"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A render_worker process, killed when dropped (a failed test leaves no
/// worker consuming).
struct RenderWorker(std::process::Child);

impl RenderWorker {
    fn kill(&mut self) {
        self.0.kill().expect("kill the worker");
        self.0.wait().expect("reap the worker");
    }
}

impl Drop for RenderWorker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a render_worker process on `queue`.
fn spawn_render_worker(queue: &str) -> RenderWorker {
    let child = Command::new(render_worker_binary())
        .args(["--queue", queue, "--timeout-secs", "300"])
        .env("AMQP_URL", testkit::shared_broker().url())
        .env("GRAPHVIZ_IMAGE", testkit::GRAPHVIZ.require())
        .spawn()
        .expect("start a render worker");
    RenderWorker(child)
}

/// Sets its flag when dropped, also by a panic: the scoped threads that
/// wait for it end, and the test fails instead of hanging.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_job_that_stops_its_worker_every_time_is_dead_lettered_and_answered_as_failed() {
    let queue = format!("platform.test.poison.{}", std::process::id());
    let project = tempfile::tempdir().unwrap();
    let docker = Docker::connect().unwrap();
    let mut client = Client::connect(&broker(), &queue).unwrap();
    let mut committer = Committer::start(&broker(), committer_config(&queue, project.path()))
        .expect("start the committer");
    client
        .submit(&job("poison-slow", complete_graph(30)))
        .unwrap();

    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let stop_flag = &stop;
        let _stop = SetOnDrop(stop_flag);
        let committing = scope.spawn(move || committer.run(stop_flag, |_| {}));
        // Each worker dies as soon as it starts rendering the job, as one
        // that the graph crashed would.
        let started = Instant::now();
        let mut seen = std::collections::HashSet::new();
        for delivery in 1..=DELIVERY_LIMIT + 1 {
            let mut worker = spawn_render_worker(&queue);
            let new_render = loop {
                let renders = docker
                    .list_containers(&ListOptions::default().label(JOB_LABEL, "poison-slow"))
                    .expect("list");
                if let Some(render) = renders.iter().find(|render| !seen.contains(&render.id)) {
                    break render.id.clone();
                }
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "delivery {delivery} never started rendering"
                );
                std::thread::sleep(Duration::from_millis(50));
            };
            seen.insert(new_render);
            worker.kill();
        }
        eprintln!(
            "{} deliveries, each worker killed mid-render",
            DELIVERY_LIMIT + 1
        );

        let results = collect_results(&mut client, 1);
        stop.store(true, Ordering::SeqCst);
        committing
            .join()
            .expect("committer thread")
            .expect("committer");
        let result = &results[0];
        assert_eq!(result.id, "poison-slow");
        assert_eq!(result.status, Status::Failed, "{result:#?}");
        let error = result.error.as_deref().unwrap_or_default();
        assert!(
            error.contains(&format!("{} times", DELIVERY_LIMIT + 1)),
            "{error}"
        );
        eprintln!("answered: {error}");
    });

    let queues = Queues::for_jobs(&queue);
    let connection = Connection::open(&testkit::shared_broker().url()).unwrap();
    let count = |name: &str| {
        connection
            .queue_info(name)
            .unwrap()
            .map(|info| info.message_count)
    };
    assert_eq!(count(&queues.jobs), Some(0), "no endless redelivery");
    assert_eq!(count(&queues.dead), Some(0), "answered");
    assert_eq!(count(&queues.parked), Some(1), "kept for an operator");
    // Nothing was committed.
    assert!(git_commits(project.path()).is_empty());
    // The killed workers' containers end on their own and are removed.
    let started = Instant::now();
    while job_containers(&docker, "poison-") > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "orphaned render containers stayed"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The commit subjects of the project, none when it has no commit.
fn git_commits(project: &Path) -> Vec<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(project)
        .args(["log", "--format=%s"])
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_committer_mirrors_the_history_and_a_missing_mirror_holds_up_no_job() {
    let queue = format!("platform.test.mirror.{}", std::process::id());
    let project = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    // Not there yet: pushes fail, and are tried again, while jobs go on.
    let mirror = remote.path().join("mirror.git");
    let mut committer = committer_config(&queue, project.path());
    committer.mirror = Some(mirror.display().to_string());
    let back_end =
        LocalBackEnd::start(&broker(), config(&queue, Duration::from_secs(8)), committer)
            .expect("start a worker and a committer");
    let mut client = Client::connect(&broker(), &queue).unwrap();
    for i in 0..3 {
        let source = format!("digraph m{i} {{ mirrored -> m{i} }}");
        client.submit(&job(&format!("mirror-{i}"), source)).unwrap();
    }
    let results = collect_results(&mut client, 3);
    assert!(
        results.iter().all(|r| r.status == Status::Rendered),
        "{results:#?}"
    );

    git(
        remote.path(),
        &["init", "--bare", "--quiet", "-b", "main", "mirror.git"],
    );
    let head = git(project.path(), &["rev-parse", "HEAD"]);
    let started = Instant::now();
    // One more job makes the committer push again at once (a backoff ends
    // early on a new commit).
    client
        .submit(&job("mirror-3", "digraph m3 { mirrored -> m3 }".into()))
        .unwrap();
    collect_results(&mut client, 1);
    let head = {
        let now = git(project.path(), &["rev-parse", "HEAD"]);
        assert_ne!(now, head);
        now
    };
    let mirrored = || {
        Command::new("git")
            .arg("-C")
            .arg(&mirror)
            .args(["rev-parse", "main"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim() == head)
            .unwrap_or(false)
    };
    while !mirrored() {
        assert!(
            started.elapsed() < Duration::from_secs(45),
            "the mirror never got {head}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("mirrored {:?} after the remote appeared", started.elapsed());
    back_end.stop().expect("worker and committer");
    assert_eq!(
        git(&mirror, &["log", "--format=%H %s"]),
        git(project.path(), &["log", "--format=%H %s"])
    );
    assert_eq!(git(&mirror, &["rev-list", "--count", "main"]), "4");
    git(&mirror, &["fsck", "--strict"]);
}
