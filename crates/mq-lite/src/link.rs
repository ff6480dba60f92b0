//! The connection shared by queue handles, consumers and deliveries: opened,
//! watched for the broker's resource alarms, dialled again after a loss
//! under a reconnect policy, and closed within a deadline.

use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use amiquip::ConnectionBlockedNotification;
use crossbeam_channel::Receiver;

use crate::dial::{Dialed, Dialer};
use crate::error::{boxed, Error, Result};
use crate::watchdog::{self, Socket};

/// How long the broker may take, per kind of call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// To take a message (or batch) and confirm it.
    pub publish: Duration,
    /// To answer any other request.
    pub request: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Lost, and no reconnection under way.
    Lost,
    /// A thread is dialling; the others wait for it.
    Reconnecting,
    Closed,
}

struct Link {
    connection: Option<amiquip::Connection>,
    socket: Option<Socket>,
    /// Bumped at each reconnection.
    epoch: u64,
    state: State,
}

/// What the broker said last about blocking publishers, on the current connection.
struct Alarm {
    notifications: Receiver<ConnectionBlockedNotification>,
    reason: Option<String>,
}

struct Inner {
    link: Mutex<Link>,
    /// Signalled when `link.state` changes.
    changed: Condvar,
    alarm: Mutex<Alarm>,
    dialer: Dialer,
    timeouts: Timeouts,
    closer: Closer,
}

/// A channel just opened, with the connection it is on.
pub(crate) struct Opened {
    pub channel: amiquip::Channel,
    pub epoch: u64,
    pub socket: Socket,
}

/// The connection, shared so that queues and consumers can open channels.
#[derive(Clone)]
pub(crate) struct SharedConnection(Arc<Inner>);

/// How often a wait on the broker looks whether it blocked the connection.
pub(crate) const ALARM_POLL: Duration = Duration::from_millis(50);

/// Why a wait on the broker ended without an answer.
pub(crate) enum NoAnswer {
    TimedOut,
    /// The broker blocked the connection, for this reason: it would not
    /// answer before the alarm clears.
    Blocked(String),
    /// The sender is gone.
    Disconnected,
}

/// How many times one operation may reconnect before giving up; guards
/// against a broker that accepts connections and drops them at once.
const MAX_RECOVERIES_PER_CALL: u32 = 5;

impl SharedConnection {
    pub fn new(dialed: Dialed, dialer: Dialer, timeouts: Timeouts) -> Self {
        SharedConnection(Arc::new(Inner {
            link: Mutex::new(Link {
                connection: Some(dialed.connection),
                socket: Some(dialed.socket),
                epoch: 0,
                state: State::Open,
            }),
            changed: Condvar::new(),
            alarm: Mutex::new(Alarm {
                notifications: dialed.blocked,
                reason: None,
            }),
            dialer,
            timeouts,
            closer: Closer::start(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Link> {
        self.0
            .link
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn timeouts(&self) -> Timeouts {
        self.0.timeouts
    }

    /// The broker's `host:port`.
    pub fn address(&self) -> String {
        self.0.dialer.url.address()
    }

    /// Where channels go to be closed without making their owner wait.
    pub fn closer(&self) -> &Closer {
        &self.0.closer
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.lock().state == State::Closed
    }

    /// True when a reconnect policy is set.
    pub fn recovers(&self) -> bool {
        self.0.dialer.policy.is_some()
    }

    /// The broker's reason while it blocks this connection, `None` otherwise.
    pub fn blocked(&self) -> Option<String> {
        let mut alarm = self
            .0
            .alarm
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while let Ok(notification) = alarm.notifications.try_recv() {
            alarm.reason = match notification {
                ConnectionBlockedNotification::Blocked(reason) => Some(reason),
                ConnectionBlockedNotification::Unblocked => None,
            };
        }
        alarm.reason.clone()
    }

    /// Receives from `answers` until `deadline`, giving up as soon as the
    /// broker blocks the connection.
    pub fn answer<T>(
        &self,
        answers: &Receiver<T>,
        deadline: Instant,
    ) -> std::result::Result<T, NoAnswer> {
        loop {
            let look = deadline.min(Instant::now() + ALARM_POLL);
            match answers.recv_deadline(look) {
                Ok(answer) => return Ok(answer),
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    return Err(NoAnswer::Disconnected)
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if let Some(reason) = self.blocked() {
                        return Err(NoAnswer::Blocked(reason));
                    }
                    if Instant::now() >= deadline {
                        return Err(NoAnswer::TimedOut);
                    }
                }
            }
        }
    }

    /// Opens a channel within `deadline`.
    pub fn open_channel(&self, deadline: Instant) -> Result<Opened, (u64, Error)> {
        let mut link = self.lock();
        let epoch = link.epoch;
        let fail = |err| Err((epoch, err));
        match (link.state, link.socket.clone(), link.connection.as_mut()) {
            (State::Closed, ..) => fail(Error::ConnectionClosed),
            (State::Open, Some(socket), Some(connection)) => {
                // channel.open is a round trip, under the link's lock: bounded
                // by the watchdog (callers do not ask while the broker blocks us).
                let guard = watchdog::guard(deadline, &socket);
                let opened = connection.open_channel(None);
                if guard.fired() {
                    return fail(self.timeout("open channel", self.0.timeouts.request));
                }
                match opened {
                    Ok(channel) => Ok(Opened {
                        channel,
                        epoch,
                        socket,
                    }),
                    Err(err) if crate::channel::connection_is_lost(&err) => {
                        fail(Error::ConnectionLost { source: boxed(err) })
                    }
                    Err(err) => fail(Error::Channel { source: boxed(err) }),
                }
            }
            _ => fail(Error::ConnectionLost {
                source: "the connection was lost".into(),
            }),
        }
    }

    /// A request timeout on this connection.
    pub fn timeout(&self, operation: &'static str, timeout: Duration) -> Error {
        Error::Timeout {
            operation,
            address: self.address(),
            timeout,
        }
    }

    /// Runs `attempt` until it succeeds or fails otherwise than by a lost
    /// connection, reconnecting in between under the policy. `attempt`
    /// returns the epoch of the connection it failed on.
    pub fn recovering<T>(&self, mut attempt: impl FnMut() -> Result<T, (u64, Error)>) -> Result<T> {
        let mut recoveries = 0;
        loop {
            match attempt() {
                Ok(value) => return Ok(value),
                Err((_, Error::ConnectionLost { .. })) if self.is_closed() => {
                    return Err(Error::ConnectionClosed)
                }
                Err((epoch, Error::ConnectionLost { .. }))
                    if self.recovers() && recoveries < MAX_RECOVERIES_PER_CALL =>
                {
                    recoveries += 1;
                    self.recover(epoch)?;
                }
                Err((_, err)) => return Err(err),
            }
        }
    }

    /// Dials the broker again after the connection of `failed_epoch` was
    /// lost, under the reconnect policy; waits for the thread already doing
    /// it, if any. No lock is held while dialling or backing off, and
    /// [`close`](Self::close) ends the attempts.
    pub fn recover(&self, failed_epoch: u64) -> Result<()> {
        let dialer = &self.0.dialer;
        let Some(policy) = &dialer.policy else {
            return Err(Error::ConnectionLost {
                source: "no reconnect policy is set".into(),
            });
        };
        let mut link = self.lock();
        loop {
            match link.state {
                State::Closed => return Err(Error::ConnectionClosed),
                State::Open if link.epoch != failed_epoch => return Ok(()),
                State::Reconnecting => {
                    link = self
                        .0
                        .changed
                        .wait_while(link, |link| link.state == State::Reconnecting)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    if link.state == State::Lost && link.epoch == failed_epoch {
                        // The other thread gave up; so does this call.
                        return Err(Error::ConnectionLost {
                            source: "reconnecting failed".into(),
                        });
                    }
                }
                State::Open | State::Lost => break,
            }
        }
        link.state = State::Reconnecting;
        let old = link.connection.take().zip(link.socket.take());
        drop(link);
        if let Some((connection, socket)) = old {
            // Its I/O thread has ended or is ending: quick, but bounded anyway.
            let _ = close_within(connection, &socket, self.0.timeouts.request, true);
        }

        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let dialed = dialer.dial();
            let mut link = self.lock();
            if link.state == State::Closed {
                drop(link);
                if let Ok(dialed) = dialed {
                    let _ = close_within(
                        dialed.connection,
                        &dialed.socket,
                        self.0.timeouts.request,
                        false,
                    );
                }
                return Err(Error::ConnectionClosed);
            }
            match dialed {
                Ok(dialed) => {
                    *self
                        .0
                        .alarm
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Alarm {
                        notifications: dialed.blocked,
                        reason: None,
                    };
                    link.connection = Some(dialed.connection);
                    link.socket = Some(dialed.socket);
                    link.epoch += 1;
                    link.state = State::Open;
                    self.0.changed.notify_all();
                    return Ok(());
                }
                Err(err) if started.elapsed() >= policy.limit() => {
                    link.state = State::Lost;
                    self.0.changed.notify_all();
                    return Err(Error::ReconnectFailed {
                        address: dialer.url.address(),
                        attempts,
                        source: Box::new(err),
                    });
                }
                Err(_) => {
                    let delay = policy.delay_after(attempts);
                    // Waiting on the condition variable releases the lock,
                    // and close() wakes it.
                    let (link, _) = self
                        .0
                        .changed
                        .wait_timeout_while(link, delay, |link| link.state != State::Closed)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    if link.state == State::Closed {
                        return Err(Error::ConnectionClosed);
                    }
                }
            }
        }
    }

    /// Closes the connection within the request timeout; stops a
    /// reconnection under way.
    pub fn close(&self) -> Result<()> {
        let old = {
            let mut link = self.lock();
            link.state = State::Closed;
            self.0.changed.notify_all();
            link.connection.take().zip(link.socket.take())
        };
        let blocked = self.blocked().is_some();
        // A closed connection is not blocked: its handles say it is closed.
        *self
            .0
            .alarm
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Alarm {
            notifications: crossbeam_channel::never(),
            reason: None,
        };
        match old {
            Some((connection, socket)) => {
                close_within(connection, &socket, self.0.timeouts.request, blocked).map_err(
                    |timed_out| match timed_out {
                        Some(err) => Error::Channel { source: boxed(err) },
                        None => self.timeout("close", self.0.timeouts.request),
                    },
                )
            }
            None => Ok(()),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let link = self
            .link
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((connection, socket)) = link.connection.take().zip(link.socket.take()) {
            let alarm = self
                .alarm
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut blocked = alarm.reason.is_some();
            while let Ok(notification) = alarm.notifications.try_recv() {
                blocked = matches!(notification, ConnectionBlockedNotification::Blocked(_));
            }
            let _ = close_within(connection, &socket, self.timeouts.request, blocked);
        }
    }
}

/// Closes `connection`, waiting up to `timeout` for the broker's close-ok;
/// then, or at once if `abandon` (the broker stopped reading it), shuts its
/// socket down. `Err(None)` when the deadline passed.
fn close_within(
    connection: amiquip::Connection,
    socket: &Socket,
    timeout: Duration,
    abandon: bool,
) -> std::result::Result<(), Option<amiquip::Error>> {
    if abandon {
        let _ = socket.shutdown(Shutdown::Both);
        drop(connection);
        return Ok(());
    }
    let guard = watchdog::guard(Instant::now() + timeout, socket);
    let closed = connection.close();
    if guard.fired() {
        return Err(None);
    }
    closed.map_err(Some)
}

/// A thread per connection that closes channels, so that dropping a handle
/// never waits for the broker: amiquip's channel close is a round trip with
/// no deadline, and a blocked broker does not answer it until the alarm
/// clears. Closes still pending when the connection closes fail at once.
pub(crate) struct Closer(Option<crossbeam_channel::Sender<amiquip::Channel>>);

impl Closer {
    fn start() -> Closer {
        let (sender, channels) = crossbeam_channel::unbounded::<amiquip::Channel>();
        let spawned = std::thread::Builder::new()
            .name("mq-lite-closer".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                for channel in channels {
                    let _ = channel.close();
                }
            });
        Closer(spawned.ok().map(|_| sender))
    }

    /// Closes `channel` in the background (in place if the thread could not start).
    pub fn close(&self, channel: amiquip::Channel) {
        if let Some(sender) = &self.0 {
            if let Err(returned) = sender.send(channel) {
                drop(returned.into_inner());
            }
        }
    }
}
