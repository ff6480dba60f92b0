//! Memory over many consumers, alone in its test binary so that the
//! process's resident size is this test's.

mod common;

use std::time::{Duration, Instant};

use mq_lite::{ConsumeOptions, Message, Queue, QueueOptions};

/// The process's resident set size, from /proc/self/status, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// One cycle: the broker sends all the queue's messages ahead; the
/// application takes one and drops the consumer with the rest still buffered.
fn cycle(queue: &Queue, options: &ConsumeOptions) {
    let mut consumer = queue.consume(options).unwrap();
    let first = consumer
        .next_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("a delivery");
    drop(first);
    drop(consumer);
}

#[test]
fn ten_thousand_consumers_dropped_with_buffered_deliveries_leave_memory_flat() {
    const MESSAGES: u16 = 20;
    const CYCLES: usize = 10_000;
    // Each cycle is five round trips: threads (sharing the connection, each
    // with a queue of its own) keep the test to seconds.
    const THREADS: usize = 4;
    let connection = common::connect_direct();
    let queues: Vec<Queue> = (0..THREADS)
        .map(|_| {
            let queue = connection
                .declare_queue(&common::unique("leak"), &QueueOptions::default())
                .unwrap();
            queue
                .publish_batch((0..MESSAGES).map(|i| Message::new(vec![i as u8; 1024])))
                .unwrap();
            queue
        })
        .collect();
    let options = ConsumeOptions::default().prefetch(MESSAGES);
    let run = |cycles: usize| {
        std::thread::scope(|scope| {
            for queue in &queues {
                scope.spawn(|| (0..cycles / THREADS).for_each(|_| cycle(queue, &options)));
            }
        })
    };

    run(400);
    let before = rss_kib();
    let started = Instant::now();
    run(CYCLES);
    let after = rss_kib();
    let growth = after.saturating_sub(before);
    eprintln!(
        "RSS before {before} KiB, after {CYCLES} consume/drop cycles {after} KiB \
         (growth {growth} KiB) in {:?}",
        started.elapsed()
    );
    // Every message is back in its queue.
    for queue in &queues {
        common::wait_until(Duration::from_secs(10), "all messages requeued", || {
            queue.info().unwrap().message_count == u32::from(MESSAGES)
        });
    }
    // A leak of even one buffered 1 KiB delivery per cycle would be 10 MiB.
    assert!(growth < 4 * 1024, "RSS grew by {growth} KiB");
}
