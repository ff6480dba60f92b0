//! Declaring a queue, and the owned handle that publishes to it and reads from it.

use std::sync::Arc;
use std::time::Duration;

use amiquip::{AmqpValue, Confirm, FieldTable, Publish, QueueDeclareOptions, QueueDeleteOptions};

use crate::channel::{ChannelSlot, Declaration, OpenChannel, SharedConnection};
use crate::consumer::{ConsumeOptions, Consumer};
use crate::delivery::Delivery;
use crate::error::{Error, Result};
use crate::message::{Message, Properties};
use crate::names::check_queue_name;

/// The kind of queue the broker keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum QueueType {
    /// A classic queue, on one node.
    #[default]
    Classic,
    /// A quorum queue, replicated across the nodes of a cluster (always durable).
    Quorum,
}

/// Where the broker sends messages that expire, are rejected without
/// requeue, or overflow the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The exchange; `""` is the default exchange, which routes by queue name.
    pub exchange: String,
    /// The routing key; with the default exchange, the target queue's name.
    /// `None` keeps each message's own routing key.
    pub routing_key: Option<String>,
}

impl DeadLetter {
    /// Dead-letters into `queue` through the default exchange.
    pub fn to_queue(queue: impl Into<String>) -> Self {
        DeadLetter {
            exchange: String::new(),
            routing_key: Some(queue.into()),
        }
    }
}

/// How a queue is declared. `Default` gives a durable classic queue that
/// outlives its consumers: the usual work queue.
///
/// ```
/// use std::time::Duration;
/// use mq_lite::{DeadLetter, QueueOptions, QueueType};
/// let options = QueueOptions::default()
///     .queue_type(QueueType::Quorum)
///     .message_ttl(Duration::from_secs(3600))
///     .max_length(10_000)
///     .dead_letter(DeadLetter::to_queue("jobs.failed"));
/// assert!(options.durable);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueOptions {
    /// Survives a broker restart (its persistent messages too).
    pub durable: bool,
    /// Used by this connection only, and deleted when it closes.
    pub exclusive: bool,
    /// Deleted by the broker once its last consumer goes away.
    pub auto_delete: bool,
    /// Messages older than this are dropped (or dead-lettered).
    pub message_ttl: Option<Duration>,
    /// At most this many messages are kept; the oldest go first.
    pub max_length: Option<u32>,
    /// Where dropped messages go.
    pub dead_letter: Option<DeadLetter>,
    /// Classic or quorum.
    pub queue_type: QueueType,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            durable: true,
            exclusive: false,
            auto_delete: false,
            message_ttl: None,
            max_length: None,
            dead_letter: None,
            queue_type: QueueType::Classic,
        }
    }
}

impl QueueOptions {
    /// Sets [`durable`](Self::durable).
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Sets [`exclusive`](Self::exclusive).
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = exclusive;
        self
    }

    /// Sets [`auto_delete`](Self::auto_delete).
    pub fn auto_delete(mut self, auto_delete: bool) -> Self {
        self.auto_delete = auto_delete;
        self
    }

    /// Sets [`message_ttl`](Self::message_ttl) (millisecond precision).
    pub fn message_ttl(mut self, ttl: Duration) -> Self {
        self.message_ttl = Some(ttl);
        self
    }

    /// Sets [`max_length`](Self::max_length).
    pub fn max_length(mut self, messages: u32) -> Self {
        self.max_length = Some(messages);
        self
    }

    /// Sets [`dead_letter`](Self::dead_letter).
    pub fn dead_letter(mut self, target: DeadLetter) -> Self {
        self.dead_letter = Some(target);
        self
    }

    /// Sets [`queue_type`](Self::queue_type). A quorum queue is durable.
    pub fn queue_type(mut self, queue_type: QueueType) -> Self {
        self.queue_type = queue_type;
        if queue_type == QueueType::Quorum {
            self.durable = true;
        }
        self
    }

    fn arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::new();
        if let Some(ttl) = self.message_ttl {
            let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
            arguments.insert("x-message-ttl".into(), AmqpValue::LongLongInt(millis));
        }
        if let Some(max) = self.max_length {
            arguments.insert(
                "x-max-length".into(),
                AmqpValue::LongLongInt(i64::from(max)),
            );
        }
        if let Some(target) = &self.dead_letter {
            arguments.insert(
                "x-dead-letter-exchange".into(),
                AmqpValue::LongString(target.exchange.clone()),
            );
            if let Some(key) = &target.routing_key {
                arguments.insert(
                    "x-dead-letter-routing-key".into(),
                    AmqpValue::LongString(key.clone()),
                );
            }
        }
        if self.queue_type == QueueType::Quorum {
            arguments.insert(
                "x-queue-type".into(),
                AmqpValue::LongString("quorum".into()),
            );
        }
        arguments
    }

    pub(crate) fn to_amqp(&self) -> QueueDeclareOptions {
        QueueDeclareOptions {
            durable: self.durable,
            exclusive: self.exclusive,
            auto_delete: self.auto_delete,
            arguments: self.arguments(),
        }
    }
}

/// What a passive declare tells about a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueInfo {
    /// Messages ready for delivery (not counting unacknowledged ones).
    pub message_count: u32,
    /// Active consumers.
    pub consumer_count: u32,
}

/// A declared queue, owning its AMQP channel.
///
/// Messages are published through the default exchange, straight to this
/// queue, with the mandatory flag and publisher confirms: a call returns once
/// the broker has the message. `Queue` is `Send`: move it to the thread that
/// uses it. If the broker closes the channel after an error, the next call
/// opens a new one.
pub struct Queue {
    slot: ChannelSlot,
    /// A second channel, without confirm mode, for unconfirmed publishing.
    unconfirmed: ChannelSlot,
    name: Arc<str>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Queue {
    pub(crate) fn declare(
        connection: SharedConnection,
        name: &str,
        options: &QueueOptions,
    ) -> Result<Queue> {
        check_queue_name(name)?;
        let declaration = Declaration {
            name: name.to_owned(),
            options: options.clone(),
        };
        // Opening the slot's channel declares the queue (and will again after a reconnection).
        let slot = ChannelSlot::new(connection.clone(), Some(declaration.clone()), true);
        slot.with("declare", name, |_| Ok(()))?;
        Ok(Queue {
            slot,
            unconfirmed: ChannelSlot::new(connection, Some(declaration), false),
            name: name.into(),
        })
    }

    /// A server-named queue is exclusive to its connection: it dies with it
    /// and cannot be declared again under the same name after a reconnection.
    pub(crate) fn declare_server_named(connection: SharedConnection) -> Result<Queue> {
        let options = QueueOptions::default()
            .durable(false)
            .exclusive(true)
            .auto_delete(true);
        let slot = ChannelSlot::new(connection.clone(), None, true);
        let name = slot.with("declare", "", |open| {
            open.channel
                .queue_declare("", options.to_amqp())
                .map(|queue| queue.name().to_owned())
        })?;
        Ok(Queue {
            slot,
            unconfirmed: ChannelSlot::new(connection, None, false),
            name: name.into(),
        })
    }

    pub(crate) fn existing(connection: SharedConnection, name: &str) -> Queue {
        Queue {
            slot: ChannelSlot::new(connection.clone(), None, true),
            unconfirmed: ChannelSlot::new(connection, None, false),
            name: name.into(),
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes `body` as a persistent message and returns once the broker
    /// has confirmed it. See [`publish_message`](Self::publish_message).
    pub fn publish(&self, body: &[u8]) -> Result<()> {
        self.publish_confirmed(&[(body, &Properties::PERSISTENT)])
    }

    /// Publishes `value` as a JSON message and returns once the broker has
    /// confirmed it (`serde` feature).
    #[cfg(feature = "serde")]
    pub fn publish_json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.publish_message(&Message::json(value)?)
    }

    /// Publishes `message` and returns once the broker has confirmed it. A
    /// message that the broker cannot route (the queue was deleted) is an
    /// [`Error::Unroutable`], not a silent drop.
    pub fn publish_message(&self, message: &Message) -> Result<()> {
        self.publish_confirmed(&[(message.body(), message.properties())])
    }

    /// Publishes every message, then waits once for the broker to confirm
    /// them all: much faster than confirming each. Fails if any message is
    /// refused, and with [`Error::Unroutable`] if the queue does not exist.
    ///
    /// Only the first and the last message carry the mandatory flag, which
    /// costs the broker work for each message that has it: through the
    /// default exchange a message is routed if and only if the queue exists
    /// when it arrives, so a batch sent to a missing queue, or one whose
    /// queue is deleted part-way, comes back with its last message. (A
    /// queue deleted and declared again within one batch would drop the
    /// messages in between unreported; deleting a queue drops its messages
    /// in any case.)
    pub fn publish_batch<I>(&self, messages: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: std::borrow::Borrow<Message>,
    {
        use std::borrow::Borrow;
        let messages: Vec<I::Item> = messages.into_iter().collect();
        let parts: Vec<(&[u8], &Properties)> = messages
            .iter()
            .map(|message| {
                let message = message.borrow();
                (message.body(), message.properties())
            })
            .collect();
        self.publish_confirmed(&parts)
    }

    /// Publishes `messages` and waits for the broker to confirm them all.
    fn publish_confirmed(&self, messages: &[(&[u8], &Properties)]) -> Result<()> {
        // Messages the broker has confirmed, across reconnections: only the
        // rest is published again after a loss.
        let mut confirmed = 0;
        self.slot
            .with("publish", &self.name, |open| {
                let first = open.published + 1;
                let batch = &messages[confirmed..];
                for (index, (body, properties)) in batch.iter().enumerate() {
                    // The default exchange routes by the queue's existence
                    // alone, so the batch's first and last messages tell
                    // whether it was routed; the flag costs the broker.
                    let mandatory = index == 0 || index + 1 == batch.len();
                    open.channel
                        .basic_publish("", self.to_publish(body, properties, mandatory))?;
                    open.published += 1;
                }
                match wait_for_confirms(open, first) {
                    Err(Unconfirmed::ChannelClosed { confirmed: count }) => {
                        confirmed += count;
                        Err(amiquip::Error::EventLoopDropped)
                    }
                    outcome => Ok(outcome),
                }
            })?
            .map_err(|outcome| match outcome {
                Unconfirmed::Refused(count) => Error::NotConfirmed {
                    queue: self.name.to_string(),
                    count,
                },
                Unconfirmed::Returned(reply) => Error::Unroutable {
                    queue: self.name.to_string(),
                    reply,
                },
                Unconfirmed::ChannelClosed { .. } => Error::ConnectionLost {
                    source: "the channel closed before the broker confirmed".into(),
                },
            })
    }

    /// Publishes `message` without waiting for the broker's confirm: the
    /// call returns once the message is handed to the connection. Faster,
    /// but a message lost in a broker crash or unroutable is not reported;
    /// use [`publish_message`](Self::publish_message) when that matters.
    /// These messages travel on a channel of their own, so they are not
    /// ordered with the confirmed ones.
    pub fn publish_unconfirmed(&self, message: &Message) -> Result<()> {
        // On a channel of its own, without confirm mode: the broker sends
        // no confirms to be read and thrown away.
        self.unconfirmed.with("publish", &self.name, |open| {
            open.channel.basic_publish(
                "",
                self.to_publish(message.body(), message.properties(), false),
            )
        })
    }

    fn to_publish<'a>(
        &self,
        body: &'a [u8],
        properties: &Properties,
        mandatory: bool,
    ) -> Publish<'a> {
        Publish {
            body,
            routing_key: self.name.to_string(),
            mandatory,
            immediate: false,
            properties: properties.to_amqp(),
        }
    }

    /// Takes one message from the queue, or returns `None` at once when the
    /// queue is empty. The message stays unacknowledged until
    /// [`Delivery::ack`]; dropped without an ack, it is redelivered.
    pub fn get(&self) -> Result<Option<Delivery>> {
        let mut generation = 0;
        let got = self.slot.with("get", &self.name, |open| {
            generation = open.generation;
            open.channel.basic_get(&*self.name, false)
        })?;
        Ok(got.map(|got| {
            Delivery::new(
                got.delivery,
                self.slot.clone(),
                generation,
                Arc::clone(&self.name),
            )
        }))
    }

    /// Starts a consumer on a channel of its own; see [`Consumer`].
    pub fn consume(&self, options: &ConsumeOptions) -> Result<Consumer> {
        Consumer::start(
            self.slot.connection(),
            self.slot.declaration().cloned(),
            Arc::clone(&self.name),
            options,
        )
    }

    /// Counts the messages ready in the queue and its consumers.
    pub fn info(&self) -> Result<QueueInfo> {
        self.slot.with("inspect", &self.name, |open| {
            open.channel
                .queue_declare_passive(&*self.name)
                .map(|queue| QueueInfo {
                    message_count: queue.declared_message_count().unwrap_or(0),
                    consumer_count: queue.declared_consumer_count().unwrap_or(0),
                })
        })
    }

    /// Removes every ready message; returns how many were removed.
    pub fn purge(&self) -> Result<u32> {
        self.slot.with("purge", &self.name, |open| {
            open.channel.queue_purge(&*self.name)
        })
    }

    /// Deletes the queue and the messages in it; returns how many messages were deleted.
    pub fn delete(self) -> Result<u32> {
        self.slot.with("delete", &self.name, |open| {
            open.channel
                .queue_delete(&*self.name, QueueDeleteOptions::default())
        })
    }
}

/// Why published messages were not all confirmed.
enum Unconfirmed {
    Refused(usize),
    Returned(String),
    /// The channel died; the first `confirmed` messages had been confirmed.
    ChannelClosed {
        confirmed: usize,
    },
}

/// Waits until the broker has confirmed every tag from `first` to
/// `open.published`, then reports any message it returned or refused.
fn wait_for_confirms(open: &OpenChannel, first: u64) -> std::result::Result<(), Unconfirmed> {
    let last = open.published;
    let mut confirmed_up_to = first - 1;
    let mut refused = 0usize;
    while confirmed_up_to < last {
        let Ok(confirm) = open.confirms.recv() else {
            let confirmed = usize::try_from(confirmed_up_to + 1 - first).unwrap_or(0);
            return Err(Unconfirmed::ChannelClosed { confirmed });
        };
        let (payload, acked) = match confirm {
            Confirm::Ack(payload) => (payload, true),
            Confirm::Nack(payload) => (payload, false),
        };
        let tag = payload.delivery_tag;
        if tag < first {
            continue; // an earlier call's confirm
        }
        // Confirms come in tag order; `multiple` covers every tag up to this one.
        let covered = if payload.multiple {
            tag.saturating_sub(confirmed_up_to)
        } else {
            1
        };
        if !acked {
            refused += usize::try_from(covered).unwrap_or(usize::MAX);
        }
        confirmed_up_to = confirmed_up_to.max(tag);
    }
    // The broker sends basic.return before the confirm of the same message.
    if let Ok(returned) = open.returns.try_recv() {
        while open.returns.try_recv().is_ok() {}
        return Err(Unconfirmed::Returned(format!(
            "{} {}",
            returned.reply_code, returned.reply_text
        )));
    }
    if refused > 0 {
        return Err(Unconfirmed::Refused(refused));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn handles_can_move_to_other_threads() {
        assert_send::<Queue>();
        assert_send::<Delivery>();
        assert_send::<Consumer>();
        assert_send::<crate::Connection>();
    }

    #[test]
    fn options_become_the_brokers_x_arguments() {
        let arguments = QueueOptions::default()
            .message_ttl(Duration::from_millis(1500))
            .max_length(10)
            .dead_letter(DeadLetter::to_queue("dead"))
            .queue_type(QueueType::Quorum)
            .arguments();
        assert_eq!(arguments["x-message-ttl"], AmqpValue::LongLongInt(1500));
        assert_eq!(arguments["x-max-length"], AmqpValue::LongLongInt(10));
        assert_eq!(
            arguments["x-dead-letter-exchange"],
            AmqpValue::LongString(String::new())
        );
        assert_eq!(
            arguments["x-dead-letter-routing-key"],
            AmqpValue::LongString("dead".into())
        );
        assert_eq!(
            arguments["x-queue-type"],
            AmqpValue::LongString("quorum".into())
        );
    }
}
