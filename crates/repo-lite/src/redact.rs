//! Clone URLs in errors without their credentials.
//!
//! A URL such as `https://user:token@host/repo.git` is shown as
//! `https://user:***@host/repo.git` in every error, Display and Debug
//! alike. gix's errors in the source chain may echo the URL (a parse error
//! quotes its input; the git transport quotes a URL it refuses), and their
//! Debug shows the fields of what they carry, so they are replaced by their
//! messages, masked the same way.
//!
//! What is masked is the password of a URL's user information, and over
//! `http://` and `https://` a user name given alone too, since that is where
//! access tokens go (`https://<token>@host/...`). Anything between `://` and
//! the last `@` counts as user information: a password with a stray `/` or
//! `@` is masked rather than taken for part of the path.

use std::borrow::Cow;
use std::fmt;

use crate::error::BoxError;

/// What a masked secret is shown as.
const MASK: &str = "***";

/// One clone URL, as errors show it, and the secrets to keep out of them.
pub(crate) struct Redactor {
    shown: String,
    /// The masked parts as given, and percent-decoded where that differs.
    secrets: Vec<String>,
}

impl Redactor {
    /// The redactor of `url`, the URL as given.
    pub fn new(url: &str) -> Redactor {
        let (shown, secret) = mask_url(url);
        let mut secrets = Vec::new();
        if let Some(secret) = secret {
            let decoded = percent_encoding::percent_decode_str(secret).decode_utf8_lossy();
            if decoded != secret {
                secrets.push(decoded.into_owned());
            }
            secrets.push(secret.to_owned());
        }
        Redactor {
            shown: shown.into_owned(),
            secrets,
        }
    }

    /// The URL as errors show it.
    pub fn url(&self) -> String {
        self.shown.clone()
    }

    /// `err` and its sources as messages, masked: what an error carrying
    /// the URL keeps as its source.
    pub fn error(&self, err: &(dyn std::error::Error + 'static)) -> BoxError {
        let mut messages = Vec::new();
        let mut current = Some(err);
        while let Some(err) = current {
            messages.push(self.mask(&err.to_string()));
            current = err.source();
        }
        let mut chain: Option<Masked> = None;
        for message in messages.into_iter().rev() {
            chain = Some(Masked {
                message,
                source: chain.map(Box::new),
            });
        }
        Box::new(chain.unwrap_or_default())
    }

    /// `text` with the user information of every URL in it, and every
    /// secret of this URL wherever it appears, masked.
    fn mask(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        // URLs end at white space or a quote, as messages quote them.
        while let Some(start) = rest.find(|c: char| !is_url_end(c)) {
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            let end = rest.find(is_url_end).unwrap_or(rest.len());
            out.push_str(&mask_url(&rest[..end]).0);
            rest = &rest[end..];
        }
        out.push_str(rest);
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), MASK);
        }
        out
    }
}

fn is_url_end(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>')
}

/// `url` with its secret masked, and the secret as it appears in `url`.
fn mask_url(url: &str) -> (Cow<'_, str>, Option<&str>) {
    let (before, userinfo, after) = match url.find("://") {
        Some(scheme_end) => {
            let start = scheme_end + "://".len();
            let Some(at) = url[start..].rfind('@') else {
                return (Cow::Borrowed(url), None);
            };
            let userinfo = &url[start..start + at];
            let scheme = url[..scheme_end]
                .rsplit(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default();
            let token_as_user = matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https");
            let secret_start = match userinfo.find(':') {
                Some(colon) => colon + 1,
                None if token_as_user => 0,
                None => return (Cow::Borrowed(url), None),
            };
            (
                &url[..start + secret_start],
                &userinfo[secret_start..],
                &url[start + at..],
            )
        }
        // `user:password@host:path`, which git reads as scp-like (host
        // `user`), but whose author meant a password.
        None => {
            let Some((user, _)) = url.split_once('@') else {
                return (Cow::Borrowed(url), None);
            };
            let Some(colon) = user.find(':').filter(|_| !user.contains('/')) else {
                return (Cow::Borrowed(url), None);
            };
            (&url[..colon + 1], &user[colon + 1..], &url[user.len()..])
        }
    };
    if userinfo.is_empty() {
        return (Cow::Borrowed(url), None);
    }
    (Cow::Owned(format!("{before}{MASK}{after}")), Some(userinfo))
}

/// An error's message and its source's, masked; it stands in for an error
/// whose Display or Debug could show a secret.
#[derive(Default)]
struct Masked {
    message: String,
    source: Option<Box<Masked>>,
}

/// The messages of the chain, as a list.
impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chain = std::iter::successors(Some(self), |masked| masked.source.as_deref());
        f.debug_list()
            .entries(chain.map(|masked| &masked.message))
            .finish()
    }
}

impl fmt::Display for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Masked {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_of_a_url_is_masked_and_the_rest_kept() {
        for (url, shown) in [
            (
                "https://alice:s3cret@example.com/repo.git",
                "https://alice:***@example.com/repo.git",
            ),
            ("ssh://git:pw@host:22/r", "ssh://git:***@host:22/r"),
            ("git://u:p@h/r", "git://u:***@h/r"),
            // A stray `@` or `/` in the password is still the password.
            ("https://u:p@ss/w@h/r", "https://u:***@h/r"),
            // A token as the user name over http(s); a user name over ssh.
            ("https://ghp_token@h/r", "https://***@h/r"),
            ("HTTP://token@h/r", "HTTP://***@h/r"),
            ("ssh://git@h/r", "ssh://git@h/r"),
            ("git@h:r.git", "git@h:r.git"),
            ("alice:s3cret@h:r.git", "alice:***@h:r.git"),
            ("https://h/r.git", "https://h/r.git"),
            ("/srv/a:b@c", "/srv/a:b@c"),
            ("https://u:@h/r", "https://u:@h/r"),
        ] {
            assert_eq!(mask_url(url).0, shown, "{url}");
        }
    }

    #[test]
    fn every_url_and_secret_in_a_message_is_masked() {
        let redactor = Redactor::new("https://alice:s3cr%40t@example.com/r.git");
        assert_eq!(redactor.url(), "https://alice:***@example.com/r.git");

        let masked = redactor.mask(
            "url \"https://alice:s3cr%40t@example.com/r.git\" (https://bob:other@x/y), \
             password s3cr@t, input=https://alice:s3cr%40t@example.com/r.git",
        );

        assert_eq!(
            masked,
            "url \"https://alice:***@example.com/r.git\" (https://bob:***@x/y), \
             password ***, input=https://alice:***@example.com/r.git"
        );
    }

    #[test]
    fn a_masked_error_keeps_the_chain_of_messages() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("cloning failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let redactor = Redactor::new("git://u:pw1234@h/r");
        let outer = Outer(std::io::Error::other("refused git://u:pw1234@h/r"));
        assert!(format!("{outer:?}").contains("pw1234"));

        let masked = redactor.error(&outer);

        let chain: Vec<String> = std::iter::successors(
            Some(&*masked as &(dyn std::error::Error + 'static)),
            |err| err.source(),
        )
        .map(|err| err.to_string())
        .collect();
        assert_eq!(chain, ["cloning failed", "refused git://u:***@h/r"]);
        assert_eq!(
            format!("{masked:?}"),
            r#"["cloning failed", "refused git://u:***@h/r"]"#
        );
    }
}
