//! Consuming a queue as a blocking iterator.

mod acks;
pub(crate) mod session;

use std::sync::Arc;
use std::time::{Duration, Instant};

use amiquip::ConsumerMessage;
use crossbeam_channel::RecvTimeoutError;

use crate::amqp_error::{channel_is_gone, classify, Call};
use crate::declare::Declaration;
use crate::delivery::{Delivery, Settler};
use crate::error::{Error, Result};
use crate::link::SharedConnection;
use session::{Session, Stopped};

/// How a [`Consumer`] receives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumeOptions {
    /// How many unacknowledged messages the broker sends ahead (QoS
    /// prefetch), from 1 to 65,535. 1 spreads work evenly between workers;
    /// 100 or more maximises throughput.
    ///
    /// It is also the consumer's buffer: the broker sends no more than this
    /// many messages that are not settled yet, so the deliveries buffered
    /// for the consumer take at most `prefetch` times the largest message.
    /// AMQP reads 0 as "no limit", which would let the broker push the
    /// whole queue into memory: [`Queue::consume`](crate::Queue::consume)
    /// refuses it with [`Error::InvalidOption`].
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
    /// Sets [`prefetch`](Self::prefetch) (at least 1).
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
/// restart or the loss of its cluster node: it reconnects (to the next node,
/// with several URLs), declares its queue again and goes on. Under a policy
/// it also starts consuming again when the broker cancels it (a queue
/// whose leader moved, a queue deleted and declared again), up to five
/// times in a row without a delivery in between, backing off as for a
/// reconnection; then it ends with [`Error::ConsumerCancelled`].
///
/// [`cancel`](Self::cancel), or dropping the consumer, cancels it and
/// closes its channel: the broker requeues the messages it had sent and
/// that were not acknowledged yet, and the deliveries buffered for this
/// consumer are released. Neither waits on the broker longer than the
/// request timeout, nor at all while the broker blocks the connection
/// (the channel then closes once the broker reads again). `Consumer` is
/// `Send`.
pub struct Consumer {
    connection: SharedConnection,
    declaration: Arc<Declaration>,
    queue: Arc<str>,
    prefetch: u16,
    idle_timeout: Option<Duration>,
    finished: bool,
    /// `None` between a lost connection and the next session.
    session: Option<Session>,
    /// The broker's cancellations since the last delivery.
    cancellations: u32,
}

/// How many times in a row the broker may cancel a consumer before it
/// gives up: a queue deleted for good would otherwise be consumed for ever.
const MAX_CANCELLATIONS_IN_A_ROW: u32 = 5;

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl Consumer {
    pub(crate) fn start(
        connection: SharedConnection,
        declaration: Arc<Declaration>,
        queue: Arc<str>,
        options: &ConsumeOptions,
    ) -> Result<Consumer> {
        if options.prefetch == 0 {
            return Err(Error::InvalidOption {
                option: "prefetch",
                reason: "0 is no limit in AMQP: the broker would push the whole queue \
                         into the consumer's memory; give at least 1"
                    .into(),
            });
        }
        let mut consumer = Consumer {
            connection,
            declaration,
            queue,
            prefetch: options.prefetch,
            idle_timeout: options.idle_timeout,
            finished: false,
            session: None,
            cancellations: 0,
        };
        consumer.session = Some(consumer.start_session()?);
        Ok(consumer)
    }

    /// Starts consuming on a new channel, reconnecting first if needed.
    fn start_session(&self) -> Result<Session> {
        self.connection.recovering(|| {
            Session::start(
                &self.connection,
                &self.declaration,
                &self.queue,
                self.prefetch,
            )
        })
    }

    /// The queue being consumed.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Waits up to `timeout` for the next delivery: `Ok(None)` when none came.
    ///
    /// Under a [`ReconnectPolicy`](crate::ReconnectPolicy), a reconnection
    /// or a resumption after the broker's cancel that starts within the
    /// wait runs to its end before this returns: the wait can then last
    /// longer than `timeout`, up to the policy's own limits.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Delivery>> {
        self.wait(Some(timeout))
    }

    /// Cancels the consumer and closes its channel, reporting any error:
    /// the broker requeues what was not acknowledged, and the buffered
    /// deliveries are released. Deliveries handed out before can no longer
    /// be settled ([`Error::DeliveryChannelClosed`]).
    ///
    /// Waits for the broker up to the request timeout
    /// ([`Error::Timeout`] after it). While the broker blocks the
    /// connection it does not wait, and says so with [`Error::Blocked`]:
    /// the channel closes once the broker reads again.
    pub fn cancel(mut self) -> Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let call = self.call("cancel");
        if let Some(reason) = self.connection.blocked() {
            session.stop(&self.connection, false);
            return Err(call.blocked(reason));
        }
        match session.stop(&self.connection, true) {
            Stopped::Done(Ok(())) | Stopped::NotWaited => Ok(()),
            // Already cancelled or closed by the broker, or with the connection.
            Stopped::Done(Err(err)) if channel_is_gone(&err) => Ok(()),
            Stopped::Done(Err(err)) => Err(classify(call, err)),
            Stopped::TimedOut => Err(call.timed_out()),
            Stopped::Blocked(reason) => Err(call.blocked(reason)),
        }
    }

    /// Starts consuming again after the broker cancelled the consumer,
    /// under the reconnect policy: the queue may be missing for a moment
    /// (its node restarting), so a consume that finds no queue is tried
    /// again, within the same budget of cancellations in a row.
    fn resume_after_cancel(&mut self) -> Result<Session> {
        let Some(policy) = self.connection.policy().cloned() else {
            return Err(self.cancelled());
        };
        loop {
            self.cancellations += 1;
            if self.cancellations > MAX_CANCELLATIONS_IN_A_ROW {
                return Err(self.cancelled());
            }
            std::thread::sleep(policy.delay_after(self.cancellations));
            match self.start_session() {
                Err(Error::QueueNotFound { .. }) => continue,
                started => return started,
            }
        }
    }

    fn cancelled(&self) -> Error {
        Error::ConsumerCancelled {
            queue: self.queue.to_string(),
        }
    }

    fn call(&self, operation: &'static str) -> Call<'_> {
        self.connection.request(operation, &self.queue)
    }

    /// Waits for the next delivery, up to `timeout` if given, reconnecting
    /// under the connection's policy when the connection is lost.
    fn wait(&mut self, timeout: Option<Duration>) -> Result<Option<Delivery>> {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        loop {
            let session = match &self.session {
                Some(session) => session,
                None => {
                    self.session = Some(self.start_session()?);
                    continue;
                }
            };
            let received = match deadline {
                Some(deadline) => session.deliveries.recv_deadline(deadline),
                None => session
                    .deliveries
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            let message = match received {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                // amiquip's I/O thread ended without a word: the connection is gone.
                Err(RecvTimeoutError::Disconnected) => {
                    ConsumerMessage::ServerClosedConnection(amiquip::Error::EventLoopDropped)
                }
            };
            let err = match message {
                ConsumerMessage::Delivery(delivery) => {
                    self.cancellations = 0;
                    let settler = Settler::Session(session.handle.clone());
                    return Ok(Some(Delivery::new(
                        delivery,
                        settler,
                        Arc::clone(&self.queue),
                    )));
                }
                ConsumerMessage::ServerCancelled => {
                    if let Some(session) = self.session.take() {
                        session.stop(&self.connection, false);
                    }
                    self.session = Some(self.resume_after_cancel()?);
                    continue;
                }
                ConsumerMessage::ClientCancelled => self.cancelled(),
                ConsumerMessage::ServerClosedChannel(err) => {
                    // Only the channel is gone: the next call starts
                    // consuming on a new one, on the same connection.
                    if let Some(session) = self.session.take() {
                        session.stop(&self.connection, false);
                    }
                    return Err(classify(self.call("consume"), err));
                }
                ConsumerMessage::ServerClosedConnection(err) => {
                    session.handle.mark_closed();
                    classify(self.call("consume"), err)
                }
                ConsumerMessage::ClientClosedChannel | ConsumerMessage::ClientClosedConnection => {
                    session.handle.mark_closed();
                    Error::ConnectionClosed
                }
            };
            match err {
                Error::ConnectionLost { .. } if self.connection.is_closed() => {
                    return Err(Error::ConnectionClosed)
                }
                Error::ConnectionLost { .. } if self.connection.recovers() => {
                    let epoch = session.epoch;
                    if let Some(session) = self.session.take() {
                        // Its channel died with the connection.
                        session.stop(&self.connection, false);
                    }
                    self.connection.recover(epoch)?;
                }
                err => return Err(err),
            }
        }
    }
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
        if let Some(session) = self.session.take() {
            // Wait, within the request timeout, for the broker to have the
            // unacknowledged messages back, unless it is not reading.
            let wait = self.connection.blocked().is_none();
            session.stop(&self.connection, wait);
        }
    }
}
