//! One RabbitMQ broker per test process, started with testcontainers.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use testcontainers::{clients::Cli, core::WaitFor, Container, GenericImage};

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

/// The broker of this test process, started on first use from the image
/// named by `RABBITMQ_IMAGE` and removed when the process exits.
pub fn shared_broker() -> &'static Broker {
    static DOCKER: OnceLock<Cli> = OnceLock::new();
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        let image = RABBITMQ.require();
        let (name, tag) = split_name_and_tag(&image);
        let docker = DOCKER.get_or_init(Cli::default);
        let container = docker.run(
            GenericImage::new(name, tag)
                .with_exposed_port(AMQP_PORT)
                .with_wait_for(WaitFor::message_on_stdout("Server startup complete")),
        );
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
