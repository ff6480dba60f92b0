//! Cloning a repository into a new project, all or nothing.

mod destination;
mod progress;

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

pub use progress::{ClonePhase, CloneProgress};

use crate::error::{BoxError, Error, Result};
use crate::project::Project;
use crate::redact::Redactor;
use destination::{Refusal, Staging};
use progress::Tracker;

/// How often the progress callback is offered a new snapshot.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// The callback of [`CloneOptions::on_progress`].
type ProgressFn = Box<dyn FnMut(&CloneProgress) + Send>;

/// How [`Project::clone_repo`] clones: which branch, how deep, whom to tell
/// about progress and what to watch for cancellation.
///
/// `Send` (the progress callback must be), so a clone can be set up on one
/// thread and run on another.
#[derive(Default)]
#[non_exhaustive]
pub struct CloneOptions {
    /// The branch (or tag) to check out instead of the remote's `HEAD`.
    pub branch: Option<String>,
    /// Fetch only this many commits of history (`git clone --depth`).
    pub depth: Option<NonZeroU32>,
    /// Setting this flag cancels the clone, which then fails with
    /// [`Error::Cancelled`] and leaves the destination as it was.
    pub cancel: Option<Arc<AtomicBool>>,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for CloneOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloneOptions")
            .field("branch", &self.branch)
            .field("depth", &self.depth)
            .field("cancel", &self.cancel)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

impl CloneOptions {
    /// Sets [`branch`](Self::branch).
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// Sets [`depth`](Self::depth).
    pub fn depth(mut self, depth: NonZeroU32) -> Self {
        self.depth = Some(depth);
        self
    }

    /// Sets [`cancel`](Self::cancel).
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Calls `callback` with a [`CloneProgress`] whenever progress was made,
    /// at most about ten times a second, and once more with
    /// [`ClonePhase::Done`] after a successful clone. It runs on a helper
    /// thread while the clone works, so it must be [`Send`]; a slow callback
    /// does not slow the clone down.
    pub fn on_progress(mut self, callback: impl FnMut(&CloneProgress) + Send + 'static) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }
}

impl Project {
    /// Clones the repository at `url` into `destination` and opens it.
    ///
    /// `url` is an `https://`, `http://`, `git://`, `ssh://` (through the
    /// `ssh` program) or `file://` URL, an scp-like `user@host:path`, or a
    /// path to a local repository. `destination` must be absent or an empty
    /// directory; missing parent directories are made.
    ///
    /// The clone is all or nothing: it is written to a temporary directory
    /// beside `destination` and renamed into place once complete, so after
    /// any failure `destination` is as it was (absent, or the same empty
    /// directory).
    ///
    /// # Errors
    ///
    /// Before anything is written or sent: [`Error::InvalidUrl`] for a URL
    /// that does not parse or names an unsupported transport,
    /// [`Error::InvalidBranchName`], [`Error::DestinationNotEmpty`]. Later:
    /// [`Error::BranchNotFound`] when the remote has no such branch or tag,
    /// [`Error::Cancelled`] when the cancel flag was set, and
    /// [`Error::Clone`] for everything else (unreachable host, no
    /// repository there, authentication, disk).
    pub fn clone_repo(
        url: &str,
        destination: impl AsRef<Path>,
        options: CloneOptions,
    ) -> Result<Project> {
        let destination = destination.as_ref();
        let CloneOptions {
            branch,
            depth,
            cancel,
            progress,
        } = options;
        // Errors show the URL with its password masked.
        let redactor = Redactor::new(url);
        let parsed = crate::url::parse(url, &redactor)?;
        if let Some(branch) = &branch {
            check_branch(branch)?;
        }
        let before = match destination::inspect(destination) {
            Ok(before) => before,
            Err(Refusal::NotEmpty) => {
                return Err(Error::DestinationNotEmpty {
                    path: destination.to_owned(),
                })
            }
            Err(Refusal::Io(err)) => {
                return Err(clone_error(&redactor, destination, Box::new(err)))
            }
        };
        let cancel = cancel.unwrap_or_default();
        let job = Job {
            redactor: &redactor,
            destination,
            branch: branch.as_deref(),
            depth,
            cancel: &cancel,
        };
        if job.cancelled() {
            return Err(job.cancelled_error());
        }
        let staging = Staging::new(destination, before)
            .map_err(|err| clone_error(&redactor, destination, Box::new(err)))?;

        let tracker = Tracker::new();
        let mut progress = progress;
        let outcome = with_progress_reports(&tracker, progress.as_mut(), || {
            job.fetch_and_check_out(parsed, staging.path(), &tracker)
        });
        outcome?;
        if job.cancelled() {
            return Err(job.cancelled_error());
        }
        staging.commit().map_err(|err| {
            if err.kind() == std::io::ErrorKind::DirectoryNotEmpty {
                Error::DestinationNotEmpty {
                    path: destination.to_owned(),
                }
            } else {
                clone_error(&redactor, destination, Box::new(err))
            }
        })?;
        if let Some(callback) = progress.as_mut() {
            let mut done = tracker.snapshot();
            done.phase = ClonePhase::Done;
            callback(&done);
        }
        Project::open(destination)
    }
}

/// One clone's inputs, for the gix part and for naming its errors.
struct Job<'a> {
    redactor: &'a Redactor,
    destination: &'a Path,
    branch: Option<&'a str>,
    depth: Option<NonZeroU32>,
    cancel: &'a AtomicBool,
}

impl Job<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn cancelled_error(&self) -> Error {
        Error::Cancelled {
            url: self.redactor.url(),
            path: self.destination.to_owned(),
        }
    }

    /// Fetches into `dir` and checks out the work tree; gix removes what it
    /// wrote on failure, [`Staging`] the directory itself.
    fn fetch_and_check_out(&self, url: gix::Url, dir: &Path, tracker: &Tracker) -> Result<()> {
        let run = || -> gix::Result<()> {
            let mut prepare = gix::prepare_clone(url, dir)?
                .configure_connection(crate::daemon::use_nodelay_socket);
            if let Some(depth) = self.depth {
                prepare = prepare.with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(depth));
            }
            if let Some(branch) = self.branch {
                prepare = prepare.with_ref_name(Some(branch))?;
            }
            let (mut checkout, _) = prepare.fetch_then_checkout(tracker.clone(), self.cancel)?;
            // An interrupted checkout returns Ok; the caller checks the flag.
            let (_repo, _) = checkout.main_worktree(tracker.clone(), self.cancel)?;
            Ok(())
        };
        run().map_err(|err| self.classify(err))
    }

    fn classify(&self, err: gix::Error) -> Error {
        if self.cancelled() || err.is_cancelled() {
            return self.cancelled_error();
        }
        if let Some(branch) = self.branch.filter(|_| is_missing_ref(&err)) {
            return branch_not_found(self.redactor, branch, &err);
        }
        clone_error(self.redactor, self.destination, self.redactor.error(&err))
    }
}

/// Runs `work` while a helper thread hands `callback` a snapshot of
/// `tracker` whenever it changed.
fn with_progress_reports<T>(
    tracker: &Tracker,
    callback: Option<&mut ProgressFn>,
    work: impl FnOnce() -> T,
) -> T {
    let Some(callback) = callback else {
        return work();
    };
    std::thread::scope(|scope| {
        let (stop, stopped) = mpsc::channel::<()>();
        scope.spawn(move || {
            let mut last = None;
            loop {
                let finished = !matches!(
                    stopped.recv_timeout(PROGRESS_INTERVAL),
                    Err(mpsc::RecvTimeoutError::Timeout)
                );
                let now = tracker.snapshot();
                if last.as_ref() != Some(&now) {
                    callback(&now);
                    last = Some(now);
                }
                if finished {
                    break;
                }
            }
        });
        let result = work();
        drop(stop);
        result
    })
}

/// Refuses branch names that are not valid partial reference names.
fn check_branch(branch: &str) -> Result<()> {
    let refuse = |source: BoxError| Error::InvalidBranchName {
        name: branch.to_owned(),
        source,
    };
    if branch.is_empty() || branch.starts_with('-') {
        return Err(refuse("git does not allow this branch name".into()));
    }
    <&gix::refs::PartialNameRef>::try_from(branch)
        .map(|_| ())
        .map_err(|err| refuse(Box::new(err)))
}

/// Whether gix failed because the remote has no reference matching the
/// requested branch (gix 0.90 classifies it as not found with this text).
fn is_missing_ref(err: &gix::Error) -> bool {
    if !err.is_not_found() {
        return false;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if current
            .to_string()
            .contains("didn't have any ref that matched")
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// [`Error::Clone`]; a `source` from gix goes through
/// [`Redactor::error`] first.
fn clone_error(redactor: &Redactor, destination: &Path, source: BoxError) -> Error {
    Error::Clone {
        url: redactor.url(),
        path: destination.to_owned(),
        source,
    }
}

fn branch_not_found(
    redactor: &Redactor,
    branch: &str,
    err: &(dyn std::error::Error + 'static),
) -> Error {
    Error::BranchNotFound {
        url: redactor.url(),
        branch: branch.to_owned(),
        source: redactor.error(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The remote's answer, which gix quotes with the URL, is masked with it
    /// (no test server here takes credentials: gix sends them over neither
    /// `http://` nor `git://`).
    #[test]
    fn branch_not_found_masks_the_url_in_its_display_debug_and_source() {
        let url = "https://alice:hunter2@example.com/r.git";
        let answer = std::io::Error::other(format!("{url} didn't have any ref that matched"));

        let err = branch_not_found(&Redactor::new(url), "topic", &answer);

        let source = std::error::Error::source(&err).expect("a source");
        for shown in [
            err.to_string(),
            format!("{err:?}"),
            source.to_string(),
            format!("{source:?}"),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(
            err.to_string(),
            "https://alice:***@example.com/r.git has no branch or tag \"topic\""
        );
    }
}
