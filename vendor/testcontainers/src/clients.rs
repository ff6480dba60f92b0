mod cli;

#[cfg(feature = "experimental")]
mod http;

pub use self::cli::Cli;

#[cfg(feature = "experimental")]
pub use self::http::Http;
