//! The one error type of mq-lite.

use std::time::Duration;

/// A boxed error from the layer below (the AMQP client or the OS), kept as a
/// source so that no backend type appears in mq-lite's API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in mq-lite.
///
/// Each variant names what failed, carries the input that caused it, and
/// keeps the underlying error as its [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The broker URL could not be parsed, uses an unsupported scheme, or
    /// has a query parameter mq-lite does not know.
    #[error("invalid broker URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given, with any password masked (also when the URL
        /// cannot be parsed).
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A connection or consumer option cannot be honoured, for instance a
    /// heartbeat that is not a whole number of seconds (AMQP counts them in
    /// seconds; 500 ms would silently become 0, which turns heartbeats off),
    /// or a prefetch of 0 (no limit, in AMQP).
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option: `heartbeat`, `publish_timeout`, `prefetch`, ...
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// No TCP connection could be opened to any address of the broker.
    #[error("cannot reach the broker at {address}")]
    BrokerUnreachable {
        /// `host:port` of the broker.
        address: String,
        /// The last connection error.
        #[source]
        source: std::io::Error,
    },

    /// The broker refused the user name or password.
    #[error("the broker at {address} refused the credentials of user {user:?}")]
    AuthenticationFailed {
        /// `host:port` of the broker.
        address: String,
        /// The user name that was offered.
        user: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The broker refused access to the virtual host: it does not exist, or
    /// the user has no permission on it.
    #[error("the broker at {address} refused access to vhost {vhost:?} for user {user:?}")]
    VhostRefused {
        /// `host:port` of the broker.
        address: String,
        /// The user name that was offered.
        user: String,
        /// The virtual host that was asked for.
        vhost: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The TCP connection opened but the AMQP handshake failed for another
    /// reason (not an AMQP broker, protocol error, connection dropped).
    #[error("AMQP handshake with {address} failed (user {user:?}, vhost {vhost:?})")]
    HandshakeFailed {
        /// `host:port` of the broker.
        address: String,
        /// The user name that was offered.
        user: String,
        /// The virtual host that was asked for.
        vhost: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The TLS layer of an `amqps://` connection failed: the broker's
    /// certificate is not trusted or does not match the host, or a trusted
    /// certificate given to mq-lite could not be read.
    #[error("TLS with the broker at {address} failed")]
    Tls {
        /// `host:port` of the broker.
        address: String,
        /// What the TLS library reported.
        #[source]
        source: BoxError,
    },

    /// The broker did not answer in time: the name lookup (`resolve`) or
    /// the handshake (`connect`) within the connection timeout, or a
    /// request (declare, get, purge, delete, inspect, consume, cancel,
    /// close, or the channel open before one) within the request timeout
    /// (see [`ConnectOptions`](crate::ConnectOptions)).
    ///
    /// amiquip cannot withdraw a request in flight, so a request left
    /// unanswered past its deadline gives up the connection (the broker had
    /// stopped reading it): the connection's other handles then fail with
    /// [`Error::ConnectionLost`], or reconnect under a
    /// [`ReconnectPolicy`](crate::ReconnectPolicy).
    #[error("{operation} got no answer from the broker at {address} within {timeout:?}")]
    Timeout {
        /// What was waiting: `resolve`, `connect`, `declare`, `get`, `close`, ...
        operation: &'static str,
        /// `host:port` of the broker.
        address: String,
        /// The timeout that ran out.
        timeout: Duration,
    },

    /// A queue name was refused before anything was sent.
    #[error("invalid queue name {name:?}: {reason}")]
    InvalidQueueName {
        /// The name as given (truncated in the message if very long).
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A message property, a header or a declare argument that AMQP cannot
    /// carry (a short string over 255 bytes, say) was refused before
    /// anything was sent.
    #[error("{argument} cannot be sent: {reason}")]
    InvalidArgument {
        /// Which property, header or argument, with its (shortened) value.
        argument: String,
        /// Why it was refused.
        reason: String,
    },

    /// An operation on a queue failed in the client library.
    #[error("{operation} on queue {queue:?} failed")]
    QueueOperation {
        /// What was being done: `declare`, `publish`, `get`, ...
        operation: &'static str,
        /// The queue it was done on.
        queue: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// A published message could not be routed to its queue (the queue
    /// does not exist), so the broker returned it.
    #[error("the broker returned the message published to queue {queue:?}: {reply}")]
    Unroutable {
        /// The queue the message was published to.
        queue: String,
        /// The broker's reply code and text.
        reply: String,
    },

    /// The queue does not exist (the broker answered 404 NOT_FOUND). The
    /// broker closed the handle's channel; the next call opens another,
    /// and the connection and its other handles stay usable.
    #[error("{operation} on queue {queue:?} failed: the queue does not exist (broker reply 404: {message})")]
    QueueNotFound {
        /// What was being done: `declare`, `get`, `consume`, `inspect`, ...
        operation: &'static str,
        /// The queue asked for.
        queue: String,
        /// The broker's reply text.
        message: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The broker refused the operation with 406 PRECONDITION_FAILED, for
    /// instance a declare whose arguments differ from the existing queue's.
    /// The broker closed the handle's channel; the next call opens another,
    /// and the connection and its other handles stay usable.
    #[error("{operation} on queue {queue:?} failed: a precondition does not hold (broker reply 406: {message})")]
    PreconditionFailed {
        /// What was being done.
        operation: &'static str,
        /// The queue concerned.
        queue: String,
        /// The broker's reply text.
        message: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The broker refused a message over its `max_message_size` (406
    /// PRECONDITION_FAILED; 128 MiB by default in RabbitMQ 3.8 to 3.13).
    /// The connection and its other handles stay usable.
    #[error("publish of {bytes} bytes to queue {queue:?} failed: over the broker's size limit (broker reply 406: {message})")]
    MessageTooLarge {
        /// The queue it was published to.
        queue: String,
        /// The size of the body (of a batch's largest message).
        bytes: usize,
        /// The broker's reply text.
        message: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The broker's permissions refuse the user this operation (403
    /// ACCESS_REFUSED). The connection and its other handles stay usable.
    #[error("{operation} on queue {queue:?} failed: access refused (broker reply 403: {message})")]
    AccessRefused {
        /// What was being done.
        operation: &'static str,
        /// The queue concerned.
        queue: String,
        /// The broker's reply text.
        message: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The queue is exclusive to another connection (405 RESOURCE_LOCKED).
    /// The connection and its other handles stay usable.
    #[error("{operation} on queue {queue:?} failed: the queue is exclusive to another connection (broker reply 405: {message})")]
    QueueLocked {
        /// What was being done.
        operation: &'static str,
        /// The queue concerned.
        queue: String,
        /// The broker's reply text.
        message: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The broker closed the channel with another reply code. The
    /// connection and its other handles stay usable.
    #[error("{operation} on queue {queue:?} failed (broker reply {code}: {message})")]
    ChannelRefused {
        /// What was being done.
        operation: &'static str,
        /// The queue concerned.
        queue: String,
        /// The broker's reply code.
        code: u16,
        /// The broker's reply text.
        message: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The broker refused (nacked) `count` published messages: it did not
    /// take those. Of a batch, the others were taken, so sending the whole
    /// batch again duplicates them. A quorum queue whose leader is failing
    /// over refuses messages for a moment; the next call publishes on a new
    /// channel, which reaches the new leader.
    #[error("the broker refused {count} message(s) published to queue {queue:?}")]
    NotConfirmed {
        /// The queue the messages were published to.
        queue: String,
        /// How many were refused.
        count: usize,
    },

    /// The broker did not confirm published messages within the publish
    /// timeout (see [`ConnectOptions::publish_timeout`](crate::ConnectOptions::publish_timeout)).
    ///
    /// Usually the broker took the messages but did not confirm them in
    /// time (`connection_lost` is false): the connection stays usable, and
    /// the handle's next call takes a new channel, so that a late confirm
    /// is not mistaken for another call's. When the broker did not even
    /// read them in time (it stalled, and the connection's send buffers
    /// filled up), amiquip cannot withdraw what it is sending, so the
    /// connection was given up (`connection_lost` is true), as after an
    /// [`Error::Timeout`]: its other handles fail with
    /// [`Error::ConnectionLost`], or reconnect under a
    /// [`ReconnectPolicy`](crate::ReconnectPolicy).
    #[error("the broker did not confirm {in_doubt} message(s) published to queue {queue:?} within {timeout:?}{}", given_up(.connection_lost))]
    PublishTimeout {
        /// The queue the messages were published to.
        queue: String,
        /// The timeout that ran out.
        timeout: Duration,
        /// Messages of the call that were sent but not confirmed: the broker
        /// may still take them, so publishing them again may duplicate them.
        in_doubt: usize,
        /// True when sending took the whole timeout and the connection was
        /// given up; false when only the confirm was late.
        connection_lost: bool,
    },

    /// The broker is blocking publishers because of a resource alarm (low
    /// memory or disk). RabbitMQ stops reading a connection once it has
    /// published during an alarm, so every request on it would wait until
    /// the alarm clears: mq-lite refuses them at once instead. Publishing
    /// works again on the same connection once the broker unblocks it (see
    /// [`Connection::blocked`](crate::Connection::blocked)).
    #[error(
        "the broker is blocking publishers ({reason}): {operation} on queue {queue:?} refused"
    )]
    Blocked {
        /// What was refused or interrupted.
        operation: &'static str,
        /// The queue concerned.
        queue: String,
        /// The broker's reason, e.g. `low on memory`.
        reason: String,
        /// Messages of the call that were sent but not confirmed before the
        /// broker blocked the connection: it takes them once unblocked.
        in_doubt: usize,
    },

    /// The connection to the broker was lost (broker stopped, network cut,
    /// missed heartbeats, or given up after a call outlived its deadline).
    #[error("the connection to the broker at {address} was lost")]
    ConnectionLost {
        /// `host:port` of the broker.
        address: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// The connection was lost and could not be re-established within the
    /// reconnect policy's limit.
    #[error("could not reconnect to the broker at {address} in {attempts} attempt(s)")]
    ReconnectFailed {
        /// `host:port` of the broker.
        address: String,
        /// How many connections were tried.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: Box<Error>,
    },

    /// The connection was closed by this program.
    #[error("the connection is closed")]
    ConnectionClosed,

    /// The broker-named queue died with the connection it was declared on
    /// (it is exclusive to it), so after a reconnection it is gone: replies
    /// sent to it are lost. Declare a new one with
    /// [`Connection::declare_reply_queue`](crate::Connection::declare_reply_queue)
    /// and give its name to the requesters.
    #[error("reply queue {queue:?} was lost with the connection that declared it")]
    ReplyQueueLost {
        /// The queue's name on the lost connection.
        queue: String,
    },

    /// A delivery was acknowledged after its channel had closed. The broker
    /// has requeued the message already; it will be delivered again.
    #[error("cannot acknowledge a message of queue {queue:?}: its channel closed, so the broker requeued it")]
    DeliveryChannelClosed {
        /// The queue the message came from.
        queue: String,
    },

    /// The broker cancelled the consumer (its queue was deleted, say).
    #[error("the broker cancelled the consumer of queue {queue:?}")]
    ConsumerCancelled {
        /// The queue that was consumed.
        queue: String,
    },

    /// A JSON body could not be encoded or decoded (`serde` feature).
    #[error("cannot {operation} a JSON message body")]
    Json {
        /// `encode` or `decode`.
        operation: &'static str,
        /// What serde_json reported.
        #[source]
        source: BoxError,
    },

    /// The broker or the client library refused to open a channel (all
    /// channel numbers in use, say) on a connection that is otherwise fine.
    #[error("cannot open a channel on the connection to {address}")]
    ChannelOpenFailed {
        /// `host:port` of the broker.
        address: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// [`Connection::close`](crate::Connection::close) could not close the
    /// connection cleanly (the broker's answer was not the expected
    /// close-ok, say). The connection is closed on this side all the same.
    #[error("closing the connection to {address} failed")]
    ConnectionCloseFailed {
        /// `host:port` of the broker.
        address: String,
        /// What the client library reported.
        #[source]
        source: BoxError,
    },

    /// A thread mq-lite needs could not be started (the process is out of
    /// threads or memory).
    #[error("cannot start mq-lite's {thread} thread")]
    ThreadSpawnFailed {
        /// Which thread: `consumer`, `resolver`, ...
        thread: &'static str,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
}

/// The result type of mq-lite.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The end of [`Error::PublishTimeout`]'s message.
fn given_up(connection_lost: &bool) -> &'static str {
    if *connection_lost {
        " (they could not all be sent, so the connection was given up)"
    } else {
        ""
    }
}

/// Wraps a backend error as a [`BoxError`].
pub(crate) fn boxed<E: std::error::Error + Send + Sync + 'static>(err: E) -> BoxError {
    Box::new(err)
}
