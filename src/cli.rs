//! What the examples share: turning an error into a useful message and an exit code.

use std::error::Error;
use std::process::ExitCode;

/// Prints `result`'s error with its chain of causes; the exit code says whether it failed.
pub fn report<E: Into<Box<dyn Error>>>(result: Result<(), E>) -> ExitCode {
    match result.map_err(Into::into) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            let mut source = err.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// When no broker answers, says how to start one with Docker.
pub fn explain_broker_error(err: &mq_lite::Error) {
    if matches!(
        err,
        mq_lite::Error::BrokerUnreachable { .. } | mq_lite::Error::HandshakeFailed { .. }
    ) {
        eprintln!(
            "No RabbitMQ broker answers at AMQP_URL ({}). Start one with Docker:\n    \
             docker run -d --name rabbitmq -p 5672:5672 rabbitmq:4.1\n\
             then wait a few seconds for it to start. Offline, `scripts/test-images` \
             builds a local broker image (ondemand-local/rabbitmq:bookworm) to run the same way.",
            std::env::var(mq_lite::URL_ENV_VAR).unwrap_or_else(|_| mq_lite::DEFAULT_URL.to_owned())
        );
    }
}
