//! Messages: what is published, and the properties a delivery carries.

use std::collections::BTreeMap;
use std::time::Duration;

use amiquip::AmqpProperties;

use crate::error::{Error, Result};
use crate::headers::{check_table, from_amqp_table, to_amqp_table, HeaderValue};
use crate::limits::{short_string_problem, shorten};

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
    /// The message's type name (AMQP's `type` property).
    pub message_type: Option<String>,
    /// The publishing application.
    pub app_id: Option<String>,
    /// Written to disk by the broker (delivery mode 2).
    pub persistent: bool,
}

/// A message to publish: a body and its properties. Persistent by default.
///
/// AMQP carries most properties (content type, correlation id, message id,
/// reply-to, type, app id) and header names as short strings of at most
/// 255 bytes: publishing a message with a longer one fails with
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) before
/// anything is sent.
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

    /// Sets the message's type name (AMQP's `type` property).
    pub fn message_type(mut self, name: impl Into<String>) -> Self {
        self.properties.message_type = Some(name.into());
        self
    }

    /// Sets the id of the publishing application.
    pub fn app_id(mut self, id: impl Into<String>) -> Self {
        self.properties.app_id = Some(id.into());
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
        message_type: None,
        app_id: None,
        persistent: true,
    };

    /// Refuses what AMQP cannot carry: a short string over 255 bytes. amiquip
    /// would send it with a truncated length, and the broker would close the
    /// whole connection on the corrupt frame.
    pub(crate) fn check(&self) -> Result<()> {
        let short_strings = [
            ("content_type", &self.content_type),
            ("correlation_id", &self.correlation_id),
            ("reply_to", &self.reply_to),
            ("message_id", &self.message_id),
            ("message_type", &self.message_type),
            ("app_id", &self.app_id),
        ];
        for (property, value) in short_strings {
            let Some(value) = value else { continue };
            if let Some(reason) = short_string_problem(value) {
                return Err(Error::InvalidArgument {
                    argument: format!("message property {property} {:?}", shorten(value)),
                    reason,
                });
            }
        }
        check_table("header", &self.headers)
    }

    pub(crate) fn to_amqp(&self) -> AmqpProperties {
        let mut amqp =
            AmqpProperties::default().with_delivery_mode(if self.persistent { 2 } else { 1 });
        if let Some(value) = &self.content_type {
            amqp = amqp.with_content_type(value.clone());
        }
        if !self.headers.is_empty() {
            amqp = amqp.with_headers(to_amqp_table(&self.headers));
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
        if let Some(value) = &self.message_type {
            amqp = amqp.with_type_(value.clone());
        }
        if let Some(value) = &self.app_id {
            amqp = amqp.with_app_id(value.clone());
        }
        amqp
    }

    pub(crate) fn from_amqp(amqp: &AmqpProperties) -> Properties {
        Properties {
            content_type: amqp.content_type().clone(),
            headers: amqp
                .headers()
                .as_ref()
                .map(from_amqp_table)
                .unwrap_or_default(),
            correlation_id: amqp.correlation_id().clone(),
            reply_to: amqp.reply_to().clone(),
            expiration: amqp
                .expiration()
                .as_deref()
                .and_then(|ms| ms.parse().ok())
                .map(Duration::from_millis),
            message_id: amqp.message_id().clone(),
            message_type: amqp.type_().clone(),
            app_id: amqp.app_id().clone(),
            persistent: *amqp.delivery_mode() == Some(2),
        }
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
            .message_id("m-1")
            .message_type("render")
            .app_id("tests");
        let back = Properties::from_amqp(&message.properties().to_amqp());
        assert_eq!(&back, message.properties());
    }

    #[test]
    fn every_short_string_property_over_255_bytes_is_refused() {
        let long = "x".repeat(256);
        let messages = [
            Message::new(Vec::new()).content_type(long.clone()),
            Message::new(Vec::new()).correlation_id(long.clone()),
            Message::new(Vec::new()).reply_to(long.clone()),
            Message::new(Vec::new()).message_id(long.clone()),
            Message::new(Vec::new()).message_type(long.clone()),
            Message::new(Vec::new()).app_id(long.clone()),
            Message::new(Vec::new()).header(long.clone(), 1),
        ];
        for message in messages {
            let err = message.properties().check().unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
            assert!(err.to_string().contains("256 bytes"), "{err}");
        }
        let longest = "x".repeat(255);
        Message::new(Vec::new())
            .correlation_id(longest.clone())
            .header(longest, "a long string value is fine".repeat(100))
            .properties()
            .check()
            .unwrap();
    }
}
