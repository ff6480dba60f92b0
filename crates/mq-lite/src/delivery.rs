//! One message handed to the application, and how it is settled.

use std::sync::{Arc, OnceLock};

use crate::channel::ChannelSlot;
use crate::error::Result;
use crate::message::Properties;

/// One message taken from a queue, not yet settled.
///
/// Settle it with [`ack`](Self::ack), [`nack`](Self::nack) or
/// [`reject`](Self::reject). Dropped unsettled (the worker panicked, say),
/// it is handed back to the broker, which delivers it again with
/// [`redelivered`](Self::redelivered) set: nothing is lost.
pub struct Delivery {
    inner: Option<amiquip::Delivery>,
    /// Converted on first use: most workers never look at them.
    properties: OnceLock<Properties>,
    slot: ChannelSlot,
    generation: u64,
    queue: Arc<str>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("queue", &self.queue)
            .field("bytes", &self.body().len())
            .field("redelivered", &self.redelivered())
            .field("properties", self.properties())
            .finish()
    }
}

impl Delivery {
    pub(crate) fn new(
        inner: amiquip::Delivery,
        slot: ChannelSlot,
        generation: u64,
        queue: Arc<str>,
    ) -> Delivery {
        Delivery {
            properties: OnceLock::new(),
            inner: Some(inner),
            slot,
            generation,
            queue,
        }
    }

    /// The message body, byte for byte as published.
    pub fn body(&self) -> &[u8] {
        self.inner.as_ref().map_or(&[], |d| d.body.as_slice())
    }

    /// The message's properties (content type, headers, reply-to, ...).
    pub fn properties(&self) -> &Properties {
        self.properties.get_or_init(|| {
            self.inner.as_ref().map_or_else(Properties::default, |d| {
                Properties::from_amqp(&d.properties)
            })
        })
    }

    /// True when the broker delivered this message before and it was not acknowledged.
    pub fn redelivered(&self) -> bool {
        self.inner.as_ref().is_some_and(|d| d.redelivered)
    }

    /// The queue the message came from.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Decodes the body as JSON (`serde` feature).
    #[cfg(feature = "serde")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(self.body()).map_err(|err| crate::Error::Json {
            operation: "decode",
            source: Box::new(err),
        })
    }

    /// Acknowledges the message: the broker forgets it.
    pub fn ack(mut self) -> Result<()> {
        self.settle("ack", |delivery, channel| delivery.ack(channel))
    }

    /// Refuses the message: back in the queue if `requeue`, else dropped
    /// (or dead-lettered, if the queue has a dead-letter target).
    pub fn nack(mut self, requeue: bool) -> Result<()> {
        self.settle("nack", |delivery, channel| delivery.nack(channel, requeue))
    }

    /// Like [`nack`](Self::nack), with AMQP's `basic.reject`.
    pub fn reject(mut self, requeue: bool) -> Result<()> {
        self.settle("reject", |delivery, channel| {
            delivery.reject(channel, requeue)
        })
    }

    fn settle(
        &mut self,
        operation: &'static str,
        run: impl FnOnce(amiquip::Delivery, &amiquip::Channel) -> amiquip::Result<()>,
    ) -> Result<()> {
        match self.inner.take() {
            Some(delivery) => {
                self.slot
                    .with_generation(self.generation, operation, &self.queue, |channel| {
                        run(delivery, channel)
                    })
            }
            None => Ok(()),
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        // Hand an unsettled message back now rather than when the channel closes.
        let _ = self.settle("requeue", |delivery, channel| delivery.nack(channel, true));
    }
}
