//! Answering submitters on their reply-to queues: what the worker (for a
//! failed job) and the committer (for a rendered or dead one) share.

use std::collections::hash_map::{Entry, HashMap};

use mq_lite::{Connection, Message, Queue};

use crate::error::PlatformError;
use crate::job::JobResult;

/// Reply handles kept at most; past that the cache starts afresh.
const MAX_REPLY_HANDLES: usize = 64;

/// Handles on submitters' reply queues, kept so that each answer does not
/// open (and close) a channel of its own.
#[derive(Default)]
pub(crate) struct Replies {
    handles: HashMap<String, Queue>,
}

impl Replies {
    /// Publishes `result` to `reply_to`, confirmed. A reply queue that is
    /// gone (its client went away) or that cannot be (a name AMQP refuses)
    /// is not an error: nobody waits there.
    pub fn send(
        &mut self,
        connection: &Connection,
        reply_to: &str,
        result: &JobResult,
    ) -> Result<(), PlatformError> {
        let message = Message::json(result)?.correlation_id(result.id.clone());
        if self.handles.len() >= MAX_REPLY_HANDLES && !self.handles.contains_key(reply_to) {
            self.handles.clear();
        }
        let handle = match self.handles.entry(reply_to.to_owned()) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => match connection.existing_queue(reply_to) {
                Ok(handle) => new.insert(handle),
                Err(mq_lite::Error::InvalidQueueName { .. }) => return Ok(()),
                Err(err) => return Err(err.into()),
            },
        };
        match handle.publish_message(&message) {
            Err(mq_lite::Error::Unroutable { .. }) => {
                self.handles.remove(reply_to);
                Ok(())
            }
            other => Ok(other?),
        }
    }
}
