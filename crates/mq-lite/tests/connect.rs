//! Connecting: good and bad URLs, credentials and vhosts, on a real broker.

mod common;

use std::time::{Duration, Instant};

use mq_lite::{ConnectOptions, Connection, Error};

fn broker_port() -> String {
    let url = testkit::shared_broker().url();
    let port = url
        .rsplit(':')
        .next()
        .and_then(|tail| tail.split('/').next());
    port.expect("a port in the broker URL").to_owned()
}

#[test]
fn connects_and_closes_cleanly() {
    common::connect().close().expect("close");
}

#[test]
fn refused_connection_is_a_typed_error_within_the_timeout() {
    // Port 1 on loopback: nothing listens there, so the connect is refused.
    let started = Instant::now();
    let err = Connection::open("amqp://guest:guest@127.0.0.1:1/%2f").unwrap_err();
    assert!(matches!(err, Error::BrokerUnreachable { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn wrong_credentials_are_a_typed_error() {
    let url = format!("amqp://guest:wrong@127.0.0.1:{}/%2f", broker_port());
    let started = Instant::now();
    let err =
        Connection::open_with(&ConnectOptions::new(url).connection_timeout(Duration::from_secs(5)))
            .unwrap_err();
    assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");
    assert!(!err.to_string().contains("wrong"), "password leaked: {err}");
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[test]
fn an_unknown_vhost_is_a_typed_error() {
    let url = format!(
        "amqp://guest:guest@127.0.0.1:{}/no-such-vhost",
        broker_port()
    );
    let err =
        Connection::open_with(&ConnectOptions::new(url).connection_timeout(Duration::from_secs(5)))
            .unwrap_err();
    assert!(matches!(err, Error::VhostRefused { .. }), "{err:?}");
}

#[test]
fn a_listener_that_never_answers_times_out_instead_of_hanging() {
    // A TCP listener that accepts but never speaks AMQP.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("amqp://guest:guest@{}/%2f", silent.local_addr().unwrap());
    let started = Instant::now();
    let err = Connection::open_with(
        &ConnectOptions::new(url).connection_timeout(Duration::from_millis(800)),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Timeout { .. } | Error::HandshakeFailed { .. }),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
