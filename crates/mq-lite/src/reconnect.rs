//! The opt-in policy under which a connection comes back after the broker went away.

use std::time::Duration;

/// How mq-lite reconnects after losing the broker (a restart, a network cut).
///
/// amiquip has no reconnection of its own. With a policy set (see
/// [`ConnectOptions::reconnect`](crate::ConnectOptions::reconnect)), an
/// operation that finds the connection lost reconnects with exponential
/// backoff, opens its channel again, declares its queue again and then
/// carries on:
///
/// - a publish republishes every message of the call that the broker had
///   not confirmed (at-least-once: a message confirmed just before the loss
///   but whose confirm was lost in flight may arrive twice);
/// - a consumer starts consuming again; deliveries taken before the loss can
///   no longer be acknowledged (their ack fails with
///   [`Error::DeliveryChannelClosed`](crate::Error::DeliveryChannelClosed),
///   or, made before the consumer saw the loss, is lost unheard), and the
///   broker delivers them again, marked redelivered;
/// - a get is retried;
/// - a queue is declared again on the new connection (a non-durable or
///   exclusive one did not survive); a broker-named reply queue cannot be
///   (another would have another name), so its handles and consumers fail
///   with [`Error::ReplyQueueLost`](crate::Error::ReplyQueueLost).
///
/// No lock is held while dialling or backing off: other handles wait for
/// the reconnection without blocking the connection's other calls, and
/// [`Connection::close`](crate::Connection::close) stops it. Channel errors
/// (a missing queue, a message over the broker's size limit) never cause a
/// reconnection.
///
/// Without a policy, the first operation after the loss fails with
/// [`Error::ConnectionLost`](crate::Error::ConnectionLost).
///
/// ```
/// use std::time::Duration;
/// let policy = mq_lite::ReconnectPolicy::default()
///     .initial_delay(Duration::from_millis(200))
///     .give_up_after(Duration::from_secs(120));
/// let options = mq_lite::ConnectOptions::new("amqp://localhost").reconnect(policy);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectPolicy {
    initial_delay: Duration,
    max_delay: Duration,
    give_up_after: Duration,
}

impl Default for ReconnectPolicy {
    /// 100 ms, doubling up to 5 s between attempts, for at most 60 s.
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            give_up_after: Duration::from_secs(60),
        }
    }
}

impl ReconnectPolicy {
    /// Sets the wait before the second attempt (the first is immediate);
    /// it doubles after each failure.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the longest wait between two attempts.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets how long to keep trying before the operation fails with
    /// [`Error::ReconnectFailed`](crate::Error::ReconnectFailed).
    ///
    /// The limit is checked after each pass over the broker addresses, so
    /// the last wait and pass may end past it: by up to
    /// [`max_delay`](Self::max_delay) plus the connection timeout of each
    /// address.
    pub fn give_up_after(mut self, limit: Duration) -> Self {
        self.give_up_after = limit;
        self
    }

    /// How long to keep trying.
    pub fn limit(&self) -> Duration {
        self.give_up_after
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum() {
        let policy = ReconnectPolicy::default();
        let delays: Vec<u128> = (1..=8).map(|n| policy.delay_after(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(policy.delay_after(200), Duration::from_secs(5));
    }
}
