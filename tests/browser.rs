//! The web page in a real browser: headless Chromium driven through
//! WebDriver (Debian's `chromium` and `chromium-driver`; `scripts/test`
//! installs them when missing), against a real server, broker, engine and
//! git project.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mq_lite::ConnectOptions;
use ondemand_platform::server::{HubConfig, RunningServer, ServerConfig};
use ondemand_platform::{CommitterConfig, LocalBackEnd, WorkerConfig};
use reqwest::blocking::Client;
use serde_json::{json, Value};

/// The key WebDriver names elements by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    base: String,
    http: Client,
}

impl Driver {
    fn start() -> Driver {
        let binary = ["chromedriver", "/usr/bin/chromedriver"]
            .into_iter()
            .find(|candidate| {
                Command::new(candidate)
                    .arg("--version")
                    .output()
                    .is_ok_and(|output| output.status.success())
            })
            .unwrap_or_else(|| {
                panic!(
                    "this test needs chromedriver and Chromium, which are not installed: \
                     run `scripts/test` (it installs Debian's chromium and chromium-driver), \
                     or `sudo apt-get install chromium chromium-driver`"
                )
            });
        let port = testkit::free_port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        };
        let started = Instant::now();
        while driver
            .http
            .get(format!("{}/status", driver.base))
            .send()
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not answer within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request
            .send()
            .expect("chromedriver answers")
            .json()
            .unwrap();
        if let Some(error) = response["value"]["error"].as_str() {
            panic!(
                "WebDriver {path}: {error}: {}",
                response["value"]["message"]
            );
        }
        response["value"].clone()
    }

    /// A headless browser session.
    fn session(&self) -> Session<'_> {
        let value = self.call(
            reqwest::Method::POST,
            "/session",
            Some(json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium_binary(),
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=1200,900"],
                },
            }}})),
        );
        Session {
            driver: self,
            id: value["sessionId"]
                .as_str()
                .expect("a session id")
                .to_owned(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium_binary() -> &'static str {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|path| Path::new(path).exists())
    .unwrap_or("/usr/bin/chromium")
}

struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Session<'_> {
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })));
    }

    fn run(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    fn click(&self, css: &str) {
        let element = self.call(
            reqwest::Method::POST,
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        let id = element[ELEMENT].as_str().expect("an element id");
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        );
    }

    /// Types `graph` into the page's text area and presses Render.
    fn submit(&self, graph: &str) {
        self.run(&format!(
            "document.getElementById('source').value = {};",
            json!(graph)
        ));
        self.click("#submit");
    }

    /// Waits up to `limit` for `script` to return true.
    fn wait_for(&self, limit: Duration, what: &str, script: &str) {
        let started = Instant::now();
        while self.run(script) != json!(true) {
            assert!(
                started.elapsed() < limit,
                "{what} did not happen within {limit:?}; the page says: {}",
                self.run("return document.body.innerText")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Saves a screenshot to `path`.
    fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let png = self.call(reqwest::Method::GET, "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64"))
            .unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .http
            .delete(format!("{}/session/{}", self.driver.base, self.id))
            .send();
    }
}

/// A server and a worker on queues of this test.
fn platform(project: &Path) -> (RunningServer, LocalBackEnd) {
    let run = std::process::id();
    let hub = HubConfig {
        broker: ConnectOptions::new(testkit::shared_broker().url()),
        job_queue: format!("browser-test.jobs.{run}"),
        result_queue: format!("browser-test.results.{run}"),
        project: project.to_owned(),
    };
    let mut worker = WorkerConfig::new(testkit::GRAPHVIZ.require());
    worker.queue = hub.job_queue.clone();
    let mut committer = CommitterConfig::new(project);
    committer.queue = hub.job_queue.clone();
    let back_end = LocalBackEnd::start(&hub.broker, worker, committer)
        .expect("start a worker and a committer");
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = RunningServer::start(listen, &hub, ServerConfig::default()).expect("server");
    (server, back_end)
}

#[test]
fn the_page_renders_a_graph_and_an_svg_with_a_script_link_runs_nothing() {
    let driver = Driver::start();
    let dir = tempfile::tempdir().unwrap();
    let (server, back_end) = platform(&dir.path().join("renders"));
    let base = format!("http://{}", server.address());
    let browser = driver.session();

    browser.open(&format!("{base}/"));
    assert_eq!(
        browser.run("return document.title"),
        json!("On-demand Graphviz")
    );
    let graph = format!(
        "digraph browser {{ page -> \"rendered {}\" }}",
        std::process::id()
    );
    browser.submit(&graph);
    browser.wait_for(
        Duration::from_secs(60),
        "the rendered image showing",
        "const img = document.getElementById('output'); \
         return !img.hidden && img.complete && img.naturalWidth > 0;",
    );
    let status = browser.run("return document.getElementById('status').textContent");
    assert!(status.as_str().unwrap().contains("rendered"), "{status}");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-page.png");
    browser.screenshot(&shot);
    eprintln!("screenshot of the page: {}", shot.display());
    browser.wait_for(
        Duration::from_secs(10),
        "the job in the latest jobs, linking to its source, output and commit",
        "const item = document.querySelector('#recent li'); \
         return item !== null && ['/source', '/output', '/api/v1/commits/'] \
           .every((part) => [...item.querySelectorAll('a')].some((a) => a.href.includes(part)));",
    );

    // A graph that dot turns into an SVG link to javascript:, shown in the
    // page (through <img>) and opened on its own: it never runs.
    let hostile = "digraph x { a [href=\"javascript:document.title='pwned'\", label=\"click\"] }";
    browser.submit(hostile);
    browser.wait_for(
        Duration::from_secs(60),
        "the hostile graph rendered",
        "return document.getElementById('status').textContent.includes('rendered') \
         && document.getElementById('output').src.includes('/output') \
         && document.getElementById('output').naturalWidth > 0",
    );
    assert_eq!(
        browser.run("return document.title"),
        json!("On-demand Graphviz")
    );
    let output = browser.run("return document.getElementById('output').src");
    let output = output.as_str().unwrap().to_owned();
    let svg = reqwest::blocking::get(&output).unwrap().text().unwrap();
    assert!(svg.contains("javascript:"), "dot kept the link: {svg}");
    browser.open(&output);
    browser.click("a");
    std::thread::sleep(Duration::from_millis(500));
    assert_ne!(browser.run("return document.title"), json!("pwned"));

    back_end.stop().expect("the worker and the committer");
}
