//! git's view of a file's contents: the clean filters that `git add` runs,
//! as `.gitattributes` and git config ask for them (`text`, `eol`, `crlf`,
//! `core.autocrlf`, `ident`, `working-tree-encoding`), through gix's own
//! filter pipeline.
//!
//! Filter drivers (`filter=<name>`, such as Git LFS) are external programs;
//! they are never run, and a path that names one is refused, since storing
//! its contents unfiltered would not be what `git add` stores.
//!
//! What comes from git config is read once per handle, as gix reads the
//! config itself once: the pipeline, and the attribute files that config
//! names (the system file, `core.attributesFile` or the user's
//! `$XDG_CONFIG_HOME/git/attributes`). What belongs to the repository is
//! read at every commit, as `git add` reads it: `$GIT_DIR/info/attributes`
//! and the `.gitattributes` files of the work tree (or, where one is
//! missing there, of the index). A `.gitattributes` that the commit itself
//! writes is read from the contents given, as `git add` would read it after
//! the files were written.

use std::cell::{RefCell, RefMut};
use std::collections::BTreeMap;
use std::path::Path;

use gix::bstr::BString;
use gix::glob::pattern::Case;
use gix::hash::ObjectId;
use gix::worktree::stack::state::attributes::Source;

use crate::error::BoxError;
use crate::paths::RepoPath;

/// Why contents could not be filtered.
pub(crate) enum FilterError {
    /// The path's `filter` attribute names this driver.
    Driver(String),
    /// gix failed.
    Failed(BoxError),
}

impl From<gix::Error> for FilterError {
    fn from(err: gix::Error) -> Self {
        FilterError::Failed(Box::new(err))
    }
}

/// The `.gitattributes` files of an index and their blobs, which stand in
/// for the work tree's where those are missing.
pub(crate) type AttributeFiles = Vec<(BString, gix::hash::ObjectId)>;

/// The `.gitattributes` files a commit writes: their paths and contents.
pub(crate) type WrittenAttributes<'c> = [(BString, &'c [u8])];

/// Those contents by the id of the blob they make, for the attribute stack.
type WrittenBlobs = Vec<(ObjectId, Vec<u8>)>;

/// What a handle keeps between commits: what git config decides.
#[derive(Default)]
pub(crate) struct FilterCache(RefCell<Option<Kept>>);

struct Kept {
    pipeline: gix::filter::plumbing::Pipeline,
    /// The global attributes, with `info/attributes` still to be read: a
    /// fresh stack starts from a copy. `.gitattributes` files come from
    /// the work tree, else from the index.
    attributes: gix::worktree::stack::State,
    /// The same, but `.gitattributes` files come from the list of blobs
    /// first, for a commit that writes some: see [`CleanFilter::new`].
    attributes_listed_first: gix::worktree::stack::State,
    case: Case,
}

impl std::fmt::Debug for FilterCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterCache").finish_non_exhaustive()
    }
}

impl FilterCache {
    /// What git config decides for `repo`, read on first use.
    fn kept<'a>(&'a self, repo: &gix::Repository) -> Result<RefMut<'a, Kept>, gix::Error> {
        let mut slot = self.0.borrow_mut();
        let kept = match slot.take() {
            Some(kept) => kept,
            None => Kept::read(repo)?,
        };
        Ok(RefMut::map(slot, |slot| slot.insert(kept)))
    }

    /// The `.gitattributes` files of `index`, as [`CleanFilter::new`] takes
    /// them.
    pub fn attribute_files(
        &self,
        repo: &gix::Repository,
        index: &gix::index::State,
    ) -> Result<AttributeFiles, gix::Error> {
        let kept = self.kept(repo)?;
        Ok(kept
            .attributes
            .id_mappings_from_index(index, index.path_backing(), kept.case))
    }
}

impl Kept {
    fn read(repo: &gix::Repository) -> Result<Kept, gix::Error> {
        // The global attribute files, read now; `info/attributes` is read
        // by each stack made from this state when it enters the top level.
        let empty = gix::index::State::new(repo.object_hash());
        let state = |source| -> Result<_, gix::Error> {
            Ok(repo
                .attributes_only(&empty, source)?
                .detach()
                .state()
                .clone())
        };
        let attributes = state(Source::WorktreeThenIdMapping)?;
        let attributes_listed_first = state(Source::IdMappingThenWorktree)?;
        let ignore_case = repo
            .config_snapshot()
            .boolean(gix::config::tree::Core::IGNORE_CASE)
            .unwrap_or(false);
        let mut options = gix::filter::Pipeline::options(repo)?;
        // Never run a driver; `clean` refuses paths that name one.
        options.drivers.clear();
        let pipeline = gix::filter::plumbing::Pipeline::new(
            repo.command_context()?,
            repo.object_hash(),
            options,
        );
        Ok(Kept {
            pipeline,
            attributes,
            attributes_listed_first,
            case: if ignore_case {
                Case::Fold
            } else {
                Case::Sensitive
            },
        })
    }
}

/// The filters of one commit: the handle's pipeline, and the attributes
/// of the repository as they are now.
pub(crate) struct CleanFilter<'a> {
    kept: RefMut<'a, Kept>,
    attributes: gix::worktree::Stack,
    /// The `.gitattributes` files this commit writes, as blobs that exist
    /// only here: their ids and contents.
    written: WrittenBlobs,
}

impl<'a> CleanFilter<'a> {
    /// The filters of `repo`, with attributes from the work tree, then from
    /// `attribute_files` (from [`FilterCache::attribute_files`]) for
    /// `.gitattributes` files missing there; but those in `written` (the
    /// `.gitattributes` files this commit writes, with their contents) from
    /// those contents, so that they apply to the commit's other files.
    pub fn new(
        repo: &gix::Repository,
        cache: &'a FilterCache,
        attribute_files: AttributeFiles,
        written: &WrittenAttributes<'_>,
    ) -> Result<CleanFilter<'a>, gix::Error> {
        let kept = cache.kept(repo)?;
        let root = repo.workdir().unwrap_or(repo.git_dir());
        let (state, files, written) = if written.is_empty() {
            (kept.attributes.clone(), attribute_files, Vec::new())
        } else {
            let (files, written) = listed_first(repo, root, attribute_files, written)?;
            (kept.attributes_listed_first.clone(), files, written)
        };
        let attributes =
            gix::worktree::Stack::new(root, state, kept.case, Vec::with_capacity(512), files);
        Ok(CleanFilter {
            kept,
            attributes,
            written,
        })
    }

    /// `contents` at `path` as git stores them. `index` answers whether the
    /// indexed version has CRLF line endings (which `text=auto` then keeps).
    pub fn clean<'c>(
        &'c mut self,
        repo: &gix::Repository,
        index: &gix::index::State,
        path: &RepoPath,
        contents: &'c [u8],
    ) -> Result<&'c [u8], FilterError> {
        use gix::filter::plumbing::pipeline::convert::ToGitOutcome;

        let objects = WithWritten {
            written: &self.written,
            objects: &repo.objects,
        };
        let platform = self
            .attributes
            .at_path(path.as_path(), None, &objects)
            .map_err(|err| FilterError::Failed(Box::new(err)))?;
        let mut driver: Option<BString> = None;
        let key = path.to_bstring();
        let outcome = self.kept.pipeline.convert_to_git(
            contents,
            path.as_path(),
            &mut |_, attributes| {
                platform.matching_attributes(attributes);
                driver = attributes
                    .iter_selected()
                    .find(|found| found.assignment.name.as_str() == "filter")
                    .and_then(|found| match found.assignment.state {
                        gix::attrs::StateRef::Value(value) => Some(value.as_bstr().to_owned()),
                        _ => None,
                    });
            },
            &mut |buf| {
                let Some(entry) = index.entry_by_path(key.as_ref()) else {
                    return Ok(None);
                };
                let found = gix::objs::Find::try_find(&repo.objects, &entry.id, buf)?;
                Ok(found
                    .filter(|object| object.kind == gix::objs::Kind::Blob)
                    .map(|_| ()))
            },
        )?;
        if let Some(driver) = driver {
            return Err(FilterError::Driver(driver.to_string()));
        }
        Ok(match outcome {
            ToGitOutcome::Unchanged(_) => contents,
            ToGitOutcome::Buffer(buffer) => buffer,
            // Without drivers there is no process to read from.
            ToGitOutcome::Process(_) => contents,
        })
    }
}

/// The `.gitattributes` files a stack that reads listed blobs first
/// ([`Source::IdMappingThenWorktree`]) must list to read what `git add`
/// would after this commit's files were written: those the commit writes,
/// from their contents, and the index's where the work tree has none (as
/// [`Source::WorktreeThenIdMapping`] reads them); the others are read from
/// the work tree. Returns the list, sorted by path as the stack searches
/// it, and the written files' contents by blob id.
fn listed_first(
    repo: &gix::Repository,
    root: &Path,
    in_index: AttributeFiles,
    written: &WrittenAttributes<'_>,
) -> Result<(AttributeFiles, WrittenBlobs), gix::Error> {
    let mut files = BTreeMap::new();
    for (path, id) in in_index {
        let on_disk = gix::path::from_bstr(&path)
            .is_ok_and(|relative| std::fs::symlink_metadata(root.join(relative)).is_ok());
        if !on_disk {
            files.insert(path, id);
        }
    }
    let mut contents = Vec::with_capacity(written.len());
    for (path, data) in written {
        let id = gix::objs::compute_hash(repo.object_hash(), gix::objs::Kind::Blob, data)?;
        // The last write of a path is the one that lands.
        files.insert(path.clone(), id);
        contents.push((id, data.to_vec()));
    }
    Ok((files.into_iter().collect(), contents))
}

/// The repository's objects, and the `.gitattributes` contents a commit
/// writes as blobs, for the attribute stack to read; those blobs are not
/// written (the committed blob is the cleaned one).
struct WithWritten<'r> {
    written: &'r WrittenBlobs,
    objects: &'r dyn gix::objs::Find,
}

impl gix::objs::Find for WithWritten<'_> {
    fn try_find<'b>(
        &self,
        id: &gix::hash::oid,
        buffer: &'b mut Vec<u8>,
    ) -> Result<Option<gix::objs::Data<'b>>, gix::Error> {
        let Some((_, data)) = self.written.iter().find(|(known, _)| known.as_ref() == id) else {
            return self.objects.try_find(id, buffer);
        };
        buffer.clear();
        buffer.extend_from_slice(data);
        Ok(Some(gix::objs::Data {
            kind: gix::objs::Kind::Blob,
            object_hash: id.kind(),
            data: buffer,
        }))
    }
}
