//! Channel errors on a real broker: the broker closes a channel, not the
//! connection, and the error names its reply code and text.

mod common;

use std::time::Duration;

use mq_lite::{ConnectOptions, Connection, Error, QueueOptions, ReconnectPolicy};

/// Over RabbitMQ's default max_message_size (128 MiB).
const OVERSIZED: usize = 200 * 1024 * 1024;

fn assert_too_large(err: &Error) {
    let Error::MessageTooLarge { bytes, message, .. } = err else {
        panic!("expected MessageTooLarge, got {err:?}");
    };
    assert_eq!(*bytes, OVERSIZED);
    assert!(message.contains("PRECONDITION_FAILED"), "{message}");
    assert!(err.to_string().contains("406"), "{err}");
}

#[test]
fn publish_over_max_message_size_is_message_too_large_and_the_handle_publishes_on() {
    let connection = common::connect();
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
        &ConnectOptions::new(testkit::shared_broker().url())
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
    // Had the ack been lost, closing would have requeued the message.
    let info = common::connect().queue_info(&name).unwrap().unwrap();
    assert_eq!(info.message_count, 0);
}

#[test]
fn a_refused_permission_is_access_refused_and_the_connection_stays_usable() {
    let broker = testkit::shared_broker();
    let user = format!("mq-lite-limited-{}", std::process::id());
    common::rabbitmqctl(broker.id(), &["add_user", &user, "limited-password"]);
    // May configure and read only queues named allowed.*, and write to
    // them through the default exchange.
    common::rabbitmqctl(
        broker.id(),
        &[
            "set_permissions",
            "-p",
            "/",
            &user,
            "^allowed\\.",
            "^(allowed\\..*|amq\\.default)$",
            "^allowed\\.",
        ],
    );
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
    common::rabbitmqctl(broker.id(), &["delete_user", &user]);
}
