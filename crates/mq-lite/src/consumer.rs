//! Consuming a queue as a blocking iterator.

use std::sync::Arc;
use std::time::{Duration, Instant};

use amiquip::{ConsumerMessage, ConsumerOptions};
use crossbeam_channel::RecvTimeoutError;

use crate::channel::{ChannelSlot, Declaration, SharedConnection};
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
/// lost and no reconnect policy is set). With an
/// [`idle_timeout`](ConsumeOptions::idle_timeout) the iteration also ends
/// after that long without a message. Under a
/// [`ReconnectPolicy`](crate::ReconnectPolicy) the consumer survives a broker
/// restart: it reconnects, declares its queue again and goes on.
///
/// Dropping the consumer closes its channel: the broker requeues the
/// messages it had sent and that were not acknowledged yet. `Consumer` is
/// `Send`.
pub struct Consumer {
    slot: ChannelSlot,
    generation: u64,
    messages: crossbeam_channel::Receiver<ConsumerMessage>,
    queue: Arc<str>,
    prefetch: u16,
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
        declaration: Option<Declaration>,
        queue: Arc<str>,
        options: &ConsumeOptions,
    ) -> Result<Consumer> {
        let slot = ChannelSlot::new(connection.clone(), declaration, false);
        let (messages, generation) = begin(&slot, &queue, options.prefetch)?;
        Ok(Consumer {
            slot,
            generation,
            messages,
            queue,
            prefetch: options.prefetch,
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
        self.wait(Some(timeout))
    }

    /// Waits for the next delivery, up to `timeout` if given, reconnecting
    /// under the connection's policy when the connection is lost.
    fn wait(&mut self, timeout: Option<Duration>) -> Result<Option<Delivery>> {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        loop {
            let received = match deadline {
                Some(deadline) => self.messages.recv_deadline(deadline),
                None => self
                    .messages
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            let outcome = match received {
                Ok(message) => self.handle(message),
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => Err(Error::ConnectionLost {
                    source: "the consumer's channel closed".into(),
                }),
            };
            match outcome {
                Ok(delivery) => return Ok(Some(delivery)),
                Err(Error::ConnectionLost { .. }) if self.slot.connection().recovers() => {
                    self.slot.invalidate();
                    (self.messages, self.generation) =
                        begin(&self.slot, &self.queue, self.prefetch)?;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn handle(&mut self, message: ConsumerMessage) -> Result<Delivery> {
        match message {
            ConsumerMessage::Delivery(delivery) => Ok(Delivery::new(
                delivery,
                self.slot.clone(),
                self.generation,
                Arc::clone(&self.queue),
            )),
            ConsumerMessage::ServerCancelled | ConsumerMessage::ClientCancelled => {
                Err(Error::ConsumerCancelled {
                    queue: self.queue.to_string(),
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
}

/// Starts consuming `queue` on the slot's channel; returns where the
/// messages arrive and the channel's opening number.
fn begin(
    slot: &ChannelSlot,
    queue: &str,
    prefetch: u16,
) -> Result<(crossbeam_channel::Receiver<ConsumerMessage>, u64)> {
    slot.with("consume", queue, |open| {
        open.channel.qos(0, prefetch, false)?;
        let consumer = open
            .channel
            .basic_consume(queue, ConsumerOptions::default())?;
        let messages = consumer.receiver().clone();
        // amiquip's consumer borrows its channel, which would tie this handle
        // to a stack frame. Its only duty on drop is to cancel the consumer;
        // closing the channel (Consumer's Drop) does that too.
        std::mem::forget(consumer);
        Ok((messages, open.generation))
    })
}

impl Iterator for Consumer {
    type Item = Result<Delivery>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.wait(self.idle_timeout) {
            Ok(Some(delivery)) => Some(Ok(delivery)),
            Ok(None) => None,
            Err(err) => {
                self.finished = true;
                Some(Err(err))
            }
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.slot.close();
    }
}
