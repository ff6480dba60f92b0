//! The settings a queue is declared with, as the broker's `x-` arguments.

use std::time::Duration;

use amiquip::{AmqpValue, FieldTable, QueueDeclareOptions};

use crate::error::{Error, Result};
use crate::limits::{short_string_problem, shorten};

use super::names::check_queue_name_syntax;

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

    /// Refuses what the broker could not use as an exchange name or routing key.
    fn check(&self) -> Result<()> {
        if let Some(reason) = short_string_problem(&self.exchange) {
            return Err(Error::InvalidArgument {
                argument: format!("dead-letter exchange {:?}", shorten(&self.exchange)),
                reason,
            });
        }
        match &self.routing_key {
            // Through the default exchange the routing key is a queue name.
            Some(queue) if self.exchange.is_empty() => check_queue_name_syntax(queue),
            Some(key) => match short_string_problem(key) {
                Some(reason) => Err(Error::InvalidArgument {
                    argument: format!("dead-letter routing key {:?}", shorten(key)),
                    reason,
                }),
                None => Ok(()),
            },
            None => Ok(()),
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
    /// A quorum queue's delivery limit (`x-delivery-limit`): a message
    /// handed back (nacked or requeued with its consumer gone) more than
    /// this many times is dropped, or dead-lettered to
    /// [`dead_letter`](Self::dead_letter), instead of coming back forever.
    /// Refused for a classic queue, which would ignore it.
    pub delivery_limit: Option<u32>,
    /// A quorum queue's dead-lettering at least once
    /// (`x-dead-letter-strategy=at-least-once`): a message is removed only
    /// once its [`dead_letter`](Self::dead_letter) target has confirmed it,
    /// where by default (at most once) a message the target cannot take at
    /// that moment (its leader failing over) is dropped. RabbitMQ asks for
    /// `x-overflow=reject-publish` with it, which this sets too (it only
    /// matters with a [`max_length`](Self::max_length)). RabbitMQ 3.10 or
    /// later. Refused on a classic queue or without a dead-letter target.
    pub dead_letter_at_least_once: bool,
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
            delivery_limit: None,
            dead_letter_at_least_once: false,
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

    /// Sets [`delivery_limit`](Self::delivery_limit).
    pub fn delivery_limit(mut self, deliveries: u32) -> Self {
        self.delivery_limit = Some(deliveries);
        self
    }

    /// Sets [`dead_letter_at_least_once`](Self::dead_letter_at_least_once).
    pub fn dead_letter_at_least_once(mut self, at_least_once: bool) -> Self {
        self.dead_letter_at_least_once = at_least_once;
        self
    }

    /// Refuses, before anything is sent, what AMQP cannot carry and what
    /// the broker would silently ignore.
    pub(crate) fn check(&self) -> Result<()> {
        if self.dead_letter_at_least_once
            && (self.queue_type == QueueType::Classic || self.dead_letter.is_none())
        {
            return Err(Error::InvalidArgument {
                argument: "dead-letter strategy at-least-once".into(),
                reason: "only a quorum queue with a dead-letter target dead-letters at least once"
                    .into(),
            });
        }
        if let (Some(limit), QueueType::Classic) = (self.delivery_limit, self.queue_type) {
            return Err(Error::InvalidArgument {
                argument: format!("delivery limit {limit}"),
                reason: "only a quorum queue counts deliveries; a classic queue would ignore it"
                    .into(),
            });
        }
        self.dead_letter.as_ref().map_or(Ok(()), DeadLetter::check)
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
        if let Some(limit) = self.delivery_limit {
            arguments.insert(
                "x-delivery-limit".into(),
                AmqpValue::LongLongInt(i64::from(limit)),
            );
        }
        if self.dead_letter_at_least_once {
            arguments.insert(
                "x-dead-letter-strategy".into(),
                AmqpValue::LongString("at-least-once".into()),
            );
            arguments.insert(
                "x-overflow".into(),
                AmqpValue::LongString("reject-publish".into()),
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

impl QueueInfo {
    /// Asks the broker about queue `name` on `channel` (a passive declare,
    /// which closes the channel if the queue does not exist).
    pub(crate) fn inspect(channel: &amiquip::Channel, name: &str) -> amiquip::Result<QueueInfo> {
        channel.queue_declare_passive(name).map(|queue| QueueInfo {
            message_count: queue.declared_message_count().unwrap_or(0),
            consumer_count: queue.declared_consumer_count().unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_the_brokers_x_arguments() {
        let arguments = QueueOptions::default()
            .message_ttl(Duration::from_millis(1500))
            .max_length(10)
            .dead_letter(DeadLetter::to_queue("dead"))
            .queue_type(QueueType::Quorum)
            .delivery_limit(3)
            .dead_letter_at_least_once(true)
            .arguments();
        assert_eq!(arguments["x-delivery-limit"], AmqpValue::LongLongInt(3));
        assert_eq!(
            arguments["x-dead-letter-strategy"],
            AmqpValue::LongString("at-least-once".into())
        );
        assert_eq!(
            arguments["x-overflow"],
            AmqpValue::LongString("reject-publish".into())
        );
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

    #[test]
    fn at_least_once_dead_lettering_needs_a_quorum_queue_and_a_target() {
        for options in [
            QueueOptions::default()
                .dead_letter(DeadLetter::to_queue("dead"))
                .dead_letter_at_least_once(true),
            QueueOptions::default()
                .queue_type(QueueType::Quorum)
                .dead_letter_at_least_once(true),
        ] {
            assert!(matches!(
                options.check(),
                Err(Error::InvalidArgument { .. })
            ));
        }
    }

    #[test]
    fn a_dead_letter_target_amqp_cannot_carry_is_refused() {
        let newline = QueueOptions::default().dead_letter(DeadLetter::to_queue("dead\n"));
        assert!(matches!(
            newline.check(),
            Err(Error::InvalidQueueName { .. })
        ));
        let long_exchange = QueueOptions::default().dead_letter(DeadLetter {
            exchange: "x".repeat(256),
            routing_key: None,
        });
        assert!(matches!(
            long_exchange.check(),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
