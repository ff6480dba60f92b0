//! One message handed to the application, and how it is settled.

use std::sync::{Arc, OnceLock};

use crate::channel::ChannelSlot;
use crate::consumer::session::SessionHandle;
use crate::error::Result;
use crate::message::Properties;

/// How a delivery is acknowledged or refused.
pub(crate) enum Settle {
    Ack,
    Nack { requeue: bool },
    Reject { requeue: bool },
}

impl Settle {
    fn operation(&self) -> &'static str {
        match self {
            Settle::Ack => "ack",
            Settle::Nack { requeue: true } => "requeue",
            Settle::Nack { .. } => "nack",
            Settle::Reject { .. } => "reject",
        }
    }

    /// Settles `delivery` on `channel`, the one it came from.
    pub fn apply(
        self,
        delivery: amiquip::Delivery,
        channel: &amiquip::Channel,
    ) -> amiquip::Result<()> {
        match self {
            Settle::Ack => delivery.ack(channel),
            Settle::Nack { requeue } => delivery.nack(channel, requeue),
            Settle::Reject { requeue } => delivery.reject(channel, requeue),
        }
    }
}

/// Where a delivery is settled: the channel it came from.
pub(crate) enum Settler {
    /// A queue handle's channel (`get`), while it is the opening `generation`.
    Slot { slot: ChannelSlot, generation: u64 },
    /// A consumer's channel, owned by its session thread.
    Session(SessionHandle),
}

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
    settler: Settler,
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
    pub(crate) fn new(inner: amiquip::Delivery, settler: Settler, queue: Arc<str>) -> Delivery {
        Delivery {
            properties: OnceLock::new(),
            inner: Some(inner),
            settler,
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
    ///
    /// A delivery from a [`Consumer`](crate::Consumer) is settled on the
    /// consumer's channel, which a thread of its own owns: the call hands
    /// the ack over and returns (an ack never waits for the broker, which
    /// does not answer it), and the acks of one consumer reach the broker in
    /// the order they were made. Acks made faster than that thread sends
    /// them go as one `basic.ack` with `multiple` set, when every delivery
    /// it covers is settled: never one a worker still holds. After the
    /// consumer is dropped, cancelled
    /// or has seen its channel close, settling fails with
    /// [`Error::DeliveryChannelClosed`](crate::Error::DeliveryChannelClosed):
    /// the broker requeues the message.
    pub fn ack(mut self) -> Result<()> {
        self.settle(Settle::Ack)
    }

    /// Refuses the message: back in the queue if `requeue`, else dropped
    /// (or dead-lettered, if the queue has a dead-letter target).
    pub fn nack(mut self, requeue: bool) -> Result<()> {
        self.settle(Settle::Nack { requeue })
    }

    /// Like [`nack`](Self::nack), with AMQP's `basic.reject`.
    pub fn reject(mut self, requeue: bool) -> Result<()> {
        self.settle(Settle::Reject { requeue })
    }

    fn settle(&mut self, how: Settle) -> Result<()> {
        let Some(delivery) = self.inner.take() else {
            return Ok(());
        };
        match &self.settler {
            Settler::Slot { slot, generation } => {
                let call = slot.connection().request(how.operation(), &self.queue);
                slot.with_generation(*generation, call, |channel| how.apply(delivery, channel))
            }
            Settler::Session(session) => session.settle(delivery, how, &self.queue),
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        // Hand an unsettled message back now rather than when the channel closes.
        let _ = self.settle(Settle::Nack { requeue: true });
    }
}
