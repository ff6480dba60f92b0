//! git's view of a file's contents: the clean filters that `git add` runs,
//! as `.gitattributes` and git config ask for them (`text`, `eol`, `crlf`,
//! `core.autocrlf`, `ident`, `working-tree-encoding`), through gix's own
//! filter pipeline.
//!
//! Filter drivers (`filter=<name>`, such as Git LFS) are external programs;
//! they are never run, and a path that names one is refused, since storing
//! its contents unfiltered would not be what `git add` stores.

use std::cell::RefCell;

use gix::bstr::BString;

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

/// The attributes and filters of one commit: read afresh for each, as git
/// reads `.gitattributes` on every `git add`.
pub(crate) struct CleanFilter {
    pipeline: gix::filter::plumbing::Pipeline,
    attributes: gix::worktree::Stack,
}

/// The filter pipeline of a project's handle: it depends only on git
/// config, which a handle reads once, so it is built once.
#[derive(Default)]
pub(crate) struct PipelineCache(RefCell<Option<gix::filter::plumbing::Pipeline>>);

impl std::fmt::Debug for PipelineCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineCache").finish_non_exhaustive()
    }
}

impl CleanFilter {
    /// The filters of `repo` (the pipeline from `cache` when it has one),
    /// with attributes from the work tree, then from `index` for
    /// `.gitattributes` files missing there.
    pub fn new(
        repo: &gix::Repository,
        index: &gix::index::State,
        cache: &PipelineCache,
    ) -> Result<CleanFilter, gix::Error> {
        let attributes = repo
            .attributes_only(
                index,
                gix::worktree::stack::state::attributes::Source::WorktreeThenIdMapping,
            )?
            .detach();
        let cached = cache.0.borrow_mut().take();
        let pipeline = match cached {
            Some(pipeline) => pipeline,
            None => {
                let mut options = gix::filter::Pipeline::options(repo)?;
                // Never run a driver; `clean` refuses paths that name one.
                options.drivers.clear();
                gix::filter::plumbing::Pipeline::new(
                    repo.command_context()?,
                    repo.object_hash(),
                    options,
                )
            }
        };
        Ok(CleanFilter {
            pipeline,
            attributes,
        })
    }

    /// Hands the pipeline back to `cache` for the next commit.
    pub fn keep(self, cache: &PipelineCache) {
        *cache.0.borrow_mut() = Some(self.pipeline);
    }

    /// `contents` at `path` as git stores them. `index` answers whether the
    /// indexed version has CRLF line endings (which `text=auto` then keeps).
    pub fn clean<'a>(
        &'a mut self,
        repo: &gix::Repository,
        index: &gix::index::State,
        path: &RepoPath,
        contents: &'a [u8],
    ) -> Result<&'a [u8], FilterError> {
        use gix::filter::plumbing::pipeline::convert::ToGitOutcome;

        let platform = self
            .attributes
            .at_path(path.as_path(), None, &repo.objects)
            .map_err(|err| FilterError::Failed(Box::new(err)))?;
        let mut driver: Option<BString> = None;
        let key = path.to_bstring();
        let outcome = self.pipeline.convert_to_git(
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
