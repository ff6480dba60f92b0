//! The broker: connecting from `AMQP_URL`, and what to say when none answers.

/// When no broker answers, says how to start one with Docker.
pub fn explain_broker_error(err: &mq_lite::Error) {
    if matches!(
        err,
        mq_lite::Error::BrokerUnreachable { .. } | mq_lite::Error::HandshakeFailed { .. }
    ) {
        eprintln!(
            "No RabbitMQ broker answers at AMQP_URL ({}). Start one with Docker:\n    \
             docker run -d --name rabbitmq -p 5672:5672 {}\n\
             then wait a few seconds for it to start. Offline, `scripts/test-images` \
             builds a local broker image (its RABBITMQ_IMAGE) to run the same way.",
            std::env::var(mq_lite::URL_ENV_VAR).unwrap_or_else(|_| mq_lite::DEFAULT_URL.to_owned()),
            ondemand_platform::images::official_rabbitmq()
        );
    }
}

/// Says how to start a broker when a platform error is the broker's.
pub fn explain_platform_error(err: &ondemand_platform::PlatformError) {
    if let ondemand_platform::PlatformError::Broker(err) = err {
        explain_broker_error(err);
    }
}

/// Connects to the broker at `AMQP_URL` and declares `queue` (durable).
pub fn declare_from_env(
    queue: &str,
) -> Result<(mq_lite::Connection, mq_lite::Queue), mq_lite::Error> {
    let connection = mq_lite::Connection::from_env()?;
    let queue = connection.declare_queue(queue, &mq_lite::QueueOptions::default())?;
    Ok((connection, queue))
}
