//! Helpers shared by the broker tests.
#![allow(dead_code)] // each test file uses some of them

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mq_lite::Connection;

/// A connection to this test process's broker.
pub fn connect() -> Connection {
    Connection::open(&testkit::shared_broker().url()).expect("connect to the test broker")
}

/// A connection to this test process's broker at the container's own
/// address when this host reaches it (Linux), bypassing docker-proxy, which
/// adds some 0.1 ms to every round trip; else through the published port.
pub fn connect_direct() -> Connection {
    let broker = testkit::shared_broker();
    let ip = testkit::docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        broker.id(),
    ]);
    let direct = ip.split_whitespace().next().and_then(|ip| {
        let address = format!("{ip}:5672");
        let socket = address.parse().ok()?;
        std::net::TcpStream::connect_timeout(&socket, Duration::from_secs(1)).ok()?;
        Some(format!("amqp://guest:guest@{address}/%2f"))
    });
    Connection::open(&direct.unwrap_or_else(|| broker.url())).expect("connect to the test broker")
}

/// A queue name no other test uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "mq-lite.test.{prefix}.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `condition` every 50 ms until it holds; fails the test after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
