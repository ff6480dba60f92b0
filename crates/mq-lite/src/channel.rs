//! An AMQP channel that can be shared by a queue handle and its deliveries,
//! and reopened after the broker closed it.
//!
//! amiquip's `Channel` is `Send` but not `Sync`, and the broker closes a
//! channel on any channel-level error (an unknown queue, a declare with other
//! arguments). The slot keeps the channel behind a mutex, reopens it on the
//! next use after such an error, and numbers each opening, so that a
//! delivery taken on an earlier opening is never acknowledged on a later one
//! (its delivery tag would name another message).

use std::sync::{Arc, Mutex, MutexGuard};

use amiquip::Confirm;

use crate::error::{boxed, Error, Result};

/// The connection, shared so that queues and consumers can open channels.
#[derive(Clone)]
pub(crate) struct SharedConnection(Arc<Mutex<Option<amiquip::Connection>>>);

impl SharedConnection {
    pub fn new(connection: amiquip::Connection) -> Self {
        SharedConnection(Arc::new(Mutex::new(Some(connection))))
    }

    fn lock(&self) -> MutexGuard<'_, Option<amiquip::Connection>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn open_channel(&self) -> Result<amiquip::Channel> {
        match self.lock().as_mut() {
            Some(connection) => connection
                .open_channel(None)
                .map_err(|err| Error::Channel { source: boxed(err) }),
            None => Err(Error::ConnectionClosed),
        }
    }

    pub fn close(&self) -> Result<()> {
        match self.lock().take() {
            Some(connection) => connection
                .close()
                .map_err(|err| Error::Channel { source: boxed(err) }),
            None => Ok(()),
        }
    }
}

/// An open channel with publisher confirms on, and what listens on it.
pub(crate) struct OpenChannel {
    pub channel: amiquip::Channel,
    pub confirms: crossbeam_channel::Receiver<Confirm>,
    pub returns: crossbeam_channel::Receiver<amiquip::Return>,
    /// Messages published on this opening: the next one gets tag `published + 1`.
    pub published: u64,
    pub generation: u64,
}

struct SlotState {
    open: Option<OpenChannel>,
    generation: u64,
}

/// A channel that is opened on first use and again after the broker closed it.
#[derive(Clone)]
pub(crate) struct ChannelSlot {
    connection: SharedConnection,
    state: Arc<Mutex<SlotState>>,
}

impl ChannelSlot {
    pub fn new(connection: SharedConnection) -> Self {
        ChannelSlot {
            connection,
            state: Arc::new(Mutex::new(SlotState {
                open: None,
                generation: 0,
            })),
        }
    }

    pub fn connection(&self) -> &SharedConnection {
        &self.connection
    }

    /// Runs `operation` on the open channel (opening it first if needed).
    /// When the broker closed the channel, the slot forgets it so that the
    /// next call opens a new one; the error is classified for `queue`.
    pub fn with<T>(
        &self,
        operation: &'static str,
        queue: &str,
        run: impl FnOnce(&mut OpenChannel) -> amiquip::Result<T>,
    ) -> Result<T> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.open.is_none() {
            let channel = self.connection.open_channel()?;
            state.generation += 1;
            let setup = (|| {
                let returns = channel.listen_for_returns()?;
                let confirms = channel.listen_for_publisher_confirms()?;
                channel.enable_publisher_confirms()?;
                Ok((returns, confirms))
            })();
            let (returns, confirms) =
                setup.map_err(|err: amiquip::Error| Error::Channel { source: boxed(err) })?;
            state.open = Some(OpenChannel {
                channel,
                confirms,
                returns,
                published: 0,
                generation: state.generation,
            });
        }
        let Some(open) = state.open.as_mut() else {
            return Err(Error::ConnectionClosed);
        };
        run(open).map_err(|err| {
            if channel_is_gone(&err) {
                state.open = None;
            }
            classify(operation, queue, err)
        })
    }

    /// Closes the channel, if open; the broker requeues what was not acknowledged.
    pub fn close(&self) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(open) = state.open.take() {
            let _ = open.channel.close();
        }
    }

    /// Runs `operation` only if the channel is still the opening `generation`.
    pub fn with_generation<T>(
        &self,
        generation: u64,
        operation: &'static str,
        queue: &str,
        run: impl FnOnce(&amiquip::Channel) -> amiquip::Result<T>,
    ) -> Result<T> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match state.open.as_ref() {
            Some(open) if open.generation == generation => run(&open.channel).map_err(|err| {
                if channel_is_gone(&err) {
                    state.open = None;
                }
                classify(operation, queue, err)
            }),
            _ => Err(Error::DeliveryChannelClosed {
                queue: queue.to_owned(),
            }),
        }
    }
}

/// True when `err` means that the channel can no longer be used.
fn channel_is_gone(err: &amiquip::Error) -> bool {
    matches!(
        err,
        amiquip::Error::ServerClosedChannel { .. }
            | amiquip::Error::ClientClosedChannel
            | amiquip::Error::ServerClosedConnection { .. }
            | amiquip::Error::ClientClosedConnection
            | amiquip::Error::EventLoopDropped
            | amiquip::Error::EventLoopClientDropped
    )
}

/// Sorts a failed channel operation into the error a caller can act on.
pub(crate) fn classify(operation: &'static str, queue: &str, err: amiquip::Error) -> Error {
    match &err {
        // 404 NOT_FOUND
        amiquip::Error::ServerClosedChannel { code: 404, .. } => Error::QueueNotFound {
            queue: queue.to_owned(),
            source: boxed(err),
        },
        // 406 PRECONDITION_FAILED: declared before with other arguments, or similar.
        amiquip::Error::ServerClosedChannel {
            code: 406, message, ..
        } => Error::PreconditionFailed {
            operation,
            queue: queue.to_owned(),
            message: message.clone(),
        },
        // 405 RESOURCE_LOCKED: an exclusive queue of another connection.
        amiquip::Error::ServerClosedChannel {
            code: 405, message, ..
        } => Error::QueueLocked {
            queue: queue.to_owned(),
            message: message.clone(),
        },
        amiquip::Error::ServerClosedConnection { .. }
        | amiquip::Error::ClientClosedConnection
        | amiquip::Error::EventLoopDropped
        | amiquip::Error::EventLoopClientDropped
        | amiquip::Error::UnexpectedSocketClose
        | amiquip::Error::IoErrorReadingSocket { .. }
        | amiquip::Error::IoErrorWritingSocket { .. }
        | amiquip::Error::MissedServerHeartbeats => Error::ConnectionLost { source: boxed(err) },
        _ => Error::QueueOperation {
            operation,
            queue: queue.to_owned(),
            source: boxed(err),
        },
    }
}
