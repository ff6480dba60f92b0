//! Parsing of `amqp://` URLs into what the connection needs.

use std::time::Duration;

use crate::error::{Error, Result};

/// The default broker URL: the local broker's default account and vhost.
pub const DEFAULT_URL: &str = "amqp://guest:guest@localhost:5672/%2f";

/// The parts of a broker URL that a connection uses.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BrokerUrl {
    pub host: String,
    pub port: u16,
    /// `amqps://`: TLS over the TCP connection.
    pub tls: bool,
    pub user: String,
    pub password: String,
    pub vhost: String,
    pub heartbeat: Option<u16>,
    pub connection_timeout: Option<Duration>,
}

impl std::fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches logs or error messages.
        f.debug_struct("BrokerUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("vhost", &self.vhost)
            .finish_non_exhaustive()
    }
}

impl BrokerUrl {
    /// `host:port`, as used in error messages and to connect.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Parses an `amqp://user:pass@host:port/vhost?heartbeat=N&connection_timeout=MS` URL,
    /// following the RabbitMQ URI specification.
    pub fn parse(raw: &str) -> Result<BrokerUrl> {
        let invalid = |reason: String| Error::InvalidUrl {
            url: mask_password(raw),
            reason,
        };
        let url = url::Url::parse(raw).map_err(|err| invalid(err.to_string()))?;
        let (default_port, tls) = match url.scheme() {
            "amqp" => (5672, false),
            "amqps" if cfg!(feature = "tls") => (5671, true),
            "amqps" => return Err(invalid("amqps:// needs mq-lite's `tls` feature".into())),
            other => {
                return Err(invalid(format!(
                    "unsupported scheme {other:?}, expected amqp"
                )))
            }
        };
        let host = match url.host_str() {
            Some("") | None => "localhost".to_owned(),
            Some(host) => host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        };
        let user = if url.username().is_empty() {
            "guest".to_owned()
        } else {
            percent_decode(url.username())
        };
        let password = match url.password() {
            Some(password) => percent_decode(password),
            None if url.username().is_empty() => "guest".to_owned(),
            None => String::new(),
        };
        let vhost = match url.path().strip_prefix('/').unwrap_or("") {
            "" => "/".to_owned(),
            path if path.contains('/') => {
                return Err(invalid(
                    "the vhost must be one path segment (write / as %2f)".into(),
                ))
            }
            path => percent_decode(path),
        };
        let mut heartbeat = None;
        let mut connection_timeout = None;
        for (key, value) in url.query_pairs() {
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| invalid(format!("query parameter {key}={value} is not a number")))
            };
            match key.as_ref() {
                "heartbeat" => {
                    heartbeat =
                        Some(u16::try_from(number()?).map_err(|_| {
                            invalid(format!("heartbeat={value} is over 65535 seconds"))
                        })?)
                }
                "connection_timeout" => connection_timeout = Some(Duration::from_millis(number()?)),
                // Only the name: an unknown parameter could hold a secret.
                other => {
                    return Err(invalid(format!(
                        "unknown query parameter {:?} (mq-lite understands heartbeat and connection_timeout)",
                        crate::limits::shorten(other)
                    )))
                }
            }
        }
        Ok(BrokerUrl {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            user,
            password,
            vhost,
            heartbeat,
            connection_timeout,
        })
    }
}

/// Parses a list of broker URLs separated by commas (a cluster's nodes),
/// `amqp://u:p@node1/%2f,amqp://u:p@node2/%2f`: a comma splits the list
/// only where a URL starts after it, so one inside a user name or
/// password does not. Every URL is checked before any is used.
pub(crate) fn parse_list(raw: &str) -> Result<Vec<BrokerUrl>> {
    if raw.trim_end().ends_with(',') {
        return Err(Error::InvalidUrl {
            url: mask_password(raw),
            reason: "the list of URLs ends with a comma".into(),
        });
    }
    split_list(raw).map(BrokerUrl::parse).collect()
}

/// The URLs of a comma-separated list, each trimmed.
fn split_list(raw: &str) -> impl Iterator<Item = &str> {
    let mut starts = vec![0];
    for (at, _) in raw.match_indices(',') {
        let rest = raw[at + 1..].trim_start().as_bytes();
        let starts_with = |scheme: &str| {
            rest.get(..scheme.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(scheme.as_bytes()))
        };
        if starts_with("amqp://") || starts_with("amqps://") {
            starts.push(at + 1);
        }
    }
    let mut ends: Vec<usize> = starts[1..].iter().map(|start| start - 1).collect();
    ends.push(raw.len());
    starts
        .into_iter()
        .zip(ends)
        .map(move |(start, end)| raw[start..end].trim())
}

/// Decodes the percent escapes of a URL part (user, password, vhost), as
/// the RabbitMQ URI specification asks; `+` stays a plus sign.
fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Replaces the password of a URL-looking string by `***`, for messages.
///
/// A URL that does not parse is masked by its shape: everything between
/// `://` and the last `@` but the user name, or, without an `@`, everything
/// after the first `:` of the authority (`amqp://user:secret` without a host
/// fails to parse, and its password reads as a port).
pub(crate) fn mask_password(raw: &str) -> String {
    split_list(raw).map(mask_one).collect::<Vec<_>>().join(",")
}

fn mask_one(raw: &str) -> String {
    match url::Url::parse(raw) {
        // Without a host, `user:secret@host` parses as a URL of scheme
        // `user`: only a URL with an authority is masked as parsed.
        Ok(mut url) if url.has_host() => {
            if url.password().is_some() && url.set_password(Some("***")).is_err() {
                return mask_unparsed(raw);
            }
            url.to_string()
        }
        _ => mask_unparsed(raw),
    }
}

fn mask_unparsed(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |at| at + 3);
    let (scheme, rest) = raw.split_at(start);
    if let Some(at) = rest.rfind('@') {
        let user = rest[..at].split(':').next().unwrap_or_default();
        return format!("{scheme}{user}:***@{}", &rest[at + 1..]);
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].find(':') {
        Some(colon) => format!("{scheme}{}:***{}", &rest[..colon], &rest[authority_end..]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_default_url() {
        let url = BrokerUrl::parse(DEFAULT_URL).unwrap();
        assert_eq!(url.address(), "localhost:5672");
        assert_eq!(
            (url.user.as_str(), url.password.as_str()),
            ("guest", "guest")
        );
        assert_eq!(url.vhost, "/");
    }

    #[test]
    fn empty_parts_take_the_specified_defaults() {
        let url = BrokerUrl::parse("amqp://").unwrap();
        assert_eq!(url.address(), "localhost:5672");
        assert_eq!(url.user, "guest");
        assert_eq!(url.vhost, "/");
    }

    #[test]
    fn decodes_percent_escapes_and_query_parameters() {
        let url = BrokerUrl::parse(
            "amqp://a%40b:p%2Bw@broker:5673/my%2Fvhost?heartbeat=7&connection_timeout=1500",
        )
        .unwrap();
        assert_eq!(url.user, "a@b");
        assert_eq!(url.password, "p+w");
        assert_eq!(url.vhost, "my/vhost");
        assert_eq!(url.heartbeat, Some(7));
        assert_eq!(url.connection_timeout, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn rejects_other_schemes_and_masks_the_password() {
        let err = BrokerUrl::parse("http://u:secret@host/").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidUrl { .. }));
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn amqps_defaults_to_port_5671_with_the_tls_feature_only() {
        let parsed = BrokerUrl::parse("amqps://broker/");
        if cfg!(feature = "tls") {
            let url = parsed.unwrap();
            assert_eq!((url.port, url.tls), (5671, true));
        } else {
            assert!(matches!(parsed, Err(Error::InvalidUrl { .. })));
        }
    }

    #[test]
    fn rejects_unknown_query_parameters_naming_only_the_key() {
        let err = BrokerUrl::parse("amqp://h/?heartbeat=5&hearbeat=10").unwrap_err();
        let Error::InvalidUrl { reason, .. } = err else {
            panic!("{err:?}");
        };
        assert!(reason.contains("\"hearbeat\""), "{reason}");
        assert!(!reason.contains("10"), "{reason}");
    }

    #[test]
    fn masks_the_password_of_parseable_and_unparseable_urls() {
        for raw in [
            "amqp://user:s3cr3t@host/",
            "amqp://user:s3cr3t@host:notaport/",
            "amqp://user:s3cr3t@[::1/",
            "amqp://user:s3cr/3t@host/",
            "amqp://user:s3cr3t@ho st/",
            "amqp://user:s3cr@3t@host:99999/",
            "amqp://user:s3cr3t",
            "amqp://user:s3cr3t/vhost",
            "user:s3cr3t@host",
            "amqps://user:s3cr3t@host:5671/%zz",
        ] {
            let masked = mask_password(raw);
            assert!(!masked.contains("s3cr"), "{raw} -> {masked}");
            assert!(!masked.contains("3t@"), "{raw} -> {masked}");
        }
        assert_eq!(
            mask_password("amqp://user:pw@host:notaport/"),
            "amqp://user:***@host:notaport/"
        );
        assert_eq!(mask_password("amqp://host:5672/"), "amqp://host:5672/");
        assert_eq!(
            mask_password("amqp://u:s3cr3t@a/%2f, amqp://u:s3cr3t@b/%2f,"),
            "amqp://u:***@a/%2f,amqp://u:***@b/%2f,"
        );
    }

    #[test]
    fn splits_a_list_where_a_url_starts() {
        let urls =
            parse_list("amqp://u:p,w@node1:5673/%2f, amqp://u:p,w@node2/%2f,AMQP://node3").unwrap();
        let addresses: Vec<String> = urls.iter().map(BrokerUrl::address).collect();
        assert_eq!(addresses, ["node1:5673", "node2:5672", "node3:5672"]);
        assert_eq!(urls[1].password, "p,w");
        let one = parse_list(DEFAULT_URL).unwrap();
        assert_eq!(one, vec![BrokerUrl::parse(DEFAULT_URL).unwrap()]);
    }

    #[test]
    fn a_list_with_one_bad_url_is_refused_whole_without_its_password() {
        for raw in [
            "amqp://node1/%2f,amqp://u:s3cr3t@node2:notaport/",
            "amqp://node1/%2f,",
            "amqp://node1/%2f, ",
            "",
        ] {
            let err = parse_list(raw).unwrap_err();
            assert!(matches!(err, Error::InvalidUrl { .. }), "{raw}: {err:?}");
            assert!(!format!("{err} {err:?}").contains("s3cr3t"), "{err:?}");
        }
    }

    #[test]
    fn rejects_a_non_numeric_heartbeat() {
        assert!(matches!(
            BrokerUrl::parse("amqp://h/?heartbeat=soon"),
            Err(Error::InvalidUrl { .. })
        ));
    }
}
