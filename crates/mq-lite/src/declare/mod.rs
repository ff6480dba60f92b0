//! Declaring queues: the options, the name checks, and what a handle
//! declares again when it opens a channel on a new connection.

mod names;
mod options;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub use names::{check_queue_name, check_queue_name_syntax, MAX_QUEUE_NAME_BYTES};
pub use options::{DeadLetter, QueueInfo, QueueOptions, QueueType};

use crate::error::Error;

/// What the channels of one queue handle (and of its consumers) declare,
/// and on which connection they last did.
///
/// A queue is declared once per connection: a channel reopened after a
/// channel error (on the same connection) declares nothing, so that a queue
/// someone deleted stays deleted and its handle says so
/// ([`Error::QueueNotFound`], [`Error::Unroutable`]) instead of silently
/// creating it again. A new connection, after a reconnection, declares it
/// again: a non-durable or exclusive queue did not survive.
#[derive(Debug)]
pub(crate) struct Declaration {
    kind: Kind,
    /// 1 + the epoch of the connection the queue was last declared on; 0: never.
    declared_on: AtomicU64,
}

#[derive(Debug)]
enum Kind {
    /// Declared by name, with these options.
    Named { name: String, options: QueueOptions },
    /// Named by the broker, exclusive to the connection that declared it.
    ServerNamed { name: OnceLock<String> },
    /// Declared elsewhere: never declared by this handle.
    Existing,
}

impl Declaration {
    /// The queue `name`, declared with `options` on each new connection.
    pub fn named(name: &str, options: &QueueOptions) -> Declaration {
        Self::new(Kind::Named {
            name: name.to_owned(),
            options: options.clone(),
        })
    }

    /// A queue the broker names, once [`server_named_declared`](Self::server_named_declared).
    pub fn server_named() -> Declaration {
        Self::new(Kind::ServerNamed {
            name: OnceLock::new(),
        })
    }

    /// Someone else's queue.
    pub fn existing() -> Declaration {
        Self::new(Kind::Existing)
    }

    fn new(kind: Kind) -> Declaration {
        Declaration {
            kind,
            declared_on: AtomicU64::new(0),
        }
    }

    /// Records that the broker named the queue `name` on connection `epoch`.
    pub fn server_named_declared(&self, name: &str, epoch: u64) {
        if let Kind::ServerNamed { name: slot } = &self.kind {
            let _ = slot.set(name.to_owned());
        }
        self.declared_on.store(epoch + 1, Ordering::Release);
    }

    /// On a channel of connection `epoch`: the error when the queue cannot
    /// be there (a broker-named queue died with the connection it was
    /// declared on, and another declare would give it another name).
    pub fn lost_on(&self, epoch: u64) -> Option<Error> {
        match &self.kind {
            Kind::ServerNamed { name } => {
                let declared_on = self.declared_on.load(Ordering::Acquire);
                (declared_on != 0 && declared_on != epoch + 1).then(|| Error::ReplyQueueLost {
                    queue: name.get().cloned().unwrap_or_default(),
                })
            }
            Kind::Named { .. } | Kind::Existing => None,
        }
    }

    /// Declares the queue on `channel` of connection `epoch`, unless it
    /// was declared on that connection already.
    pub fn declare_on(&self, channel: &amiquip::Channel, epoch: u64) -> amiquip::Result<()> {
        let Kind::Named { name, options } = &self.kind else {
            return Ok(());
        };
        if self.declared_on.load(Ordering::Acquire) == epoch + 1 {
            return Ok(());
        }
        channel.queue_declare(name.as_str(), options.to_amqp())?;
        self.declared_on.store(epoch + 1, Ordering::Release);
        Ok(())
    }
}
