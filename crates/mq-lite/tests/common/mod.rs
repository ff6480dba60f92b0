//! Helpers shared by the broker tests.

use std::sync::atomic::{AtomicUsize, Ordering};

use mq_lite::Connection;

/// A connection to this test process's broker.
pub fn connect() -> Connection {
    Connection::open(&testkit::shared_broker().url()).expect("connect to the test broker")
}

/// A queue name no other test uses.
#[allow(dead_code)] // not every test file declares queues
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "mq-lite.test.{prefix}.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
