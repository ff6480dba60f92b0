//! The workloads' AMQP calls made through mq-lite.

use std::time::Duration;

use mq_lite::{ConsumeOptions, Message, Queue, QueueOptions};

use crate::workload::Client;
use crate::Result;

/// How long a consumer waits for the next message before the run counts as failed.
const CONSUME_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct MqLiteClient {
    connection: mq_lite::Connection,
}

impl MqLiteClient {
    pub fn open(url: &str) -> Result<Self> {
        Ok(MqLiteClient {
            connection: mq_lite::Connection::open(url)?,
        })
    }
}

impl Client for MqLiteClient {
    type Queue = Queue;

    fn declare(&mut self, name: &str) -> Result<Queue> {
        Ok(self
            .connection
            .declare_queue(name, &QueueOptions::default())?)
    }

    fn publish_confirmed(&mut self, queue: &mut Queue, body: &[u8]) -> Result<()> {
        Ok(queue.publish(body)?)
    }

    fn publish_batch(&mut self, queue: &mut Queue, body: &[u8], count: usize) -> Result<()> {
        let message = Message::new(body);
        Ok(queue.publish_batch(std::iter::repeat_n(&message, count))?)
    }

    fn publish_unconfirmed(&mut self, queue: &mut Queue, body: &[u8]) -> Result<()> {
        Ok(queue.publish_unconfirmed(&Message::new(body))?)
    }

    fn ready_count(&mut self, queue: &mut Queue) -> Result<u32> {
        Ok(queue.info()?.message_count)
    }

    fn get_and_ack(&mut self, queue: &mut Queue) -> Result<bool> {
        match queue.get()? {
            Some(delivery) => delivery.ack().map(|()| true).map_err(Into::into),
            None => Ok(false),
        }
    }

    fn consume_and_ack(&mut self, queue: &mut Queue, count: usize, prefetch: u16) -> Result<()> {
        let options = ConsumeOptions::default()
            .prefetch(prefetch)
            .idle_timeout(CONSUME_IDLE_TIMEOUT);
        let mut acked = 0;
        for delivery in queue.consume(&options)?.take(count) {
            delivery?.ack()?;
            acked += 1;
        }
        if acked < count {
            return Err(format!("the consumer went idle after {acked} of {count} messages").into());
        }
        Ok(())
    }

    fn delete(&mut self, queue: Queue) -> Result<()> {
        queue.delete()?;
        Ok(())
    }
}
