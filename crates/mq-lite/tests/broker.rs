//! Integration tests against a real RabbitMQ broker started with testcontainers.

use std::time::{Duration, Instant};

use mq_lite::{Connection, Error, QueueOptions};
use testcontainers::{clients::Cli, core::WaitFor, Container, GenericImage};

const AMQP_PORT: u16 = 5672;

/// Starts a throwaway broker from the image named by `RABBITMQ_IMAGE`.
fn start_broker(docker: &Cli) -> (Container<'_, GenericImage>, String) {
    let image = testkit::RABBITMQ.require();
    let (name, tag) = testkit::split_name_and_tag(&image);
    let broker = docker.run(
        GenericImage::new(name, tag)
            .with_exposed_port(AMQP_PORT)
            .with_wait_for(WaitFor::message_on_stdout("Server startup complete")),
    );
    let url = format!(
        "amqp://guest:guest@127.0.0.1:{}/%2f",
        broker.get_host_port_ipv4(AMQP_PORT)
    );
    (broker, url)
}

#[test]
fn declares_a_queue_publishes_and_gets_the_message_back() {
    let docker = Cli::default();
    let (_broker, url) = start_broker(&docker);

    let mut connection = Connection::open(&url).expect("connect");
    let queue = connection
        .declare_queue("mq-lite.roundtrip", &QueueOptions::default())
        .expect("declare");
    assert!(queue.get().expect("get from empty queue").is_none());

    let body: Vec<u8> = vec![0, 159, 146, 150, b'\n', 255];
    queue.publish(&body).expect("publish with confirm");
    let delivery = queue.get().expect("get").expect("a message");
    assert_eq!(delivery.body(), body.as_slice());
    assert!(!delivery.redelivered());
    delivery.ack().expect("ack");
    assert!(queue.get().expect("get after ack").is_none());
}

#[test]
fn refused_connection_is_a_typed_error_within_the_timeout() {
    // Port 1 on loopback: nothing listens there, so the connect is refused.
    let started = Instant::now();
    let err = Connection::open("amqp://guest:guest@127.0.0.1:1/%2f").unwrap_err();
    assert!(matches!(err, Error::BrokerUnreachable { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}
