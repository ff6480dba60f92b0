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

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The longest the watchdog sleeps between two looks.
const TICK: Duration = Duration::from_secs(1);
/// Looks with nothing registered after which the thread ends (it is
/// started again by the next registration).
const IDLE_TICKS: u32 = 30;

/// The socket of one connection, as the watchdog shuts it down.
pub(crate) type Socket = Arc<TcpStream>;

struct Call {
    deadline: Instant,
    socket: Socket,
    fired: bool,
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
}

/// Watches the call about to be made on the connection of `socket` until
/// the guard is dropped, shutting the socket down at `deadline`.
pub(crate) fn guard(deadline: Instant, socket: &Socket) -> Guard {
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
        },
    );
    if !state.running {
        let spawned = std::thread::Builder::new()
            .name("mq-lite-watchdog".into())
            .stack_size(64 * 1024)
            .spawn(|| watchdog().run());
        // Without a thread the call is not watched; the next guard tries again.
        state.running = spawned.is_ok();
    } else if state.next_look.is_none_or(|look| deadline < look) {
        dog.wake.notify_one();
    }
    Guard { id }
}

impl Guard {
    /// Ends the watch; true when the deadline passed and the socket was shut.
    pub fn fired(self) -> bool {
        self.end()
    }

    fn end(&self) -> bool {
        watchdog()
            .lock()
            .calls
            .remove(&self.id)
            .is_some_and(|call| call.fired)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.end();
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
