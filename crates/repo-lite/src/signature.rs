//! Who a commit is by: an explicit signature, else git config, else a
//! fixed fallback.

use crate::error::{Error, Result};

/// The name and email recorded as author and committer of a commit. The
/// time is always the moment of the commit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The person's name, such as `Ada Lovelace`.
    pub name: String,
    /// The person's email, such as `ada@example.com`.
    pub email: String,
}

impl Signature {
    /// The identity used when neither an explicit signature nor
    /// `user.name`/`user.email` in git config is available.
    pub const FALLBACK_NAME: &'static str = "repo-lite";
    /// The email paired with [`FALLBACK_NAME`](Self::FALLBACK_NAME).
    pub const FALLBACK_EMAIL: &'static str = "repo-lite@localhost";

    /// A signature from a name and an email.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Signature {
            name: name.into(),
            email: email.into(),
        }
    }

    /// `"repo-lite" <repo-lite@localhost>`.
    pub fn fallback() -> Self {
        Signature::new(Self::FALLBACK_NAME, Self::FALLBACK_EMAIL)
    }

    /// Refuses what would corrupt the commit header: angle brackets and line
    /// breaks end the field early, NUL is not allowed in objects, and git
    /// itself refuses an empty name.
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |field: &str, text: &str| {
            text.chars()
                .find(|c| matches!(c, '<' | '>' | '\n' | '\r' | '\0'))
                .map(|c| format!("the {field} contains {c:?}"))
        };
        let problem = if self.name.trim().is_empty() {
            Some("the name is empty".to_owned())
        } else {
            bad("name", &self.name).or_else(|| bad("email", &self.email))
        };
        match problem {
            None => Ok(()),
            Some(reason) => Err(Error::InvalidSignature {
                name: self.name.clone(),
                email: self.email.clone(),
                source: reason.into(),
            }),
        }
    }
}

/// Picks the explicit signature, else the configured one, else the fallback.
pub(crate) fn resolve(explicit: Option<&Signature>, configured: Option<Signature>) -> Signature {
    explicit
        .cloned()
        .or(configured)
        .unwrap_or_else(Signature::fallback)
}

/// Reads an identity that gix resolved from git config and the environment.
/// A broken one counts as missing, so that the fallback applies.
pub(crate) fn from_config(
    identity: Option<Result<gix::actor::SignatureRef<'_>, gix::Error>>,
) -> Option<Signature> {
    let identity = identity?.ok()?;
    Some(Signature::new(
        identity.name.to_string(),
        identity.email.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_beats_configured_beats_fallback() {
        let explicit = Signature::new("Ex", "ex@example.com");
        let configured = Signature::new("Conf", "conf@example.com");
        assert_eq!(resolve(Some(&explicit), Some(configured.clone())), explicit);
        assert_eq!(resolve(None, Some(configured.clone())), configured);
        assert_eq!(resolve(None, None), Signature::fallback());
        assert_eq!(
            Signature::fallback(),
            Signature::new("repo-lite", "repo-lite@localhost")
        );
    }

    #[test]
    fn header_breaking_characters_are_refused() {
        for (name, email) in [
            ("", "a@b"),
            ("a<b", "a@b"),
            ("a", "a>b"),
            ("a\nb", "a@b"),
            ("a", "a\0b"),
        ] {
            let err = Signature::new(name, email).validate().unwrap_err();
            assert!(matches!(err, Error::InvalidSignature { .. }), "{err:?}");
        }
        Signature::new("Ada Lovelace", "ada@example.com")
            .validate()
            .unwrap();
    }
}
