//! The workloads, and how each is timed against any Rust [`Client`].
//!
//! The setup (a fresh queue, pre-filling it) and the clock live here once;
//! the mq-lite and raw amiquip clients only supply the AMQP calls.

use std::time::{Duration, Instant};

use bench_support::Goal;

use crate::Result;

/// One benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// (a) Persistent publish, waiting for each confirm.
    ConfirmEach,
    /// (b) Persistent publish, one confirm wait per batch.
    ConfirmBatch,
    /// (c) basic.get one message at a time and ack it, from a pre-filled queue.
    GetAck,
    /// (d) A consumer with a prefetch window, acking each, from a pre-filled queue.
    Consume,
    /// (e) Persistent publish without confirms, until the broker holds them all.
    Unconfirmed,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::ConfirmEach,
        Workload::ConfirmBatch,
        Workload::GetAck,
        Workload::Consume,
        Workload::Unconfirmed,
    ];

    /// The name shared with `pika_bench.py`.
    pub fn id(self) -> &'static str {
        match self {
            Workload::ConfirmEach => "confirm-each",
            Workload::ConfirmBatch => "confirm-batch",
            Workload::GetAck => "get-ack",
            Workload::Consume => "consume",
            Workload::Unconfirmed => "unconfirmed",
        }
    }

    /// The row label of the results table.
    pub fn label(self) -> &'static str {
        match self {
            Workload::ConfirmEach => "(a) publish, confirm each",
            Workload::ConfirmBatch => "(b) publish, confirm per batch",
            Workload::GetAck => "(c) get + ack",
            Workload::Consume => "(d) consume + ack",
            Workload::Unconfirmed => "(e) publish unconfirmed",
        }
    }

    /// The speed-up over pika that mq-lite is expected to reach.
    pub fn pika_goal(self) -> Goal {
        Goal::AtLeast(match self {
            Workload::ConfirmEach => 1.3,
            Workload::ConfirmBatch | Workload::GetAck => 1.5,
            Workload::Consume => 2.0,
            Workload::Unconfirmed => 1.9,
        })
    }

    /// True when the timed part reads messages that must be published first.
    fn reads_prefilled_queue(self) -> bool {
        matches!(self, Workload::GetAck | Workload::Consume)
    }
}

/// The sizes every workload runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub messages: usize,
    pub body: Vec<u8>,
    pub batch: usize,
    pub prefetch: u16,
}

/// The AMQP operations the workloads need, implemented by each Rust client.
pub trait Client {
    type Queue;

    /// Declares the durable queue `name` and returns a handle on it.
    fn declare(&mut self, name: &str) -> Result<Self::Queue>;
    /// Publishes one persistent message and waits for its confirm.
    fn publish_confirmed(&mut self, queue: &mut Self::Queue, body: &[u8]) -> Result<()>;
    /// Publishes `count` persistent messages, then waits once for all confirms.
    fn publish_batch(&mut self, queue: &mut Self::Queue, body: &[u8], count: usize) -> Result<()>;
    /// Publishes one persistent message without a confirm.
    fn publish_unconfirmed(&mut self, queue: &mut Self::Queue, body: &[u8]) -> Result<()>;
    /// The ready messages in the queue, from a passive declare.
    fn ready_count(&mut self, queue: &mut Self::Queue) -> Result<u32>;
    /// Gets one message and acks it; false when the queue was empty.
    fn get_and_ack(&mut self, queue: &mut Self::Queue) -> Result<bool>;
    /// Consumes `count` messages with a prefetch window, acking each.
    fn consume_and_ack(
        &mut self,
        queue: &mut Self::Queue,
        count: usize,
        prefetch: u16,
    ) -> Result<()>;
    /// Deletes the queue.
    fn delete(&mut self, queue: Self::Queue) -> Result<()>;
}

/// Runs `workload` once on a fresh queue and returns messages per second.
pub fn throughput<C: Client>(
    client: &mut C,
    tool: &str,
    workload: Workload,
    settings: &Settings,
) -> Result<f64> {
    let mut queue = client.declare(&queue_name(tool, workload))?;
    if workload.reads_prefilled_queue() {
        fill(client, &mut queue, settings)?;
    }
    let started = Instant::now();
    let outcome = run_timed(client, &mut queue, workload, settings);
    let elapsed = started.elapsed();
    // Delete even after a failure, so that a broken run leaves no queue behind.
    client.delete(queue)?;
    outcome?;
    Ok(per_second(settings.messages, elapsed))
}

/// Messages per second for `messages` taking `elapsed`.
pub fn per_second(messages: usize, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64()
}

/// A queue name no earlier run used, so that each run starts empty.
fn queue_name(tool: &str, workload: Workload) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("bench-mq.{tool}.{}.{nanos}", workload.id())
}

/// The part of a workload that the clock measures.
fn run_timed<C: Client>(
    client: &mut C,
    queue: &mut C::Queue,
    workload: Workload,
    settings: &Settings,
) -> Result<()> {
    let body = settings.body.as_slice();
    match workload {
        Workload::ConfirmEach => {
            (0..settings.messages).try_for_each(|_| client.publish_confirmed(queue, body))
        }
        Workload::ConfirmBatch => publish_in_batches(client, queue, settings),
        Workload::GetAck => drain_with_get(client, queue, settings.messages),
        Workload::Consume => client.consume_and_ack(queue, settings.messages, settings.prefetch),
        Workload::Unconfirmed => {
            (0..settings.messages).try_for_each(|_| client.publish_unconfirmed(queue, body))?;
            wait_until_queued(client, queue, settings.messages)
        }
    }
}

fn publish_in_batches<C: Client>(
    client: &mut C,
    queue: &mut C::Queue,
    settings: &Settings,
) -> Result<()> {
    let mut left = settings.messages;
    while left > 0 {
        let count = left.min(settings.batch);
        client.publish_batch(queue, &settings.body, count)?;
        left -= count;
    }
    Ok(())
}

fn drain_with_get<C: Client>(client: &mut C, queue: &mut C::Queue, messages: usize) -> Result<()> {
    for taken in 0..messages {
        if !client.get_and_ack(queue)? {
            return Err(format!("the queue ran dry after {taken} of {messages} messages").into());
        }
    }
    Ok(())
}

/// Pre-fills the queue (untimed) with confirmed batches.
fn fill<C: Client>(client: &mut C, queue: &mut C::Queue, settings: &Settings) -> Result<()> {
    publish_in_batches(client, queue, settings)?;
    wait_until_queued(client, queue, settings.messages)
}

/// Polls the queue's depth until it holds `messages`: unconfirmed publishes
/// only count once the broker has enqueued them.
fn wait_until_queued<C: Client>(
    client: &mut C,
    queue: &mut C::Queue,
    messages: usize,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = client.ready_count(queue)? as usize;
        if ready >= messages {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("only {ready} of {messages} messages reached the queue").into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
