//! The owned handle on a declared queue: publish to it, read from it,
//! inspect, purge and delete it.

use std::sync::Arc;
use std::time::Instant;

use amiquip::QueueDeleteOptions;

use crate::amqp_error::Call;
use crate::channel::ChannelSlot;
use crate::consumer::{ConsumeOptions, Consumer};
use crate::declare::{check_queue_name, Declaration, QueueInfo, QueueOptions};
use crate::delivery::{Delivery, Settler};
use crate::error::Result;
use crate::link::SharedConnection;
use crate::message::{Message, Properties};
use crate::publish::{check_all, publish_confirmed, to_publish};

/// A declared queue, owning its AMQP channels.
///
/// Messages are published through the default exchange, straight to this
/// queue, with the mandatory flag and publisher confirms: a call returns once
/// the broker has the message, or with an error within the publish timeout.
/// `Queue` is `Send` and `Sync`: move it to the thread that uses it, or
/// share it. If the broker closes a channel after an error, the next call
/// opens a new one.
///
/// A handle has up to three channels, each opened on first use: one for
/// confirmed publishing and requests (declare, inspect, purge, delete), one
/// for [`get`](Self::get) and the settling of what it took, and one for
/// [`publish_unconfirmed`](Self::publish_unconfirmed). So an error on a
/// publish (the broker closed that channel, or a confirm came too late)
/// leaves the deliveries taken by `get` on their channel, to be settled.
pub struct Queue {
    slot: ChannelSlot,
    /// Gets and their acks, apart from publishing: see above.
    reads: ChannelSlot,
    /// Without confirm mode, for unconfirmed publishing.
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
    fn new(connection: SharedConnection, declaration: Declaration, name: &str) -> Queue {
        let declaration = Arc::new(declaration);
        Queue::with_slots(connection, declaration, name.into())
    }

    fn with_slots(
        connection: SharedConnection,
        declaration: Arc<Declaration>,
        name: Arc<str>,
    ) -> Queue {
        Queue {
            slot: ChannelSlot::new(connection.clone(), Arc::clone(&declaration), true),
            reads: ChannelSlot::new(connection.clone(), Arc::clone(&declaration), false),
            unconfirmed: ChannelSlot::new(connection, declaration, false),
            name,
        }
    }

    /// A call on this queue that the broker must answer within the request timeout.
    fn request(&self, operation: &'static str) -> Call<'_> {
        self.slot.connection().request(operation, &self.name)
    }

    fn request_deadline(&self) -> Instant {
        Instant::now() + self.slot.connection().timeouts().request
    }

    pub(crate) fn declare(
        connection: SharedConnection,
        name: &str,
        options: &QueueOptions,
    ) -> Result<Queue> {
        check_queue_name(name)?;
        options.check()?;
        let queue = Queue::new(connection, Declaration::named(name, options), name);
        // Opening the slot's channel declares the queue (and will again
        // on the next connection, after a reconnection).
        queue.slot.with(queue.request("declare"), |_| Ok(()))?;
        Ok(queue)
    }

    /// A server-named queue is exclusive to its connection: it dies with it,
    /// and a reconnection makes its handles fail with
    /// [`Error::ReplyQueueLost`](crate::Error::ReplyQueueLost).
    pub(crate) fn declare_server_named(connection: SharedConnection) -> Result<Queue> {
        let options = QueueOptions::default()
            .durable(false)
            .exclusive(true)
            .auto_delete(true);
        let declaration = Arc::new(Declaration::server_named());
        let slot = ChannelSlot::new(connection.clone(), Arc::clone(&declaration), true);
        let call = connection.request("declare", "");
        let deadline = Instant::now() + call.timeout;
        let name: Arc<str> = slot.with(call, |open| {
            let name = open.within(deadline, |channel| {
                channel
                    .queue_declare("", options.to_amqp())
                    .map(|queue| queue.name().to_owned())
            })?;
            declaration.server_named_declared(&name, open.epoch);
            Ok(name.into())
        })?;
        let mut queue = Queue::with_slots(connection, declaration, name);
        // Keep the channel that declared it.
        queue.slot = slot;
        Ok(queue)
    }

    pub(crate) fn existing(connection: SharedConnection, name: &str) -> Queue {
        Queue::new(connection, Declaration::existing(), name)
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes `body` as a persistent message and returns once the broker
    /// has confirmed it. See [`publish_message`](Self::publish_message).
    pub fn publish(&self, body: &[u8]) -> Result<()> {
        publish_confirmed(&self.slot, &self.name, &[(body, &Properties::PERSISTENT)])
    }

    /// Publishes `value` as a JSON message and returns once the broker has
    /// confirmed it (`serde` feature).
    #[cfg(feature = "serde")]
    pub fn publish_json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.publish_message(&Message::json(value)?)
    }

    /// Publishes `message` and returns once the broker has confirmed it.
    ///
    /// - A property AMQP cannot carry (a short string over 255 bytes) is an
    ///   [`Error::InvalidArgument`](crate::Error::InvalidArgument), refused
    ///   before anything is sent.
    /// - A message the broker cannot route (the queue was deleted) is an
    ///   [`Error::Unroutable`](crate::Error::Unroutable), not a silent drop.
    /// - A message over the broker's size limit is an
    ///   [`Error::MessageTooLarge`](crate::Error::MessageTooLarge); the
    ///   handle and the connection stay usable.
    /// - While the broker blocks publishers (a memory or disk alarm), the
    ///   call fails at once with [`Error::Blocked`](crate::Error::Blocked).
    /// - Without the broker's confirm within the publish timeout, it fails
    ///   with [`Error::PublishTimeout`](crate::Error::PublishTimeout).
    pub fn publish_message(&self, message: &Message) -> Result<()> {
        publish_confirmed(
            &self.slot,
            &self.name,
            &[(message.body(), message.properties())],
        )
    }

    /// Publishes every message, then waits once for the broker to confirm
    /// them all: much faster than confirming each. Fails if any message is
    /// refused, and with [`Error::Unroutable`](crate::Error::Unroutable) if
    /// the queue does not exist. Every message is checked before the first
    /// is sent.
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
        publish_confirmed(&self.slot, &self.name, &parts)
    }

    /// Publishes `message` without waiting for the broker's confirm: the
    /// call returns once the message is handed to the connection. Faster,
    /// but a message lost in a broker crash or unroutable is not reported;
    /// use [`publish_message`](Self::publish_message) when that matters.
    /// These messages travel on a channel of their own, so they are not
    /// ordered with the confirmed ones. Refused, like the others, while the
    /// broker blocks publishers.
    pub fn publish_unconfirmed(&self, message: &Message) -> Result<()> {
        let parts = [(message.body(), message.properties())];
        check_all(&parts)?;
        let call = self
            .slot
            .connection()
            .publishing(&self.name, message.body().len());
        // On a channel of its own, without confirm mode: the broker sends
        // no confirms to be read and thrown away.
        self.unconfirmed.with(call, |open| {
            open.within(Instant::now() + call.timeout, |channel| {
                channel.basic_publish(
                    "",
                    to_publish(&self.name, message.body(), message.properties(), false),
                )
            })
        })
    }

    /// Takes one message from the queue, or returns `None` at once when the
    /// queue is empty. The message stays unacknowledged until
    /// [`Delivery::ack`]; dropped without an ack, it is redelivered.
    ///
    /// Gets run on a channel of their own (see [`Queue`]), where their
    /// deliveries are settled: an error on a publish does not stop them
    /// from being acknowledged. An error of a get (the queue was deleted,
    /// the broker closed the channel) does: the broker requeues what was
    /// taken on that channel and not settled, and settling it fails with
    /// [`Error::DeliveryChannelClosed`](crate::Error::DeliveryChannelClosed).
    pub fn get(&self) -> Result<Option<Delivery>> {
        let mut generation = 0;
        let got = self.reads.with(self.request("get"), |open| {
            generation = open.generation;
            open.within(self.request_deadline(), |channel| {
                channel.basic_get(&*self.name, false)
            })
        })?;
        Ok(got.map(|got| {
            Delivery::new(
                got.delivery,
                Settler::Slot {
                    slot: self.reads.clone(),
                    generation,
                },
                Arc::clone(&self.name),
            )
        }))
    }

    /// Starts a consumer on a channel of its own; see [`Consumer`].
    pub fn consume(&self, options: &ConsumeOptions) -> Result<Consumer> {
        Consumer::start(
            self.slot.connection().clone(),
            Arc::clone(self.slot.declaration()),
            Arc::clone(&self.name),
            options,
        )
    }

    /// Counts the messages ready in the queue and its consumers.
    pub fn info(&self) -> Result<QueueInfo> {
        self.slot.with(self.request("inspect"), |open| {
            open.within(self.request_deadline(), |channel| {
                QueueInfo::inspect(channel, &self.name)
            })
        })
    }

    /// Removes every ready message; returns how many were removed.
    pub fn purge(&self) -> Result<u32> {
        self.slot.with(self.request("purge"), |open| {
            open.within(self.request_deadline(), |channel| {
                channel.queue_purge(&*self.name)
            })
        })
    }

    /// Deletes the queue and the messages in it; returns how many messages were deleted.
    pub fn delete(self) -> Result<u32> {
        self.slot.with(self.request("delete"), |open| {
            open.within(self.request_deadline(), |channel| {
                channel.queue_delete(&*self.name, QueueDeleteOptions::default())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn handles_can_move_to_other_threads_and_connections_and_queues_can_be_shared() {
        assert_send_sync::<Queue>();
        assert_send_sync::<crate::Connection>();
        assert_send::<Delivery>();
        assert_send::<Consumer>();
    }
}
