//! Publishing through the default exchange and waiting for the broker's
//! confirms, within the publish timeout.

use std::time::Instant;

use amiquip::{Confirm, Publish};

use crate::channel::{ChannelSlot, Failure, OpenChannel};
use crate::error::{Error, Result};
use crate::link::{NoAnswer, SharedConnection};
use crate::message::Properties;

/// One message to publish.
pub(crate) type Outgoing<'a> = (&'a [u8], &'a Properties);

/// Refuses, before anything is sent, a message AMQP cannot carry.
pub(crate) fn check_all(messages: &[Outgoing<'_>]) -> Result<()> {
    messages
        .iter()
        .try_for_each(|(_, properties)| properties.check())
}

/// The largest body of `messages`, for [`Error::MessageTooLarge`].
fn largest(messages: &[Outgoing<'_>]) -> usize {
    messages
        .iter()
        .map(|(body, _)| body.len())
        .max()
        .unwrap_or(0)
}

/// The frames of one message to `queue`, through the default exchange.
pub(crate) fn to_publish<'a>(
    queue: &str,
    body: &'a [u8],
    properties: &Properties,
    mandatory: bool,
) -> Publish<'a> {
    Publish {
        body,
        routing_key: queue.to_owned(),
        mandatory,
        immediate: false,
        properties: properties.to_amqp(),
    }
}

/// Publishes `messages` to `queue` on the slot's confirm-mode channel and
/// waits for the broker to confirm them all, within the publish timeout
/// (for each attempt, when a reconnection makes another).
pub(crate) fn publish_confirmed(
    slot: &ChannelSlot,
    queue: &str,
    messages: &[Outgoing<'_>],
) -> Result<()> {
    check_all(messages)?;
    let connection = slot.connection();
    let call = connection.publishing(queue, largest(messages));
    let timeout = call.timeout;
    let publish_timeout = |in_doubt, connection_lost| Error::PublishTimeout {
        queue: queue.to_owned(),
        timeout,
        in_doubt,
        connection_lost,
    };
    // Messages the broker has confirmed, across reconnections: only the
    // rest is published again after a loss.
    let mut confirmed = 0;
    slot.with(call, |open| {
        let deadline = Instant::now() + timeout;
        let batch = &messages[confirmed..];
        let first = open.published + 1;
        let sent = open.within(deadline, |channel| {
            for (index, (body, properties)) in batch.iter().enumerate() {
                // The default exchange routes by the queue's existence
                // alone, so the batch's first and last messages tell
                // whether it was routed; the flag costs the broker.
                let mandatory = index == 0 || index + 1 == batch.len();
                channel.basic_publish("", to_publish(queue, body, properties, mandatory))?;
            }
            Ok(())
        });
        match sent {
            Ok(()) => open.published += batch.len() as u64,
            // The broker read too slowly for the batch to be sent in time
            // (amiquip waits for room in its buffers): the watchdog gave
            // the connection up.
            Err(Failure::TimedOut) => {
                return Err(Failure::GaveUp(publish_timeout(batch.len(), true)))
            }
            Err(failure) => return Err(failure),
        }
        let outcome = wait_for_confirms(open, first, deadline, connection);
        match outcome {
            // Confirms or returns of this call may still come: the next
            // call takes a new channel rather than mistake them for its own.
            Err(Unconfirmed::TimedOut { .. } | Unconfirmed::Blocked { .. })
            // A channel RabbitMQ refuses messages on may go on refusing
            // them: one opened on a cluster node while a quorum queue's
            // leader was failing over keeps the dead leader and nacks
            // every message (seen with RabbitMQ 3.10), where a new
            // channel reaches the new leader.
            | Err(Unconfirmed::Refused(_)) => open.retired = true,
            _ => {}
        }
        match outcome {
            Ok(()) => Ok(()),
            Err(Unconfirmed::Returned(reply)) => Err(Failure::Final(Error::Unroutable {
                queue: queue.to_owned(),
                reply,
            })),
            Err(Unconfirmed::Refused(count)) => Err(Failure::Final(Error::NotConfirmed {
                queue: queue.to_owned(),
                count,
            })),
            Err(Unconfirmed::ChannelClosed { confirmed: count }) => {
                confirmed += count;
                // The broker closed the channel (a message over its size
                // limit, say) or the connection went: ask amiquip which.
                Err(Failure::Amqp(open.closing_reason()))
            }
            Err(Unconfirmed::TimedOut { in_doubt }) => {
                Err(Failure::Final(publish_timeout(in_doubt, false)))
            }
            Err(Unconfirmed::Blocked { reason, in_doubt }) => {
                Err(Failure::Final(call.blocked_in_doubt(reason, in_doubt)))
            }
        }
    })
}

/// Why published messages were not all confirmed.
enum Unconfirmed {
    Refused(usize),
    Returned(String),
    /// The channel died; the first `confirmed` messages had been confirmed.
    ChannelClosed {
        confirmed: usize,
    },
    TimedOut {
        in_doubt: usize,
    },
    /// The broker blocked the connection (a resource alarm) before it
    /// confirmed everything.
    Blocked {
        reason: String,
        in_doubt: usize,
    },
}

/// Waits until the broker has confirmed every tag from `first` to
/// `open.published`, then reports any message it returned or refused. Gives
/// up at `deadline`, or as soon as the broker blocks the connection:
/// RabbitMQ blocks a connection when it publishes during an alarm and
/// confirms nothing until the alarm clears.
fn wait_for_confirms(
    open: &OpenChannel,
    first: u64,
    deadline: Instant,
    connection: &SharedConnection,
) -> std::result::Result<(), Unconfirmed> {
    let last = open.published;
    let mut confirmed_up_to = first - 1;
    let mut refused = 0usize;
    let in_doubt = |confirmed_up_to: u64| usize::try_from(last - confirmed_up_to).unwrap_or(0);
    while confirmed_up_to < last {
        let confirm = match connection.answer(&open.confirms, deadline) {
            Ok(confirm) => confirm,
            Err(NoAnswer::Disconnected) => {
                let confirmed = usize::try_from(confirmed_up_to + 1 - first).unwrap_or(0);
                return Err(Unconfirmed::ChannelClosed { confirmed });
            }
            Err(NoAnswer::Blocked(reason)) => {
                return Err(Unconfirmed::Blocked {
                    reason,
                    in_doubt: in_doubt(confirmed_up_to),
                })
            }
            Err(NoAnswer::TimedOut) => {
                return Err(Unconfirmed::TimedOut {
                    in_doubt: in_doubt(confirmed_up_to),
                })
            }
        };
        let (payload, acked) = match confirm {
            Confirm::Ack(payload) => (payload, true),
            Confirm::Nack(payload) => (payload, false),
        };
        let tag = payload.delivery_tag;
        if tag < first {
            continue; // an earlier call's confirm
        }
        // Confirms come in tag order; `multiple` covers every tag up to this one.
        let covered = if payload.multiple {
            tag.saturating_sub(confirmed_up_to)
        } else {
            1
        };
        if !acked {
            refused += usize::try_from(covered).unwrap_or(usize::MAX);
        }
        confirmed_up_to = confirmed_up_to.max(tag);
    }
    // The broker sends basic.return before the confirm of the same message.
    if let Ok(returned) = open.returns.try_recv() {
        while open.returns.try_recv().is_ok() {}
        return Err(Unconfirmed::Returned(format!(
            "{} {}",
            returned.reply_code, returned.reply_text
        )));
    }
    if refused > 0 {
        return Err(Unconfirmed::Refused(refused));
    }
    Ok(())
}
