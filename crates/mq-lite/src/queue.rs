//! Declaring a queue, and the owned handle that publishes to it and reads from it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use amiquip::{AmqpProperties, Confirm, Publish, QueueDeclareOptions};

use crate::error::{boxed, Error, Result};
use crate::names::check_queue_name;

/// How a queue is declared. `Default` gives a durable, shared queue that
/// outlives its consumers: the usual work queue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueOptions {
    /// Survives a broker restart (its persistent messages too).
    pub durable: bool,
    /// Used by this connection only, and deleted when it closes.
    pub exclusive: bool,
    /// Deleted by the broker once its last consumer goes away.
    pub auto_delete: bool,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            durable: true,
            exclusive: false,
            auto_delete: false,
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
}

/// A declared queue, owning its AMQP channel.
///
/// Messages are published through the default exchange, straight to this
/// queue, as persistent messages with publisher confirms. `Queue` is `Send`:
/// move it to the thread that uses it.
pub struct Queue {
    channel: SharedChannel,
    name: String,
    confirms: crossbeam_channel::Receiver<Confirm>,
    returns: crossbeam_channel::Receiver<amiquip::Return>,
    published: AtomicU64,
}

/// amiquip's channel is `Send` but not `Sync`: the mutex makes the queue and
/// its deliveries `Send`, and serialises a publish with its confirm so that
/// delivery tags match up.
#[derive(Clone)]
struct SharedChannel(Arc<Mutex<amiquip::Channel>>);

impl SharedChannel {
    fn lock(&self) -> MutexGuard<'_, amiquip::Channel> {
        // A panic elsewhere while holding the lock leaves the channel usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
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
        channel: amiquip::Channel,
        name: &str,
        options: &QueueOptions,
    ) -> Result<Queue> {
        check_queue_name(name)?;
        let failed = |operation| {
            move |err: amiquip::Error| Error::QueueOperation {
                operation,
                queue: name.to_owned(),
                source: boxed(err),
            }
        };
        channel
            .queue_declare(
                name,
                QueueDeclareOptions {
                    durable: options.durable,
                    exclusive: options.exclusive,
                    auto_delete: options.auto_delete,
                    arguments: Default::default(),
                },
            )
            .map_err(failed("declare"))?;
        let returns = channel.listen_for_returns().map_err(failed("declare"))?;
        let confirms = channel
            .listen_for_publisher_confirms()
            .map_err(failed("declare"))?;
        channel
            .enable_publisher_confirms()
            .map_err(failed("declare"))?;
        Ok(Queue {
            channel: SharedChannel(Arc::new(Mutex::new(channel))),
            name: name.to_owned(),
            confirms,
            returns,
            published: AtomicU64::new(0),
        })
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes `body` as a persistent message and returns once the broker
    /// has confirmed it. A message the broker could not route to the queue
    /// (it was deleted meanwhile) is an [`Error::Unroutable`], not a silent drop.
    pub fn publish(&self, body: &[u8]) -> Result<()> {
        let failed = |err: amiquip::Error| Error::QueueOperation {
            operation: "publish",
            queue: self.name.clone(),
            source: boxed(err),
        };
        let channel = self.channel.lock();
        let tag = self.published.fetch_add(1, Ordering::SeqCst) + 1;
        let properties = AmqpProperties::default().with_delivery_mode(2);
        channel
            .basic_publish(
                "",
                Publish {
                    body,
                    routing_key: self.name.clone(),
                    mandatory: true,
                    immediate: false,
                    properties,
                },
            )
            .map_err(failed)?;
        loop {
            let confirm = self.confirms.recv().map_err(|_| Error::QueueOperation {
                operation: "publish",
                queue: self.name.clone(),
                source: "the connection closed before the broker confirmed".into(),
            })?;
            let (payload, acked) = match confirm {
                Confirm::Ack(payload) => (payload, true),
                Confirm::Nack(payload) => (payload, false),
            };
            if payload.delivery_tag < tag {
                continue; // a confirm for an earlier message
            }
            if !acked {
                return Err(Error::QueueOperation {
                    operation: "publish",
                    queue: self.name.clone(),
                    source: "the broker refused the message (nack)".into(),
                });
            }
            break;
        }
        // The broker sends basic.return before the confirm of the same message.
        if let Ok(returned) = self.returns.try_recv() {
            return Err(Error::Unroutable {
                queue: self.name.clone(),
                reply: format!("{} {}", returned.reply_code, returned.reply_text),
            });
        }
        Ok(())
    }

    /// Takes one message from the queue, or returns `None` at once when the
    /// queue is empty. The message stays unacknowledged until
    /// [`Delivery::ack`]; dropped without an ack, it is redelivered later.
    pub fn get(&self) -> Result<Option<Delivery>> {
        let got = self
            .channel
            .lock()
            .basic_get(self.name.as_str(), false)
            .map_err(|err| Error::QueueOperation {
                operation: "get",
                queue: self.name.clone(),
                source: boxed(err),
            })?;
        Ok(got.map(|got| Delivery {
            inner: Some(got.delivery),
            channel: self.channel.clone(),
            queue: self.name.clone(),
        }))
    }
}

/// One message taken from a queue, not yet acknowledged.
pub struct Delivery {
    inner: Option<amiquip::Delivery>,
    channel: SharedChannel,
    queue: String,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("queue", &self.queue)
            .field("bytes", &self.body().len())
            .field("redelivered", &self.redelivered())
            .finish()
    }
}

impl Delivery {
    /// The message body, byte for byte as published.
    pub fn body(&self) -> &[u8] {
        self.inner.as_ref().map_or(&[], |d| d.body.as_slice())
    }

    /// True when the broker delivered this message before and it was not acknowledged.
    pub fn redelivered(&self) -> bool {
        self.inner.as_ref().is_some_and(|d| d.redelivered)
    }

    /// Acknowledges the message: the broker forgets it.
    pub fn ack(mut self) -> Result<()> {
        match self.inner.take() {
            Some(delivery) => {
                delivery
                    .ack(&self.channel.lock())
                    .map_err(|err| Error::QueueOperation {
                        operation: "ack",
                        queue: self.queue.clone(),
                        source: boxed(err),
                    })
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    fn assert_send<T: Send>() {}

    #[test]
    fn handles_can_move_to_other_threads() {
        assert_send::<super::Queue>();
        assert_send::<super::Delivery>();
        assert_send::<crate::Connection>();
    }
}
