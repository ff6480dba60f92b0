//! A deadline for the calls into amiquip that have none of their own.
//!
//! amiquip waits for the broker's answer to a request (and, when its write
//! buffer is full, for room to send) with no timeout. RabbitMQ stops
//! reading a connection once it has published during a resource alarm, so
//! such a wait lasts as long as the alarm; a stalled network, until the
//! heartbeats run out. A [`Guard`] registers the call's deadline and the
//! connection's socket; one watchdog thread per process shuts that socket
//! down when the deadline passes. amiquip's I/O thread then ends and the
//! waiting call returns: the connection is lost, but the call keeps its
//! deadline. Calls register without waking the watchdog, which looks at
//! least once a second (sooner for a nearer deadline), so the fast path
//! costs two uncontended lock operations.
//!
//! A [`patient`] guard, for the calls made in the background (closing a
//! channel, starting or stopping a consumer), waits as long as the broker
//! blocks the connection: it answers once the alarm clears, and nobody is
//! waiting for it meanwhile. Its deadline then starts again.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::threads;

/// The longest the watchdog sleeps between two looks.
const TICK: Duration = Duration::from_secs(1);
/// Looks with nothing registered after which the thread ends (it is
/// started again by the next registration).
const IDLE_TICKS: u32 = 30;

/// The socket of one connection, as the watchdog shuts it down.
pub(crate) type Socket = Arc<TcpStream>;

/// While this says true (the broker blocks the connection), a patient
/// call's deadline keeps moving.
pub(crate) type Patience = Arc<dyn Fn() -> bool + Send + Sync>;

struct Call {
    deadline: Instant,
    socket: Socket,
    fired: bool,
    /// For a patient call: when to give up, and how long it gets once the broker stops blocking.
    patience: Option<(Patience, Duration)>,
}

#[derive(Default)]
struct State {
    calls: HashMap<u64, Call>,
    next_id: u64,
    running: bool,
    /// When the running thread looks next.
    next_look: Option<Instant>,
}

#[derive(Default)]
struct Watchdog {
    state: Mutex<State>,
    wake: Condvar,
}

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(Watchdog::default)
}

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn run(&'static self) {
        let mut state = self.lock();
        let mut idle = 0;
        loop {
            let now = Instant::now();
            let mut earliest: Option<Instant> = None;
            for call in state.calls.values_mut().filter(|call| !call.fired) {
                if let Some((waits, timeout)) = &call.patience {
                    if waits() {
                        call.deadline = call.deadline.max(now + *timeout);
                    }
                }
                if call.deadline <= now {
                    call.fired = true;
                    // amiquip's I/O thread sees the socket close and ends.
                    let _ = call.socket.shutdown(Shutdown::Both);
                } else {
                    earliest = Some(earliest.map_or(call.deadline, |e| e.min(call.deadline)));
                }
            }
            idle = if state.calls.is_empty() { idle + 1 } else { 0 };
            if idle > IDLE_TICKS {
                state.running = false;
                state.next_look = None;
                return;
            }
            let look = earliest.map_or(now + TICK, |deadline| deadline.min(now + TICK));
            state.next_look = Some(look);
            state = self
                .wake
                .wait_timeout(state, look.saturating_duration_since(now))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

/// A call under a deadline; dropping it (or [`fired`](Self::fired)) ends the watch.
pub(crate) struct Guard {
    id: u64,
    /// Set by [`fired`](Self::fired), so that the drop does not end the watch again.
    ended: bool,
}

/// Watches the call about to be made on the connection of `socket` until
/// the guard is dropped, shutting the socket down at `deadline`.
pub(crate) fn guard(deadline: Instant, socket: &Socket) -> Guard {
    register(deadline, socket, None)
}

/// Like [`guard`], for a call made in the background: `timeout` from now,
/// and again `timeout` from the end of any block while `waits` says the
/// broker blocks the connection.
pub(crate) fn patient(timeout: Duration, socket: &Socket, waits: &Patience) -> Guard {
    register(
        Instant::now() + timeout,
        socket,
        Some((Arc::clone(waits), timeout)),
    )
}

fn register(deadline: Instant, socket: &Socket, patience: Option<(Patience, Duration)>) -> Guard {
    let dog = watchdog();
    let mut state = dog.lock();
    let id = state.next_id;
    state.next_id += 1;
    state.calls.insert(
        id,
        Call {
            deadline,
            socket: Arc::clone(socket),
            fired: false,
            patience,
        },
    );
    if !state.running {
        // Without a thread the call is not watched; the next guard tries again.
        state.running = threads::spawn("watchdog", 64 * 1024, || watchdog().run()).is_ok();
    } else if state.next_look.is_none_or(|look| deadline < look) {
        dog.wake.notify_one();
    }
    Guard { id, ended: false }
}

impl Guard {
    /// Ends the watch; true when the deadline passed and the socket was shut.
    pub fn fired(mut self) -> bool {
        self.ended = true;
        watchdog()
            .lock()
            .calls
            .remove(&self.id)
            .is_some_and(|call| call.fired)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.ended {
            watchdog().lock().calls.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn connected_pair() -> (Socket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Arc::new(client), server)
    }

    #[test]
    fn a_call_past_its_deadline_has_its_socket_shut_down() {
        let (socket, _server) = connected_pair();
        let started = Instant::now();
        let guard = guard(started + Duration::from_millis(200), &socket);
        let mut buffer = [0u8; 1];
        // A read that nothing would ever end but the shutdown.
        let read = (&*socket).read(&mut buffer);
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        let waited = started.elapsed();
        assert!(guard.fired());
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }

    #[test]
    fn a_patient_call_waits_while_the_broker_blocks_and_then_gets_its_timeout_again() {
        let (socket, _server) = connected_pair();
        let blocked = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let waits: Patience = {
            let blocked = Arc::clone(&blocked);
            Arc::new(move || blocked.load(std::sync::atomic::Ordering::SeqCst))
        };
        let started = Instant::now();
        let guard = patient(Duration::from_millis(200), &socket, &waits);
        let unblocker = {
            let blocked = Arc::clone(&blocked);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(1500));
                blocked.store(false, std::sync::atomic::Ordering::SeqCst);
            })
        };
        let mut buffer = [0u8; 1];
        let read = (&*socket).read(&mut buffer);
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        let waited = started.elapsed();
        assert!(guard.fired());
        unblocker.join().unwrap();
        // Not at 200 ms: only once unblocked (1.5 s), plus up to its timeout.
        assert!(waited >= Duration::from_millis(1500), "{waited:?}");
        assert!(waited < Duration::from_secs(3), "{waited:?}");
    }

    #[test]
    fn a_call_that_ends_in_time_leaves_its_socket_alone() {
        let (socket, mut server) = connected_pair();
        let guard = guard(Instant::now() + Duration::from_millis(100), &socket);
        assert!(!guard.fired());
        std::thread::sleep(Duration::from_millis(300));
        let mut client = &*socket;
        client.write_all(b"x").expect("the socket is still open");
        server
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let mut buffer = [0u8; 1];
        assert_eq!(server.read(&mut buffer).unwrap(), 1);
    }
}
