//! The reflog lines of the commits a project makes.
//!
//! gix writes a reflog line in a dozen small writes; git writes each line
//! with a single `write` to a file opened for appending, so that writers
//! never interleave, and that is also much faster. A project therefore turns
//! gix's reflog writing off on its own repository handle and appends the
//! lines itself, in git's format, wherever git config asks for reflogs.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use gix::bstr::BStr;
use gix::hash::ObjectId;
use gix::refs::store::WriteReflog;
use gix::refs::FullNameRef;

/// Whether the project writes reflogs, as git config decided.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reflogs {
    enabled: bool,
}

/// One reference update to record.
pub(crate) struct RefUpdate<'a> {
    pub previous: Option<ObjectId>,
    pub new: ObjectId,
    pub committer: gix::actor::SignatureRef<'a>,
    pub message: &'a BStr,
}

impl Reflogs {
    /// Takes reflog writing over from gix on `repo`'s handle.
    pub fn take_over(repo: &mut gix::Repository) -> Reflogs {
        // `core.logAllRefUpdates` unset or true (`Normal`) covers `HEAD` and
        // branches, the only references a project moves.
        let enabled = repo.refs.write_reflog != WriteReflog::Disable;
        repo.refs.write_reflog = WriteReflog::Disable;
        Reflogs { enabled }
    }

    /// Records `update` in the log of `HEAD`, and of `branch` when `HEAD`
    /// points at one.
    pub fn record(
        self,
        repo: &gix::Repository,
        branch: Option<&FullNameRef>,
        update: &RefUpdate<'_>,
    ) -> io::Result<()> {
        if !self.enabled {
            return Ok(());
        }
        let line = line(update)?;
        append(&repo.git_dir().join("logs").join("HEAD"), &line)?;
        if let Some(branch) = branch {
            let name = gix::path::from_bstr(branch.as_bstr())
                .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
            append(&repo.common_dir().join("logs").join(name), &line)?;
        }
        Ok(())
    }
}

/// `<old> <new> <name> <<email>> <time> <zone>\t<message>\n`, as git writes it.
fn line(update: &RefUpdate<'_>) -> io::Result<Vec<u8>> {
    let mut line = Vec::with_capacity(128 + update.message.len());
    let previous = update.previous.unwrap_or_else(|| update.new.kind().null());
    write!(line, "{previous} {} ", update.new)?;
    update.committer.trim().write_to(&mut line)?;
    line.push(b'\t');
    // A reflog line must stay one line.
    line.extend(
        update
            .message
            .iter()
            .map(|&byte| if byte == b'\n' { b' ' } else { byte }),
    );
    line.push(b'\n');
    Ok(line)
}

fn append(path: &Path, line: &[u8]) -> io::Result<()> {
    let open = || OpenOptions::new().append(true).create(true).open(path);
    let mut file = match open() {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            open()?
        }
        other => other?,
    };
    file.write_all(line)
}
