//! Messages: what is published, and the properties a delivery carries.

use std::collections::BTreeMap;
use std::time::Duration;

use amiquip::{AmqpProperties, AmqpValue, FieldTable};

/// A header value. AMQP has more types; these are the ones work queues use,
/// and any other type received is given as its text in [`HeaderValue::Text`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HeaderValue {
    /// A UTF-8 string.
    Text(String),
    /// A signed integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// Raw bytes.
    Bytes(Vec<u8>),
}

impl From<&str> for HeaderValue {
    fn from(value: &str) -> Self {
        HeaderValue::Text(value.to_owned())
    }
}

impl From<String> for HeaderValue {
    fn from(value: String) -> Self {
        HeaderValue::Text(value)
    }
}

impl From<i64> for HeaderValue {
    fn from(value: i64) -> Self {
        HeaderValue::Int(value)
    }
}

impl From<bool> for HeaderValue {
    fn from(value: bool) -> Self {
        HeaderValue::Bool(value)
    }
}

/// The properties of a message: set on publish, read on delivery.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Properties {
    /// MIME type of the body, e.g. `application/json`.
    pub content_type: Option<String>,
    /// Application headers.
    pub headers: BTreeMap<String, HeaderValue>,
    /// Ties a reply to its request.
    pub correlation_id: Option<String>,
    /// The queue a reply should go to.
    pub reply_to: Option<String>,
    /// Per-message time to live.
    pub expiration: Option<Duration>,
    /// An application message id.
    pub message_id: Option<String>,
    /// Written to disk by the broker (delivery mode 2).
    pub persistent: bool,
}

/// A message to publish: a body and its properties. Persistent by default.
///
/// ```
/// use std::time::Duration;
/// use mq_lite::Message;
/// let message = Message::new(b"{\"id\":1}".to_vec())
///     .content_type("application/json")
///     .header("attempt", 1)
///     .correlation_id("job-1")
///     .reply_to("results")
///     .expiration(Duration::from_secs(60));
/// assert!(message.properties().persistent);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    body: Vec<u8>,
    properties: Properties,
}

impl Message {
    /// A persistent message with `body` and no other property.
    pub fn new(body: impl Into<Vec<u8>>) -> Self {
        Message {
            body: body.into(),
            properties: Properties {
                persistent: true,
                ..Properties::default()
            },
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The properties.
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.properties.content_type = Some(content_type.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<HeaderValue>) -> Self {
        self.properties.headers.insert(name.into(), value.into());
        self
    }

    /// Sets the correlation id.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.properties.correlation_id = Some(id.into());
        self
    }

    /// Sets the queue replies should go to.
    pub fn reply_to(mut self, queue: impl Into<String>) -> Self {
        self.properties.reply_to = Some(queue.into());
        self
    }

    /// Sets the time after which the broker drops the message (millisecond precision).
    pub fn expiration(mut self, ttl: Duration) -> Self {
        self.properties.expiration = Some(ttl);
        self
    }

    /// Sets the application message id.
    pub fn message_id(mut self, id: impl Into<String>) -> Self {
        self.properties.message_id = Some(id.into());
        self
    }

    /// Makes the message persistent (the default) or transient.
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.properties.persistent = persistent;
        self
    }
}

#[cfg(feature = "serde")]
impl Message {
    /// A persistent message whose body is `value` as JSON, with content type
    /// `application/json`.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> crate::Result<Message> {
        let body = serde_json::to_vec(value).map_err(|err| crate::Error::Json {
            operation: "encode",
            source: Box::new(err),
        })?;
        Ok(Message::new(body).content_type("application/json"))
    }
}

impl Properties {
    /// No property but persistence: what [`Queue::publish`](crate::Queue::publish) sends.
    pub(crate) const PERSISTENT: Properties = Properties {
        content_type: None,
        headers: BTreeMap::new(),
        correlation_id: None,
        reply_to: None,
        expiration: None,
        message_id: None,
        persistent: true,
    };

    pub(crate) fn to_amqp(&self) -> AmqpProperties {
        let mut amqp =
            AmqpProperties::default().with_delivery_mode(if self.persistent { 2 } else { 1 });
        if let Some(value) = &self.content_type {
            amqp = amqp.with_content_type(value.clone());
        }
        if !self.headers.is_empty() {
            let table: FieldTable = self
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), to_amqp_value(value)))
                .collect();
            amqp = amqp.with_headers(table);
        }
        if let Some(value) = &self.correlation_id {
            amqp = amqp.with_correlation_id(value.clone());
        }
        if let Some(value) = &self.reply_to {
            amqp = amqp.with_reply_to(value.clone());
        }
        if let Some(ttl) = self.expiration {
            amqp = amqp.with_expiration(ttl.as_millis().to_string());
        }
        if let Some(value) = &self.message_id {
            amqp = amqp.with_message_id(value.clone());
        }
        amqp
    }

    pub(crate) fn from_amqp(amqp: &AmqpProperties) -> Properties {
        Properties {
            content_type: amqp.content_type().clone(),
            headers: amqp
                .headers()
                .iter()
                .flatten()
                .map(|(name, value)| (name.clone(), from_amqp_value(value)))
                .collect(),
            correlation_id: amqp.correlation_id().clone(),
            reply_to: amqp.reply_to().clone(),
            expiration: amqp
                .expiration()
                .as_deref()
                .and_then(|ms| ms.parse().ok())
                .map(Duration::from_millis),
            message_id: amqp.message_id().clone(),
            persistent: *amqp.delivery_mode() == Some(2),
        }
    }
}

fn to_amqp_value(value: &HeaderValue) -> AmqpValue {
    match value {
        HeaderValue::Text(text) => AmqpValue::LongString(text.clone()),
        HeaderValue::Int(number) => AmqpValue::LongLongInt(*number),
        HeaderValue::Bool(flag) => AmqpValue::Boolean(*flag),
        HeaderValue::Bytes(bytes) => AmqpValue::ByteArray(bytes.clone()),
    }
}

fn from_amqp_value(value: &AmqpValue) -> HeaderValue {
    match value {
        AmqpValue::LongString(text) => HeaderValue::Text(text.clone()),
        AmqpValue::Boolean(flag) => HeaderValue::Bool(*flag),
        AmqpValue::ShortShortInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::ShortShortUInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::ShortInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::ShortUInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::LongInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::LongUInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::LongLongInt(n) => HeaderValue::Int(*n),
        AmqpValue::Timestamp(n) => HeaderValue::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
        AmqpValue::ByteArray(bytes) => HeaderValue::Bytes(bytes.clone()),
        other => HeaderValue::Text(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_survive_the_round_trip_through_amqp() {
        let message = Message::new(b"x".to_vec())
            .content_type("text/plain")
            .header("attempt", 3)
            .header("source", "test")
            .header("urgent", true)
            .correlation_id("c-1")
            .reply_to("replies")
            .expiration(Duration::from_millis(1500))
            .message_id("m-1");
        let back = Properties::from_amqp(&message.properties().to_amqp());
        assert_eq!(&back, message.properties());
    }
}
