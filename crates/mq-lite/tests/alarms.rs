//! Resource alarms and unanswered requests, on brokers of each test's own:
//! no call waits past its deadline.

mod common;

use std::time::{Duration, Instant};

use common::wait_until;
use mq_lite::{ConnectOptions, Connection, ConsumeOptions, Error, Message, QueueOptions};
use testkit::Broker;

const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

fn open(broker: &Broker) -> Connection {
    open_with_timeouts(broker, PUBLISH_TIMEOUT)
}

/// A connection whose publishes and requests have `timeout` each.
fn open_with_timeouts(broker: &Broker, timeout: Duration) -> Connection {
    Connection::open_with(
        &ConnectOptions::new(broker.url())
            .publish_timeout(timeout)
            .request_timeout(timeout),
    )
    .expect("connect to the private broker")
}

/// Publishes until the broker blocks the connection (the alarm takes
/// effect a moment after rabbitmqctl returns); returns the blocked call's
/// error and how long it took.
fn publish_until_blocked(queue: &mq_lite::Queue) -> (Error, Duration) {
    let started = Instant::now();
    loop {
        let call = Instant::now();
        match queue.publish(b"during the alarm") {
            Ok(()) => {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "the broker never blocked the connection"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(err) => return (err, call.elapsed()),
        }
    }
}

#[test]
fn publish_under_a_memory_alarm_fails_fast_with_blocked_and_works_again_once_it_clears() {
    let broker = Broker::start();
    let connection = open(&broker);
    let queue = connection
        .declare_queue("alarm.jobs", &QueueOptions::default())
        .unwrap();
    queue.publish(b"before").unwrap();
    assert_eq!(connection.blocked(), None);

    broker.memory_alarm(true);
    // The publish that makes the broker block the connection: sent, not confirmed.
    let (err, first) = publish_until_blocked(&queue);
    assert!(
        matches!(
            &err,
            Error::Blocked {
                operation: "publish",
                in_doubt: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("blocking publishers"), "{err}");
    assert!(first < PUBLISH_TIMEOUT, "{first:?}");
    let reason = connection.blocked().expect("the block is visible");
    assert!(reason.contains("memory"), "{reason}");

    // While blocked, publishing (confirmed or not) and requests are refused at once.
    let started = Instant::now();
    let err = queue.publish(b"refused").unwrap_err();
    let refused = started.elapsed();
    assert!(matches!(err, Error::Blocked { in_doubt: 0, .. }), "{err:?}");
    assert!(matches!(
        queue.publish_unconfirmed(&Message::new(b"refused".to_vec())),
        Err(Error::Blocked { .. })
    ));
    assert!(matches!(queue.get(), Err(Error::Blocked { .. })));
    assert!(refused < Duration::from_millis(100), "{refused:?}");
    eprintln!(
        "time to the typed error under the alarm: first publish {first:?}, later ones {refused:?}"
    );

    broker.memory_alarm(false);
    wait_until(Duration::from_secs(30), "the broker unblocks", || {
        connection.blocked().is_none()
    });
    queue
        .publish(b"after")
        .expect("publishing works again on the same connection");
    // The message in doubt reached the queue once the broker read it.
    let mut bodies = Vec::new();
    while let Some(delivery) = queue.get().unwrap() {
        bodies.push(String::from_utf8_lossy(delivery.body()).into_owned());
        delivery.ack().unwrap();
    }
    assert_eq!(bodies.first().map(String::as_str), Some("before"));
    assert_eq!(bodies.last().map(String::as_str), Some("after"));
    assert!(
        bodies.contains(&"during the alarm".to_owned()),
        "{bodies:?}"
    );
    connection.close().unwrap();
}

#[test]
fn a_consumer_dropped_while_the_broker_blocks_its_connection_does_not_hang() {
    let broker = Broker::start();
    let connection = open(&broker);
    let queue = connection
        .declare_queue("alarm.consumed", &QueueOptions::default())
        .unwrap();
    queue
        .publish_batch((0..5u8).map(|i| Message::new(vec![i])))
        .unwrap();
    let mut consumer = queue
        .consume(&ConsumeOptions::default().prefetch(5))
        .unwrap();
    let held = consumer.next_timeout(Duration::from_secs(5)).unwrap();
    let cancelled = queue.consume(&ConsumeOptions::default()).unwrap();

    broker.memory_alarm(true);
    let (err, _) = publish_until_blocked(&queue);
    assert!(matches!(err, Error::Blocked { .. }), "{err:?}");

    let started = Instant::now();
    drop(held);
    drop(consumer);
    let dropped = started.elapsed();
    let started = Instant::now();
    let err = cancelled.cancel().unwrap_err();
    let cancel = started.elapsed();
    assert!(matches!(err, Error::Blocked { .. }), "{err:?}");
    let started = Instant::now();
    drop(queue);
    let queue_dropped = started.elapsed();
    eprintln!("while blocked: consumer dropped in {dropped:?}, cancelled in {cancel:?}, queue dropped in {queue_dropped:?}");
    for elapsed in [dropped, cancel, queue_dropped] {
        assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    }

    broker.memory_alarm(false);
    wait_until(Duration::from_secs(30), "the broker unblocks", || {
        connection.blocked().is_none()
    });
    // Once the broker reads again, the consumer's channel closes and its
    // unacknowledged messages are back: 5, and the one in doubt.
    let queue = connection.existing_queue("alarm.consumed").unwrap();
    wait_until(Duration::from_secs(10), "the messages are requeued", || {
        queue.info().unwrap().message_count == 6
    });
    connection.close().unwrap();
}

#[test]
fn a_closed_connection_while_blocked_closes_at_once() {
    let broker = Broker::start();
    let connection = open(&broker);
    let queue = connection
        .declare_queue("alarm.close", &QueueOptions::default())
        .unwrap();
    broker.memory_alarm(true);
    let (err, _) = publish_until_blocked(&queue);
    assert!(matches!(err, Error::Blocked { .. }), "{err:?}");
    let started = Instant::now();
    connection.close().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(queue.publish(b"x"), Err(Error::ConnectionClosed)));
    broker.memory_alarm(false);
}

#[test]
fn unanswered_publishes_and_requests_fail_within_their_deadline() {
    let broker = Broker::start();
    let connection = open_with_timeouts(&broker, Duration::from_secs(2));
    let queue = connection
        .declare_queue("paused.jobs", &QueueOptions::default())
        .unwrap();
    queue.publish(b"before").unwrap();

    broker.pause(true);
    let started = Instant::now();
    let err = queue.publish(b"unconfirmed").unwrap_err();
    let publish = started.elapsed();
    broker.pause(false);
    assert!(
        matches!(
            err,
            Error::PublishTimeout {
                in_doubt: 1,
                connection_lost: false,
                ..
            }
        ),
        "{err:?}"
    );
    // The watchdog looks at least once a second; a loaded machine adds some.
    assert!(
        publish >= Duration::from_secs(2) && publish < Duration::from_secs(4),
        "{publish:?}"
    );
    // The broker answers again: the same handle publishes on.
    queue.publish(b"after").unwrap();

    broker.pause(true);
    let started = Instant::now();
    let err = queue.get().unwrap_err();
    let get = started.elapsed();
    broker.pause(false);
    assert!(
        matches!(
            err,
            Error::Timeout {
                operation: "get",
                ..
            }
        ),
        "{err:?}"
    );
    // The watchdog looks at least once a second.
    assert!(get < Duration::from_secs(4), "{get:?}");
    eprintln!("paused broker: publish timed out in {publish:?}, get in {get:?}");
    // A request cannot be withdrawn: the connection was given up.
    assert!(matches!(queue.get(), Err(Error::ConnectionLost { .. })));
}

#[test]
fn a_publish_the_stalled_broker_cannot_take_in_time_gives_the_connection_up_and_says_so() {
    let broker = Broker::start();
    let connection = open_with_timeouts(&broker, Duration::from_secs(2));
    let queue = connection
        .declare_queue("stalled.big", &QueueOptions::default())
        .unwrap();
    let other = connection
        .declare_queue("stalled.other", &QueueOptions::default())
        .unwrap();
    // More than the socket buffers and amiquip's 16 MiB of buffered
    // writes: amiquip waits for room to send the rest.
    let big = vec![1u8; 64 * 1024 * 1024];

    broker.pause(true);
    let started = Instant::now();
    let err = queue.publish(&big).unwrap_err();
    let elapsed = started.elapsed();
    broker.pause(false);
    eprintln!("stalled broker: a 64 MiB publish gave up in {elapsed:?}: {err}");
    assert!(
        matches!(
            err,
            Error::PublishTimeout {
                in_doubt: 1,
                connection_lost: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("connection was given up"), "{err}");
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    // As the error says: the connection is gone, for every handle.
    assert!(matches!(
        queue.publish(b"x"),
        Err(Error::ConnectionLost { .. })
    ));
    assert!(matches!(other.get(), Err(Error::ConnectionLost { .. })));
}

#[test]
fn close_does_not_wait_behind_a_channel_open_the_broker_does_not_answer() {
    let broker = Broker::start();
    let connection = Connection::open_with(
        &ConnectOptions::new(broker.url()).request_timeout(Duration::from_secs(20)),
    )
    .unwrap();
    let queue = connection
        .declare_queue("stalled.open", &QueueOptions::default())
        .unwrap();
    broker.pause(true);
    let getting = std::thread::spawn(move || {
        // A handle's first get opens its channel: a round trip the paused
        // broker does not answer.
        let result = queue.get().map(|got| got.is_some());
        (result, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let closed = connection.close();
    let close = started.elapsed();
    let (got, returned) = getting.join().unwrap();
    let get = returned.saturating_duration_since(started);
    broker.pause(false);
    eprintln!("paused broker: close() returned in {close:?}; the get opening a channel ended {get:?} after it began");
    closed.unwrap();
    assert!(close < Duration::from_secs(1), "{close:?}");
    assert!(get < Duration::from_secs(1), "{get:?}");
    assert!(matches!(got, Err(Error::ConnectionClosed)), "{got:?}");
}
