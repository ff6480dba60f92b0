//! Creating and opening a git project: a repository with a work tree, or a
//! bare one.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::path::{Path, PathBuf};

use gix::hash::ObjectId;
use gix::refs::transaction::{PreviousValue, RefEdit};
use gix::refs::FullName;

use crate::error::{Error, Result};
use crate::filter::FilterCache;
use crate::index::IndexCache;
use crate::objects::LooseWriter;
use crate::reflog::Reflogs;
use crate::signature::{self, Signature};

/// The branch a new project starts on unless told otherwise.
pub const DEFAULT_BRANCH: &str = "main";

/// Memory for objects read back, such as the trees at `HEAD`.
const OBJECT_CACHE_BYTES: usize = 4 * 1024 * 1024;

/// How [`Project::init`] creates a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitOptions {
    /// The branch that `HEAD` points at (`main` by default, whatever
    /// `init.defaultBranch` says in the user's git config).
    pub default_branch: String,
    /// When set, a first commit (with no files) is made with this message,
    /// so that the branch exists from the start.
    pub initial_commit: Option<String>,
    /// Author and committer of the project's commits (see
    /// [`Project::with_signature`]).
    pub signature: Option<Signature>,
    /// Creates a bare repository: no work tree and no index, only objects
    /// and references (see [`Project::is_bare`]). A commit then writes
    /// only the objects it adds and moves the branch, so its cost does not
    /// grow with the number of files, where a work tree's index is
    /// rewritten whole by every commit.
    pub bare: bool,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            default_branch: DEFAULT_BRANCH.to_owned(),
            initial_commit: None,
            signature: None,
            bare: false,
        }
    }
}

impl InitOptions {
    /// Sets [`default_branch`](Self::default_branch).
    pub fn default_branch(mut self, branch: impl Into<String>) -> Self {
        self.default_branch = branch.into();
        self
    }

    /// Sets [`initial_commit`](Self::initial_commit).
    pub fn initial_commit(mut self, message: impl Into<String>) -> Self {
        self.initial_commit = Some(message.into());
        self
    }

    /// Sets [`signature`](Self::signature).
    pub fn signature(mut self, signature: Signature) -> Self {
        self.signature = Some(signature);
        self
    }

    /// Sets [`bare`](Self::bare).
    pub fn bare(mut self, bare: bool) -> Self {
        self.bare = bare;
        self
    }
}

/// A git repository with a work tree, or a bare one.
///
/// In a bare project ([`InitOptions::bare`], or [`Project::open`] on a
/// bare repository) a commit changes only the history: contents are stored
/// as given (no work tree, so no `.gitattributes` or clean filter applies),
/// and there is no index to keep in step.
///
/// A `Project` keeps the index it wrote last and the tree of its last
/// commit in memory, so that a commit touches only what it changes, and
/// holds a commit's new objects in memory until the commit is complete
/// (they reach the disk before the branch moves). Other programs (git
/// itself) may change the repository between calls: when the index file or
/// `HEAD` is not what the project left, it reads them again.
///
/// A `Project` can move to another thread ([`Send`]) but not be shared
/// between threads (it is not [`Sync`]): those caches have no locks. Open
/// one handle per thread; git's locks keep their commits apart, and a
/// commit that finds its branch moved fails with
/// [`Error::BranchMoved`](crate::Error::BranchMoved).
pub struct Project {
    pub(crate) repo: gix::Repository,
    pub(crate) root: PathBuf,
    /// No work tree: `root` is the repository directory itself.
    pub(crate) bare: bool,
    /// `root` with symbolic links resolved, once.
    canonical_root: OnceCell<PathBuf>,
    signature: Option<Signature>,
    pub(crate) index_cache: IndexCache,
    /// The last commit this handle made, and its tree.
    pub(crate) last_commit: Cell<Option<(ObjectId, ObjectId)>>,
    pub(crate) reflogs: Reflogs,
    pub(crate) loose: LooseWriter,
    pub(crate) filters: FilterCache,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("root", &self.root)
            .field("signature", &self.signature)
            .finish_non_exhaustive()
    }
}

impl Project {
    /// Creates a repository at `path` (made if missing) with `HEAD` on the
    /// options' default branch, and the options' first commit if any.
    pub fn init(path: impl AsRef<Path>, options: &InitOptions) -> Result<Project> {
        let path = path.as_ref();
        let branch = branch_reference(&options.default_branch)?;
        let repo = if options.bare {
            gix::init_bare(path)
        } else {
            gix::init(path)
        };
        let repo = repo.map_err(|err| Error::Init {
            path: path.to_owned(),
            source: Box::new(err),
        })?;
        let head_target = repo
            .head_name()
            .ok()
            .flatten()
            .map(|name| name.as_bstr().to_owned());
        if head_target.as_ref().map(|name| name.as_slice()) != Some(branch.as_bstr().as_ref()) {
            repo.edit_reference(RefEdit::update(
                "HEAD".try_into().map_err(|err| Error::Reference {
                    path: path.to_owned(),
                    reference: "HEAD".into(),
                    source: Box::new(err),
                })?,
                branch,
                PreviousValue::Any,
                "",
            ))
            .map_err(|err| Error::Reference {
                path: path.to_owned(),
                reference: "HEAD".into(),
                source: Box::new(err),
            })?;
        }
        let mut project = Self::from_repo(repo);
        project.set_signature(options.signature.clone());
        if let Some(message) = &options.initial_commit {
            project.commit_empty_tree(message)?;
        }
        Ok(project)
    }

    /// Opens the repository whose work tree is `path`, or the bare
    /// repository at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Project> {
        let path = path.as_ref();
        let repo = gix::open(path).map_err(|err| Error::Open {
            path: path.to_owned(),
            source: Box::new(err),
        })?;
        Ok(Self::from_repo(repo))
    }

    fn from_repo(mut repo: gix::Repository) -> Project {
        // Each commit reads the trees and the commit the previous one wrote;
        // decompressed once, they are kept.
        repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
        let reflogs = Reflogs::take_over(&mut repo);
        // Objects stay in memory until a commit is complete; see `objects`.
        repo.objects.enable_object_memory();
        let loose = LooseWriter::for_repo(&repo);
        let (root, bare) = match repo.workdir() {
            Some(workdir) => (workdir.to_owned(), false),
            None => (repo.git_dir().to_owned(), true),
        };
        Project {
            repo,
            root,
            bare,
            canonical_root: OnceCell::new(),
            signature: None,
            index_cache: IndexCache::default(),
            last_commit: Cell::new(None),
            reflogs,
            loose,
            filters: FilterCache::default(),
        }
    }

    /// The top directory of the work tree; in a bare project, the
    /// repository directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the project is bare: a repository without a work tree or
    /// index, whose files live only in its commits.
    pub fn is_bare(&self) -> bool {
        self.bare
    }

    /// The work tree's canonical path. Resolved once when `root` is
    /// absolute (its components are not expected to change while a handle
    /// is open); a relative `root` follows the current directory, so it is
    /// resolved each time.
    pub(crate) fn canonical_root(&self) -> Result<Cow<'_, Path>> {
        if let Some(root) = self.canonical_root.get() {
            return Ok(Cow::Borrowed(root));
        }
        let canonical = self.root.canonicalize().map_err(|err| Error::Worktree {
            path: self.root.clone(),
            source: Box::new(err),
        })?;
        if !self.root.is_absolute() {
            return Ok(Cow::Owned(canonical));
        }
        Ok(Cow::Borrowed(self.canonical_root.get_or_init(|| canonical)))
    }

    /// Commits made from now on are authored and committed by `signature`
    /// rather than the identity from git config.
    pub fn with_signature(mut self, signature: Signature) -> Self {
        self.signature = Some(signature);
        self
    }

    /// Sets, or with `None` clears, the explicit signature of
    /// [`with_signature`](Self::with_signature).
    pub fn set_signature(&mut self, signature: Option<Signature>) {
        self.signature = signature;
    }

    /// The author of the next commit: the explicit signature if one was set,
    /// else `user.name`/`user.email` (or `author.*`, or `GIT_AUTHOR_*`) as
    /// git config resolves them, else [`Signature::fallback`].
    pub fn signature(&self) -> Signature {
        self.identities().0
    }

    /// Author and committer, each resolved as [`signature`](Self::signature)
    /// says (git config may name a different committer).
    pub(crate) fn identities(&self) -> (Signature, Signature) {
        let explicit = self.signature.as_ref();
        (
            signature::resolve(explicit, signature::from_config(self.repo.author())),
            signature::resolve(explicit, signature::from_config(self.repo.committer())),
        )
    }

    /// The short name of the branch `HEAD` points at, such as `main`; `None`
    /// when `HEAD` is detached.
    pub fn current_branch(&self) -> Result<Option<String>> {
        let name = self.repo.head_name().map_err(|err| Error::Reference {
            path: self.root.clone(),
            reference: "HEAD".into(),
            source: Box::new(err),
        })?;
        Ok(name.map(|name| name.shorten().to_string()))
    }
}

/// `refs/heads/<branch>`, refusing names git would refuse.
pub(crate) fn branch_reference(branch: &str) -> Result<FullName> {
    let invalid = |reason: String| Error::InvalidBranchName {
        name: branch.to_owned(),
        source: reason.into(),
    };
    if branch.is_empty() || branch.starts_with('-') || branch == "HEAD" {
        return Err(invalid("git does not allow this branch name".into()));
    }
    FullName::try_from(format!("refs/heads/{branch}")).map_err(|err| invalid(err.to_string()))
}
