//! The connection shared by queue handles, consumers and deliveries: opened,
//! watched for the broker's resource alarms, dialled again after a loss
//! under a reconnect policy, and closed within a deadline.

use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use amiquip::ConnectionBlockedNotification;
use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::amqp_error::{connection_is_lost, Call};
use crate::dial::{Dialed, Dialer};
use crate::error::{boxed, BoxError, Error, Result};
use crate::reconnect::ReconnectPolicy;
use crate::watchdog::{self, Patience, Socket};

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

/// Where the connection stands. Held for moments only, never across a
/// round trip to the broker.
struct Link {
    /// The current connection's socket, for `close` to shut down.
    socket: Option<Socket>,
    /// Bumped at each reconnection.
    epoch: u64,
    /// Which of the dialer's URLs the connection is on.
    url_index: usize,
    state: State,
}

/// The amiquip connection of one epoch. Opening a channel is a round trip
/// that holds it (amiquip wants it exclusively), and only it.
struct Current {
    connection: amiquip::Connection,
    socket: Socket,
    epoch: u64,
}

/// What the broker said last about blocking publishers, on the current
/// connection; shared with the watchdog's patient calls.
#[derive(Clone)]
struct Alarm(Arc<Mutex<AlarmState>>);

struct AlarmState {
    notifications: Receiver<ConnectionBlockedNotification>,
    reason: Option<String>,
}

impl Alarm {
    fn new(notifications: Receiver<ConnectionBlockedNotification>) -> Alarm {
        Alarm(Arc::new(Mutex::new(AlarmState {
            notifications,
            reason: None,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, AlarmState> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The broker's reason while it blocks the connection.
    fn blocked(&self) -> Option<String> {
        let mut alarm = self.lock();
        loop {
            match alarm.notifications.try_recv() {
                Ok(ConnectionBlockedNotification::Blocked(reason)) => alarm.reason = Some(reason),
                Ok(ConnectionBlockedNotification::Unblocked) => alarm.reason = None,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    // amiquip's I/O thread ended: a lost connection blocks
                    // nothing, and its calls fail as lost.
                    alarm.reason = None;
                    alarm.notifications = crossbeam_channel::never();
                    break;
                }
            }
        }
        alarm.reason.clone()
    }

    /// Listens to another connection (`never()` once closed).
    fn reset(&self, notifications: Receiver<ConnectionBlockedNotification>) {
        *self.lock() = AlarmState {
            notifications,
            reason: None,
        };
    }
}

struct Inner {
    link: Mutex<Link>,
    /// Signalled when `link.state` changes.
    changed: Condvar,
    /// Locked after `link` when both are needed, never before.
    current: Mutex<Option<Current>>,
    alarm: Alarm,
    /// True while the broker blocks the connection, for patient calls.
    patience: Patience,
    dialer: Dialer,
    /// The broker's `host:port` (several, comma-separated, for a cluster),
    /// for the errors of calls.
    address: String,
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
    pub fn new(url_index: usize, dialed: Dialed, dialer: Dialer, timeouts: Timeouts) -> Self {
        let alarm = Alarm::new(dialed.blocked);
        let patience: Patience = {
            let alarm = alarm.clone();
            Arc::new(move || alarm.blocked().is_some())
        };
        SharedConnection(Arc::new(Inner {
            link: Mutex::new(Link {
                socket: Some(Arc::clone(&dialed.socket)),
                epoch: 0,
                url_index,
                state: State::Open,
            }),
            changed: Condvar::new(),
            current: Mutex::new(Some(Current {
                connection: dialed.connection,
                socket: dialed.socket,
                epoch: 0,
            })),
            closer: Closer::start(Arc::clone(&patience), timeouts.request),
            alarm,
            patience,
            address: dialer
                .urls
                .iter()
                .map(|url| url.address())
                .collect::<Vec<_>>()
                .join(","),
            dialer,
            timeouts,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Link> {
        self.0
            .link
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn current(&self) -> MutexGuard<'_, Option<Current>> {
        self.0
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn timeouts(&self) -> Timeouts {
        self.0.timeouts
    }

    /// A call on `queue` that the broker must answer within the request timeout.
    pub fn request<'a>(&'a self, operation: &'static str, queue: &'a str) -> Call<'a> {
        Call {
            operation,
            queue,
            address: &self.0.address,
            timeout: self.0.timeouts.request,
            bytes: 0,
        }
    }

    /// A publish to `queue` (`bytes`: its largest body), within the publish timeout.
    pub fn publishing<'a>(&'a self, queue: &'a str, bytes: usize) -> Call<'a> {
        Call {
            timeout: self.0.timeouts.publish,
            bytes,
            ..self.request("publish", queue)
        }
    }

    /// The `host:port` of the URL the connection is (or was last) on.
    pub fn address(&self) -> String {
        let index = self.lock().url_index;
        self.0.dialer.urls[index].address()
    }

    fn lost(&self, source: impl Into<BoxError>) -> Error {
        Error::ConnectionLost {
            address: self.address(),
            source: source.into(),
        }
    }

    fn timed_out(&self, operation: &'static str) -> Error {
        self.request(operation, "").timed_out()
    }

    /// Where channels go to be closed without making their owner wait.
    pub fn closer(&self) -> &Closer {
        &self.0.closer
    }

    /// True while the broker blocks the connection: background calls wait
    /// that long on top of their deadline (see [`watchdog::patient`]).
    pub fn patience(&self) -> &Patience {
        &self.0.patience
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.lock().state == State::Closed
    }

    /// True when a reconnect policy is set.
    pub fn recovers(&self) -> bool {
        self.0.dialer.policy.is_some()
    }

    /// The reconnect policy, if any.
    pub fn policy(&self) -> Option<&ReconnectPolicy> {
        self.0.dialer.policy.as_ref()
    }

    /// The broker's reason while it blocks this connection, `None` otherwise.
    pub fn blocked(&self) -> Option<String> {
        self.0.alarm.blocked()
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

    /// Opens a channel for `call` within the request timeout (past it, the
    /// call fails with [`Error::Timeout`]). The round trip holds the amiquip
    /// connection only: `close`, `is_closed` and a reconnection do not wait
    /// behind it.
    pub fn open_channel(&self, call: Call<'_>) -> Result<Opened, (u64, Error)> {
        let call = Call {
            timeout: self.0.timeouts.request,
            ..call
        };
        let (epoch, state) = {
            let link = self.lock();
            (link.epoch, link.state)
        };
        let fail = |err| Err((epoch, err));
        match state {
            State::Open => {}
            State::Closed => return fail(Error::ConnectionClosed),
            State::Lost | State::Reconnecting => return fail(self.lost("the connection was lost")),
        }
        let opened = match self.current().as_mut() {
            Some(current) if current.epoch == epoch => {
                // Bounded by the watchdog (callers do not ask while the
                // broker blocks us).
                let socket = Arc::clone(&current.socket);
                let guard = watchdog::guard(Instant::now() + call.timeout, &socket);
                let opened = current.connection.open_channel(None);
                Some((opened, guard.fired(), socket))
            }
            // Taken out by a close or a reconnection.
            _ => None,
        };
        match opened {
            None if self.is_closed() => fail(Error::ConnectionClosed),
            None => fail(self.lost("the connection was lost")),
            Some((_, true, _)) => fail(call.timed_out()),
            Some((Ok(channel), false, socket)) => Ok(Opened {
                channel,
                epoch,
                socket,
            }),
            Some((Err(err), false, _)) if connection_is_lost(&err) => fail(self.lost(boxed(err))),
            Some((Err(err), false, _)) => fail(Error::ChannelOpenFailed {
                address: self.0.address.clone(),
                source: boxed(err),
            }),
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
            return Err(self.lost("no reconnect policy is set"));
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
                        // The other thread gave up; so does this call
                        // (`lost` locks the link: let it go first).
                        drop(link);
                        return Err(self.lost("reconnecting failed"));
                    }
                }
                State::Open | State::Lost => break,
            }
        }
        link.state = State::Reconnecting;
        link.socket = None;
        // The node just lost is tried last.
        let first = (link.url_index + 1) % dialer.urls.len();
        drop(link);
        // A channel open on the lost connection ends at once.
        let old = self.current().take();
        if let Some(old) = old {
            // Its I/O thread has ended or is ending: quick, but bounded anyway.
            let _ = close_within(old.connection, &old.socket, self.0.timeouts.request, true);
        }

        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let dialed = dialer.dial(first);
            let mut link = self.lock();
            if link.state == State::Closed {
                drop(link);
                if let Ok((_, dialed)) = dialed {
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
                Ok((url_index, dialed)) => {
                    self.0.alarm.reset(dialed.blocked);
                    link.epoch += 1;
                    link.url_index = url_index;
                    link.socket = Some(Arc::clone(&dialed.socket));
                    *self.current() = Some(Current {
                        connection: dialed.connection,
                        socket: dialed.socket,
                        epoch: link.epoch,
                    });
                    link.state = State::Open;
                    self.0.changed.notify_all();
                    return Ok(());
                }
                Err(err) if started.elapsed() >= policy.limit() => {
                    link.state = State::Lost;
                    self.0.changed.notify_all();
                    return Err(Error::ReconnectFailed {
                        address: self.0.address.clone(),
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
    /// reconnection under way, and ends a channel open under way.
    pub fn close(&self) -> Result<()> {
        let socket = {
            let mut link = self.lock();
            link.state = State::Closed;
            self.0.changed.notify_all();
            link.socket.take()
        };
        let blocked = self.blocked().is_some();
        // A closed connection is not blocked: its handles say it is closed.
        self.0.alarm.reset(crossbeam_channel::never());
        let (current, interrupted) = self.take_current(socket.as_ref());
        let Some(current) = current else {
            return Ok(());
        };
        let abandon = blocked || interrupted;
        close_within(
            current.connection,
            &current.socket,
            self.0.timeouts.request,
            abandon,
        )
        .map_err(|timed_out| match timed_out {
            Some(err) => Error::ConnectionCloseFailed {
                address: self.0.address.clone(),
                source: boxed(err),
            },
            None => self.timed_out("close"),
        })
    }

    /// Takes the connection out, to close it. A channel being opened holds
    /// it for a round trip: after a moment, its socket is shut down, which
    /// ends that round trip at once (the broker is slow to answer, and the
    /// connection goes anyway). True when it came to that.
    fn take_current(&self, socket: Option<&Socket>) -> (Option<Current>, bool) {
        let started = Instant::now();
        loop {
            match self.0.current.try_lock() {
                Ok(mut current) => return (current.take(), false),
                Err(TryLockError::Poisoned(poisoned)) => {
                    return (poisoned.into_inner().take(), false)
                }
                Err(TryLockError::WouldBlock) if started.elapsed() < ALARM_POLL => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TryLockError::WouldBlock) => {
                    if let Some(socket) = socket {
                        let _ = socket.shutdown(Shutdown::Both);
                    }
                    return (self.current().take(), true);
                }
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let current = self
            .current
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(current) = current {
            let blocked = self.alarm.blocked().is_some();
            let _ = close_within(
                current.connection,
                &current.socket,
                self.timeouts.request,
                blocked,
            );
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
/// clears. Each close has the request timeout, on top of any block (see
/// [`watchdog::patient`]); past it, the connection is given up. Closes
/// still pending when the connection closes fail at once.
pub(crate) struct Closer {
    /// `None` while the thread could not be started; each close tries again.
    sender: Mutex<Option<Sender<(amiquip::Channel, Socket)>>>,
    patience: Patience,
    timeout: Duration,
}

impl Closer {
    fn start(patience: Patience, timeout: Duration) -> Closer {
        let closer = Closer {
            sender: Mutex::new(None),
            patience,
            timeout,
        };
        drop(closer.sender());
        closer
    }

    /// The thread's queue, starting the thread if needed.
    fn sender(&self) -> Option<Sender<(amiquip::Channel, Socket)>> {
        let mut sender = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if sender.is_none() {
            let (queue, channels) = crossbeam_channel::unbounded::<(amiquip::Channel, Socket)>();
            let (patience, timeout) = (Arc::clone(&self.patience), self.timeout);
            let started = crate::threads::spawn("closer", 256 * 1024, move || {
                for (channel, socket) in channels {
                    let guard = watchdog::patient(timeout, &socket, &patience);
                    let _ = channel.close();
                    drop(guard);
                }
            });
            *sender = started.ok().map(|_| queue);
        }
        sender.clone()
    }

    /// Closes `channel`, of the connection of `socket`, in the background.
    ///
    /// If the thread cannot be started (the process is out of threads), it
    /// closes it here, within the request timeout; while the broker blocks
    /// the connection (it would not answer before the alarm clears), it
    /// gives the connection up at once instead.
    pub fn close(&self, channel: amiquip::Channel, socket: &Socket) {
        let channel = match self.sender() {
            Some(sender) => match sender.send((channel, Arc::clone(socket))) {
                Ok(()) => return,
                Err(returned) => returned.into_inner().0,
            },
            None => channel,
        };
        if (self.patience)() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        let guard = watchdog::guard(Instant::now() + self.timeout, socket);
        let _ = channel.close();
        drop(guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threads::tests::without_threads;
    use crate::{ConnectOptions, Connection};

    #[test]
    fn without_its_thread_a_channel_close_on_a_stalled_broker_ends_within_the_request_timeout() {
        let broker = testkit::Broker::start();
        let timeout = Duration::from_secs(2);
        let connection =
            Connection::open_with(&ConnectOptions::new(broker.url()).request_timeout(timeout))
                .unwrap();
        let shared = connection.shared();
        let Opened {
            channel, socket, ..
        } = shared.open_channel(shared.request("test", "")).unwrap();
        let closer = without_threads(|| Closer::start(Arc::clone(shared.patience()), timeout));
        assert!(
            closer.sender.lock().unwrap().is_none(),
            "the thread was refused"
        );

        broker.pause(true);
        let started = Instant::now();
        // Refused again: the close is made here, under the watchdog.
        without_threads(|| closer.close(channel, &socket));
        let elapsed = started.elapsed();
        broker.pause(false);
        eprintln!("a close in place on a paused broker returned in {elapsed:?}");
        assert!(elapsed >= timeout, "{elapsed:?}");
        assert!(elapsed < timeout * 2, "{elapsed:?}");
    }
}
