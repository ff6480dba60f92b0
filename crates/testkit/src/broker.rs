//! One RabbitMQ broker per test process, started with testcontainers.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use std::time::{Duration, Instant};

use testcontainers::{clients::Cli, core::WaitFor, Container, GenericImage, RunnableImage};

use crate::{split_name_and_tag, RABBITMQ};

const AMQP_PORT: u16 = 5672;

/// A running broker shared by the tests of one test binary.
pub struct Broker {
    container: Container<'static, GenericImage>,
}

impl Broker {
    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!(
            "amqp://guest:guest@127.0.0.1:{}/%2f",
            self.container.get_host_port_ipv4(AMQP_PORT)
        )
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        self.container.id()
    }
}

/// The line a RabbitMQ broker logs once it accepts connections.
const READY_LINE: &str = "Server startup complete";

fn broker_image() -> GenericImage {
    let image = RABBITMQ.require();
    let (name, tag) = split_name_and_tag(&image);
    GenericImage::new(name, tag)
        .with_exposed_port(AMQP_PORT)
        .with_wait_for(WaitFor::message_on_stdout(READY_LINE))
}

/// A broker of one test's own, on a fixed host port so that it comes back
/// at the same address after [`restart`](Self::restart). Removed on drop.
pub struct RestartableBroker<'d> {
    container: Container<'d, GenericImage>,
    port: u16,
    starts: usize,
}

impl<'d> RestartableBroker<'d> {
    /// Starts a broker on a free loopback port.
    pub fn start(docker: &'d Cli) -> Self {
        let port = free_port();
        let container =
            docker.run(RunnableImage::from(broker_image()).with_mapped_port((port, AMQP_PORT)));
        RestartableBroker {
            container,
            port,
            starts: 1,
        }
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`, the same across restarts.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Stops the broker (`docker stop`: a clean shutdown).
    pub fn stop(&self) {
        self.container.stop();
    }

    /// Starts the stopped broker again and waits until it accepts connections.
    pub fn start_again(&mut self) {
        self.container.start();
        self.starts += 1;
        wait_for_log_line(self.container.id(), READY_LINE, self.starts);
    }

    /// Stops and starts the broker, keeping its data.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }
}

/// A loopback port that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("the OS hands out a free port")
}

/// Waits (up to 120 s) until the container's log holds `line` `count` times.
fn wait_for_log_line(id: &str, line: &str, count: usize) {
    let started = Instant::now();
    loop {
        let logs = Command::new("docker")
            .args(["logs", id])
            .output()
            .expect("docker logs runs");
        let seen = String::from_utf8_lossy(&logs.stdout).matches(line).count();
        if seen >= count {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "container {id} did not log {line:?} {count} times within 120 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The broker of this test process, started on first use from the image
/// named by `RABBITMQ_IMAGE` and removed when the process exits.
pub fn shared_broker() -> &'static Broker {
    static DOCKER: OnceLock<Cli> = OnceLock::new();
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        let docker = DOCKER.get_or_init(Cli::default);
        let container = docker.run(broker_image());
        remove_container_at_exit(container.id());
        Broker { container }
    })
}

/// Statics are never dropped, so testcontainers cannot remove a shared
/// container itself: a small watcher process removes it once this process
/// has exited.
pub fn remove_container_at_exit(id: &str) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; docker rm -f -v {id} >/dev/null 2>&1",
        pid = std::process::id()
    );
    let spawned = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(err) = spawned {
        eprintln!("warning: container {id} will outlive the tests: {err}");
    }
}
