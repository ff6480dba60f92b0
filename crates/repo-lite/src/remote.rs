//! Named remotes in the project's git config: added, listed and removed
//! as `git remote` does, so that git reads them back the same.

use std::io::Write;
use std::path::{Path, PathBuf};

use gix::refs::transaction::{Change, PreviousValue, RefEdit, RefLog};
use gix::refs::FullName;

use crate::error::{BoxError, Error, Result};
use crate::project::Project;
use crate::redact::Redactor;

/// A remote named in the project's git config.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Remote {
    /// Its name, such as `origin`.
    pub name: String,
    /// Where it fetches from (`remote.<name>.url`).
    pub url: String,
    /// Where it pushes to, when that differs (`remote.<name>.pushurl`).
    pub push_url: Option<String>,
}

impl std::fmt::Debug for Remote {
    /// Shows the URLs without their passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("name", &self.name)
            .field("url", &Redactor::new(&self.url).url())
            .field(
                "push_url",
                &self.push_url.as_deref().map(|url| Redactor::new(url).url()),
            )
            .finish()
    }
}

impl Project {
    /// Adds the remote `name` fetching from and pushing to `url`, with
    /// git's default fetch refspec (`+refs/heads/*:refs/remotes/<name>/*`),
    /// as `git remote add` does.
    ///
    /// Fails before anything is written with [`Error::InvalidRemoteName`],
    /// [`Error::InvalidUrl`] (see [`Project::push`] for what is refused) or
    /// [`Error::RemoteExists`].
    pub fn add_remote(&self, name: &str, url: &str) -> Result<()> {
        check_remote_name(name)?;
        crate::url::parse(url, &Redactor::new(url))?;
        self.edit_config(|config, path| {
            if find_section(config, name) {
                return Err(Error::RemoteExists {
                    name: name.to_owned(),
                });
            }
            let config_error = |err: gix::Error| config_write_error(path, err.into());
            let mut section = config
                .new_section("remote", Some(gix::bstr::BString::from(name)))
                .map_err(|err| config_write_error(path, err.into()))?;
            section
                .push("url", Some(url.into()))
                .map_err(config_error)?;
            let fetch = format!("+refs/heads/*:refs/remotes/{name}/*");
            section
                .push("fetch", Some(fetch.as_str().into()))
                .map_err(config_error)?;
            Ok(())
        })
    }

    /// The remotes in the project's git config, in the order git lists
    /// them.
    pub fn remotes(&self) -> Result<Vec<Remote>> {
        let path = self.config_path();
        let config = read_config(&path)?;
        let mut remotes: Vec<Remote> = Vec::new();
        for section in config.sections_by_name("remote").into_iter().flatten() {
            let Some(name) = section.header().subsection_name() else {
                continue;
            };
            let name = name.to_string();
            let Some(url) = section.value("url") else {
                continue;
            };
            if remotes.iter().any(|remote| remote.name == name) {
                continue;
            }
            remotes.push(Remote {
                name,
                url: url.to_string(),
                push_url: section.value("pushurl").map(|url| url.to_string()),
            });
        }
        Ok(remotes)
    }

    /// Removes the remote `name` from the project's git config, with its
    /// remote-tracking references (`refs/remotes/<name>/...`), as
    /// `git remote remove` does. [`Error::RemoteNotFound`] when there is
    /// no such remote.
    pub fn remove_remote(&self, name: &str) -> Result<()> {
        check_remote_name(name)?;
        self.edit_config(|config, _| {
            if !find_section(config, name) {
                return Err(Error::RemoteNotFound {
                    name: name.to_owned(),
                });
            }
            while config
                .remove_section("remote", Some(gix::bstr::BStr::new(name)))
                .is_some()
            {}
            Ok(())
        })?;
        self.delete_tracking_refs(name)
    }

    /// The remote `name_or_url` names: a remote of the config, or else a
    /// URL or path. Returns the remote's name (if it is one) and the URL
    /// to push to.
    pub(crate) fn resolve_remote(&self, name_or_url: &str) -> Result<(Option<String>, String)> {
        if check_remote_name(name_or_url).is_ok() {
            if let Some(remote) = self.find_remote(name_or_url)? {
                let url = remote.push_url.unwrap_or(remote.url);
                return Ok((Some(remote.name), url));
            }
        }
        crate::url::parse(name_or_url, &Redactor::new(name_or_url))?;
        Ok((None, name_or_url.to_owned()))
    }

    /// The remote named `name` in the project's config, if any.
    pub(crate) fn find_remote(&self, name: &str) -> Result<Option<Remote>> {
        Ok(self
            .remotes()?
            .into_iter()
            .find(|remote| remote.name == name))
    }

    fn config_path(&self) -> PathBuf {
        self.repo.common_dir().join("config")
    }

    /// Reads the project's config file, lets `edit` change it, and writes
    /// it back as git does: through `config.lock`, renamed over the file.
    fn edit_config(
        &self,
        edit: impl FnOnce(&mut gix::config::File, &Path) -> Result<()>,
    ) -> Result<()> {
        let path = self.config_path();
        let lock = path.with_file_name("config.lock");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
            .map_err(|err| config_write_error(&lock, err.into()))?;
        let written = (|| {
            let mut config = read_config(&path)?;
            edit(&mut config, &path)?;
            config
                .write_to(&mut file)
                .and_then(|()| file.flush())
                .map_err(|err| config_write_error(&lock, err.into()))?;
            std::fs::rename(&lock, &path).map_err(|err| config_write_error(&path, err.into()))
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&lock);
        }
        written
    }

    fn delete_tracking_refs(&self, name: &str) -> Result<()> {
        let prefix = format!("refs/remotes/{name}/");
        let reference_error = |source: BoxError| Error::Reference {
            path: self.root.clone(),
            reference: prefix.clone(),
            source,
        };
        let platform = self
            .repo
            .references()
            .map_err(|err| reference_error(err.into()))?;
        let names: Vec<FullName> = platform
            .prefixed(prefix.as_str())
            .map_err(|err| reference_error(err.into()))?
            .filter_map(|reference| reference.ok().map(|reference| reference.name().to_owned()))
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        let edits = names.into_iter().map(|name| RefEdit {
            change: Change::Delete {
                expected: PreviousValue::Any,
                log: RefLog::AndReference,
            },
            name,
            deref: false,
        });
        self.repo
            .edit_references(edits)
            .map_err(|err| reference_error(err.into()))?;
        Ok(())
    }
}

/// Refuses a remote name git would refuse (it must make a valid
/// `refs/remotes/<name>/...`), and one starting with `-`.
pub(crate) fn check_remote_name(name: &str) -> Result<()> {
    let refuse = |source: BoxError| Error::InvalidRemoteName {
        name: name.to_owned(),
        source,
    };
    if name.is_empty() || name.starts_with('-') {
        return Err(refuse(
            "a remote name cannot be empty or start with '-'".into(),
        ));
    }
    FullName::try_from(format!("refs/remotes/{name}/HEAD")).map_err(|err| refuse(err.into()))?;
    Ok(())
}

fn find_section(config: &gix::config::File, name: &str) -> bool {
    config
        .sections_by_name("remote")
        .into_iter()
        .flatten()
        .any(|section| section.header().subsection_name() == Some(gix::bstr::BStr::new(name)))
}

fn read_config(path: &Path) -> Result<gix::config::File> {
    gix::config::File::from_path_no_includes(path.to_owned(), gix::config::Source::Local).map_err(
        |err| Error::Config {
            path: path.to_owned(),
            source: err.into(),
        },
    )
}

fn config_write_error(path: &Path, source: BoxError) -> Error {
    Error::Config {
        path: path.to_owned(),
        source,
    }
}
