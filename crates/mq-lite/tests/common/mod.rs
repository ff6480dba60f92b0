//! Helpers shared by the broker tests.
#![allow(dead_code)] // each test file uses some of them

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mq_lite::Connection;
use testcontainers::{clients::Cli, core::WaitFor, Container, GenericImage};

/// A connection to this test process's broker.
pub fn connect() -> Connection {
    Connection::open(&testkit::shared_broker().url()).expect("connect to the test broker")
}

/// A connection to this test process's broker at the container's own
/// address when this host reaches it (Linux), bypassing docker-proxy, which
/// adds some 0.1 ms to every round trip; else through the published port.
pub fn connect_direct() -> Connection {
    let broker = testkit::shared_broker();
    let ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        broker.id(),
    ]);
    let direct = ip.split_whitespace().next().and_then(|ip| {
        let address = format!("{ip}:5672");
        let socket = address.parse().ok()?;
        std::net::TcpStream::connect_timeout(&socket, Duration::from_secs(1)).ok()?;
        Some(format!("amqp://guest:guest@{address}/%2f"))
    });
    Connection::open(&direct.unwrap_or_else(|| broker.url())).expect("connect to the test broker")
}

/// A queue name no other test uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "mq-lite.test.{prefix}.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `docker <args>` (bounded to 60 s), failing the test with its output if it fails.
pub fn docker(args: &[&str]) -> String {
    let output = Command::new("timeout")
        .arg("60")
        .arg("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        output.status.success(),
        "docker {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `rabbitmqctl <args>` inside the broker container `id`.
pub fn rabbitmqctl(id: &str, args: &[&str]) -> String {
    let mut full = vec!["exec", id, "rabbitmqctl"];
    full.extend_from_slice(args);
    docker(&full)
}

/// A broker of one test's own, for what would disturb the shared one
/// (resource alarms, pauses). Removed when dropped.
pub struct PrivateBroker {
    container: Container<'static, GenericImage>,
}

impl PrivateBroker {
    /// Starts a broker and waits until it accepts connections.
    pub fn start() -> PrivateBroker {
        static DOCKER: OnceLock<Cli> = OnceLock::new();
        let image = testkit::RABBITMQ.require();
        let (name, tag) = testkit::split_name_and_tag(&image);
        let image = GenericImage::new(name, tag)
            .with_exposed_port(5672)
            .with_wait_for(WaitFor::message_on_stdout("Server startup complete"));
        let container = DOCKER.get_or_init(Cli::default).run(image);
        PrivateBroker { container }
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!(
            "amqp://guest:guest@127.0.0.1:{}/%2f",
            self.container.get_host_port_ipv4(5672)
        )
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        self.container.id()
    }

    /// Forces the memory alarm on (a watermark no broker stays under), or
    /// back off (RabbitMQ's default watermark).
    pub fn memory_alarm(&self, on: bool) {
        let watermark = if on { "0.000001" } else { "0.4" };
        rabbitmqctl(self.id(), &["set_vm_memory_high_watermark", watermark]);
    }

    /// Freezes (or thaws) every process of the broker: it answers nothing.
    pub fn pause(&self, paused: bool) {
        docker(&[if paused { "pause" } else { "unpause" }, self.id()]);
    }
}

/// Polls `condition` every 50 ms until it holds; fails the test after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
