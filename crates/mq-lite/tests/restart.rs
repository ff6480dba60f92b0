//! Durability and reconnection across broker restarts, on a broker of each
//! test's own (pinned host port, so it comes back at the same address).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mq_lite::{
    ConnectOptions, Connection, ConsumeOptions, Error, Message, QueueOptions, ReconnectPolicy,
};
use testcontainers::clients::Cli;
use testkit::RestartableBroker;

fn resilient(url: &str) -> Connection {
    Connection::open_with(
        &ConnectOptions::new(url)
            .connection_timeout(Duration::from_secs(5))
            .reconnect(ReconnectPolicy::default().give_up_after(Duration::from_secs(90))),
    )
    .expect("connect")
}

#[test]
fn a_thousand_persistent_confirmed_messages_survive_a_broker_restart() {
    let docker = Cli::default();
    let mut broker = RestartableBroker::start(&docker);
    {
        let connection = Connection::open(&broker.url()).unwrap();
        let queue = connection
            .declare_queue("durable.jobs", &QueueOptions::default())
            .unwrap();
        let messages: Vec<Message> = (0..1000u32)
            .map(|i| Message::new(i.to_be_bytes().to_vec()))
            .collect();
        for batch in messages.chunks(100) {
            queue.publish_batch(batch).unwrap();
        }
    }
    broker.restart();

    let connection = Connection::open(&broker.url()).unwrap();
    let queue = connection
        .declare_queue("durable.jobs", &QueueOptions::default())
        .unwrap();
    let mut seen = vec![0u32; 1000];
    while let Some(delivery) = queue.get().unwrap() {
        let id = u32::from_be_bytes(delivery.body().try_into().expect("4-byte body"));
        seen[id as usize] += 1;
        delivery.ack().unwrap();
    }
    let lost: Vec<usize> = (0..1000).filter(|&i| seen[i] == 0).collect();
    let duplicated: Vec<usize> = (0..1000).filter(|&i| seen[i] > 1).collect();
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
}

#[test]
fn a_publisher_and_a_consumer_keep_going_across_a_broker_restart() {
    const TOTAL: u32 = 400;
    let docker = Cli::default();
    let mut broker = RestartableBroker::start(&docker);
    let url = broker.url();

    let consumer_url = url.clone();
    let consumer = std::thread::spawn(move || {
        let connection = resilient(&consumer_url);
        let queue = connection
            .declare_queue("resilient.jobs", &QueueOptions::default())
            .unwrap();
        let mut received: BTreeMap<u32, u32> = BTreeMap::new();
        let deliveries = queue
            .consume(
                &ConsumeOptions::default()
                    .prefetch(20)
                    // Counts the restart and the reconnection; the loop ends
                    // as soon as everything arrived.
                    .idle_timeout(Duration::from_secs(60)),
            )
            .unwrap();
        for delivery in deliveries {
            let delivery = delivery.expect("the consumer survives the restart");
            let id = u32::from_be_bytes(delivery.body().try_into().unwrap());
            *received.entry(id).or_default() += 1;
            // An ack on the channel of before the restart fails; the broker redelivers.
            match delivery.ack() {
                Ok(()) | Err(Error::DeliveryChannelClosed { .. }) => {}
                Err(err) => panic!("ack failed: {err}"),
            }
            if received.len() as u32 == TOTAL {
                break;
            }
        }
        received
    });

    let published_half = Arc::new(AtomicBool::new(false));
    let publisher = {
        let published_half = Arc::clone(&published_half);
        std::thread::spawn(move || {
            let connection = resilient(&url);
            let queue = connection
                .declare_queue("resilient.jobs", &QueueOptions::default())
                .unwrap();
            for id in 0..TOTAL {
                queue
                    .publish(&id.to_be_bytes())
                    .expect("the publisher survives the restart");
                if id == TOTAL / 2 {
                    published_half.store(true, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    while !published_half.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    broker.restart();

    publisher.join().expect("publisher thread");
    let received = consumer.join().expect("consumer thread");
    let missing: Vec<u32> = (0..TOTAL).filter(|id| !received.contains_key(id)).collect();
    assert!(missing.is_empty(), "never received: {missing:?}");
}

#[test]
fn with_the_broker_gone_the_next_call_fails_with_a_typed_error_quickly() {
    let docker = Cli::default();
    let broker = RestartableBroker::start(&docker);
    let connection = Connection::open(&broker.url()).unwrap();
    let queue = connection
        .declare_queue("gone.jobs", &QueueOptions::default())
        .unwrap();
    queue.publish(b"before").unwrap();
    broker.stop();

    let started = Instant::now();
    let err = queue.publish(b"after").unwrap_err();
    assert!(matches!(err, Error::ConnectionLost { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A new connection to the stopped broker is refused with a typed error too.
    let err = Connection::open_with(
        &ConnectOptions::new(broker.url()).connection_timeout(Duration::from_secs(1)),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::BrokerUnreachable { .. } | Error::HandshakeFailed { .. }
        ),
        "{err:?}"
    );
}

/// A connection whose reconnections give up after 2 s.
fn giving_up_after_two_seconds(broker: &RestartableBroker) -> Connection {
    Connection::open_with(
        &ConnectOptions::new(broker.url())
            .connection_timeout(Duration::from_secs(1))
            .reconnect(ReconnectPolicy::default().give_up_after(Duration::from_secs(2))),
    )
    .unwrap()
}

#[test]
fn under_a_policy_a_call_gives_up_with_reconnect_failed_after_the_limit() {
    let docker = Cli::default();
    let broker = RestartableBroker::start(&docker);
    let connection = giving_up_after_two_seconds(&broker);
    let queue = connection
        .declare_queue("limited.jobs", &QueueOptions::default())
        .unwrap();
    broker.stop();
    let started = Instant::now();
    let err = queue.publish(b"after").unwrap_err();
    assert!(matches!(err, Error::ReconnectFailed { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn threads_waiting_on_a_reconnection_that_gives_up_fail_too_and_the_connection_still_closes() {
    // A deadlock here would hang the binary: fail it instead.
    testkit::exit_after(Duration::from_secs(120), "the reconnection give-up test");
    let docker = Cli::default();
    let broker = RestartableBroker::start(&docker);
    let connection = giving_up_after_two_seconds(&broker);
    let queues: Vec<_> = (0..4)
        .map(|i| {
            connection
                .declare_queue(&format!("waiting.jobs.{i}"), &QueueOptions::default())
                .unwrap()
        })
        .collect();
    broker.stop();
    let started = Instant::now();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for queue in &queues {
            let done = done.clone();
            scope.spawn(move || {
                // One thread dials, the others wait for it, and all give up.
                let outcome = queue.publish(b"after");
                let _ = done.send(outcome);
            });
        }
        for _ in &queues {
            let outcome = finished
                .recv_timeout(Duration::from_secs(30))
                .expect("every publisher returns: none is left waiting on the link");
            let err = outcome.unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::ReconnectFailed { .. } | Error::ConnectionLost { .. }
                ),
                "{err:?}"
            );
        }
    });
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    drop(queues);
    // Returns (its result does not matter: the connection is lost).
    let _ = connection.close();
}

#[test]
fn a_reply_queue_lost_in_a_reconnection_is_an_explicit_error_and_named_queues_come_back() {
    let docker = Cli::default();
    let mut broker = RestartableBroker::start(&docker);
    let connection = resilient(&broker.url());
    let reply = connection.declare_reply_queue().unwrap();
    let mut replies = reply.consume(&ConsumeOptions::default()).unwrap();
    // Not durable: it does not survive the restart, and comes back declared again.
    let jobs = connection
        .declare_queue("transient.jobs", &QueueOptions::default().durable(false))
        .unwrap();
    let lost_name = reply.name().to_owned();

    broker.restart();

    let err = reply.publish(b"late reply").unwrap_err();
    assert!(
        matches!(&err, Error::ReplyQueueLost { queue } if *queue == lost_name),
        "{err:?}"
    );
    assert!(matches!(reply.get(), Err(Error::ReplyQueueLost { .. })));
    let err = replies.next_timeout(Duration::from_secs(30)).unwrap_err();
    assert!(matches!(err, Error::ReplyQueueLost { .. }), "{err:?}");

    jobs.publish(b"after the restart").unwrap();
    assert_eq!(jobs.get().unwrap().unwrap().body(), b"after the restart");
    let new_reply = connection.declare_reply_queue().unwrap();
    assert_ne!(new_reply.name(), lost_name);
    new_reply.publish(b"reply").unwrap();
    assert_eq!(new_reply.get().unwrap().unwrap().body(), b"reply");
}

#[test]
fn close_stops_a_reconnection_in_progress_without_waiting_for_it() {
    let docker = Cli::default();
    let broker = RestartableBroker::start(&docker);
    let connection = Connection::open_with(
        &ConnectOptions::new(broker.url())
            .connection_timeout(Duration::from_secs(1))
            .reconnect(
                ReconnectPolicy::default()
                    .initial_delay(Duration::from_millis(500))
                    .give_up_after(Duration::from_secs(120)),
            ),
    )
    .unwrap();
    let publisher = connection
        .declare_queue("closing.jobs", &QueueOptions::default())
        .unwrap();
    let reader = connection
        .declare_queue("closing.other", &QueueOptions::default())
        .unwrap();
    broker.stop();

    let publishing = std::thread::spawn(move || {
        let result = publisher.publish(b"never");
        (result, Instant::now())
    });
    let reading = std::thread::spawn(move || reader.get().map(|got| got.is_some()));
    // Both threads are in the reconnection by now: one dialling and backing
    // off, the other waiting for it.
    std::thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    connection.close().unwrap();
    let closed = started.elapsed();
    let (published, returned) = publishing.join().unwrap();
    let stopped = returned.saturating_duration_since(started);
    eprintln!(
        "close() returned in {closed:?}; the reconnecting publish ended {stopped:?} after it"
    );
    // close() takes no lock a reconnection holds while dialling or backing off.
    assert!(closed < Duration::from_millis(500), "{closed:?}");
    // A dial under way ends first: up to 1 s of TCP connect and 1 s of handshake.
    assert!(stopped < Duration::from_millis(3500), "{stopped:?}");
    assert!(
        matches!(published, Err(Error::ConnectionClosed)),
        "{published:?}"
    );
    assert!(matches!(
        reading.join().unwrap(),
        Err(Error::ConnectionClosed)
    ));
}
