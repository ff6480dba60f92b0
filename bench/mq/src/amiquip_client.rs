//! The workloads' AMQP calls made with amiquip directly: the baseline that
//! shows what mq-lite's wrapping costs.

use std::net::TcpStream;
use std::time::Duration;

use amiquip::{
    AmqpProperties, Auth, Channel, Confirm, ConnectionOptions, ConnectionTuning, ConsumerMessage,
    ConsumerOptions, Publish, QueueDeclareOptions, QueueDeleteOptions,
};
use crossbeam_channel::Receiver;
use percent_encoding::percent_decode_str;

use crate::workload::Client;
use crate::Result;

/// How long to wait for a confirm or a delivery before the run counts as failed.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(30);
/// AMQP delivery mode 2: the broker writes the message to disk.
const PERSISTENT: u8 = 2;

pub struct AmiquipClient {
    connection: amiquip::Connection,
    /// A channel without publisher confirms, for the unconfirmed workload:
    /// what a plain amiquip user would publish on.
    plain: Channel,
}

/// A declared queue and its own channel, in publisher-confirm mode.
pub struct AmiquipQueue {
    name: String,
    channel: Channel,
    confirms: Receiver<Confirm>,
    /// The delivery tag of the last message published on `channel`.
    published: u64,
    /// Every tag up to this one is confirmed.
    confirmed: u64,
}

impl AmiquipClient {
    /// Connects on a socket with `TCP_NODELAY`, as mq-lite does: the fair baseline.
    pub fn open_nodelay(url: &str) -> Result<Self> {
        let url = url::Url::parse(url)?;
        let host = url.host_str().ok_or("the broker URL has no host")?;
        let stream = TcpStream::connect((host, url.port().unwrap_or(5672)))?;
        // amiquip never sets it; without it each round trip waits for Nagle.
        stream.set_nodelay(true)?;
        let stream = mio::net::TcpStream::from_stream(stream)?;
        let options = ConnectionOptions::default()
            .auth(Auth::Plain {
                username: decoded(or_guest(url.username()))?,
                password: decoded(url.password().unwrap_or("guest"))?,
            })
            .virtual_host(vhost(&url)?);
        let connection = amiquip::Connection::insecure_open_stream(
            stream,
            options,
            ConnectionTuning::default(),
        )?;
        Self::on(connection)
    }

    /// Connects the way amiquip does by itself, leaving Nagle's algorithm on.
    pub fn open_default(url: &str) -> Result<Self> {
        Self::on(amiquip::Connection::insecure_open(url)?)
    }

    fn on(mut connection: amiquip::Connection) -> Result<Self> {
        let plain = connection.open_channel(None)?;
        Ok(AmiquipClient { connection, plain })
    }
}

/// The RabbitMQ URI default for a missing user.
fn or_guest(user: &str) -> &str {
    if user.is_empty() {
        "guest"
    } else {
        user
    }
}

fn decoded(text: &str) -> Result<String> {
    Ok(percent_decode_str(text).decode_utf8()?.into_owned())
}

/// The vhost named by the URL's path; `/` when it is empty.
fn vhost(url: &url::Url) -> Result<String> {
    match url.path().trim_start_matches('/') {
        "" => Ok("/".to_owned()),
        path => decoded(path),
    }
}

fn persistent_publish<'a>(queue: &str, body: &'a [u8]) -> Publish<'a> {
    Publish::with_properties(
        body,
        queue,
        AmqpProperties::default().with_delivery_mode(PERSISTENT),
    )
}

impl AmiquipQueue {
    fn publish(&mut self, body: &[u8]) -> Result<()> {
        self.channel
            .basic_publish("", persistent_publish(&self.name, body))?;
        self.published += 1;
        Ok(())
    }

    /// Waits until every published message is confirmed. An ack with
    /// `multiple` covers all tags up to its own; the broker confirms one
    /// queue's messages in order, so the highest tag seen is the mark.
    fn wait_for_confirms(&mut self) -> Result<()> {
        while self.confirmed < self.published {
            match self.confirms.recv_timeout(RECEIVE_TIMEOUT)? {
                Confirm::Ack(ack) => self.confirmed = self.confirmed.max(ack.delivery_tag),
                Confirm::Nack(nack) => {
                    return Err(format!("the broker refused message {}", nack.delivery_tag).into())
                }
            }
        }
        Ok(())
    }
}

impl Client for AmiquipClient {
    type Queue = AmiquipQueue;

    fn declare(&mut self, name: &str) -> Result<AmiquipQueue> {
        let channel = self.connection.open_channel(None)?;
        let confirms = channel.listen_for_publisher_confirms()?;
        channel.enable_publisher_confirms()?;
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel.queue_declare(name, options)?;
        Ok(AmiquipQueue {
            name: name.to_owned(),
            channel,
            confirms,
            published: 0,
            confirmed: 0,
        })
    }

    fn publish_confirmed(&mut self, queue: &mut AmiquipQueue, body: &[u8]) -> Result<()> {
        queue.publish(body)?;
        queue.wait_for_confirms()
    }

    fn publish_batch(&mut self, queue: &mut AmiquipQueue, body: &[u8], count: usize) -> Result<()> {
        (0..count).try_for_each(|_| queue.publish(body))?;
        queue.wait_for_confirms()
    }

    fn publish_unconfirmed(&mut self, queue: &mut AmiquipQueue, body: &[u8]) -> Result<()> {
        Ok(self
            .plain
            .basic_publish("", persistent_publish(&queue.name, body))?)
    }

    fn ready_count(&mut self, queue: &mut AmiquipQueue) -> Result<u32> {
        let declared = queue.channel.queue_declare_passive(queue.name.as_str())?;
        Ok(declared.declared_message_count().unwrap_or(0))
    }

    fn get_and_ack(&mut self, queue: &mut AmiquipQueue) -> Result<bool> {
        match queue.channel.basic_get(queue.name.as_str(), false)? {
            Some(got) => got.ack(&queue.channel).map(|()| true).map_err(Into::into),
            None => Ok(false),
        }
    }

    fn consume_and_ack(
        &mut self,
        queue: &mut AmiquipQueue,
        count: usize,
        prefetch: u16,
    ) -> Result<()> {
        queue.channel.qos(0, prefetch, false)?;
        let consumer = queue
            .channel
            .basic_consume(queue.name.as_str(), ConsumerOptions::default())?;
        for _ in 0..count {
            match consumer.receiver().recv_timeout(RECEIVE_TIMEOUT)? {
                ConsumerMessage::Delivery(delivery) => consumer.ack(delivery)?,
                other => return Err(format!("the consumer stopped: {other:?}").into()),
            }
        }
        Ok(consumer.cancel()?)
    }

    fn delete(&mut self, queue: AmiquipQueue) -> Result<()> {
        queue
            .channel
            .queue_delete(queue.name.as_str(), QueueDeleteOptions::default())?;
        Ok(queue.channel.close()?)
    }
}
