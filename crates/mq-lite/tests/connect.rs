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

/// The error and every error below it, as `Display` and `Debug` text.
fn all_text(err: &Error) -> String {
    let mut text = format!("{err}\n{err:?}\n{err:#?}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!("\n{cause}\n{cause:?}"));
        source = cause.source();
    }
    text
}

#[test]
fn no_password_appears_in_any_error_for_any_url_parseable_or_not() {
    let port = broker_port();
    let urls = [
        // Refused by the broker, by the URL parser, by mq-lite's checks.
        format!("amqp://guest:s3cr3t-pw@127.0.0.1:{port}/%2f"),
        "amqp://guest:s3cr3t-pw@127.0.0.1:1/%2f".to_owned(),
        // Refused before any lookup (a real one, of a name that does not
        // resolve, would make the test depend on DNS).
        "amqp://guest:s3cr3t-pw@host.invalid:notaport/".to_owned(),
        "amqp://guest:s3cr3t-pw@[::1/".to_owned(),
        "amqp://guest:s3cr3t-pw".to_owned(),
        "guest:s3cr3t-pw@host.invalid".to_owned(),
        "http://guest:s3cr3t-pw@host.invalid/".to_owned(),
        "amqp://guest:s3cr3t-pw@host.invalid/a/b".to_owned(),
        "amqp://guest:s3cr3t-pw@host.invalid/?frame_max=1".to_owned(),
        "amqp://guest:s3cr%33t-pw@127.0.0.1:1/".to_owned(),
        "amqp://guest:s3cr3t-pw@ho st/".to_owned(),
    ];
    for url in urls {
        let options = ConnectOptions::new(url.clone()).connection_timeout(Duration::from_secs(2));
        assert!(!format!("{options:?}").contains("s3cr"), "{options:?}");
        let err = Connection::open_with(&options).unwrap_err();
        let text = all_text(&err);
        assert!(!text.contains("s3cr"), "{url}: {text}");
        assert!(!text.contains("t-pw"), "{url}: {text}");
    }
}

#[test]
fn unknown_url_options_and_sub_second_heartbeats_are_typed_errors() {
    let port = broker_port();
    let err = Connection::open(&format!(
        "amqp://guest:guest@127.0.0.1:{port}/%2f?heartbeat=10&channel_max=5"
    ))
    .unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("channel_max"), "{err}");
    let err = Connection::open_with(
        &ConnectOptions::new(format!("amqp://guest:guest@127.0.0.1:{port}/%2f"))
            .heartbeat(Duration::from_millis(500)),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "heartbeat",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn handles_of_a_closed_connection_say_it_is_closed() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(
            &common::unique("closed"),
            &mq_lite::QueueOptions::default()
                .durable(false)
                .auto_delete(true),
        )
        .unwrap();
    queue.publish(b"x").unwrap();
    let mut consumer = queue.consume(&mq_lite::ConsumeOptions::default()).unwrap();
    connection.close().unwrap();
    assert!(matches!(queue.publish(b"y"), Err(Error::ConnectionClosed)));
    assert!(matches!(queue.get(), Err(Error::ConnectionClosed)));
    // A delivery buffered before the close may come first; then the end.
    let end = loop {
        match consumer.next_timeout(Duration::from_secs(5)) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the consumer waited out its timeout"),
            Err(err) => break err,
        }
    };
    assert!(matches!(end, Error::ConnectionClosed), "{end:?}");
}
