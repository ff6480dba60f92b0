//! mq-lite on a three-node RabbitMQ cluster (testkit's `Cluster`: real
//! nodes in containers, each with its own address): a quorum queue's leader
//! killed under a publisher and a consumer, then a node cut off from its
//! peers. Nothing confirmed is lost; duplicates stay within the windows of
//! messages in flight.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mq_lite::{
    ConnectOptions, Connection, ConsumeOptions, Error, Message, QueueOptions, QueueType,
    ReconnectPolicy,
};
use testkit::Cluster;

/// Messages published while the leader is killed.
const MESSAGES: u32 = 10_000;
/// Messages per confirmed batch: the publisher's window of unconfirmed ones.
const BATCH: u32 = 50;
/// The consumer's window of unacknowledged deliveries.
const PREFETCH: u16 = 50;
/// The whole test's bound; past it the process exits and the cluster's
/// watcher removes it.
const TEST_LIMIT: Duration = Duration::from_secs(480);

#[test]
fn on_a_cluster_nothing_confirmed_is_lost_when_a_node_dies_or_is_cut_off() {
    testkit::exit_after(TEST_LIMIT, "the cluster test");
    let started = Instant::now();
    let cluster = Cluster::start();
    eprintln!("cluster formed in {:?}", started.elapsed());

    the_leader_killed_under_a_publisher_and_a_consumer(&cluster);
    a_node_cut_off_refuses_its_clients_and_they_move(&cluster);

    let suffix = cluster.suffix().to_owned();
    drop(cluster);
    let containers = testkit::docker(&["ps", "-a", "--format", "{{.Names}}"]);
    let networks = testkit::docker(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(
        !containers.contains(&suffix) && !networks.contains(&suffix),
        "left behind: {containers:?} {networks:?}"
    );
}

fn the_leader_killed_under_a_publisher_and_a_consumer(cluster: &Cluster) {
    let queue = "cluster.kill";
    declare(cluster, queue);
    let leader = cluster
        .leader_of(queue)
        .expect("the quorum queue has a leader");
    // Both clients on the leader's node: its death takes their connections.
    let publisher = resilient(&urls_from(cluster, leader));
    let consumer = resilient(&urls_from(cluster, leader));
    assert_eq!(publisher.address(), cluster.address(leader));

    let published = AtomicU32::new(0);
    let publishing_done = AtomicBool::new(false);
    let killed_at = Mutex::new(None::<Instant>);
    let (confirmed, first_confirm_after_kill, retries, tally) = std::thread::scope(|scope| {
        let tally = scope.spawn(|| consume_all(&consumer, queue, &publishing_done));
        let _done = SetOnDrop(&publishing_done);
        scope.spawn(|| {
            while published.load(Ordering::SeqCst) < MESSAGES / 5 {
                if publishing_done.load(Ordering::SeqCst) {
                    return; // the publisher failed first
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            cluster.kill(leader);
            *killed_at.lock().unwrap() = Some(Instant::now());
            eprintln!(
                "killed node {leader}, the leader, after {} messages",
                published.load(Ordering::SeqCst)
            );
        });
        let mut confirmed = Vec::new();
        let mut first_confirm_after_kill = None;
        let mut retries = 0;
        let handle = publisher
            .declare_queue(queue, &quorum())
            .expect("declare on the publisher's connection");
        for first in (0..MESSAGES).step_by(BATCH as usize) {
            let ids: Vec<u32> = (first..first + BATCH).collect();
            let messages: Vec<Message> = ids
                .iter()
                .map(|id| Message::new(id.to_be_bytes().to_vec()))
                .collect();
            // What a user does with a batch the broker refused (its queue
            // has no leader until the others elect one): send it again,
            // backing off.
            let refused_since = Instant::now();
            let mut backoff = Duration::from_millis(50);
            while let Err(err) = handle.publish_batch(&messages) {
                retries += 1;
                eprintln!(
                    "batch at {first} not confirmed ({err}); sending it again in {backoff:?}"
                );
                assert!(refused_since.elapsed() < Duration::from_secs(60), "{err}");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            if first_confirm_after_kill.is_none() {
                if let Some(killed) = *killed_at.lock().unwrap() {
                    first_confirm_after_kill = Some(killed.elapsed());
                }
            }
            confirmed.extend(ids);
            published.fetch_add(BATCH, Ordering::SeqCst);
        }
        publishing_done.store(true, Ordering::SeqCst);
        let tally = tally.join().expect("consumer thread");
        (confirmed, first_confirm_after_kill, retries, tally)
    });
    assert_ne!(
        publisher.address(),
        cluster.address(leader),
        "the publisher moved"
    );
    assert_ne!(
        consumer.address(),
        cluster.address(leader),
        "the consumer moved"
    );
    let counts = Counts::of(MESSAGES, &confirmed, &tally);
    eprintln!(
        "leader killed: {counts}; batches sent again: {retries}; first confirm {:?} after the kill; \
         the publisher went on at {}, the consumer at {}",
        first_confirm_after_kill,
        publisher.address(),
        consumer.address()
    );
    assert_eq!(counts.lost, 0, "confirmed messages were lost: {counts}");
    assert!(
        counts.duplicated <= (BATCH * (1 + retries) + u32::from(PREFETCH)) as usize,
        "more duplicates than messages in flight: {counts}"
    );
    cluster.start_again(leader);
}

fn a_node_cut_off_refuses_its_clients_and_they_move(cluster: &Cluster) {
    let queue = "cluster.partition";
    declare(cluster, queue);
    let leader = cluster
        .leader_of(queue)
        .expect("the quorum queue has a leader");
    let cut = (leader + 1) % cluster.len();
    let majority = (cut + 1..cut + cluster.len())
        .map(|i| i % cluster.len())
        .find(|&i| i != cut)
        .expect("another node");
    let on_majority = resilient(&urls_from(cluster, majority));
    let on_cut = resilient(&urls_from(cluster, cut));
    let consumer = resilient(&urls_from(cluster, majority));
    assert_eq!(on_cut.address(), cluster.address(cut));

    let stop = AtomicBool::new(false);
    let publishing_done = AtomicBool::new(false);
    let (majority_confirmed, cut_confirmed, tally, moved_after) = std::thread::scope(|scope| {
        let tally = scope.spawn(|| consume_all(&consumer, queue, &publishing_done));
        let _done = (SetOnDrop(&publishing_done), SetOnDrop(&stop));
        let majority_side = scope.spawn(|| publish_until(&on_majority, queue, 0, &stop));
        let cut_side = scope.spawn(|| publish_until(&on_cut, queue, 1_000_000, &stop));
        std::thread::sleep(Duration::from_secs(2));
        let disconnected = Instant::now();
        cluster.disconnect(cut);
        while on_cut.address() == cluster.address(cut) {
            assert!(
                disconnected.elapsed() < Duration::from_secs(90),
                "the client on the cut-off node never moved"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let moved_after = disconnected.elapsed();
        // The paused minority node refuses new clients.
        let refused = Connection::open_with(
            &ConnectOptions::new(cluster.url(cut)).connection_timeout(Duration::from_secs(3)),
        );
        assert!(refused.is_err(), "the cut-off node took a client");
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::SeqCst);
        let majority_confirmed = majority_side.join().expect("publisher thread");
        let cut_confirmed = cut_side.join().expect("publisher thread");
        publishing_done.store(true, Ordering::SeqCst);
        let tally = tally.join().expect("consumer thread");
        (majority_confirmed, cut_confirmed, tally, moved_after)
    });
    let (majority_ids, majority_errors) = majority_confirmed;
    let (cut_ids, _) = cut_confirmed;
    assert!(
        majority_errors.is_empty(),
        "the majority side was disturbed: {majority_errors:?}"
    );
    let mut confirmed = majority_ids.clone();
    confirmed.extend(&cut_ids);
    let sent = u32::try_from(confirmed.len()).unwrap_or(u32::MAX);
    let counts = Counts::of(sent, &confirmed, &tally);
    eprintln!(
        "node {cut} cut off: {counts}; its client moved to {} after {moved_after:?}; \
         {} confirmed on the majority side, {} through the cut-off node's client",
        on_cut.address(),
        majority_ids.len(),
        cut_ids.len()
    );
    assert_eq!(counts.lost, 0, "confirmed messages were lost: {counts}");
    cluster.reconnect(cut);
}

/// Publishes confirmed batches of ids from `first` until `stop`: the ids
/// confirmed, and the errors met (a batch not confirmed is sent again).
fn publish_until(
    connection: &Connection,
    queue: &str,
    first: u32,
    stop: &AtomicBool,
) -> (Vec<u32>, Vec<String>) {
    let handle = connection.declare_queue(queue, &quorum()).expect("declare");
    let mut confirmed = Vec::new();
    let mut errors = Vec::new();
    let mut next = first;
    while !stop.load(Ordering::SeqCst) {
        let ids: Vec<u32> = (next..next + 10).collect();
        let messages: Vec<Message> = ids
            .iter()
            .map(|id| Message::new(id.to_be_bytes().to_vec()))
            .collect();
        match handle.publish_batch(&messages) {
            Ok(()) => {
                confirmed.extend(ids);
                next += 10;
            }
            Err(err) => {
                errors.push(err.to_string());
                assert!(errors.len() <= 50, "{errors:?}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (confirmed, errors)
}

/// Consumes `queue`, acking each delivery, until `done` is set and nothing
/// came for 5 s: how often each id arrived.
fn consume_all(connection: &Connection, queue: &str, done: &AtomicBool) -> HashMap<u32, u32> {
    let handle = connection.declare_queue(queue, &quorum()).expect("declare");
    let mut consumer = handle
        .consume(&ConsumeOptions::default().prefetch(PREFETCH))
        .expect("consume");
    let mut tally = HashMap::new();
    let mut idle_since = Instant::now();
    loop {
        match consumer.next_timeout(Duration::from_millis(200)) {
            Ok(Some(delivery)) => {
                let id = u32::from_be_bytes(delivery.body().try_into().expect("a 4-byte id"));
                *tally.entry(id).or_insert(0) += 1;
                match delivery.ack() {
                    // Taken on the lost connection: the broker delivers it again.
                    Ok(()) | Err(Error::DeliveryChannelClosed { .. }) => {}
                    Err(err) => panic!("ack: {err}"),
                }
                idle_since = Instant::now();
            }
            Ok(None)
                if done.load(Ordering::SeqCst) && idle_since.elapsed() > Duration::from_secs(5) =>
            {
                return tally
            }
            Ok(None) => {}
            Err(err) => panic!("the consumer stopped: {err}"),
        }
    }
}

/// Sets its flag when dropped, also by a panic: the threads that wait for
/// it end, and the test fails instead of hanging.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What arrived of what was sent.
struct Counts {
    sent: u32,
    confirmed: usize,
    consumed: usize,
    lost: usize,
    duplicated: usize,
}

impl Counts {
    fn of(sent: u32, confirmed: &[u32], tally: &HashMap<u32, u32>) -> Counts {
        Counts {
            sent,
            confirmed: confirmed.len(),
            consumed: tally.values().map(|&n| n as usize).sum(),
            lost: confirmed
                .iter()
                .filter(|id| !tally.contains_key(id))
                .count(),
            duplicated: tally.values().map(|&n| (n - 1) as usize).sum(),
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sent {}, confirmed {}, consumed {}, lost {}, duplicated {}",
            self.sent, self.confirmed, self.consumed, self.lost, self.duplicated
        )
    }
}

fn quorum() -> QueueOptions {
    QueueOptions::default().queue_type(QueueType::Quorum)
}

fn declare(cluster: &Cluster, queue: &str) {
    let connection = Connection::open(&cluster.url(0)).expect("connect to node 0");
    connection.declare_queue(queue, &quorum()).expect("declare");
    connection.close().expect("close");
}

/// The cluster's URLs, node `first`'s first.
fn urls_from(cluster: &Cluster, first: usize) -> String {
    (0..cluster.len())
        .map(|offset| cluster.url((first + offset) % cluster.len()))
        .collect::<Vec<_>>()
        .join(",")
}

fn resilient(urls: &str) -> Connection {
    Connection::open_with(
        &ConnectOptions::new(urls)
            .connection_timeout(Duration::from_secs(5))
            .reconnect(ReconnectPolicy::default().give_up_after(Duration::from_secs(90))),
    )
    .expect("connect to the cluster")
}
