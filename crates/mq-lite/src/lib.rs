//! Blocking RabbitMQ helpers for work queues.
//!
//! mq-lite declares a named queue, publishes to it directly through the
//! default exchange with publisher confirms, and reads from it with explicit
//! acknowledgements, by [`get`](Queue::get) or by a [`Consumer`] iterator.
//! It is built on [amiquip], whose types never appear in this API.
//!
//! ```no_run
//! use std::time::Duration;
//! use mq_lite::{ConsumeOptions, Connection, QueueOptions};
//!
//! # fn main() -> Result<(), mq_lite::Error> {
//! // AMQP_URL, or amqp://guest:guest@localhost:5672/%2f
//! let connection = Connection::from_env()?;
//! let queue = connection.declare_queue("jobs", &QueueOptions::default())?;
//! queue.publish(b"hello")?; // returns once the broker has confirmed
//!
//! let consumer = queue.consume(&ConsumeOptions::default().idle_timeout(Duration::from_secs(1)))?;
//! for delivery in consumer {
//!     let delivery = delivery?;
//!     println!("{}", String::from_utf8_lossy(delivery.body()));
//!     delivery.ack()?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # What it adds to amiquip
//!
//! - `TCP_NODELAY` on every connection: without it each synchronous round
//!   trip (get, ack, confirm) waits some 40 ms on Nagle's algorithm and the
//!   broker's delayed ACK.
//! - Typed errors ([`Error`]): an unreachable broker, refused credentials,
//!   an unknown vhost, a missing queue, a declare with other arguments
//!   (`PRECONDITION_FAILED`), a message over the broker's size limit, a
//!   permission refused, an unroutable message, a broker blocking
//!   publishers, each naming the operation, the queue and the broker's
//!   reply code and text; no password in any of them.
//! - Deadlines: connecting, publishing (with its confirm) and every other
//!   request have one ([`ConnectOptions`]); amiquip's own waits have none.
//!   Under a broker resource alarm, publishing fails at once with
//!   [`Error::Blocked`] rather than hang, and works again on the same
//!   connection once the alarm clears ([`Connection::blocked`]).
//! - Channel errors stay channel errors: the broker closes a channel on
//!   any of them; mq-lite opens a new one on the next call, so the handle,
//!   its connection and the other handles stay usable, and a reconnect
//!   policy does not redial.
//! - An opt-in [`ReconnectPolicy`] under which publishers and consumers
//!   survive a broker restart, or a cluster node's loss: given several
//!   URLs (a cluster's nodes, comma-separated, in `AMQP_URL` too), a
//!   connection tries them in turn and moves to the next node
//!   ([`Connection::address`] says which it is on). Quorum queues with a
//!   delivery limit and a dead-letter target ([`QueueOptions`]).
//! - Inputs AMQP cannot carry (queue names with control characters,
//!   properties and header names over 255 bytes) refused before anything is
//!   sent; amiquip would send a corrupt frame and lose the connection.
//! - Headers of every AMQP type, so that `x-death` reads typed
//!   ([`HeaderValue`]).
//! - Consumers that release their buffered deliveries when dropped or
//!   [cancelled](Consumer::cancel).
//!
//! # Threading
//!
//! [`Connection`], [`Queue`], [`Consumer`] and [`Delivery`] are owned values
//! and `Send`; a connection and its queues are also `Sync`. Declaring takes
//! `&self`, so threads can share one connection (in an `Arc`, or by
//! reference in scoped threads) and each declare its own queue handles.
//! A queue owns AMQP channels of its own (one to publish, one for gets,
//! opened on first use) and so does a consumer; a delivery is settled on
//! the channel it came from, so it too can move to another thread. Calls
//! on one queue from several threads are serialised; for parallel
//! publishing, declare the queue once per thread. The connection stays
//! open while any of its handles lives.
//!
//! Besides amiquip's I/O thread, a connection has a thread that closes
//! channels in the background (so that dropping a handle never waits on the
//! broker), and each consumer a thread that owns its channel. One thread
//! per process watches the deadlines of calls into amiquip, and connecting
//! to a broker by name looks the name up on a short-lived thread (the
//! system's resolver has no deadline). A thread that cannot be started is
//! an [`Error::ThreadSpawnFailed`].
//!
//! # Features
//!
//! - `tls` (off): `amqps://` URLs, on amiquip's native-tls (OpenSSL on
//!   Linux); [`ConnectOptions::tls_root_certificate`] trusts a private CA.
//! - `serde` (off): JSON bodies with `Message::json`, `Queue::publish_json`
//!   and `Delivery::json`.
//!
//! [amiquip]: https://docs.rs/amiquip
#![deny(missing_docs, unsafe_code)]

mod amqp_error;
mod channel;
mod connection;
mod consumer;
mod declare;
mod delivery;
mod dial;
mod error;
mod headers;
mod limits;
mod link;
mod message;
mod publish;
mod queue;
mod reconnect;
mod threads;
mod url;
mod watchdog;

pub use connection::{ConnectOptions, Connection, URL_ENV_VAR};
pub use consumer::{ConsumeOptions, Consumer};
pub use declare::{
    check_queue_name, check_queue_name_syntax, DeadLetter, QueueInfo, QueueOptions, QueueType,
    MAX_QUEUE_NAME_BYTES,
};
pub use delivery::Delivery;
pub use error::{BoxError, Error, Result};
pub use headers::{HeaderValue, MAX_HEADER_DEPTH};
pub use message::{Message, Properties};
pub use queue::Queue;
pub use reconnect::ReconnectPolicy;
pub use url::DEFAULT_URL;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
