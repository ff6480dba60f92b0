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
//! let mut connection = Connection::from_env()?;
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
//!   (`PRECONDITION_FAILED`), an unroutable message; a connect never hangs
//!   past its timeout.
//! - Recovery: the broker closes a channel on any channel error; mq-lite
//!   opens a new one on the next call, so handles stay usable.
//! - An opt-in [`ReconnectPolicy`] under which publishers and consumers
//!   survive a broker restart.
//! - Queue names checked before anything is sent ([`check_queue_name`]).
//!
//! # Threading
//!
//! [`Connection`], [`Queue`], [`Consumer`] and [`Delivery`] are owned values
//! and `Send`: keep a connection, its queues and a consumer together in one
//! struct, or move each to its own thread. A queue and a consumer each own
//! an AMQP channel; a delivery is settled on the channel it came from, so it
//! too can move to another thread. Calls on one queue from several threads
//! are serialised (share it in an `Arc`); for parallel publishing, declare
//! the queue once per thread. The connection stays open while any of its
//! handles lives.
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

mod channel;
mod connection;
mod consumer;
mod delivery;
mod dial;
mod error;
mod message;
mod names;
mod queue;
mod reconnect;
mod url;

pub use connection::{ConnectOptions, Connection, URL_ENV_VAR};
pub use consumer::{ConsumeOptions, Consumer};
pub use delivery::Delivery;
pub use error::{BoxError, Error, Result};
pub use message::{HeaderValue, Message, Properties};
pub use names::{check_queue_name, check_queue_name_syntax, MAX_QUEUE_NAME_BYTES};
pub use queue::{DeadLetter, Queue, QueueInfo, QueueOptions, QueueType};
pub use reconnect::ReconnectPolicy;
pub use url::DEFAULT_URL;
