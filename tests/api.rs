//! The HTTP API over real HTTP: a real broker, the real Docker engine
//! rendering with `dot`, a real git project. One server and one worker
//! serve every test of this binary; the graphs differ per test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use mq_lite::ConnectOptions;
use ondemand_platform::server::{encode_source, HubConfig, RunningServer, ServerConfig};
use ondemand_platform::{CommitterConfig, LocalBackEnd, WorkerConfig};
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde_json::{json, Value};

const TOKEN: &str = "s3cret-token";
/// The test worker's output limit: small enough for a graph to pass it.
const MAX_OUTPUT_BYTES: u64 = 256 * 1024;

struct Platform {
    base: String,
    project: PathBuf,
    hub: HubConfig,
    _server: RunningServer,
    _dir: tempfile::TempDir,
}

/// A worker (set up by `configure`) and a committer for `hub`'s queue and project.
fn back_end(hub: &HubConfig, configure: impl FnOnce(&mut WorkerConfig)) -> LocalBackEnd {
    let mut worker = WorkerConfig::new(testkit::GRAPHVIZ.require());
    worker.queue = hub.job_queue.clone();
    configure(&mut worker);
    let mut committer = CommitterConfig::new(&hub.project);
    committer.queue = hub.job_queue.clone();
    LocalBackEnd::start(&hub.broker, worker, committer).expect("start a worker and a committer")
}

fn hub_config(project: &Path, suffix: &str) -> HubConfig {
    let run = std::process::id();
    HubConfig {
        broker: ConnectOptions::new(testkit::shared_broker().url()),
        job_queue: format!("api-test.jobs.{run}"),
        result_queue: format!("api-test.results.{run}.{suffix}"),
        project: project.to_owned(),
    }
}

/// The server and its worker, started once for this binary.
fn platform() -> &'static Platform {
    static PLATFORM: OnceLock<Platform> = OnceLock::new();
    PLATFORM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("renders");
        let hub = hub_config(&project, "main");
        let back_end = back_end(&hub, |config| {
            config.timeout = Duration::from_secs(10);
            config.max_output_bytes = MAX_OUTPUT_BYTES;
        });
        // Runs as long as the test process.
        std::mem::forget(back_end);
        let mut server_config = ServerConfig::default();
        server_config.max_source_bytes = 64 * 1024;
        server_config.max_url_bytes = 8 * 1024;
        let server = RunningServer::start(local(), &hub, server_config).expect("start the server");
        Platform {
            base: format!("http://{}", server.address()),
            project,
            hub,
            _server: server,
            _dir: dir,
        }
    })
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(90))
        .build()
        .unwrap()
}

fn url(path: &str) -> String {
    format!("{}{path}", platform().base)
}

fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.bytes().unwrap();
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|err| panic!("{status}: not JSON ({err}): {body:?}"));
    (status, value)
}

fn submit(body: Value) -> (StatusCode, Value) {
    json_of(
        client()
            .post(url("/api/v1/jobs?wait=60"))
            .json(&body)
            .send()
            .unwrap(),
    )
}

fn unique_graph(test: &str) -> String {
    format!("digraph {{ \"{test}\" -> \"{}\" }}", std::process::id())
}

#[test]
fn a_graph_renders_once_and_is_then_served_from_git_with_its_etag() {
    let source = unique_graph("renders-once");
    let (status, first) = submit(json!({ "source": source, "format": "svg" }));
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["status"], "rendered", "{first}");
    assert_eq!(first["cached"], false, "{first}");
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(id, ondemand_platform::job_id_for("svg", &source));
    let commit = first["commit"].as_str().unwrap().to_owned();
    assert!(
        first["timings"]["container_ms"].as_u64().unwrap() > 0,
        "{first}"
    );

    let (status, again) = submit(json!({ "source": source, "format": "svg" }));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["cached"], true, "{again}");

    let (status, read) = json_of(
        client()
            .get(url(&format!("/api/v1/jobs/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["status"], "rendered");
    // The commit named holds the output: git shows it there.
    let output_path = ondemand_platform::store::output_path(&id, "svg");
    let in_git = std::process::Command::new("git")
        .arg("-C")
        .arg(&platform().project)
        .args(["show", &format!("{commit}:{output_path}")])
        .output()
        .unwrap();
    assert!(in_git.status.success());

    let output = client()
        .get(url(&format!("/api/v1/jobs/{id}/output")))
        .send()
        .unwrap();
    assert_eq!(output.status(), StatusCode::OK);
    let headers = output.headers().clone();
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=31536000"));
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", read["output_id"].as_str().unwrap()));
    let bytes = output.bytes().unwrap();
    assert_eq!(bytes, in_git.stdout, "the bytes git holds");
    assert!(String::from_utf8_lossy(&bytes).contains("<svg"));

    let not_modified = client()
        .get(url(&format!("/api/v1/jobs/{id}/output")))
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);

    let (status, made) = json_of(
        client()
            .get(url(&format!("/api/v1/commits/{commit}")))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["job"]["id"], id.as_str(), "{made}");
    let (status, _) = json_of(client().get(url("/api/v1/commits/HEAD")).send().unwrap());
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = json_of(
        client()
            .get(url(&format!("/api/v1/commits/{}", "0".repeat(40))))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);

    let graph = client()
        .get(url(&format!("/api/v1/jobs/{id}/source")))
        .send()
        .unwrap();
    assert_eq!(graph.status(), StatusCode::OK);
    assert_eq!(graph.text().unwrap(), source);
}

#[test]
fn a_raw_graph_renders_to_png_and_a_bad_one_fails_with_dots_message() {
    let response = client()
        .post(url("/api/v1/jobs?wait=60&format=png"))
        .header("Content-Type", "text/vnd.graphviz")
        .body(unique_graph("raw-png"))
        .send()
        .unwrap();
    let (status, job) = json_of(response);
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["format"], "png");
    let png = client()
        .get(url(job["links"]["output"].as_str().unwrap()))
        .send()
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.bytes().unwrap().starts_with(b"\x89PNG"));

    let (status, failed) = submit(json!({ "source": "digraph { a -> }", "format": "svg" }));
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("syntax error"),
        "{failed}"
    );
    // dot's own message, not the noise of a read-only container.
    assert!(
        !failed["error"].as_str().unwrap().contains("Fontconfig"),
        "{failed}"
    );
}

#[test]
fn kroki_urls_render_the_same_bytes_as_post_and_errors_come_back_as_images() {
    let source = unique_graph("kroki");
    // Encoded by the Python snippet of Kroki's documentation, verbatim.
    let python = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, base64, zlib; \
             print(base64.urlsafe_b64encode(zlib.compress(sys.stdin.read().encode('utf-8'), 9)).decode('ascii'))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (Kroki's documentation encodes with it)");
    {
        use std::io::Write;
        python
            .stdin
            .as_ref()
            .unwrap()
            .write_all(source.as_bytes())
            .unwrap();
    }
    let encoded = String::from_utf8(python.wait_with_output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_owned();
    let by_get = client()
        .get(url(&format!("/graphviz/svg/{encoded}")))
        .send()
        .unwrap();
    assert_eq!(by_get.status(), StatusCode::OK);
    assert_eq!(by_get.headers()["content-type"], "image/svg+xml");
    let by_get = by_get.bytes().unwrap();
    let by_post = client()
        .post(url("/graphviz/svg"))
        .header("Content-Type", "text/plain")
        .body(source.clone())
        .send()
        .unwrap();
    assert_eq!(by_post.status(), StatusCode::OK);
    assert_eq!(by_post.bytes().unwrap(), by_get);
    let (_, job) = submit(json!({ "source": source }));
    let by_api = client()
        .get(url(job["links"]["output"].as_str().unwrap()))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(by_api, by_get);

    let bad = client()
        .post(url("/graphviz/svg"))
        .header("Accept", "image/*")
        .body("digraph { a -> }")
        .send()
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.headers()["content-type"], "image/svg+xml");
    assert!(bad.text().unwrap().contains("syntax error"));
    let bad = client()
        .get(url("/graphviz/svg/not-base64!"))
        .header("Accept", "image/png")
        .send()
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.headers()["content-type"], "image/svg+xml");
}

#[test]
fn untrusted_input_gets_a_clear_4xx_and_the_server_goes_on() {
    let post_json = |body: &str| {
        json_of(
            client()
                .post(url("/api/v1/jobs"))
                .header("Content-Type", "application/json")
                .body(body.to_owned())
                .send()
                .unwrap(),
        )
    };
    let cases: Vec<(&str, (StatusCode, Value))> = vec![
        (
            "format ps",
            submit(json!({ "source": "digraph{}", "format": "ps" })),
        ),
        (
            "format eps",
            submit(json!({ "source": "digraph{}", "format": "eps" })),
        ),
        ("malformed JSON", post_json("{\"source\": ")),
        (
            "unknown field",
            post_json("{\"source\": \"digraph{}\", \"colour\": 1}"),
        ),
        ("empty source", submit(json!({ "source": "  " }))),
        (
            "callback not http",
            submit(json!({ "source": "digraph{}", "callback_url": "file:///etc/passwd" })),
        ),
        (
            "bad wait",
            json_of(
                client()
                    .get(url("/api/v1/jobs/abc?wait=-1"))
                    .send()
                    .unwrap(),
            ),
        ),
        (
            "invalid id",
            json_of(client().get(url("/api/v1/jobs/..%2Fx")).send().unwrap()),
        ),
    ];
    for (case, (status, body)) in cases {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{case}: {body}"
        );
    }
    let (status, body) =
        submit(json!({ "source": format!("digraph {{ {} }}", "a;".repeat(40_000)) }));
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = json_of(
        client()
            .get(url(&format!("/graphviz/svg/{}", "A".repeat(10_000))))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::URI_TOO_LONG, "{body}");
    let big = encode_source(&format!("digraph {{ {} }}", "a;".repeat(40_000)));
    assert!(big.len() < 8 * 1024, "compresses well");
    let (status, body) = json_of(
        client()
            .get(url(&format!("/graphviz/svg/{big}")))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = json_of(
        client()
            .get(url("/api/v1/jobs/0123456789abcdef0123456789abcdef"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Still serving.
    let (status, _) = json_of(client().get(url("/api/v1/jobs")).send().unwrap());
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn a_batch_gets_one_entry_per_graph_and_the_history_lists_them() {
    let graphs: Vec<String> = (0..3)
        .map(|n| unique_graph(&format!("batch-{n}")))
        .collect();
    let (status, body) = json_of(
        client()
            .post(url("/api/v1/batches"))
            .json(&json!({ "jobs": [
                { "source": graphs[0] },
                { "source": graphs[1], "format": "png" },
                { "source": graphs[2], "format": "ps" },
            ]}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let entries = body["jobs"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries[0]["id"].is_string() && entries[1]["id"].is_string());
    assert_eq!(entries[2]["code"], 400, "{body}");
    for entry in &entries[..2] {
        let (status, job) = json_of(
            client()
                .get(url(&format!(
                    "{}?wait=60",
                    entry["links"]["self"].as_str().unwrap()
                )))
                .send()
                .unwrap(),
        );
        assert_eq!(status, StatusCode::OK, "{job}");
        assert_eq!(job["status"], "rendered", "{job}");
    }
    let (_, recent) = json_of(client().get(url("/api/v1/jobs?limit=100")).send().unwrap());
    let listed: Vec<&str> = recent["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|job| job["id"].as_str())
        .collect();
    for entry in &entries[..2] {
        assert!(listed.contains(&entry["id"].as_str().unwrap()), "{recent}");
    }
}

#[test]
fn health_metrics_and_the_page_answer() {
    let (status, health) = json_of(client().get(url("/healthz")).send().unwrap());
    assert_eq!(status, StatusCode::OK, "{health}");
    for check in ["broker", "git"] {
        assert_eq!(health["checks"][check]["up"], true, "{health}");
    }
    submit(json!({ "source": unique_graph("metrics") }));
    let metrics = client()
        .get(url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for name in [
        "ondemand_jobs_submitted_total",
        "ondemand_jobs_rendered_total",
        "ondemand_jobs_failed_total",
        "ondemand_jobs_served_from_cache_total",
        "ondemand_render_duration_seconds_bucket",
        "ondemand_queue_depth",
    ] {
        assert!(metrics.contains(name), "{name} in {metrics}");
    }
    let page = client().get(url("/")).send().unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert!(page.text().unwrap().contains("<textarea"));
}

#[test]
fn with_a_token_submitting_needs_it_and_reading_stays_open() {
    let base = platform();
    let mut config = ServerConfig::default();
    config.token = Some(TOKEN.to_owned());
    let hub = hub_config(&base.project, "token");
    let server = RunningServer::start(local(), &hub, config).expect("start");
    let at = |path: &str| format!("http://{}{path}", server.address());
    let source = unique_graph("token");
    let refused = client()
        .post(at("/api/v1/jobs"))
        .json(&json!({ "source": source }))
        .send()
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let wrong = client()
        .post(at("/api/v1/jobs"))
        .bearer_auth("wrong")
        .json(&json!({ "source": source }))
        .send()
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (status, job) = json_of(
        client()
            .post(at("/api/v1/jobs?wait=60"))
            .bearer_auth(TOKEN)
            .json(&json!({ "source": source }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["status"], "rendered", "{job}");
    // The platform's own client reports the refusal, typed.
    let no_token = ondemand_platform::ApiClient::new(
        &format!("http://{}", server.address()),
        None,
        Duration::from_secs(30),
    )
    .unwrap();
    let err = no_token
        .submit(&unique_graph("token-client"), "svg", Duration::ZERO)
        .unwrap_err();
    assert!(
        matches!(&err, ondemand_platform::PlatformError::Http { reason, .. } if reason.contains("401")),
        "{err:?}"
    );
    let read = client()
        .get(at(job["links"]["self"].as_str().unwrap()))
        .send()
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(base.hub.job_queue, hub.job_queue);
}

#[test]
fn a_restarted_server_finds_rendered_jobs_in_git() {
    let base = platform();
    let source = unique_graph("restart");
    let (_, job) = submit(json!({ "source": source }));
    assert_eq!(job["status"], "rendered", "{job}");
    // Another server process would start with an empty table: this one
    // knows nothing of the job but what git holds.
    let hub = hub_config(&base.project, "restarted");
    let server = RunningServer::start(local(), &hub, ServerConfig::default()).expect("start");
    let (status, found) = json_of(
        client()
            .get(format!(
                "http://{}/api/v1/jobs/{}",
                server.address(),
                job["id"].as_str().unwrap()
            ))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["status"], "rendered");
    assert_eq!(found["cached"], true);
}

/// A graph whose SVG is larger than [`MAX_OUTPUT_BYTES`].
fn big_graph(test: &str) -> String {
    let nodes: Vec<String> = (0..1500)
        .map(|n| format!("n{n} [label=\"{test} node number {n}\"];"))
        .collect();
    format!("digraph {{ {} }}", nodes.join(" "))
}

#[test]
fn output_past_the_workers_limit_fails_with_the_reason() {
    let (status, job) = submit(json!({ "source": big_graph("too-big") }));
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains("over the limit") && error.contains("stdout"),
        "{error}"
    );
}

/// Accepts HTTP requests on a local port: answers `statuses` in turn (200
/// once they run out) and hands each request's body over.
fn callback_receiver(statuses: Vec<u16>) -> (String, std::sync::mpsc::Receiver<Value>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/done", listener.local_addr().unwrap());
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = statuses.next().unwrap_or(200);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = sender.send(serde_json::from_slice(&body).unwrap());
        }
    });
    (url, received)
}

#[test]
fn a_callback_receives_the_result_and_is_retried_until_it_succeeds() {
    let (callback, received) = callback_receiver(vec![500, 503]);
    let (status, job) = json_of(
        client()
            .post(url("/api/v1/jobs"))
            .json(&json!({ "source": unique_graph("callback"), "callback_url": callback }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    // Two refusals, then the third try is taken.
    for attempt in 1..=3 {
        let body = received
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("callback try {attempt} never came"));
        assert_eq!(body["id"], job["id"], "{body}");
        assert_eq!(body["status"], "rendered", "{body}");
        assert!(body["commit"].is_string(), "{body}");
    }
    assert!(
        received.recv_timeout(Duration::from_secs(3)).is_err(),
        "no fourth try"
    );
}

/// A server of its own on the shared broker, with a job queue no worker
/// reads (its jobs stay queued), and `config`.
fn server_without_workers(name: &str, config: ServerConfig) -> RunningServer {
    let base = platform();
    let mut hub = hub_config(&base.project, name);
    hub.job_queue = format!("{}.{name}", hub.job_queue);
    RunningServer::start(local(), &hub, config).expect("start")
}

#[test]
fn past_the_in_flight_limit_submitting_is_429_with_retry_after() {
    let mut config = ServerConfig::default();
    config.max_in_flight = 1;
    let server = server_without_workers("full", config);
    let at = |path: &str| format!("http://{}{path}", server.address());
    let first = client()
        .post(at("/api/v1/jobs"))
        .json(&json!({ "source": unique_graph("full-1") }))
        .send()
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let again = client()
        .post(at("/api/v1/jobs"))
        .json(&json!({ "source": unique_graph("full-1") }))
        .send()
        .unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED, "the same job joins");
    let (status, body) = {
        let response = client()
            .post(at("/api/v1/jobs"))
            .json(&json!({ "source": unique_graph("full-2") }))
            .send()
            .unwrap();
        assert!(response.headers().contains_key("retry-after"));
        json_of(response)
    };
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[test]
fn with_the_broker_gone_submitting_is_503_with_retry_after_and_health_says_so() {
    let broker = testkit::Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig {
        broker: ConnectOptions::new(broker.url()),
        job_queue: "gone.jobs".into(),
        result_queue: "gone.results".into(),
        project: dir.path().join("renders"),
    };
    let server = RunningServer::start(local(), &hub, ServerConfig::default()).expect("start");
    let at = |path: &str| format!("http://{}{path}", server.address());
    broker.rabbitmqctl(&["stop_app"]);
    let started = std::time::Instant::now();
    let response = client()
        .post(at("/api/v1/jobs"))
        .json(&json!({ "source": unique_graph("broker-gone") }))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(35),
        "{:?}",
        started.elapsed()
    );
    let (status, health) = json_of(client().get(at("/healthz")).send().unwrap());
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(health["checks"]["broker"]["up"], false, "{health}");
    assert_eq!(health["checks"]["git"]["up"], true, "{health}");
}

#[test]
fn a_job_in_flight_across_a_server_restart_is_found_when_its_result_arrives() {
    let base = platform();
    let dir = tempfile::tempdir().unwrap();
    let mut hub = hub_config(&dir.path().join("renders"), "in-flight");
    hub.job_queue = format!("{}.in-flight", hub.job_queue);
    let first = RunningServer::start(local(), &hub, ServerConfig::default()).expect("start");
    let (status, job) = json_of(
        client()
            .post(format!("http://{}/api/v1/jobs", first.address()))
            .json(&json!({ "source": unique_graph("in-flight") }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    first.stop();

    let second = RunningServer::start(local(), &hub, ServerConfig::default()).expect("restart");
    // Now a worker takes the job; its result lands on the durable result
    // queue, which the second server reads.
    let back_end = back_end(&hub, |_| {});
    let (status, found) = json_of(
        client()
            .get(format!(
                "http://{}/api/v1/jobs/{}?wait=60",
                second.address(),
                job["id"].as_str().unwrap()
            ))
            .send()
            .unwrap(),
    );
    back_end.stop().unwrap();
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["status"], "rendered", "{found}");
    assert!(found["commit"].is_string(), "{found}");
    let _ = base;
}

#[test]
fn a_graph_past_the_memory_limit_fails_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = hub_config(&dir.path().join("renders"), "memory");
    hub.job_queue = format!("{}.memory", hub.job_queue);
    let back_end = back_end(&hub, |config| config.memory_bytes = 64 * 1024 * 1024);
    let server = RunningServer::start(local(), &hub, ServerConfig::default()).expect("start");
    // A bitmap of this resolution is allocated at once, far past 64 MiB:
    // the kernel kills dot at once (a graph that grows slowly towards the
    // limit thrashes instead, and ends at the timeout).
    let (status, job) = json_of(
        client()
            .post(format!("http://{}/api/v1/jobs?wait=60", server.address()))
            .json(&json!({
                "source": "digraph dpi_bomb { graph [dpi=9000]; a -> b -> c }",
                "format": "png",
            }))
            .send()
            .unwrap(),
    );
    back_end.stop().unwrap();
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["status"], "failed", "{job}");
    assert!(
        job["error"].as_str().unwrap().contains("memory limit"),
        "{job}"
    );
}

/// A complete graph on `n` nodes: `dot` takes about 3 s for 28.
fn complete_graph(n: usize, test: &str) -> String {
    let edges: Vec<String> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| format!("n{i} -> n{j};")))
        .collect();
    format!("digraph \"{test}\" {{ {} }}", edges.join(" "))
}

#[test]
fn a_job_is_queued_then_rendering_then_rendered() {
    let (status, job) = submit_without_waiting(&complete_graph(
        28,
        &format!("phases-{}", std::process::id()),
    ));
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert!(
        job["status"] == "queued" || job["status"] == "rendering",
        "{job}"
    );
    let this = url(job["links"]["self"].as_str().unwrap());
    let started = std::time::Instant::now();
    let mut seen = vec![job["status"].as_str().unwrap().to_owned()];
    loop {
        let (_, now) = json_of(client().get(&this).send().unwrap());
        let phase = now["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&phase) {
            seen.push(phase.clone());
        }
        if phase == "rendered" || phase == "failed" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{seen:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(seen.contains(&"rendering".to_owned()), "{seen:?}");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("rendered"),
        "{seen:?}"
    );
}

fn submit_without_waiting(source: &str) -> (StatusCode, Value) {
    json_of(
        client()
            .post(url("/api/v1/jobs"))
            .json(&json!({ "source": source }))
            .send()
            .unwrap(),
    )
}
