//! The channels of queue handles and their deliveries, opened on first use
//! and again after the broker closed them.
//!
//! amiquip's `Channel` is `Send` but not `Sync`, and the broker closes a
//! channel on any channel-level error (an unknown queue, a declare with
//! other arguments, a message over its size limit): the connection and its
//! other channels live on. A slot keeps its channel behind a mutex and opens
//! a new one on the next use after such an error. Each opening is numbered,
//! so that a delivery taken on an earlier opening is never acknowledged on a
//! later one (its delivery tag would name another message). With a
//! reconnect policy, a lost connection is dialled again the same way.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use amiquip::Confirm;

use crate::amqp_error::{channel_is_gone, classify, Call};
use crate::declare::Declaration;
use crate::error::{Error, Result};
use crate::link::{Opened, SharedConnection};
use crate::watchdog::{self, Socket};

/// An open channel, with publisher confirms on if its slot asked, and what
/// listens on it.
pub(crate) struct OpenChannel {
    pub channel: amiquip::Channel,
    pub confirms: crossbeam_channel::Receiver<Confirm>,
    pub returns: crossbeam_channel::Receiver<amiquip::Return>,
    /// Messages published on this opening: the next one gets tag `published + 1`.
    pub published: u64,
    pub generation: u64,
    pub epoch: u64,
    pub socket: Socket,
    /// Set when the channel may still receive confirms or returns for an
    /// earlier call (its publish timed out): the next call takes a new one.
    pub retired: bool,
}

impl OpenChannel {
    /// Runs the amiquip call `run` under the watchdog: past `deadline`,
    /// the connection is given up and the call fails with [`Failure::TimedOut`].
    pub fn within<T>(
        &self,
        deadline: Instant,
        run: impl FnOnce(&amiquip::Channel) -> amiquip::Result<T>,
    ) -> Result<T, Failure> {
        let guard = watchdog::guard(deadline, &self.socket);
        let outcome = run(&self.channel);
        if guard.fired() {
            return Err(Failure::TimedOut);
        }
        outcome.map_err(Failure::Amqp)
    }

    /// Why the channel is gone, after its confirm listener disconnected:
    /// amiquip keeps the broker's channel.close (or the connection's end)
    /// for the next call, which fails at once without sending anything.
    pub fn closing_reason(&self) -> amiquip::Error {
        match self.channel.enable_publisher_confirms_nowait() {
            Err(err) => err,
            Ok(()) => amiquip::Error::EventLoopDropped,
        }
    }
}

/// How a call on a channel failed.
pub(crate) enum Failure {
    /// amiquip failed: classified; a lost connection is dialled again
    /// under a reconnect policy and the call made again.
    Amqp(amiquip::Error),
    /// The watchdog shut the connection down at the call's deadline:
    /// [`Error::Timeout`].
    TimedOut,
    /// The watchdog shut the connection down at the call's deadline, which
    /// this error tells (a publish's [`Error::PublishTimeout`]).
    GaveUp(Error),
    /// Returned as it is.
    Final(Error),
}

impl From<amiquip::Error> for Failure {
    fn from(err: amiquip::Error) -> Self {
        Failure::Amqp(err)
    }
}

struct SlotState {
    open: Option<OpenChannel>,
    generation: u64,
    connection: SharedConnection,
}

impl SlotState {
    /// Forgets the open channel, closing it in the background.
    fn discard(&mut self) {
        if let Some(open) = self.open.take() {
            self.connection.closer().close(open.channel, &open.socket);
        }
    }
}

impl Drop for SlotState {
    fn drop(&mut self) {
        self.discard();
    }
}

/// A channel that is opened on first use and again after it was lost.
#[derive(Clone)]
pub(crate) struct ChannelSlot {
    connection: SharedConnection,
    declaration: Arc<Declaration>,
    /// Whether its channels are in confirm mode.
    confirms: bool,
    state: Arc<Mutex<SlotState>>,
}

impl ChannelSlot {
    /// A slot that declares `declaration` when it opens a channel on a new
    /// connection, and puts its channels in confirm mode if `confirms`.
    pub fn new(
        connection: SharedConnection,
        declaration: Arc<Declaration>,
        confirms: bool,
    ) -> Self {
        ChannelSlot {
            state: Arc::new(Mutex::new(SlotState {
                open: None,
                generation: 0,
                connection: connection.clone(),
            })),
            connection,
            declaration,
            confirms,
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

    pub fn declaration(&self) -> &Arc<Declaration> {
        &self.declaration
    }

    /// Runs `run` on the open channel, opening it first if needed. Refused
    /// while the broker blocks the connection (it would not read the
    /// request). When the broker closed the channel, the slot forgets it
    /// so that the next call opens a new one. When the connection was lost
    /// and a reconnect policy is set, it reconnects (with no lock held) and
    /// runs `run` again.
    pub fn with<T>(
        &self,
        call: Call<'_>,
        mut run: impl FnMut(&mut OpenChannel) -> Result<T, Failure>,
    ) -> Result<T> {
        self.connection.recovering(|| {
            if let Some(reason) = self.connection.blocked() {
                return Err((0, call.blocked(reason)));
            }
            let mut state = self.lock();
            if state.open.as_ref().is_some_and(|open| open.retired) {
                state.discard();
            }
            let open = match &mut state.open {
                Some(open) => open,
                None => {
                    let generation = state.generation + 1;
                    let open = self.open(generation, call)?;
                    state.generation = generation;
                    state.open.insert(open)
                }
            };
            let epoch = open.epoch;
            match run(open) {
                Ok(value) => Ok(value),
                Err(Failure::Final(err)) => Err((epoch, err)),
                Err(Failure::TimedOut) => {
                    state.discard();
                    Err((epoch, call.timed_out()))
                }
                Err(Failure::GaveUp(err)) => {
                    state.discard();
                    Err((epoch, err))
                }
                Err(Failure::Amqp(err)) => {
                    if channel_is_gone(&err) {
                        state.discard();
                    }
                    Err((epoch, classify(call, err)))
                }
            }
        })
    }

    /// Opens a channel (with confirms on, if asked) and declares the slot's
    /// queue on it if this connection has not seen it declared.
    fn open(&self, generation: u64, call: Call<'_>) -> Result<OpenChannel, (u64, Error)> {
        let request = self.connection.timeouts().request;
        let deadline = Instant::now() + request;
        let Opened {
            channel,
            epoch,
            socket,
        } = self.connection.open_channel(call)?;
        let fail = |err| (epoch, err);
        let mut open = OpenChannel {
            channel,
            confirms: crossbeam_channel::never(),
            returns: crossbeam_channel::never(),
            published: 0,
            generation,
            epoch,
            socket,
            retired: false,
        };
        if let Some(lost) = self.declaration.lost_on(epoch) {
            self.connection.closer().close(open.channel, &open.socket);
            return Err(fail(lost));
        }
        let setup = open.within(deadline, |channel| {
            let listeners = if self.confirms {
                let returns = channel.listen_for_returns()?;
                let confirms = channel.listen_for_publisher_confirms()?;
                channel.enable_publisher_confirms()?;
                Some((returns, confirms))
            } else {
                None
            };
            self.declaration.declare_on(channel, epoch)?;
            Ok(listeners)
        });
        let declare = Call {
            operation: "declare",
            timeout: request,
            ..call
        };
        match setup {
            Ok(listeners) => {
                if let Some((returns, confirms)) = listeners {
                    open.returns = returns;
                    open.confirms = confirms;
                }
                Ok(open)
            }
            Err(failure) => {
                self.connection.closer().close(open.channel, &open.socket);
                Err(fail(match failure {
                    Failure::Amqp(err) => classify(declare, err),
                    Failure::TimedOut => declare.timed_out(),
                    Failure::GaveUp(err) | Failure::Final(err) => err,
                }))
            }
        }
    }

    /// Runs `run` only if the channel is still the opening `generation`:
    /// settling a delivery, a call amiquip makes without waiting.
    pub fn with_generation<T>(
        &self,
        generation: u64,
        call: Call<'_>,
        run: impl FnOnce(&amiquip::Channel) -> amiquip::Result<T>,
    ) -> Result<T> {
        let mut state = self.lock();
        match state.open.as_ref() {
            Some(open) if open.generation == generation => run(&open.channel).map_err(|err| {
                if channel_is_gone(&err) {
                    state.discard();
                }
                classify(call, err)
            }),
            _ => Err(Error::DeliveryChannelClosed {
                queue: call.queue.to_owned(),
            }),
        }
    }
}
