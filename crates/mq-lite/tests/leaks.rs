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

/// How a cycle ends.
#[derive(Clone, Copy)]
struct Cycle {
    cancel: bool,
    /// Wait, before ending it, until the broker has pushed every message
    /// to the consumer (none left ready in the queue).
    check_buffered: bool,
}

/// One cycle: the broker sends all the queue's messages ahead; the
/// application takes one and cancels or drops the consumer with the rest
/// still buffered. `probe` is another handle on the same queue.
fn cycle(queue: &Queue, probe: &Queue, options: &ConsumeOptions, how: Cycle) {
    let mut consumer = queue.consume(options).unwrap();
    let first = consumer
        .next_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("a delivery");
    if how.check_buffered {
        common::wait_until(
            Duration::from_secs(10),
            "every message pushed to the consumer",
            || probe.info().unwrap().message_count == 0,
        );
    }
    drop(first);
    if how.cancel {
        consumer.cancel().expect("cancel");
    } else {
        drop(consumer);
    }
}

#[test]
fn ten_thousand_consumers_dropped_or_cancelled_with_buffered_deliveries_leave_memory_flat() {
    // Bodies big enough that one delivery leaked per cycle would be 160 MiB,
    // ten times the allowance; small enough that the test's client (a debug
    // build) moves its 500 MB in half a minute.
    const MESSAGES: u16 = 3;
    const BODY: usize = 16 * 1024;
    const WARM_UP: usize = 1_000;
    const CYCLES: usize = 10_000;
    // Every this many cycles, check that the deliveries were buffered.
    const SAMPLE: usize = 50;
    // Each cycle is five round trips: threads (sharing the connection, each
    // with a queue of its own) keep the test to seconds.
    const THREADS: usize = 4;
    let connection = common::connect_direct();
    let queues: Vec<(Queue, Queue)> = (0..THREADS)
        .map(|_| {
            let queue = connection
                .declare_queue(&common::unique("leak"), &QueueOptions::default())
                .unwrap();
            queue
                .publish_batch((0..MESSAGES).map(|i| Message::new(vec![i as u8; BODY])))
                .unwrap();
            let probe = connection.existing_queue(queue.name()).unwrap();
            (queue, probe)
        })
        .collect();
    let options = ConsumeOptions::default().prefetch(MESSAGES);
    let run = |first: usize, cycles: usize| {
        std::thread::scope(|scope| {
            for (queue, probe) in &queues {
                let options = &options;
                scope.spawn(move || {
                    for n in first..first + cycles / THREADS {
                        let how = Cycle {
                            cancel: n % 2 == 1,
                            check_buffered: n % SAMPLE == 0,
                        };
                        cycle(queue, probe, options, how);
                    }
                });
            }
        })
    };

    run(0, WARM_UP);
    let before = rss_kib();
    let started = Instant::now();
    run(WARM_UP, CYCLES);
    let after = rss_kib();
    let growth = after.saturating_sub(before);
    eprintln!(
        "RSS before {before} KiB, after {CYCLES} consume/cancel-or-drop cycles {after} KiB \
         (growth {growth} KiB) in {:?}",
        started.elapsed()
    );
    // Every message is back in its queue.
    for (queue, _) in &queues {
        common::wait_until(Duration::from_secs(10), "all messages requeued", || {
            queue.info().unwrap().message_count == u32::from(MESSAGES)
        });
    }
    // A leak of even one 16 KiB delivery per cycle would be 160 MiB; the
    // allowance is for the allocator's arenas and caches (10,000 threads
    // come and go).
    assert!(growth < 16 * 1024, "RSS grew by {growth} KiB");
}
