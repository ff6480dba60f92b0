//! The platform as `docker-compose.yml` runs it: the image built from
//! `dockerfiles/platform` around this build's `ondemand` binary, a
//! three-node RabbitMQ cluster, the server, the committer and three workers
//! rendering in sibling containers on this machine's engine. Every bundled
//! graph goes through the HTTP API; then the stack is taken down and nothing
//! of it may be left.
//!
//! Needs Docker and docker-compose (1.29, the Compose file format 2.4), and
//! the images `scripts/test-images` prepares; building the platform image
//! installs ca-certificates with apt-get when the base lacks them (the
//! offline Debian base does). Takes about two minutes on two cores, most of
//! it the brokers booting and the image build.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ondemand_platform::JOB_LABEL;
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The workers started (`--scale worker=3`).
const WORKERS: usize = 3;

/// How long the server may take to answer `/healthz` with 200 once
/// `docker-compose up` has returned.
const HEALTHY_LIMIT: Duration = Duration::from_secs(180);

/// The Erlang node names of the brokers, as `docker-compose.yml` sets them.
const NODES: [&str; 3] = ["rabbit@rabbit1", "rabbit@rabbit2", "rabbit@rabbit3"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `program args`, bounded to `seconds` by `timeout` (killed 10 s
/// later if it ignores the signal), with `env` added: its standard output,
/// or why it failed.
fn run(
    seconds: u32,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<String, String> {
    let output = Command::new("timeout")
        .args(["-k", "10", &seconds.to_string(), program])
        .args(args)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run {program} (through timeout): {err}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let timed_out = output.status.code() == Some(124);
        Err(format!(
            "{program} {args:?} failed ({}{}): {}{}",
            output.status,
            if timed_out {
                format!(", over {seconds} s")
            } else {
                String::new()
            },
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn docker(seconds: u32, args: &[&str]) -> Result<String, String> {
    run(seconds, "docker", args, &[])
}

/// Unique on this machine, and a valid Compose project name (lower-case
/// letters and digits).
fn unique_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!(
        "ondemandcompose{}x{:05x}",
        std::process::id(),
        nanos & 0xfffff
    )
}

/// Fails the test, saying how to install it, when docker-compose is missing.
fn require_compose() {
    if let Err(problem) = run(60, "docker-compose", &["version", "--short"], &[]) {
        panic!(
            "this test needs docker-compose (1.29 or newer, the Compose file format 2.4), \
             which does not run ({problem}). Install it (e.g. `sudo apt-get install \
             docker-compose`), then run `scripts/test`."
        );
    }
}

/// The base of the platform image: the test base image when it has a glibc
/// (the offline Debian base does), else the Dockerfile's default, a Debian
/// image (the official test base, Alpine, has musl, on which a binary built
/// here does not run). `PLATFORM_BASE_IMAGE` overrides both.
fn platform_base() -> Option<String> {
    if let Ok(base) = std::env::var("PLATFORM_BASE_IMAGE") {
        if !base.trim().is_empty() {
            return Some(base.trim().to_owned());
        }
    }
    let base = testkit::BASE.require();
    let libc = docker(
        120,
        &[
            "run",
            "--rm",
            "--entrypoint",
            "sh",
            &base,
            "-c",
            "getconf GNU_LIBC_VERSION",
        ],
    );
    libc.is_ok_and(|version| version.starts_with("glibc"))
        .then_some(base)
}

/// The Docker socket to hand the workers: `DOCKER_HOST`'s,
/// when it names one.
fn docker_socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/docker.sock".to_owned())
}

/// A Compose project of this test, and the platform image built for it:
/// both removed when dropped (on a panic too, after printing the services'
/// logs), or by a watcher once this process has exited if it never is.
struct Stack {
    project: String,
    image: String,
    env: Vec<(&'static str, String)>,
    watcher: Option<Child>,
    removed: bool,
}

impl Stack {
    fn new(images: &[(&'static str, String)]) -> Stack {
        let project = unique_name();
        let image = format!("ondemand-test/platform:{project}");
        let mut env = images.to_vec();
        env.extend([
            ("PLATFORM_IMAGE", image.clone()),
            // Any free port on loopback: `docker-compose port` says which.
            ("ONDEMAND_HTTP_HOST", "127.0.0.1".to_owned()),
            ("ONDEMAND_HTTP_PORT", "0".to_owned()),
            ("RABBITMQ_COOKIE", format!("cookie-{project}")),
            ("DOCKER_SOCKET", docker_socket()),
            // What a user's environment might set, back to the defaults.
            ("AMQP_USER", "guest".to_owned()),
            ("AMQP_PASSWORD", "guest".to_owned()),
            ("ONDEMAND_MIRROR", String::new()),
            ("PLATFORM_TOKEN", String::new()),
        ]);
        let mut stack = Stack {
            project,
            image,
            env,
            watcher: None,
            removed: false,
        };
        stack.watcher = stack.remove_at_exit();
        stack
    }

    fn compose_file(&self) -> String {
        root().join("docker-compose.yml").display().to_string()
    }

    /// `docker-compose -p <project> -f docker-compose.yml <args>`.
    fn compose(&self, seconds: u32, args: &[&str]) -> Result<String, String> {
        let file = self.compose_file();
        let mut full = vec!["-p", &self.project, "-f", &file];
        full.extend_from_slice(args);
        run(seconds, "docker-compose", &full, &self.env)
    }

    /// Builds the image with `dockerfiles/platform/build` from the binary
    /// cargo built for this test.
    fn build_image(&self, base: Option<String>) {
        let mut env = vec![
            ("ONDEMAND_BINARY", env!("CARGO_BIN_EXE_ondemand").to_owned()),
            ("PLATFORM_IMAGE", self.image.clone()),
        ];
        env.extend(base.map(|base| ("PLATFORM_BASE_IMAGE", base)));
        let script = root().join("dockerfiles/platform/build");
        if let Err(problem) = run(900, "bash", &[&script.display().to_string()], &env) {
            panic!("cannot build the platform image {}: {problem}", self.image);
        }
    }

    /// The server's address on the host, as `docker-compose port` says (it
    /// changes if the server restarts).
    fn server_address(&self) -> Option<String> {
        let address = self.compose(60, &["port", "server", "8080"]).ok()?;
        let address = address.trim();
        (!address.is_empty() && !address.ends_with(":0")).then(|| address.to_owned())
    }

    /// The ids of the project's running containers of `service`.
    fn running(&self, service: &str) -> Vec<String> {
        let project = format!("label=com.docker.compose.project={}", self.project);
        let service = format!("label=com.docker.compose.service={service}");
        let ids = docker(
            60,
            &[
                "ps",
                "-q",
                "--filter",
                &project,
                "--filter",
                &service,
                "--filter",
                "status=running",
            ],
        )
        .unwrap_or_else(|problem| panic!("cannot list the containers: {problem}"));
        ids.split_whitespace().map(str::to_owned).collect()
    }

    /// `rabbitmqctl <args>` on rabbit1, whose output must be JSON.
    fn rabbitmqctl_json(&self, args: &[&str]) -> Value {
        let mut full = vec!["exec", "-T", "rabbit1", "rabbitmqctl"];
        full.extend_from_slice(args);
        full.extend(["--formatter", "json"]);
        let text = self
            .compose(60, &full)
            .unwrap_or_else(|problem| panic!("rabbitmqctl {args:?} on rabbit1: {problem}"));
        serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("rabbitmqctl {args:?}: not JSON ({err}): {text}"))
    }

    /// The last lines of every service's log, for a failure's message.
    fn logs(&self) -> String {
        self.compose(60, &["logs", "--no-color", "--tail", "30"])
            .unwrap_or_else(|problem| format!("(no logs: {problem})"))
    }

    /// `docker-compose down -v --remove-orphans`, then the image.
    fn remove(&mut self) -> Result<(), String> {
        self.removed = true;
        let down = self.compose(300, &["down", "-v", "--remove-orphans", "-t", "10"]);
        let image = match docker(120, &["image", "inspect", &self.image]) {
            Ok(_) => docker(120, &["rmi", &self.image]).map(drop),
            Err(_) => Ok(()), // never built
        };
        down.and(image)?;
        if let Some(mut watcher) = self.watcher.take() {
            // Nothing is left for it to remove.
            let _ = watcher.kill();
            let _ = watcher.wait();
        }
        Ok(())
    }

    /// A small process that takes the stack down once this process has
    /// exited: an aborted test never drops it.
    fn remove_at_exit(&self) -> Option<Child> {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             timeout -k 10 300 docker-compose -p {project} -f '{file}' down -v --remove-orphans -t 10; \
             timeout -k 10 120 docker rmi {image}",
            pid = std::process::id(),
            project = self.project,
            file = self.compose_file(),
            image = self.image,
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .inspect_err(|err| {
                eprintln!(
                    "warning: project {} may outlive the test: {err}",
                    self.project
                )
            })
            .ok()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        if std::thread::panicking() {
            eprintln!("compose: the services' last lines:\n{}", self.logs());
        }
        if let Err(problem) = self.remove() {
            eprintln!(
                "warning: project {} may not be fully removed: {problem}",
                self.project
            );
        }
    }
}

/// Polls `done` every second until it gives a value or `limit` has passed.
fn wait_for<T>(limit: Duration, mut done: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = done() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The bundled graphs, `examples/graphs/*.dot`, by name.
fn bundled_graphs() -> Vec<(String, String)> {
    let dir = root().join("examples/graphs");
    let mut graphs: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "dot"))
        .map(|path| {
            (
                name_of(&path),
                std::fs::read_to_string(&path).expect("a graph"),
            )
        })
        .collect();
    graphs.sort();
    assert!(!graphs.is_empty(), "no graphs in {}", dir.display());
    graphs
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn seconds(since: Instant) -> String {
    format!("{:.1} s", since.elapsed().as_secs_f64())
}

#[test]
fn the_compose_stack_renders_every_bundled_graph_on_a_three_node_cluster_and_leaves_nothing() {
    testkit::require_docker();
    require_compose();
    let images = [
        ("RABBITMQ_IMAGE", testkit::RABBITMQ.require()),
        ("GRAPHVIZ_IMAGE", testkit::GRAPHVIZ.require()),
    ];
    let base = platform_base();
    let mut stack = Stack::new(&images);
    eprintln!("compose: project {}, image {}", stack.project, stack.image);

    let started = Instant::now();
    stack.build_image(base);
    eprintln!("compose: image built in {}", seconds(started));

    let started = Instant::now();
    let args = ["up", "-d", "--scale", &format!("worker={WORKERS}")];
    if let Err(problem) = stack.compose(600, &args) {
        panic!("docker-compose up failed: {problem}");
    }
    eprintln!("compose: up in {}", seconds(started));

    let started = Instant::now();
    let client = Client::builder()
        .timeout(Duration::from_secs(90))
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let mut last = String::from("no answer yet");
    let base_url = wait_for(HEALTHY_LIMIT, || {
        let Some(address) = stack.server_address() else {
            last = "the server has no published port (restarting?)".to_owned();
            return None;
        };
        let url = format!("http://{address}");
        match client.get(format!("{url}/healthz")).send() {
            Ok(response) if response.status() == StatusCode::OK => Some(url),
            Ok(response) => {
                last = format!(
                    "{}: {}",
                    response.status(),
                    response.text().unwrap_or_default()
                );
                None
            }
            Err(err) => {
                last = err.to_string();
                None
            }
        }
    })
    .unwrap_or_else(|| panic!("/healthz did not answer 200 within {HEALTHY_LIMIT:?}: {last}"));
    eprintln!("compose: healthy after {} at {base_url}", seconds(started));

    let workers = stack.running("worker");
    assert_eq!(workers.len(), WORKERS, "running workers: {workers:?}");
    let status = stack.rabbitmqctl_json(&["cluster_status"]);
    let mut running: Vec<&str> = status["running_nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no running_nodes in {status}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    running.sort_unstable();
    assert_eq!(running, NODES, "the cluster's running nodes");
    // The job queue is replicated on every node.
    let queues = stack.rabbitmqctl_json(&["-q", "list_queues", "name", "type", "members"]);
    let jobs = queues
        .as_array()
        .and_then(|queues| queues.iter().find(|queue| queue["name"] == "render.jobs"))
        .unwrap_or_else(|| panic!("no render.jobs in {queues}"));
    assert_eq!(jobs["type"], "quorum", "{jobs}");
    assert_eq!(
        jobs["members"].as_array().map(Vec::len),
        Some(NODES.len()),
        "{jobs}"
    );
    eprintln!("compose: {WORKERS} workers, cluster {running:?}, render.jobs on every node");

    let started = Instant::now();
    let mut ids = Vec::new();
    for (name, graph) in bundled_graphs() {
        // A comment of this run's: a job of its own (no other test's render
        // container carries its id), the same graph.
        let source = format!("{graph}\n// {}\n", stack.project);
        let render = Instant::now();
        let response = client
            .post(format!("{base_url}/api/v1/jobs?wait=60"))
            .json(&json!({ "source": source, "format": "svg" }))
            .send()
            .unwrap_or_else(|err| panic!("{name}: POST /api/v1/jobs: {err}"));
        let status = response.status();
        let job: Value = response
            .json()
            .unwrap_or_else(|err| panic!("{name}: {status}, not JSON: {err}"));
        assert_eq!(status, StatusCode::OK, "{name}: {job}");
        assert_eq!(job["status"], "rendered", "{name}: {job}");
        assert_eq!(job["cached"], false, "{name}: {job}");
        let commit = job["commit"].as_str().unwrap_or_default();
        assert!(
            commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{name}: no commit in {job}"
        );
        let output = job["links"]["output"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no output link in {job}"));
        let response = client
            .get(format!("{base_url}{output}"))
            .send()
            .unwrap_or_else(|err| panic!("{name}: GET {output}: {err}"));
        assert_eq!(response.status(), StatusCode::OK, "{name}: GET {output}");
        let media_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            media_type.starts_with("image/svg+xml"),
            "{name}: {media_type}"
        );
        let svg = response.text().expect("the output");
        assert!(svg.contains("<svg"), "{name}: not an SVG: {svg:.200}");
        let id = job["id"]
            .as_str()
            .filter(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()))
            .unwrap_or_else(|| panic!("{name}: no job id in {job}"))
            .to_owned();
        eprintln!(
            "compose: {name} rendered in {} (job {id}, commit {commit:.12})",
            seconds(render)
        );
        ids.push(id);
    }
    eprintln!(
        "compose: {} graphs rendered in {}",
        ids.len(),
        seconds(started)
    );

    let started = Instant::now();
    if let Err(problem) = stack.remove() {
        panic!("cannot take the stack down: {problem}");
    }
    eprintln!("compose: down (and image removed) in {}", seconds(started));

    let project = format!("label=com.docker.compose.project={}", stack.project);
    let name = format!("name={}_", stack.project);
    for (what, args) in [
        ("containers", vec!["ps", "-a", "-q", "--filter", &project]),
        (
            "networks",
            vec!["network", "ls", "-q", "--filter", &project],
        ),
        ("networks", vec!["network", "ls", "-q", "--filter", &name]),
        ("volumes", vec!["volume", "ls", "-q", "--filter", &project]),
        ("volumes", vec!["volume", "ls", "-q", "--filter", &name]),
    ] {
        let left = docker(60, &args).unwrap_or_else(|problem| panic!("{problem}"));
        assert!(
            left.trim().is_empty(),
            "{what} of {} left: {left}",
            stack.project
        );
    }
    // Render containers remove themselves once stopped: give them a moment.
    for id in &ids {
        let label = format!("label={JOB_LABEL}={id}");
        let left = wait_for(Duration::from_secs(30), || {
            let left = docker(60, &["ps", "-a", "-q", "--filter", &label]).ok()?;
            left.trim().is_empty().then_some(())
        });
        assert!(left.is_some(), "a render container of job {id} is left");
    }
    assert!(
        docker(60, &["image", "inspect", &stack.image]).is_err(),
        "the image {} is left",
        stack.image
    );
}
