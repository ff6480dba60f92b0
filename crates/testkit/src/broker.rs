//! RabbitMQ brokers for tests, started with testcontainers: one shared by
//! the tests of a process, brokers of a test's own, and brokers that can be
//! restarted at the same address.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use std::time::{Duration, Instant};

use testcontainers::{clients::Cli, core::WaitFor, Container, GenericImage, RunnableImage};

use crate::{split_name_and_tag, RABBITMQ};

const AMQP_PORT: u16 = 5672;

/// The line a RabbitMQ broker logs once it accepts connections.
const READY_LINE: &str = "Server startup complete";

/// How long a broker may take to start. Past it, the start is tried once
/// more: on a loaded machine a broker has been seen to hang while booting.
const START_LIMIT: Duration = Duration::from_secs(90);

/// A running broker, removed when dropped (the [shared](shared_broker) one
/// when the process exits).
pub struct Broker {
    container: Container<'static, GenericImage>,
}

impl Broker {
    /// Starts a broker of the caller's own, for what would disturb the
    /// shared one (resource alarms, pauses, settings), and waits until it
    /// accepts connections. Fails the test, with the broker's log, if it
    /// does not start within 90 s twice.
    pub fn start() -> Broker {
        let container = start_bounded(|| docker_client().run(broker_image()));
        Broker { container }
    }

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

    /// Runs `rabbitmqctl <args>` in the broker; fails the test if it fails.
    pub fn rabbitmqctl(&self, args: &[&str]) -> String {
        let mut full = vec!["exec", self.id(), "rabbitmqctl"];
        full.extend_from_slice(args);
        docker(&full)
    }

    /// Forces the memory alarm on (a watermark no broker stays under), or
    /// back off (RabbitMQ's default watermark). Not on the shared broker:
    /// it would block every test's publishers.
    pub fn memory_alarm(&self, on: bool) {
        let watermark = if on { "0.000001" } else { "0.4" };
        self.rabbitmqctl(&["set_vm_memory_high_watermark", watermark]);
    }

    /// Freezes (or thaws) every process of the broker: it answers nothing,
    /// while the kernel still accepts what is sent to it. Not on the shared
    /// broker.
    pub fn pause(&self, paused: bool) {
        docker(&[if paused { "pause" } else { "unpause" }, self.id()]);
    }
}

/// The broker of this test process, started on first use from the image
/// named by `RABBITMQ_IMAGE` and removed when the process exits.
pub fn shared_broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        let container = start_bounded(|| {
            let container = docker_client().run(broker_image());
            remove_container_at_exit(container.id());
            container
        });
        Broker { container }
    })
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
        let mut port = 0;
        let container = start_bounded(|| {
            port = free_port();
            docker.run(RunnableImage::from(broker_image()).with_mapped_port((port, AMQP_PORT)))
        });
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
        if !wait_for_log_line(self.container.id(), READY_LINE, self.starts, START_LIMIT) {
            panic!(
                "the broker did not start again within {START_LIMIT:?}; its log ends with:\n{}",
                log_tail(self.container.id())
            );
        }
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

/// Runs `docker <args>` (bounded to 60 s), failing the test with its output
/// if it fails; returns its standard output.
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

/// Statics are never dropped, so testcontainers cannot remove a shared
/// container itself: a small watcher process removes it once this process
/// has exited.
pub fn remove_container_at_exit(id: &str) {
    run_at_exit(
        &format!("docker rm -f -v {id} >/dev/null 2>&1"),
        &format!("container {id}"),
    );
}

/// Starts a watcher process that runs the shell `script` once this process
/// has exited, however it ends (a panic in another thread, an abort): what
/// a test started is removed even then. `what` names it in the warning
/// printed if the watcher cannot start.
pub fn run_at_exit(script: &str, what: &str) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {script}",
        pid = std::process::id()
    );
    let spawned = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(err) = spawned {
        eprintln!("warning: {what} may outlive the tests: {err}");
    }
}

/// Ends this test process, saying why, once `limit` has passed: a test
/// that hangs fails instead of holding up the run, and the watchers of
/// [`run_at_exit`] then remove what it started.
pub fn exit_after(limit: Duration, what: &str) {
    let what = what.to_owned();
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("{what} took over {limit:?}; exiting");
        std::process::exit(1);
    });
}

fn docker_client() -> &'static Cli {
    static DOCKER: OnceLock<Cli> = OnceLock::new();
    DOCKER.get_or_init(Cli::default)
}

/// The broker image, without a wait: testcontainers would wait for the
/// ready line for ever, and [`start_bounded`] waits within a limit.
fn broker_image() -> GenericImage {
    let image = RABBITMQ.require();
    let (name, tag) = split_name_and_tag(&image);
    GenericImage::new(name, tag)
        .with_exposed_port(AMQP_PORT)
        .with_wait_for(WaitFor::Nothing)
}

/// Starts a broker container with `run` and waits until it accepts
/// connections; if it does not within [`START_LIMIT`], removes it and
/// starts another, once.
fn start_bounded<'d>(
    mut run: impl FnMut() -> Container<'d, GenericImage>,
) -> Container<'d, GenericImage> {
    let mut first_log = String::new();
    for attempt in 1..=2 {
        let container = run();
        if wait_for_log_line(container.id(), READY_LINE, 1, START_LIMIT) {
            return container;
        }
        let log = log_tail(container.id());
        eprintln!(
            "warning: broker {} did not start within {START_LIMIT:?} (attempt {attempt}); \
             its log ends with:\n{log}",
            container.id()
        );
        first_log = log;
        drop(container); // removed
    }
    panic!("the broker did not start within {START_LIMIT:?}, twice; the first one's log ends with:\n{first_log}");
}

/// Waits up to `limit` until the container's log holds `line` `count` times.
fn wait_for_log_line(id: &str, line: &str, count: usize, limit: Duration) -> bool {
    let started = Instant::now();
    loop {
        let logs = Command::new("docker")
            .args(["logs", id])
            .output()
            .expect("docker logs runs");
        let seen = String::from_utf8_lossy(&logs.stdout).matches(line).count();
        if seen >= count {
            return true;
        }
        if started.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The last lines of the container's log.
fn log_tail(id: &str) -> String {
    let logs = Command::new("docker")
        .args(["logs", "--tail", "20", id])
        .output();
    match logs {
        Ok(output) => format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => format!("(cannot read it: {err})"),
    }
}
