//! A consumer's channel, owned by a thread of its own.
//!
//! amiquip's `Consumer` borrows its `Channel`, so it cannot leave the
//! thread that made it, and dropping it sends basic.cancel and waits for the
//! answer. mq-lite used to `mem::forget` it to keep the consumer `Send`,
//! which kept its receiver, and every delivery buffered in it, for ever.
//! Here a session thread owns the channel and amiquip's consumer for their
//! whole life: it starts consuming, hands back a clone of the receiver of
//! deliveries (read directly by the application's thread), makes every
//! later call on the channel (acks, nacks, rejects, in the order they were
//! made), and at the end cancels the consumer and closes the channel,
//! releasing the buffer. Whoever stops it waits for that within a deadline,
//! or not at all while the broker blocks the connection: the thread
//! finishes once the broker reads again, or the connection closes.
//!
//! The thread's own calls (starting the consumer, cancelling it, closing
//! the channel) are watched like every other call: past the request
//! timeout, on top of any time the broker blocks the connection, the
//! connection is given up and the thread ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amiquip::{ConsumerMessage, ConsumerOptions};
use crossbeam_channel::{Receiver, Sender};

use super::acks::Settlements;
use crate::amqp_error::{channel_is_gone, classify, Call};
use crate::declare::Declaration;
use crate::delivery::Settle;
use crate::error::{Error, Result};
use crate::link::{NoAnswer, Opened, SharedConnection};
use crate::watchdog::{self, Patience, Socket};

// Nearly every request is a settle: boxing the delivery would cost an
// allocation per ack to save space no queue holds for long.
#[allow(clippy::large_enum_variant)]
enum Request {
    Settle(amiquip::Delivery, Settle),
    /// Cancel the consumer, close the channel, and say how that went.
    Stop(Sender<amiquip::Result<()>>),
}

/// What the deliveries of a session settle through.
#[derive(Clone)]
pub(crate) struct SessionHandle {
    requests: Sender<Request>,
    /// False once the session is stopping or its channel is gone: settling
    /// fails at once, and the broker requeues what was not settled.
    open: Arc<AtomicBool>,
}

impl SessionHandle {
    /// Hands `delivery` to the session thread to be settled.
    pub fn settle(&self, delivery: amiquip::Delivery, how: Settle, queue: &str) -> Result<()> {
        let closed = || Error::DeliveryChannelClosed {
            queue: queue.to_owned(),
        };
        if !self.open.load(Ordering::Acquire) {
            return Err(closed());
        }
        self.requests
            .send(Request::Settle(delivery, how))
            .map_err(|_| closed())
    }

    /// Marks the channel gone (its consumer saw it close).
    pub fn mark_closed(&self) {
        self.open.store(false, Ordering::Release);
    }
}

/// A consumer's session: its deliveries and its thread.
pub(crate) struct Session {
    pub handle: SessionHandle,
    pub deliveries: Receiver<ConsumerMessage>,
    /// The connection it consumes on.
    pub epoch: u64,
    stopped: bool,
}

/// How a stop went.
pub(crate) enum Stopped {
    /// The session thread cancelled and closed, with this outcome.
    Done(amiquip::Result<()>),
    /// It had not finished within the request timeout.
    TimedOut,
    /// The broker blocks the connection: it finishes once the alarm clears.
    Blocked(String),
    /// Nobody waited.
    NotWaited,
}

impl Session {
    /// Opens a channel, declares the queue there if this connection has not
    /// seen it declared, and starts consuming `queue` on a session thread,
    /// all within the request timeout. Fails with the epoch of the
    /// connection it tried.
    pub fn start(
        connection: &SharedConnection,
        declaration: &Declaration,
        queue: &Arc<str>,
        prefetch: u16,
    ) -> Result<Session, (u64, Error)> {
        let call = connection.request("consume", queue);
        if let Some(reason) = connection.blocked() {
            return Err((0, call.blocked(reason)));
        }
        let deadline = Instant::now() + call.timeout;
        let Opened {
            channel,
            epoch,
            socket,
        } = connection.open_channel(call)?;
        let fail = |err| Err((epoch, err));
        if let Some(lost) = declaration.lost_on(epoch) {
            connection.closer().close(channel, &socket);
            return fail(lost);
        }
        let guard = watchdog::guard(deadline, &socket);
        let declared = declaration.declare_on(&channel, epoch);
        let declare = Call {
            operation: "declare",
            ..call
        };
        if guard.fired() {
            connection.closer().close(channel, &socket);
            return fail(declare.timed_out());
        }
        if let Err(err) = declared {
            connection.closer().close(channel, &socket);
            return fail(classify(declare, err));
        }

        let (requests, incoming) = crossbeam_channel::unbounded();
        let (ready_sender, ready) = crossbeam_channel::bounded(1);
        // The channel reaches the thread once it runs: if it cannot start,
        // the channel is still here to be closed in the background.
        let (hand_over, handed) = crossbeam_channel::bounded(1);
        let open = Arc::new(AtomicBool::new(true));
        let thread = Thread {
            queue: Arc::clone(queue),
            prefetch,
            socket: Arc::clone(&socket),
            patience: Arc::clone(connection.patience()),
            timeout: call.timeout,
            open: Arc::clone(&open),
        };
        let spawned = crate::threads::spawn("consumer", 256 * 1024, move || {
            if let Ok(channel) = handed.recv() {
                thread.run(channel, &ready_sender, &incoming);
            }
        });
        if let Err(err) = spawned {
            connection.closer().close(channel, &socket);
            return fail(err);
        }
        let _ = hand_over.send(channel);
        // The thread gives up on its own once it sees nobody waits.
        match connection.answer(&ready, deadline) {
            Ok(Ok(deliveries)) => Ok(Session {
                handle: SessionHandle { requests, open },
                deliveries,
                epoch,
                stopped: false,
            }),
            Ok(Err(err)) => fail(classify(call, err)),
            Err(NoAnswer::TimedOut) => fail(call.timed_out()),
            Err(NoAnswer::Blocked(reason)) => fail(call.blocked(reason)),
            Err(NoAnswer::Disconnected) => {
                fail(call.lost("the consumer's thread ended before consuming"))
            }
        }
    }

    /// Stops the session: its thread cancels the consumer and closes the
    /// channel (the broker requeues what was not acknowledged). If `wait`,
    /// waits for that within the request timeout, and as long as the broker
    /// does not block the connection.
    pub fn stop(mut self, connection: &SharedConnection, wait: bool) -> Stopped {
        let Some(outcome) = self.stop_request() else {
            return Stopped::Done(Ok(())); // the thread has ended already
        };
        if !wait {
            return Stopped::NotWaited;
        }
        let deadline = Instant::now() + connection.timeouts().request;
        match connection.answer(&outcome, deadline) {
            Ok(result) => Stopped::Done(result),
            Err(NoAnswer::TimedOut) => Stopped::TimedOut,
            Err(NoAnswer::Blocked(reason)) => Stopped::Blocked(reason),
            Err(NoAnswer::Disconnected) => Stopped::Done(Ok(())),
        }
    }

    /// Asks the thread to stop; `None` if it has ended already.
    fn stop_request(&mut self) -> Option<Receiver<amiquip::Result<()>>> {
        self.stopped = true;
        self.handle.mark_closed();
        let (reply, outcome) = crossbeam_channel::bounded(1);
        self.handle
            .requests
            .send(Request::Stop(reply))
            .ok()
            .map(|()| outcome)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.stopped {
            self.stop_request();
        }
    }
}

/// What the session thread needs, besides its channel.
struct Thread {
    queue: Arc<str>,
    prefetch: u16,
    /// The connection's socket, for the watchdog.
    socket: Socket,
    patience: Patience,
    /// The request timeout.
    timeout: Duration,
    open: Arc<AtomicBool>,
}

impl Thread {
    /// Owns the channel and amiquip's consumer: starts consuming, makes the
    /// settle requests, then cancels and closes.
    fn run(
        self,
        channel: amiquip::Channel,
        ready: &Sender<amiquip::Result<Receiver<ConsumerMessage>>>,
        requests: &Receiver<Request>,
    ) {
        let open = &*self.open;
        let guard = watchdog::patient(self.timeout, &self.socket, &self.patience);
        // Declared after the guard, so dropped before it on an early return:
        // amiquip's drop closes the channel, a round trip to be watched too.
        let channel = channel;
        let consumer = match channel
            .qos(0, self.prefetch, false)
            .and_then(|()| channel.basic_consume(&*self.queue, ConsumerOptions::default()))
        {
            Ok(consumer) => consumer,
            Err(err) => {
                open.store(false, Ordering::Release);
                let _ = ready.send(Err(err));
                return;
            }
        };
        drop(guard);
        // amiquip's I/O thread tells the consumer's receiver that it was
        // cancelled after answering the cancel, and that its channel closed
        // after answering the close; finding no receiver left, it ends the
        // whole connection. amiquip's consumer drops its receiver as soon as
        // the cancel returns: this clone stays until the channel is closed.
        let receiver = consumer.receiver().clone();
        let mut reply = None;
        let mut settlements = Settlements::new(usize::from(self.prefetch / 2).max(1));
        let mark_gone = |settled: amiquip::Result<()>| {
            if settled.as_ref().is_err_and(channel_is_gone) {
                open.store(false, Ordering::Release);
            }
        };
        if ready.send(Ok(receiver.clone())).is_ok() {
            let mut next = requests.recv().ok();
            while let Some(request) = next {
                match request {
                    Request::Settle(delivery, how) => {
                        mark_gone(settlements.settle(delivery, how, &channel));
                    }
                    Request::Stop(sender) => {
                        reply = Some(sender);
                        break;
                    }
                }
                // An ack held back waits only while more requests do.
                next = requests.try_recv().ok().or_else(|| {
                    mark_gone(settlements.flush(&channel));
                    requests.recv().ok()
                });
            }
        }
        mark_gone(settlements.flush(&channel));
        // Stopped, or nobody waits any more (the start timed out).
        open.store(false, Ordering::Release);
        let guard = watchdog::patient(self.timeout, &self.socket, &self.patience);
        let cancelled = consumer.cancel();
        drop(consumer);
        let closed = channel.close();
        drop(guard);
        drop(receiver);
        if let Some(reply) = reply {
            let _ = reply.send(cancelled.and(closed));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::threads::tests::without_threads;
    use crate::{Connection, ConsumeOptions, Error, QueueOptions};

    #[test]
    fn a_consumer_whose_thread_cannot_start_is_a_typed_error_and_its_channel_is_closed() {
        // No other test of this binary uses the shared broker: every channel
        // on it is this test's.
        let broker = testkit::shared_broker();
        let channels = || {
            broker
                .rabbitmqctl(&["list_channels", "-q", "--no-table-headers", "number"])
                .lines()
                .count()
        };
        let connection = Connection::open(&broker.url()).unwrap();
        let queue = connection
            .declare_queue(
                "mq-lite.unit.consumer-thread",
                &QueueOptions::default().durable(false).auto_delete(true),
            )
            .unwrap();
        assert_eq!(channels(), 1, "the queue handle's channel");

        let started = std::time::Instant::now();
        let err = without_threads(|| queue.consume(&ConsumeOptions::default())).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ThreadSpawnFailed {
                    thread: "consumer",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        // The channel opened for it is closed, in the background.
        let waited = std::time::Instant::now();
        while channels() != 1 {
            assert!(
                waited.elapsed() < Duration::from_secs(10),
                "{} channels",
                channels()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        queue.publish(b"the connection goes on").unwrap();
        assert_eq!(queue.info().unwrap().consumer_count, 0);
    }
}
