//! One file system's share of the run: a temporary directory holding the
//! fixture, the samples' destinations and the `git daemon` serving it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::daemon::Daemon;
use crate::workload::{Fs, Workload, PUSH_COMMITS};
use crate::Result;

/// The fixture's name under the site, and in `git://` URLs.
const SOURCE: &str = "source.git";

#[derive(Debug)]
pub struct Site {
    pub fs: Fs,
    /// What `stat -f` calls the file system, to show in the header.
    pub fs_type: String,
    file_url: String,
    git_url: String,
    port: u16,
    samples: usize,
    // Fields drop in order: the daemon goes before its directory.
    _daemon: Daemon,
    root: TempDir,
}

impl Site {
    /// Makes a temporary directory under `parent`, lets `make_fixture` put
    /// the fixture at the path it is given, and serves it with `git daemon`.
    pub fn create(
        fs: Fs,
        parent: &Path,
        make_fixture: impl FnOnce(&Path, &Path) -> Result<()>,
    ) -> Result<Site> {
        let root = tempfile::Builder::new()
            .prefix("bench-git-")
            .tempdir_in(parent)?;
        let source = root.path().join(SOURCE);
        make_fixture(&root.path().join("fixture-work"), &source)?;
        fs::create_dir(root.path().join("samples"))?;
        for commits in [1, PUSH_COMMITS] {
            crate::fixture::push_source(&root.path().join(format!("push-{commits}")), commits)?;
        }
        let daemon = Daemon::start(
            root.path(),
            &root.path().join("git-daemon.pid"),
            &root.path().join("git-daemon.log"),
        )?;
        Ok(Site {
            fs,
            fs_type: fs_type(root.path())?,
            file_url: format!("file://{}", source.display()),
            git_url: format!("git://127.0.0.1:{}/{SOURCE}", daemon.port),
            port: daemon.port,
            samples: 0,
            _daemon: daemon,
            root,
        })
    }

    pub fn source(&self) -> PathBuf {
        self.root.path().join(SOURCE)
    }

    /// The URL the clones of `workload` fetch from (unused by the others).
    pub fn url(&self, workload: Workload) -> &str {
        match workload {
            Workload::CloneGit => &self.git_url,
            _ => &self.file_url,
        }
    }

    /// The project whose `main` of `commits` commits the pushes push.
    pub fn push_source(&self, commits: usize) -> PathBuf {
        self.root.path().join(format!("push-{commits}"))
    }

    /// The URL of a sample's bare repository at `dest` (under `samples/`),
    /// over `git://` or `file://`.
    pub fn push_url(&self, dest: &Path, over_git: bool) -> Result<String> {
        if !over_git {
            return Ok(format!("file://{}", dest.display()));
        }
        let relative = dest.strip_prefix(self.root.path())?;
        Ok(format!(
            "git://127.0.0.1:{}/{}",
            self.port,
            relative.display()
        ))
    }

    /// A new path for one sample's project, not yet created.
    pub fn next_destination(&mut self) -> PathBuf {
        self.samples += 1;
        self.root
            .path()
            .join("samples")
            .join(self.samples.to_string())
    }

    /// Removes a sample's project. On disk it then flushes the page cache,
    /// so that the next sample does not pay for this one's write-back.
    pub fn remove(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            fs::remove_dir_all(dest)?;
        }
        if self.fs == Fs::Disk {
            Command::new("sync").status()?;
        }
        Ok(())
    }
}

fn fs_type(dir: &Path) -> Result<String> {
    let output = Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(dir)
        .output()?;
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}
