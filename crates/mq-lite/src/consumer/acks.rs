//! Settling a consumer's deliveries, acks that pile up sent as one.
//!
//! Settles reach the session thread through a queue; when several acks wait
//! there, and every delivery up to the highest of them is settled, one
//! `basic.ack` with `multiple` set covers them all: one frame, and one wake
//! of amiquip's I/O thread, instead of one per message. An ack with an
//! unsettled delivery below it (a worker still holds it) goes alone, so
//! `multiple` never covers a message nobody settled.

use std::collections::BTreeSet;

use crate::delivery::Settle;

/// How many settled tags above an unsettled one are remembered. The broker
/// sends at most `prefetch` (≤ 65,535) unsettled deliveries, but a worker
/// holding one for long lets the settled ones above it grow without bound:
/// past this many, acks go one by one for the rest of the session.
const MAX_SETTLED_AHEAD: usize = 1 << 16;

/// Which delivery tags of one channel are settled, and the ack held back
/// to cover the next ones.
pub(crate) struct Settlements {
    /// Every tag up to this one is settled (tags start at 1 on a channel).
    settled_through: u64,
    /// Settled tags above an unsettled one.
    settled_ahead: BTreeSet<u64>,
    /// The ack not sent yet; every tag up to its own is settled.
    held: Option<amiquip::Delivery>,
    /// How many acks `held` stands for, itself included.
    covered: usize,
    /// False once `settled_ahead` overflowed.
    coalescing: bool,
    /// The most acks one `basic.ack` stands for: held acks count against
    /// the prefetch, and the broker sends nothing past it.
    most_covered: usize,
}

impl Settlements {
    /// Settles one channel's deliveries, one `basic.ack` standing for at
    /// most `most_covered` acks.
    pub fn new(most_covered: usize) -> Settlements {
        Settlements {
            settled_through: 0,
            settled_ahead: BTreeSet::new(),
            held: None,
            covered: 0,
            coalescing: true,
            most_covered,
        }
    }

    /// Settles `delivery` (`how`) on `channel`, or, for an ack that can
    /// wait, holds it back until [`flush`](Self::flush).
    pub fn settle(
        &mut self,
        delivery: amiquip::Delivery,
        how: Settle,
        channel: &amiquip::Channel,
    ) -> amiquip::Result<()> {
        if !self.coalescing {
            self.flush(channel)?;
            return how.apply(delivery, channel);
        }
        let tag = delivery.delivery_tag();
        self.record(tag);
        if matches!(how, Settle::Ack) && tag <= self.settled_through {
            // Every tag below is settled: the higher of this ack and the
            // one held covers both.
            match &self.held {
                Some(held) if held.delivery_tag() > tag => {}
                _ => self.held = Some(delivery),
            }
            self.covered += 1;
            if self.covered >= self.most_covered {
                return self.flush(channel);
            }
            return Ok(());
        }
        // Order kept: what was held goes first.
        self.flush(channel)?;
        how.apply(delivery, channel)
    }

    /// Sends the ack held back, if any.
    pub fn flush(&mut self, channel: &amiquip::Channel) -> amiquip::Result<()> {
        let Some(delivery) = self.held.take() else {
            return Ok(());
        };
        let covered = std::mem::take(&mut self.covered);
        if covered == 1 {
            delivery.ack(channel)
        } else {
            delivery.ack_multiple(channel)
        }
    }

    fn record(&mut self, tag: u64) {
        if tag == self.settled_through + 1 {
            self.settled_through = tag;
            while self.settled_ahead.remove(&(self.settled_through + 1)) {
                self.settled_through += 1;
            }
        } else if tag > self.settled_through {
            self.settled_ahead.insert(tag);
            if self.settled_ahead.len() > MAX_SETTLED_AHEAD {
                self.coalescing = false;
                self.settled_ahead = BTreeSet::new();
            }
        }
    }
}
