//! Blocking RabbitMQ helpers for work queues.
//!
//! mq-lite declares a named queue, publishes to it directly through the
//! default exchange with publisher confirms, and reads from it with explicit
//! acknowledgements. It is built on [amiquip], whose types never appear in
//! this API, and sets `TCP_NODELAY` on every connection it opens.
//!
//! ```no_run
//! use mq_lite::{Connection, QueueOptions};
//!
//! # fn main() -> Result<(), mq_lite::Error> {
//! // AMQP_URL, or amqp://guest:guest@localhost:5672/%2f
//! let mut connection = Connection::from_env()?;
//! let queue = connection.declare_queue("jobs", &QueueOptions::default())?;
//! queue.publish(b"hello")?; // returns once the broker has confirmed
//! if let Some(delivery) = queue.get()? {
//!     println!("{}", String::from_utf8_lossy(delivery.body()));
//!     delivery.ack()?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Threading
//!
//! [`Connection`], [`Queue`] and [`Delivery`] are owned values that are
//! `Send`: keep them together in one struct or move them to a worker thread.
//! A queue owns its AMQP channel; a delivery acknowledges on the channel of
//! the queue it came from.
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
