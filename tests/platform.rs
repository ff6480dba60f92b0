//! The platform end to end: a real broker, the real Docker engine, a real
//! git project checked with the git CLI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dock_lite::{Docker, ListOptions};
use mq_lite::ConnectOptions;
use ondemand_platform::{Client, Job, JobResult, Status, Worker, WorkerConfig, JOB_LABEL};

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

fn config(queue: &str, project: &Path, timeout: Duration) -> WorkerConfig {
    let mut config = WorkerConfig::new(testkit::GRAPHVIZ.require(), project);
    config.queue = queue.to_owned();
    config.timeout = timeout;
    config
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
    let mut worker = Worker::start(
        &broker(),
        config(&queue, project.path(), Duration::from_secs(8)),
    )
    .unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let stop_flag = &stop;
        let running = scope.spawn(move || worker.run(stop_flag, |_| {}));
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
        assert!(
            !running.is_finished(),
            "the worker stopped: {:?}",
            running.join()
        );
        stop.store(true, Ordering::SeqCst);
        let handled = running.join().expect("worker thread").expect("worker");
        assert_eq!(handled, 20);

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
    });

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
    let mut first = Command::new(render_worker_binary())
        .args(["--queue", &queue, "--timeout-secs", "300", "--project"])
        .arg(project.path())
        .env("AMQP_URL", testkit::shared_broker().url())
        .env("GRAPHVIZ_IMAGE", testkit::GRAPHVIZ.require())
        .spawn()
        .expect("start the first worker");

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
    first.kill().expect("kill the first worker");
    first.wait().unwrap();

    let mut second = Worker::start(
        &broker(),
        config(&queue, project.path(), Duration::from_secs(300)),
    )
    .unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let stop_flag = &stop;
        let running = scope.spawn(move || second.run(stop_flag, |_| {}));
        let results = collect_results(&mut client, 1);
        stop.store(true, Ordering::SeqCst);
        running.join().expect("worker thread").expect("worker");
        assert_eq!(results[0].id, "killed-slow");
        assert_eq!(results[0].status, Status::Rendered, "{results:#?}");
    });
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
