//! Several broker addresses for one connection, and consumers the broker
//! cancels, on single brokers (the three-node cluster's tests are in
//! `cluster.rs`).

mod common;

use std::time::{Duration, Instant};

use mq_lite::{ConnectOptions, Connection, ConsumeOptions, Error, QueueOptions, ReconnectPolicy};
use testcontainers::clients::Cli;
use testkit::RestartableBroker;

/// A URL where nothing listens: connecting to it is refused at once.
fn nothing_listens() -> String {
    format!("amqp://guest:guest@127.0.0.1:{}/%2f", testkit::free_port())
}

fn address_of(url: &str) -> String {
    url.trim_start_matches("amqp://guest:guest@")
        .trim_end_matches("/%2f")
        .to_owned()
}

#[test]
fn the_first_address_that_answers_takes_the_connection_and_is_shown() {
    let broker = testkit::shared_broker().url();
    let options = ConnectOptions::new(format!("{},{broker}", nothing_listens()))
        .connection_timeout(Duration::from_secs(5));
    let connection = Connection::open_with(&options).unwrap();
    assert_eq!(connection.address(), address_of(&broker));
    let queue = connection
        .declare_queue(&common::unique("addresses"), &QueueOptions::default())
        .unwrap();
    queue.publish(b"reached").unwrap();
    assert_eq!(queue.get().unwrap().unwrap().body(), b"reached");
}

#[test]
fn when_no_address_answers_the_most_telling_error_is_returned() {
    let dead = [nothing_listens(), nothing_listens()];
    let err = Connection::open(&dead.join(",")).unwrap_err();
    assert!(matches!(err, Error::BrokerUnreachable { .. }), "{err:?}");

    // A broker that refuses the password says more than one that is down.
    let refusing = testkit::shared_broker()
        .url()
        .replace("guest:guest@", "guest:wrong-s3cr3t@");
    let err = Connection::open(&format!("{refusing},{}", dead[0])).unwrap_err();
    assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("s3cr3t"));
}

#[test]
fn a_list_with_one_bad_url_is_refused_before_any_is_dialled() {
    let broker = testkit::shared_broker().url();
    let err = Connection::open(&format!("{broker},amqp://u:s3cr3t@host:notaport/")).unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("s3cr3t"));
}

#[test]
fn a_lost_node_is_replaced_by_the_next_address_under_the_policy() {
    let docker = Cli::default();
    let first = RestartableBroker::start(&docker);
    let second = testkit::shared_broker().url();
    let connection = Connection::open_with(
        &ConnectOptions::new(format!("{},{second}", first.url()))
            .connection_timeout(Duration::from_secs(5))
            .reconnect(ReconnectPolicy::default().give_up_after(Duration::from_secs(30))),
    )
    .unwrap();
    assert_eq!(connection.address(), address_of(&first.url()));
    let name = common::unique("failover");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    queue.publish(b"on the first").unwrap();

    first.stop();
    let started = Instant::now();
    // The queue is declared again on the second broker, and the publish lands there.
    queue.publish(b"on the second").unwrap();
    let moved_in = started.elapsed();
    eprintln!("moved to the second address in {moved_in:?}");
    assert_eq!(connection.address(), address_of(&second));
    assert!(moved_in < Duration::from_secs(10), "{moved_in:?}");
    assert_eq!(queue.get().unwrap().unwrap().body(), b"on the second");
}

#[test]
fn under_a_policy_a_consumer_the_broker_cancels_consumes_again() {
    let connection = Connection::open_with(
        &ConnectOptions::new(testkit::shared_broker().url()).reconnect(ReconnectPolicy::default()),
    )
    .unwrap();
    let name = common::unique("recancelled");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    let mut consumer = queue.consume(&ConsumeOptions::default()).unwrap();

    // Deleting the queue makes the broker cancel its consumers; it is
    // back a moment later, as a queue whose node restarted would be.
    let other = common::connect();
    let handle = other
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    handle.delete().unwrap();
    other
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    // The consumer sees the cancel and consumes again within its wait.
    assert!(consumer
        .next_timeout(Duration::from_secs(2))
        .unwrap()
        .is_none());
    common::wait_until(
        Duration::from_secs(10),
        "the consumer back on the queue",
        || {
            other
                .queue_info(&name)
                .unwrap()
                .expect("declared again")
                .consumer_count
                == 1
        },
    );
    queue.publish(b"after the cancel").unwrap();
    let delivery = consumer
        .next_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("a delivery after the cancel");
    assert_eq!(delivery.body(), b"after the cancel");
    delivery.ack().unwrap();
}

#[test]
fn a_consumer_whose_queue_stays_deleted_ends_with_a_typed_error_in_bounded_time() {
    let connection = Connection::open_with(
        &ConnectOptions::new(testkit::shared_broker().url()).reconnect(ReconnectPolicy::default()),
    )
    .unwrap();
    let name = common::unique("gone");
    let queue = connection
        .declare_queue(&name, &QueueOptions::default())
        .unwrap();
    let mut consumer = queue.consume(&ConsumeOptions::default()).unwrap();
    let started = Instant::now();
    queue.delete().unwrap();
    let err = consumer.next_timeout(Duration::from_secs(30)).unwrap_err();
    assert!(matches!(err, Error::ConsumerCancelled { .. }), "{err:?}");
    eprintln!("gave up after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(10));
}
