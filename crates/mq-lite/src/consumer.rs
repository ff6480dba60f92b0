//! Consuming a queue as a blocking iterator.

use std::time::Duration;

use amiquip::{ConsumerMessage, ConsumerOptions};
use crossbeam_channel::RecvTimeoutError;

use crate::channel::{ChannelSlot, SharedConnection};
use crate::delivery::Delivery;
use crate::error::{Error, Result};

/// How a [`Consumer`] receives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumeOptions {
    /// How many unacknowledged messages the broker sends ahead (QoS
    /// prefetch). 1 spreads work evenly between workers; 100 or more
    /// maximises throughput.
    pub prefetch: u16,
    /// Iteration ends after this long without a message; `None` waits for ever.
    pub idle_timeout: Option<Duration>,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        ConsumeOptions {
            prefetch: 10,
            idle_timeout: None,
        }
    }
}

impl ConsumeOptions {
    /// Sets [`prefetch`](Self::prefetch).
    pub fn prefetch(mut self, prefetch: u16) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }
}

/// A consumer of one queue, on a channel of its own: a blocking iterator of
/// deliveries.
///
/// Each item is a [`Delivery`] to settle, or an error after which the
/// iteration ends (the broker cancelled the consumer, the connection was
/// lost). With an [`idle_timeout`](ConsumeOptions::idle_timeout) the
/// iteration also ends after that long without a message.
///
/// Dropping the consumer closes its channel: the broker requeues the
/// messages it had sent and that were not acknowledged yet. `Consumer` is
/// `Send`.
pub struct Consumer {
    slot: ChannelSlot,
    generation: u64,
    messages: crossbeam_channel::Receiver<ConsumerMessage>,
    queue: String,
    idle_timeout: Option<Duration>,
    finished: bool,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl Consumer {
    pub(crate) fn start(
        connection: &SharedConnection,
        queue: &str,
        options: &ConsumeOptions,
    ) -> Result<Consumer> {
        let slot = ChannelSlot::new(connection.clone());
        let mut generation = 0;
        let messages = slot.with("consume", queue, |open| {
            generation = open.generation;
            open.channel.qos(0, options.prefetch, false)?;
            let consumer = open
                .channel
                .basic_consume(queue, ConsumerOptions::default())?;
            let messages = consumer.receiver().clone();
            // amiquip's consumer borrows its channel, which would tie this
            // handle to a stack frame. Its only duty on drop is to cancel the
            // consumer; closing the channel (our Drop) does that too.
            std::mem::forget(consumer);
            Ok(messages)
        })?;
        Ok(Consumer {
            slot,
            generation,
            messages,
            queue: queue.to_owned(),
            idle_timeout: options.idle_timeout,
            finished: false,
        })
    }

    /// The queue being consumed.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Waits up to `timeout` for the next delivery: `Ok(None)` when none came.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Delivery>> {
        match self.messages.recv_timeout(timeout) {
            Ok(message) => self.handle(message).map(Some),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(self.lost()),
        }
    }

    fn handle(&mut self, message: ConsumerMessage) -> Result<Delivery> {
        match message {
            ConsumerMessage::Delivery(delivery) => Ok(Delivery::new(
                delivery,
                self.slot.clone(),
                self.generation,
                &self.queue,
            )),
            ConsumerMessage::ServerCancelled | ConsumerMessage::ClientCancelled => {
                Err(Error::ConsumerCancelled {
                    queue: self.queue.clone(),
                })
            }
            ConsumerMessage::ServerClosedChannel(err)
            | ConsumerMessage::ServerClosedConnection(err) => {
                Err(crate::channel::classify("consume", &self.queue, err))
            }
            ConsumerMessage::ClientClosedChannel | ConsumerMessage::ClientClosedConnection => {
                Err(Error::ConnectionClosed)
            }
        }
    }

    fn lost(&self) -> Error {
        Error::ConnectionLost {
            source: "the consumer's channel closed".into(),
        }
    }
}

impl Iterator for Consumer {
    type Item = Result<Delivery>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let received = match self.idle_timeout {
            Some(timeout) => match self.messages.recv_timeout(timeout) {
                Ok(message) => Ok(message),
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => Err(()),
            },
            None => self.messages.recv().map_err(drop),
        };
        let item = match received {
            Ok(message) => self.handle(message),
            Err(()) => Err(self.lost()),
        };
        self.finished = item.is_err();
        Some(item)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.slot.close();
    }
}
