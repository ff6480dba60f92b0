//! Publishing, getting, consuming and settling messages on a real broker.

mod common;

use std::time::{Duration, Instant};

use mq_lite::{
    ConnectOptions, Connection, ConsumeOptions, Error, HeaderValue, Message, QueueOptions,
};

#[test]
fn get_returns_none_at_once_on_an_empty_queue() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("empty"), &QueueOptions::default())
        .unwrap();
    let started = Instant::now();
    assert!(queue.get().unwrap().is_none());
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn bodies_round_trip_byte_for_byte_empty_binary_and_16_mib() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("bodies"), &QueueOptions::default())
        .unwrap();
    let big: Vec<u8> = (0..16 * 1024 * 1024)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    let bodies: [&[u8]; 3] = [b"", &[0, 159, 146, 150, 255, b'\n'], &big];
    for body in bodies {
        queue.publish(body).unwrap();
        let delivery = queue.get().unwrap().expect("a message");
        assert_eq!(delivery.body(), body);
        assert!(delivery.properties().persistent, "persistent by default");
        delivery.ack().unwrap();
    }
}

#[test]
fn properties_reach_the_consumer() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("props"), &QueueOptions::default())
        .unwrap();
    queue
        .publish_message(
            &Message::new(b"{}".to_vec())
                .content_type("application/json")
                .header("attempt", 2)
                .header("origin", "test")
                .correlation_id("job-7")
                .reply_to("results")
                .expiration(Duration::from_secs(60))
                .persistent(false),
        )
        .unwrap();
    let delivery = queue.get().unwrap().unwrap();
    let properties = delivery.properties();
    assert_eq!(properties.content_type.as_deref(), Some("application/json"));
    assert_eq!(properties.headers["attempt"], HeaderValue::Int(2));
    assert_eq!(
        properties.headers["origin"],
        HeaderValue::Text("test".into())
    );
    assert_eq!(properties.correlation_id.as_deref(), Some("job-7"));
    assert_eq!(properties.reply_to.as_deref(), Some("results"));
    assert_eq!(properties.expiration, Some(Duration::from_secs(60)));
    assert!(!properties.persistent);
}

#[test]
fn publishing_to_a_deleted_queue_is_unroutable_not_silently_dropped() {
    let connection = common::connect();
    let name = common::unique("deleted");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    let other = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    other.delete().unwrap();
    let err = queue.publish(b"lost?").unwrap_err();
    assert!(matches!(err, Error::Unroutable { .. }), "{err:?}");
    // The handle stays usable: the next publish is refused the same way.
    assert!(matches!(
        queue.publish(b"again"),
        Err(Error::Unroutable { .. })
    ));
}

#[test]
fn a_batch_to_a_deleted_queue_is_unroutable_whatever_its_size() {
    let connection = common::connect();
    let name = common::unique("deleted-batch");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap()
        .delete()
        .unwrap();
    for size in [1, 2, 100] {
        let messages: Vec<Message> = (0..size)
            .map(|i: u32| Message::new(i.to_be_bytes().to_vec()))
            .collect();
        let err = queue.publish_batch(&messages).unwrap_err();
        assert!(
            matches!(err, Error::Unroutable { .. }),
            "batch of {size}: {err:?}"
        );
    }
}

#[test]
fn a_batch_is_confirmed_once_and_arrives_in_order() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("batch"), &QueueOptions::default())
        .unwrap();
    let messages: Vec<Message> = (0..500u32)
        .map(|i| Message::new(i.to_be_bytes().to_vec()))
        .collect();
    queue.publish_batch(&messages).unwrap();
    assert_eq!(queue.info().unwrap().message_count, 500);
    for i in 0..500u32 {
        let delivery = queue.get().unwrap().unwrap();
        assert_eq!(delivery.body(), i.to_be_bytes());
        delivery.ack().unwrap();
    }
}

#[test]
fn a_delivery_dropped_without_ack_comes_back_redelivered() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("dropped"), &QueueOptions::default())
        .unwrap();
    queue.publish(b"at least once").unwrap();
    let first = queue.get().unwrap().unwrap();
    assert!(!first.redelivered());
    drop(first);
    let again = queue.get().unwrap().expect("the message came back");
    assert_eq!(again.body(), b"at least once");
    assert!(again.redelivered());
    again.ack().unwrap();
}

#[test]
fn nack_with_requeue_redelivers_and_reject_without_requeue_drops() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("nack"), &QueueOptions::default())
        .unwrap();
    queue.publish(b"m").unwrap();
    queue.get().unwrap().unwrap().nack(true).unwrap();
    let again = queue.get().unwrap().unwrap();
    assert!(again.redelivered());
    again.reject(false).unwrap();
    assert!(queue.get().unwrap().is_none());
}

#[test]
fn consume_iterates_with_prefetch_and_ends_after_the_idle_timeout() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("consume"), &QueueOptions::default())
        .unwrap();
    queue
        .publish_batch((0..50u8).map(|i| Message::new(vec![i])))
        .unwrap();
    let consumer = queue
        .consume(
            &ConsumeOptions::default()
                .prefetch(5)
                .idle_timeout(Duration::from_millis(300)),
        )
        .unwrap();
    let mut seen = Vec::new();
    for delivery in consumer {
        let delivery = delivery.unwrap();
        seen.push(delivery.body()[0]);
        delivery.ack().unwrap();
    }
    assert_eq!(seen, (0..50).collect::<Vec<u8>>());
    assert_eq!(queue.info().unwrap().message_count, 0);
}

#[test]
fn a_consumer_moves_to_another_thread_and_unacked_messages_return_when_it_is_dropped() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("thread"), &QueueOptions::default())
        .unwrap();
    queue
        .publish_batch((0..3u8).map(|i| Message::new(vec![i])))
        .unwrap();
    let mut consumer = queue
        .consume(&ConsumeOptions::default().prefetch(3))
        .unwrap();
    let held = std::thread::spawn(move || {
        let first = consumer
            .next_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap();
        first.ack().unwrap();
        let second = consumer
            .next_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap();
        (consumer, second)
    })
    .join()
    .unwrap();
    drop(held); // consumer and an unacked delivery
    let mut rest = Vec::new();
    while let Some(delivery) = queue.get().unwrap() {
        rest.push(delivery.body()[0]);
        delivery.ack().unwrap();
    }
    rest.sort();
    assert_eq!(rest, vec![1, 2]);
}

#[test]
fn cancel_hands_every_unacknowledged_message_back_and_settling_afterwards_fails() {
    const PREFETCH: u16 = 5;
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("cancel"), &QueueOptions::default())
        .unwrap();
    queue
        .publish_batch((0..PREFETCH).map(|i| Message::new(vec![i as u8])))
        .unwrap();
    let mut consumer = queue
        .consume(&ConsumeOptions::default().prefetch(PREFETCH))
        .unwrap();
    let held = consumer
        .next_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("a delivery");
    common::wait_until(
        Duration::from_secs(5),
        "the broker pushed every message to the consumer",
        || queue.info().unwrap().message_count == 0,
    );

    let started = Instant::now();
    consumer.cancel().expect("cancel");
    let cancelled = started.elapsed();
    // The held delivery and the ones still buffered are all back.
    let back = queue.info().unwrap().message_count;
    common::wait_until(Duration::from_secs(5), "every message requeued", || {
        queue.info().unwrap().message_count == u32::from(PREFETCH)
    });
    eprintln!(
        "cancel() took {cancelled:?}; right after it the queue held {back} of {PREFETCH} messages"
    );
    assert_eq!(queue.info().unwrap().consumer_count, 0);
    let err = held.ack().unwrap_err();
    assert!(
        matches!(&err, Error::DeliveryChannelClosed { queue: name } if name == queue.name()),
        "{err:?}"
    );
}

/// Acks the broker holds as settled never cover a delivery a worker still
/// holds, however the consumer's session thread groups them (one
/// `basic.ack` with `multiple` stands for a run of acks).
#[test]
fn acks_sent_together_never_cover_a_delivery_still_held() {
    const MESSAGES: u8 = 200;
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("acks-held"), &QueueOptions::default())
        .unwrap();
    queue
        .publish_batch((0..MESSAGES).map(|i| Message::new(vec![i])))
        .unwrap();
    let mut consumer = queue
        .consume(&ConsumeOptions::default().prefetch(50))
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..MESSAGES {
        let delivery = consumer
            .next_timeout(Duration::from_secs(5))
            .unwrap()
            .expect("a delivery");
        if delivery.body()[0] % 10 == 3 {
            held.push(delivery);
        } else {
            delivery.ack().unwrap();
        }
    }
    let unacknowledged = || {
        let line = testkit::shared_broker().rabbitmqctl(&[
            "list_queues",
            "-q",
            "--no-table-headers",
            "name",
            "messages_unacknowledged",
        ]);
        line.lines()
            .find_map(|line| {
                let (name, count) = line.split_once('\t')?;
                (name == queue.name()).then(|| count.trim().parse::<usize>().unwrap())
            })
            .expect("the queue is listed")
    };
    common::wait_until(Duration::from_secs(5), "the broker counts the acks", || {
        unacknowledged() == held.len()
    });
    let held_bodies: Vec<u8> = held.iter().map(|delivery| delivery.body()[0]).collect();
    for delivery in held {
        delivery.nack(true).unwrap();
    }
    let mut again = Vec::new();
    for _ in 0..held_bodies.len() {
        let delivery = consumer
            .next_timeout(Duration::from_secs(5))
            .unwrap()
            .expect("a requeued delivery");
        assert!(delivery.redelivered());
        again.push(delivery.body()[0]);
        delivery.ack().unwrap();
    }
    again.sort();
    assert_eq!(again, held_bodies);
    consumer.cancel().unwrap();
    assert_eq!(queue.info().unwrap().message_count, 0);
    assert_eq!(unacknowledged(), 0);
}

#[test]
fn a_prefetch_of_zero_is_refused_before_consuming() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("prefetch-0"), &QueueOptions::default())
        .unwrap();
    let err = queue
        .consume(&ConsumeOptions::default().prefetch(0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "prefetch",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        queue.info().unwrap().consumer_count,
        0,
        "nothing was started"
    );
    let _consumer = queue
        .consume(&ConsumeOptions::default().prefetch(1))
        .expect("a prefetch of 1 is fine");
    assert_eq!(queue.info().unwrap().consumer_count, 1);
}

/// Suspends (or resumes) the process of queue `name` on the shared broker:
/// it then answers nothing, while the broker's other processes go on.
fn suspend_queue(name: &str, suspended: bool) {
    let call = if suspended { "suspend" } else { "resume" };
    testkit::shared_broker().rabbitmqctl(&[
        "eval",
        &format!(
            "{{ok, Q}} = rabbit_amqqueue:lookup(rabbit_misc:r(<<\"/\">>, queue, <<\"{name}\">>)), \
             sys:{call}(amqqueue:get_pid(Q))."
        ),
    ]);
}

#[test]
fn a_consumer_start_the_broker_never_answers_times_out_and_gives_the_connection_up() {
    let connection = Connection::open_with(
        &ConnectOptions::new(testkit::shared_broker().url())
            .request_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let name = common::unique("unanswered-consume");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default().durable(false))
        .unwrap();
    // basic.consume waits for the queue's process: the broker answers
    // the channel's open and qos, never the consume.
    suspend_queue(&name, true);
    let resume = Resume(&name);
    let started = Instant::now();
    let err = queue.consume(&ConsumeOptions::default()).unwrap_err();
    let consume = started.elapsed();
    assert!(
        matches!(
            err,
            Error::Timeout {
                operation: "consume",
                ..
            }
        ),
        "{err:?}"
    );
    // Like any request past its deadline, it gave the connection up: the
    // next call fails at once instead of waiting out a deadline of its own.
    let started = Instant::now();
    let err = queue.publish(b"x").unwrap_err();
    let next = started.elapsed();
    eprintln!("unanswered consume: Timeout after {consume:?}; the next call failed in {next:?}");
    assert!(matches!(err, Error::ConnectionLost { .. }), "{err:?}");
    assert!(
        consume >= Duration::from_secs(2) && consume < Duration::from_secs(4),
        "{consume:?}"
    );
    assert!(next < Duration::from_secs(1), "{next:?}");
    drop(resume);
}

/// Resumes the suspended queue even when the test fails.
struct Resume<'a>(&'a str);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        suspend_queue(self.0, false);
    }
}

#[test]
fn a_consumer_of_a_deleted_queue_ends_with_a_typed_error() {
    let connection = common::connect();
    let name = common::unique("cancelled");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    let mut consumer = queue.consume(&ConsumeOptions::default()).unwrap();
    queue.delete().unwrap();
    let err = consumer.next_timeout(Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, Error::ConsumerCancelled { .. }), "{err:?}");
}

#[test]
fn unconfirmed_publishes_arrive_and_do_not_disturb_later_confirmed_ones() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("unconfirmed"), &QueueOptions::default())
        .unwrap();
    for i in 0..100u8 {
        queue.publish_unconfirmed(&Message::new(vec![i])).unwrap();
    }
    queue.publish(b"confirmed").unwrap();
    assert_eq!(queue.info().unwrap().message_count, 101);
}

#[test]
fn a_property_amqp_cannot_carry_is_refused_before_sending_and_the_connection_lives_on() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("long-props"), &QueueOptions::default())
        .unwrap();
    let other = connection
        .declare_queue(&common::unique("bystander"), &QueueOptions::default())
        .unwrap();
    let long = "p".repeat(256);
    let refused = [
        Message::new(b"x".to_vec()).content_type(long.clone()),
        Message::new(b"x".to_vec()).correlation_id(long.clone()),
        Message::new(b"x".to_vec()).message_id(long.clone()),
        Message::new(b"x".to_vec()).reply_to(long.clone()),
        Message::new(b"x".to_vec()).message_type(long.clone()),
        Message::new(b"x".to_vec()).app_id(long.clone()),
        Message::new(b"x".to_vec()).header(long.clone(), 1),
        Message::new(b"x".to_vec()).header(
            "nested",
            HeaderValue::Table([(long.clone(), HeaderValue::Void)].into()),
        ),
    ];
    for message in &refused {
        let err = queue.publish_message(message).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
        assert!(matches!(
            queue.publish_unconfirmed(message),
            Err(Error::InvalidArgument { .. })
        ));
    }
    // A batch is checked whole before its first message is sent.
    let batch = [Message::new(b"first".to_vec()), refused[1].clone()];
    assert!(matches!(
        queue.publish_batch(&batch),
        Err(Error::InvalidArgument { .. })
    ));
    // 255 bytes is allowed, and every handle of the connection still works.
    let longest = "p".repeat(255);
    queue
        .publish_message(&Message::new(b"ok".to_vec()).correlation_id(longest.clone()))
        .unwrap();
    other.publish(b"fine").unwrap();
    let delivery = queue.get().unwrap().expect("only the good message");
    assert_eq!(
        delivery.properties().correlation_id.as_deref(),
        Some(&*longest)
    );
    delivery.ack().unwrap();
    assert!(queue.get().unwrap().is_none());
}

#[test]
fn headers_of_every_type_round_trip_and_x_death_reads_typed() {
    use std::collections::BTreeMap;
    let connection = common::connect();
    let dead = connection
        .declare_queue(&common::unique("x-death.dead"), &QueueOptions::default())
        .unwrap();
    let queue = connection
        .declare_queue(
            &common::unique("x-death"),
            &QueueOptions::default().dead_letter(mq_lite::DeadLetter::to_queue(dead.name())),
        )
        .unwrap();
    let nested: BTreeMap<String, HeaderValue> = [
        ("count".to_owned(), HeaderValue::Int(3)),
        ("name".to_owned(), "inner".into()),
    ]
    .into();
    let headers: BTreeMap<String, HeaderValue> = [
        ("text", "t".into()),
        ("int", HeaderValue::Int(-42)),
        ("bool", true.into()),
        ("bytes", HeaderValue::Bytes(vec![0, 1, 255])),
        ("float", 2.5.into()),
        (
            "decimal",
            HeaderValue::Decimal {
                scale: 2,
                value: 31_415,
            },
        ),
        ("time", HeaderValue::Timestamp(1_700_000_000)),
        (
            "array",
            vec![HeaderValue::Int(1), "two".into(), nested.clone().into()].into(),
        ),
        ("table", nested.into()),
        ("void", HeaderValue::Void),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let mut message = Message::new(b"typed".to_vec())
        .message_type("render")
        .app_id("mq-lite tests");
    for (name, value) in &headers {
        message = message.header(name.clone(), value.clone());
    }
    queue.publish_message(&message).unwrap();

    let delivery = queue.get().unwrap().unwrap();
    assert_eq!(delivery.properties().headers, headers);
    assert_eq!(
        delivery.properties().message_type.as_deref(),
        Some("render")
    );
    assert_eq!(
        delivery.properties().app_id.as_deref(),
        Some("mq-lite tests")
    );
    delivery.reject(false).unwrap();

    // The broker dead-letters the rejected message asynchronously.
    let mut died = None;
    common::wait_until(
        Duration::from_secs(10),
        "the message is dead-lettered",
        || {
            died = dead.get().unwrap();
            died.is_some()
        },
    );
    let died = died.expect("dead-lettered");
    let deaths = died.properties().headers["x-death"]
        .as_array()
        .expect("x-death is an array");
    let death = deaths[0].as_table().expect("of tables");
    assert_eq!(death["count"], HeaderValue::Int(1));
    assert_eq!(death["reason"].as_text(), Some("rejected"));
    assert_eq!(death["queue"].as_text(), Some(queue.name()));
    assert!(matches!(death["time"], HeaderValue::Timestamp(seconds) if seconds > 1_700_000_000));
    assert_eq!(
        death["routing-keys"],
        HeaderValue::Array(vec![queue.name().into()])
    );
}
