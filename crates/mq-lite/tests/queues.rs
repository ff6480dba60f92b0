//! Declaring, inspecting, purging and deleting queues on a real broker.

mod common;

use std::time::Duration;

use mq_lite::{check_queue_name, DeadLetter, Error, QueueOptions, QueueType};

#[test]
fn declare_then_info_counts_messages_and_consumers() {
    let connection = common::connect();
    let name = common::unique("info");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    queue.publish(b"one").unwrap();
    queue.publish(b"two").unwrap();
    let info = connection
        .queue_info(&name)
        .unwrap()
        .expect("the queue exists");
    assert_eq!(info.message_count, 2);
    assert_eq!(info.consumer_count, 0);
    assert_eq!(queue.info().unwrap().message_count, 2);
}

#[test]
fn passive_declare_of_a_missing_queue_is_none_and_the_connection_stays_usable() {
    let connection = common::connect();
    assert_eq!(
        connection.queue_info(&common::unique("missing")).unwrap(),
        None
    );
    connection
        .declare_queue(&common::unique("after-missing"), &QueueOptions::default())
        .expect("the connection still works");
}

#[test]
fn redeclaring_with_other_arguments_is_precondition_failed_and_handles_stay_usable() {
    let connection = common::connect();
    let name = common::unique("redeclare");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    let err = connection
        .declare_queue(&name, &QueueOptions::default().durable(false))
        .unwrap_err();
    assert!(matches!(err, Error::PreconditionFailed { .. }), "{err:?}");
    // The first handle and the connection both go on working.
    queue.publish(b"still here").unwrap();
    let again = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    assert_eq!(
        again.get().unwrap().expect("a message").body(),
        b"still here"
    );
}

#[test]
fn purge_empties_the_queue_and_delete_removes_it() {
    let connection = common::connect();
    let name = common::unique("purge");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    queue
        .publish_batch((0..5).map(|i| mq_lite::Message::new(vec![i])))
        .unwrap();
    assert_eq!(queue.purge().unwrap(), 5);
    queue.publish(b"x").unwrap();
    assert_eq!(queue.delete().unwrap(), 1);
    assert_eq!(connection.queue_info(&name).unwrap(), None);
}

#[test]
fn max_length_drops_the_oldest_into_the_dead_letter_queue() {
    let connection = common::connect();
    let dead = connection
        .declare_queue(&common::unique("dead"), &QueueOptions::default())
        .unwrap();
    let queue = connection
        .declare_queue(
            &common::unique("bounded"),
            &QueueOptions::default()
                .max_length(2)
                .dead_letter(DeadLetter::to_queue(dead.name())),
        )
        .unwrap();
    for body in [b"1", b"2", b"3"] {
        queue.publish(body).unwrap();
    }
    assert_eq!(queue.info().unwrap().message_count, 2);
    assert_eq!(dead.get().unwrap().expect("dead-lettered").body(), b"1");
}

#[test]
fn message_ttl_expires_messages() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(
            &common::unique("ttl"),
            &QueueOptions::default().message_ttl(Duration::from_millis(50)),
        )
        .unwrap();
    queue.publish(b"short-lived").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(queue.get().unwrap().is_none());
}

#[test]
fn quorum_queues_can_be_declared() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(
            &common::unique("quorum"),
            &QueueOptions::default().queue_type(QueueType::Quorum),
        )
        .unwrap();
    queue.publish(b"replicated").unwrap();
    queue.get().unwrap().expect("a message").ack().unwrap();
}

#[test]
fn a_quorum_queue_dead_letters_a_message_handed_back_past_its_delivery_limit() {
    // At most once (RabbitMQ's default) and at least once.
    for at_least_once in [false, true] {
        let connection = common::connect();
        let dead = connection
            .declare_queue(&common::unique("poison-dead"), &QueueOptions::default())
            .unwrap();
        let queue = connection
            .declare_queue(
                &common::unique("poison"),
                &QueueOptions::default()
                    .queue_type(QueueType::Quorum)
                    .delivery_limit(2)
                    .dead_letter(DeadLetter::to_queue(dead.name()))
                    .dead_letter_at_least_once(at_least_once),
            )
            .unwrap();
        queue.publish(b"poison").unwrap();
        // Delivered, and handed back, until the broker stops redelivering it.
        let mut deliveries = 0;
        common::wait_until(Duration::from_secs(10), "the message dead-lettered", || {
            if let Some(delivery) = queue.get().unwrap() {
                deliveries += 1;
                delivery.nack(true).unwrap();
            }
            dead.info().unwrap().message_count == 1
        });
        // The first delivery and the two redeliveries the limit allows.
        assert_eq!(deliveries, 3, "at least once: {at_least_once}");
        assert_eq!(
            dead.get().unwrap().expect("dead-lettered").body(),
            b"poison"
        );
        assert!(queue.get().unwrap().is_none());
    }
}

#[test]
fn a_delivery_limit_on_a_classic_queue_is_refused_before_anything_is_sent() {
    let connection = common::connect();
    let name = common::unique("classic-limit");
    let err = connection
        .declare_queue(&name, &QueueOptions::default().delivery_limit(2))
        .unwrap_err();
    assert!(
        matches!(err, mq_lite::Error::InvalidArgument { .. }),
        "{err:?}"
    );
    assert_eq!(connection.queue_info(&name).unwrap(), None);
}

#[test]
fn exclusive_queues_are_locked_for_other_connections() {
    let owner = common::connect();
    let name = common::unique("exclusive");
    owner
        .declare_queue(
            &name,
            &QueueOptions::default().durable(false).exclusive(true),
        )
        .unwrap();
    let err = common::connect()
        .declare_queue(
            &name,
            &QueueOptions::default().durable(false).exclusive(true),
        )
        .unwrap_err();
    assert!(matches!(err, Error::QueueLocked { .. }), "{err:?}");
}

#[test]
fn reply_queues_are_named_by_the_broker() {
    let connection = common::connect();
    let queue = connection.declare_reply_queue().unwrap();
    assert!(queue.name().starts_with("amq.gen-"), "{}", queue.name());
    queue.publish(b"reply").unwrap();
    assert_eq!(queue.get().unwrap().unwrap().body(), b"reply");
}

#[test]
fn bad_names_are_refused_before_anything_is_sent() {
    let connection = common::connect();
    for name in ["", "amq.reserved", &"n".repeat(256)] {
        let err = connection
            .declare_queue(name, &QueueOptions::default())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQueueName { .. }), "{err:?}");
        assert!(check_queue_name(name).is_err());
    }
    let longest = "n".repeat(255);
    connection
        .declare_queue(
            &longest,
            &QueueOptions::default().durable(false).auto_delete(true),
        )
        .expect("255 bytes is allowed");
}

#[test]
fn an_existing_queue_handle_publishes_into_a_queue_declared_by_another_connection() {
    let owner = common::connect();
    let replies = owner.declare_reply_queue().unwrap();
    let other = common::connect();
    let handle = other.existing_queue(replies.name()).unwrap();
    handle.publish(b"result").unwrap();
    assert_eq!(replies.get().unwrap().unwrap().body(), b"result");
    let missing = other
        .existing_queue(&common::unique("never-declared"))
        .unwrap();
    assert!(matches!(
        missing.publish(b"x"),
        Err(Error::Unroutable { .. })
    ));
    assert!(matches!(missing.get(), Err(Error::QueueNotFound { .. })));
}

#[test]
fn a_channel_error_never_recreates_a_queue_someone_deleted() {
    let connection = common::connect();
    let name = common::unique("deleted-elsewhere");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    common::connect()
        .existing_queue(&name)
        .unwrap()
        .delete()
        .unwrap();
    // The 404 closes the handle's channel; the next channel must not
    // declare the queue again behind the holder's back.
    for _ in 0..2 {
        let err = queue.get().unwrap_err();
        assert!(
            matches!(
                err,
                Error::QueueNotFound {
                    operation: "get",
                    ..
                }
            ),
            "{err:?}"
        );
        // The broker's reply code and text.
        assert!(err.to_string().contains("404: NOT_FOUND"), "{err}");
    }
    assert!(matches!(queue.publish(b"x"), Err(Error::Unroutable { .. })));
    assert!(matches!(
        queue.consume(&mq_lite::ConsumeOptions::default()),
        Err(Error::QueueNotFound { .. })
    ));
    assert_eq!(connection.queue_info(&name).unwrap(), None);
}

#[test]
fn names_with_control_characters_are_refused_before_anything_is_sent() {
    let connection = common::connect();
    for name in ["jobs\n", "jo\r\nbs", "tab\tbed", "nul\0"] {
        let err = connection
            .declare_queue(name, &QueueOptions::default())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQueueName { .. }), "{err:?}");
        assert!(matches!(
            connection.existing_queue(name),
            Err(Error::InvalidQueueName { .. })
        ));
        assert!(matches!(
            connection.queue_info(name),
            Err(Error::InvalidQueueName { .. })
        ));
    }
    let err = connection
        .declare_queue(
            &common::unique("dead-letter-newline"),
            &QueueOptions::default().dead_letter(DeadLetter::to_queue("dead\n")),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidQueueName { .. }), "{err:?}");
    // Nothing reached the broker: the connection is as good as new.
    connection
        .declare_queue(&common::unique("after-refusals"), &QueueOptions::default())
        .unwrap()
        .publish(b"ok")
        .unwrap();
}

#[test]
fn one_connection_is_shared_by_threads_declaring_their_own_queues() {
    let connection = common::connect();
    let names: Vec<String> = (0..4).map(|_| common::unique("shared")).collect();
    std::thread::scope(|scope| {
        for name in &names {
            let connection = &connection;
            scope.spawn(move || {
                let queue = connection
                    .declare_queue(name, &QueueOptions::default())
                    .unwrap();
                for i in 0..20u8 {
                    queue.publish(&[i]).unwrap();
                }
            });
        }
    });
    for name in &names {
        assert_eq!(
            connection.queue_info(name).unwrap().unwrap().message_count,
            20
        );
    }
}
