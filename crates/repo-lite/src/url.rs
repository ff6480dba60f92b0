//! Repository URLs, checked before anything is sent: what gix can speak
//! to, and nothing that git's command line would take for an option or a
//! remote helper.

use gix::url::Scheme;

use crate::error::{BoxError, Error, Result};
use crate::redact::Redactor;

/// Parses `url` as git would, refusing transports gix cannot clone, fetch
/// or push over, and URLs that would inject options: a leading `-` (which
/// `ssh` or a `git-*-pack` program would read as an option, such as
/// `--upload-pack=...`), a host or user starting with `-`, git's remote
/// helper syntax (`ext::`, `fd::`, `<transport>::<address>`), and control
/// characters (which would end a line of the git config the URL is saved
/// in).
pub(crate) fn parse(url: &str, redactor: &Redactor) -> Result<gix::Url> {
    let invalid = |source: BoxError| Error::InvalidUrl {
        url: redactor.url(),
        source,
    };
    if url.trim().is_empty() {
        return Err(invalid("the URL is empty".into()));
    }
    if url.starts_with('-') {
        return Err(invalid(
            "a URL starting with '-' would be read as an option".into(),
        ));
    }
    if url.chars().any(char::is_control) {
        return Err(invalid("the URL contains a control character".into()));
    }
    if is_remote_helper(url) {
        return Err(invalid(
            "remote helpers (<transport>::<address>, such as ext::) are not run".into(),
        ));
    }
    let parsed =
        gix::url::parse(gix::bstr::BStr::new(url)).map_err(|err| invalid(redactor.error(&err)))?;
    match &parsed.scheme {
        Scheme::File | Scheme::Git | Scheme::Ssh | Scheme::Http | Scheme::Https => {}
        other => {
            return Err(invalid(
                format!("the transport {other} is not supported").into(),
            ))
        }
    }
    if parsed.scheme != Scheme::File && parsed.host().is_none_or(str::is_empty) {
        return Err(invalid("the URL names no host".into()));
    }
    let starts_with_dash = |part: Option<&str>| part.is_some_and(|part| part.starts_with('-'));
    if starts_with_dash(parsed.host()) || starts_with_dash(parsed.user()) {
        return Err(invalid(
            "a host or user starting with '-' would be read as an option".into(),
        ));
    }
    Ok(parsed)
}

/// git's `<transport>::<address>` form, which runs `git-remote-<transport>`.
fn is_remote_helper(url: &str) -> bool {
    let Some((transport, _)) = url.split_once("::") else {
        return false;
    };
    !transport.is_empty()
        && transport
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        matches!(
            parse(url, &Redactor::new(url)),
            Err(Error::InvalidUrl { .. })
        )
    }

    #[test]
    fn urls_that_would_inject_options_or_run_helpers_are_refused() {
        for url in [
            "",
            "--upload-pack=touch /tmp/x",
            "-oProxyCommand=x",
            "ext::sh -c touch% /tmp/x",
            "fd::17",
            "ssh://-oProxyCommand=x/repo",
            "ssh://-user@host/repo",
            "https://host/repo\n[core]",
            "ftp://host/repo",
            "https:///repo",
        ] {
            assert!(refused(url), "{url:?} was accepted");
        }
        for url in [
            "https://host/repo.git",
            "git://127.0.0.1:9418/repo.git",
            "ssh://git@host/repo.git",
            "git@host:repo.git",
            "file:///srv/repo.git",
            "/srv/repo.git",
            "relative/repo.git",
        ] {
            assert!(!refused(url), "{url:?} was refused");
        }
    }
}
