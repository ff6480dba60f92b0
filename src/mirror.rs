//! Pushing the committer's history to a remote repository, on a thread of
//! its own: after each commit (commits that land while a push is under way
//! go with the next one), retrying with backoff while the remote is away (a
//! new commit tries again at once), and never holding up a job.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use repo_lite::{Project, PushOptions};

use crate::error::PlatformError;

/// The name of the mirror's remote in the project's git config.
pub const MIRROR_REMOTE: &str = "mirror";

/// How long one push may wait on the remote.
const PUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// The first wait after a failed push; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long [`Mirror::stop`] gives the last push.
const LAST_PUSH: Duration = Duration::from_secs(15);

#[derive(Default)]
struct State {
    /// Commits not pushed yet.
    pending: bool,
    /// A commit landed since the last push began: a backoff ends early.
    notified: bool,
    stopping: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

/// The thread that pushes the history to remote [`MIRROR_REMOTE`].
pub struct Mirror {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

impl Mirror {
    /// Points remote `mirror` of `project` at `url` (refused before
    /// anything is written if repo-lite would refuse to push there) and
    /// starts the pushing thread, which pushes what the project has at once.
    pub fn start(project: &Project, url: &str) -> Result<Mirror, PlatformError> {
        let current = project
            .remotes()?
            .into_iter()
            .find(|remote| remote.name == MIRROR_REMOTE);
        match current {
            Some(remote) if remote.url == url => {}
            Some(_) => {
                project.remove_remote(MIRROR_REMOTE)?;
                project.add_remote(MIRROR_REMOTE, url)?;
            }
            None => project.add_remote(MIRROR_REMOTE, url)?,
        }
        let shared: Shared = Arc::new((
            Mutex::new(State {
                pending: true,
                notified: false,
                stopping: false,
            }),
            Condvar::new(),
        ));
        let path = project.root().to_owned();
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("ondemand-mirror".into())
                .spawn(move || push_loop(&path, &shared))
                .map_err(|source| PlatformError::ThreadSpawnFailed {
                    thread: "ondemand-mirror".into(),
                    source,
                })?
        };
        Ok(Mirror {
            shared,
            thread: Some(thread),
        })
    }

    /// Says that a commit landed: the thread pushes it soon, also while it
    /// backs off after a failed push.
    pub fn notify(&self) {
        let mut state = lock(&self.shared);
        state.pending = true;
        state.notified = true;
        drop(state);
        self.shared.1.notify_all();
    }

    /// Stops the thread after one last push of what is pending, given
    /// [`LAST_PUSH`] at most; a push still under way then is left to end
    /// on its own.
    pub fn stop(mut self) {
        lock(&self.shared).stopping = true;
        self.shared.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let (done, finished) = std::sync::mpsc::channel();
            let _ = std::thread::Builder::new()
                .name("ondemand-mirror-stop".into())
                .spawn(move || {
                    let _ = thread.join();
                    let _ = done.send(());
                });
            let _ = finished.recv_timeout(LAST_PUSH + Duration::from_secs(1));
        }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        lock(&self.shared).stopping = true;
        self.shared.1.notify_all();
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Pushes whenever commits are pending; after a failure waits (doubling)
/// before the next try. Ends once stopping, after one last push.
fn push_loop(path: &PathBuf, shared: &Shared) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let stopping = {
            let mut state = shared
                .1
                .wait_while(lock(shared), |state| !state.pending && !state.stopping)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !state.pending {
                return;
            }
            state.pending = false;
            state.notified = false;
            state.stopping
        };
        let timeout = if stopping { LAST_PUSH } else { PUSH_TIMEOUT };
        match push(path, timeout) {
            Ok(()) => backoff = FIRST_BACKOFF,
            Err(err) => {
                eprintln!("ondemand: mirror: {err}; trying again in {backoff:?}");
                let mut state = lock(shared);
                state.pending = true;
                if stopping {
                    return;
                }
                let (state, _) = shared
                    .1
                    .wait_timeout_while(state, backoff, |state| !state.stopping && !state.notified)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                drop(state);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One push of the current branch, on a handle of its own (the
/// committer's is busy committing).
fn push(path: &PathBuf, timeout: Duration) -> Result<(), PlatformError> {
    let project = Project::open(path)?;
    // A new project has no branch to push yet.
    if project.head_commit()?.is_some() {
        project.push(MIRROR_REMOTE, PushOptions::default().timeout(timeout))?;
    }
    Ok(())
}
