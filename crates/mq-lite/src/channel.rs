//! The connection and channels shared by queue handles, consumers and
//! deliveries, reopened after the broker closed them.
//!
//! amiquip's `Channel` is `Send` but not `Sync`, and the broker closes a
//! channel on any channel-level error (an unknown queue, a declare with other
//! arguments). A slot keeps its channel behind a mutex and opens a new one on
//! the next use after such an error, declaring its queue again. Each opening
//! is numbered, so that a delivery taken on an earlier opening is never
//! acknowledged on a later one (its delivery tag would name another message).
//! With a reconnect policy, a lost connection is dialled again the same way.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use amiquip::Confirm;

use crate::dial::Dialer;
use crate::error::{boxed, Error, Result};
use crate::queue::QueueOptions;

/// How many times one operation may reconnect before giving up; guards
/// against a broker that accepts connections and drops them at once.
const MAX_RECOVERIES_PER_CALL: u32 = 5;

struct Link {
    connection: Option<amiquip::Connection>,
    /// Bumped at each reconnection.
    epoch: u64,
    closed_by_user: bool,
}

struct ConnectionInner {
    link: Mutex<Link>,
    dialer: Dialer,
}

/// The connection, shared so that queues and consumers can open channels.
#[derive(Clone)]
pub(crate) struct SharedConnection(Arc<ConnectionInner>);

impl SharedConnection {
    pub fn new(connection: amiquip::Connection, dialer: Dialer) -> Self {
        SharedConnection(Arc::new(ConnectionInner {
            link: Mutex::new(Link {
                connection: Some(connection),
                epoch: 0,
                closed_by_user: false,
            }),
            dialer,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Link> {
        self.0
            .link
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The number of the current connection (bumped at each reconnection).
    pub fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// True when a reconnect policy is set.
    pub fn recovers(&self) -> bool {
        self.0.dialer.policy.is_some()
    }

    /// Opens a channel; also returns the epoch of the connection it is on.
    pub fn open_channel(&self) -> Result<(amiquip::Channel, u64)> {
        let mut link = self.lock();
        let (epoch, closed_by_user) = (link.epoch, link.closed_by_user);
        match link.connection.as_mut() {
            Some(connection) => connection
                .open_channel(None)
                .map(|channel| (channel, epoch))
                .map_err(|err| match classify("open channel", "", err) {
                    lost @ Error::ConnectionLost { .. } => lost,
                    Error::QueueOperation { source, .. } => Error::Channel { source },
                    other => other,
                }),
            None if closed_by_user => Err(Error::ConnectionClosed),
            None => Err(Error::ConnectionLost {
                source: "the connection was lost".into(),
            }),
        }
    }

    /// Dials the broker again after the connection of `failed_epoch` was
    /// lost, under the reconnect policy. Does nothing if another handle has
    /// reconnected already.
    pub fn recover(&self, failed_epoch: u64) -> Result<()> {
        let mut link = self.lock();
        if link.closed_by_user {
            return Err(Error::ConnectionClosed);
        }
        if link.epoch != failed_epoch && link.connection.is_some() {
            return Ok(());
        }
        let dialer = &self.0.dialer;
        let Some(policy) = &dialer.policy else {
            return Err(Error::ConnectionLost {
                source: "no reconnect policy is set".into(),
            });
        };
        // The old connection's I/O thread has ended; dropping it is quick.
        link.connection = None;
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            match dialer.dial() {
                Ok(connection) => {
                    link.connection = Some(connection);
                    link.epoch += 1;
                    return Ok(());
                }
                Err(err) if started.elapsed() >= policy.limit() => {
                    return Err(Error::ReconnectFailed {
                        address: dialer.url.address(),
                        attempts,
                        source: Box::new(err),
                    })
                }
                Err(_) => std::thread::sleep(policy.delay_after(attempts)),
            }
        }
    }

    pub fn close(&self) -> Result<()> {
        let mut link = self.lock();
        link.closed_by_user = true;
        match link.connection.take() {
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
    epoch: u64,
}

struct SlotState {
    open: Option<OpenChannel>,
    generation: u64,
}

/// The queue a slot declares each time it opens its channel.
#[derive(Clone)]
pub(crate) struct Declaration {
    pub name: String,
    pub options: QueueOptions,
}

/// A channel that is opened on first use and again after it was lost.
#[derive(Clone)]
pub(crate) struct ChannelSlot {
    connection: SharedConnection,
    declaration: Option<Declaration>,
    /// Whether its channels are in confirm mode.
    confirms: bool,
    state: Arc<Mutex<SlotState>>,
}

impl ChannelSlot {
    /// A slot that declares `declaration` (if any) whenever it opens a
    /// channel, and puts the channel in confirm mode if `confirms`.
    pub fn new(
        connection: SharedConnection,
        declaration: Option<Declaration>,
        confirms: bool,
    ) -> Self {
        ChannelSlot {
            connection,
            declaration,
            confirms,
            state: Arc::new(Mutex::new(SlotState {
                open: None,
                generation: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn connection(&self) -> &SharedConnection {
        &self.connection
    }

    pub fn declaration(&self) -> Option<&Declaration> {
        self.declaration.as_ref()
    }

    /// Runs `operation` on the open channel, opening it first if needed.
    /// When the broker closed the channel, the slot forgets it so that the
    /// next call opens a new one. When the connection was lost and a
    /// reconnect policy is set, it reconnects and runs `operation` again.
    pub fn with<T>(
        &self,
        operation: &'static str,
        queue: &str,
        mut run: impl FnMut(&mut OpenChannel) -> amiquip::Result<T>,
    ) -> Result<T> {
        let mut state = self.lock();
        let mut recoveries = 0;
        loop {
            let outcome = match state.open.as_mut() {
                Some(open) => run(open).map_err(|err| (channel_is_gone(&err), open.epoch, err)),
                None => match self.open(state.generation + 1) {
                    Ok(open) => {
                        state.generation += 1;
                        state.open = Some(open);
                        continue;
                    }
                    Err((epoch, err)) => {
                        let lost = matches!(err, Error::ConnectionLost { .. });
                        if lost
                            && self.connection.recovers()
                            && recoveries < MAX_RECOVERIES_PER_CALL
                        {
                            recoveries += 1;
                            self.connection.recover(epoch)?;
                            continue;
                        }
                        return Err(err);
                    }
                },
            };
            let (gone, epoch, err) = match outcome {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if gone {
                state.open = None;
            }
            let err = classify(operation, queue, err);
            let lost = matches!(err, Error::ConnectionLost { .. });
            if lost && self.connection.recovers() && recoveries < MAX_RECOVERIES_PER_CALL {
                recoveries += 1;
                state.open = None;
                self.connection.recover(epoch)?;
                continue;
            }
            return Err(err);
        }
    }

    /// Opens a channel (with confirms on, if asked) and declares the slot's queue on it.
    /// On failure, also returns the epoch of the connection that failed.
    fn open(&self, generation: u64) -> std::result::Result<OpenChannel, (u64, Error)> {
        let epoch = self.connection.epoch();
        let (channel, epoch) = self.connection.open_channel().map_err(|err| (epoch, err))?;
        let setup = (|| {
            let (returns, confirms) = if self.confirms {
                let returns = channel.listen_for_returns()?;
                let confirms = channel.listen_for_publisher_confirms()?;
                channel.enable_publisher_confirms()?;
                (returns, confirms)
            } else {
                (crossbeam_channel::never(), crossbeam_channel::never())
            };
            if let Some(declaration) = &self.declaration {
                channel.queue_declare(declaration.name.as_str(), declaration.options.to_amqp())?;
            }
            Ok((returns, confirms))
        })();
        let queue = self.declaration.as_ref().map_or("", |d| d.name.as_str());
        let (returns, confirms) = setup.map_err(|err| (epoch, classify("declare", queue, err)))?;
        Ok(OpenChannel {
            channel,
            confirms,
            returns,
            published: 0,
            generation,
            epoch,
        })
    }

    /// Forgets the open channel, if any (after its consumer saw it die).
    pub fn invalidate(&self) {
        self.lock().open.take();
    }

    /// Closes the channel, if open; the broker requeues what was not acknowledged.
    pub fn close(&self) {
        if let Some(open) = self.lock().open.take() {
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
        let mut state = self.lock();
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
        amiquip::Error::ServerClosedChannel { .. } | amiquip::Error::ClientClosedChannel
    ) || connection_is_lost(err)
}

/// True when `err` means that the connection itself is gone.
fn connection_is_lost(err: &amiquip::Error) -> bool {
    matches!(
        err,
        amiquip::Error::ServerClosedConnection { .. }
            | amiquip::Error::ClientClosedConnection
            | amiquip::Error::EventLoopDropped
            | amiquip::Error::EventLoopClientDropped
            | amiquip::Error::UnexpectedSocketClose
            | amiquip::Error::IoErrorReadingSocket { .. }
            | amiquip::Error::IoErrorWritingSocket { .. }
            | amiquip::Error::MissedServerHeartbeats
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
        _ if connection_is_lost(&err) => Error::ConnectionLost { source: boxed(err) },
        _ => Error::QueueOperation {
            operation,
            queue: queue.to_owned(),
            source: boxed(err),
        },
    }
}
