//! Channel errors on a real broker: the broker closes a channel, not the
//! connection, and the error names its reply code and text.
//!
//! On a broker of this binary's own, whose `max_message_size` is lowered
//! to 1 MiB: an oversized message then takes 2 MiB rather than the 200 MB
//! that RabbitMQ's default limit (128 MiB) would need, which the client
//! holds several times over and which could raise a memory alarm on a
//! shared broker.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use mq_lite::{ConnectOptions, Connection, Error, QueueOptions, ReconnectPolicy};
use testkit::Broker;

/// The broker's limit, set by [`broker`].
const MAX_MESSAGE_SIZE: usize = 1024 * 1024;
/// Over it.
const OVERSIZED: usize = 2 * MAX_MESSAGE_SIZE;

/// This binary's broker, started on first use, removed when the process exits.
fn broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        let broker = Broker::start();
        testkit::remove_container_at_exit(broker.id());
        // Read by each channel as it opens.
        broker.rabbitmqctl(&[
            "eval",
            &format!("application:set_env(rabbit, max_message_size, {MAX_MESSAGE_SIZE})."),
        ]);
        broker
    })
}

fn connect() -> Connection {
    Connection::open(&broker().url()).expect("connect to this binary's broker")
}

fn assert_too_large(err: &Error) {
    let Error::MessageTooLarge { bytes, message, .. } = err else {
        panic!("expected MessageTooLarge, got {err:?}");
    };
    assert_eq!(*bytes, OVERSIZED);
    assert!(message.contains("PRECONDITION_FAILED"), "{message}");
    assert!(
        message.contains("larger than configured max size"),
        "{message}"
    );
    assert!(err.to_string().contains("406"), "{err}");
    assert!(std::error::Error::source(err).is_some(), "{err:?}");
}

/// Once the connection that took the message is closed: had its ack been
/// lost, the close would have requeued it.
fn assert_acked(queue: &str) {
    let info = connect().queue_info(queue).unwrap().unwrap();
    assert_eq!(
        info.message_count, 0,
        "the message came back: its ack was lost"
    );
}

#[test]
fn publish_over_max_message_size_is_message_too_large_and_the_handle_publishes_on() {
    let connection = connect();
    let queue = connection
        .declare_queue(&common::unique("oversized"), &QueueOptions::default())
        .unwrap();
    let err = queue.publish(&vec![7u8; OVERSIZED]).unwrap_err();
    assert_too_large(&err);
    queue
        .publish(b"small")
        .expect("the same handle publishes on");
    assert_eq!(queue.get().unwrap().expect("a message").body(), b"small");
}

#[test]
fn under_a_reconnect_policy_a_channel_error_does_not_redial_and_other_deliveries_can_be_acked() {
    let connection = Connection::open_with(
        &ConnectOptions::new(broker().url())
            .reconnect(ReconnectPolicy::default().give_up_after(Duration::from_secs(10))),
    )
    .unwrap();
    let other = connection
        .declare_queue(&common::unique("unacked"), &QueueOptions::default())
        .unwrap();
    other.publish(b"held").unwrap();
    let held = other.get().unwrap().expect("a message");

    let queue = connection
        .declare_queue(&common::unique("oversized"), &QueueOptions::default())
        .unwrap();
    let err = queue.publish(&vec![7u8; OVERSIZED]).unwrap_err();
    assert_too_large(&err);
    queue.publish(b"small").unwrap();

    // After a redial its channel would be gone: DeliveryChannelClosed.
    held.ack().expect("the delivery's channel is still open");
    let name = other.name().to_owned();
    drop(other);
    connection.close().unwrap();
    assert_acked(&name);
}

#[test]
fn a_delivery_taken_by_get_is_acked_after_a_channel_error_on_its_handle() {
    let connection = connect();
    let queue = connection
        .declare_queue(&common::unique("get-then-error"), &QueueOptions::default())
        .unwrap();
    queue.publish(b"held").unwrap();
    let held = queue.get().unwrap().expect("a message");
    // The broker closes the handle's publishing channel.
    assert_too_large(&queue.publish(&vec![7u8; OVERSIZED]).unwrap_err());
    held.ack()
        .expect("the get's channel is not the publishing one");
    let name = queue.name().to_owned();
    drop(queue);
    connection.close().unwrap();
    assert_acked(&name);
}

#[test]
fn a_refused_permission_is_access_refused_and_the_connection_stays_usable() {
    let broker = broker();
    let user = format!("mq-lite-limited-{}", std::process::id());
    broker.rabbitmqctl(&["add_user", &user, "limited-password"]);
    // May configure and read only queues named allowed.*, and write to
    // them through the default exchange.
    broker.rabbitmqctl(&[
        "set_permissions",
        "-p",
        "/",
        &user,
        "^allowed\\.",
        "^(allowed\\..*|amq\\.default)$",
        "^allowed\\.",
    ]);
    let port = broker.url().rsplit(':').next().unwrap().to_owned();
    let connection =
        Connection::open(&format!("amqp://{user}:limited-password@127.0.0.1:{port}")).unwrap();
    let allowed = connection
        .declare_queue(
            &format!("allowed.{}", std::process::id()),
            &QueueOptions::default().durable(false).auto_delete(true),
        )
        .unwrap();

    let err = connection
        .declare_queue(&common::unique("forbidden"), &QueueOptions::default())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::AccessRefused {
                operation: "declare",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("403"), "{err}");
    assert!(err.to_string().contains("ACCESS_REFUSED"), "{err}");

    allowed.publish(b"still here").unwrap();
    assert_eq!(allowed.get().unwrap().unwrap().body(), b"still here");
    drop(allowed);
    connection.close().unwrap();
    broker.rabbitmqctl(&["delete_user", &user]);
}
