//! Writing a commit's new objects to disk.
//!
//! Blobs are written as soon as their id is known, straight from the
//! caller's (or the clean filter's) bytes, compressed in pieces: a large
//! file is never copied whole in memory. The trees and the commit are kept
//! in gix's object memory (which reads see too) and written out before the
//! branch moves. All are written with one zlib state reset between objects:
//! gix's loose writer sets up a fresh one, hundreds of kilobytes zeroed, for
//! every object, which was the largest cost of a small commit. The objects
//! are on disk before any reference names them.

use std::cell::RefCell;
use std::io::{self, Write};
use std::path::Path;

use gix::hash::ObjectId;
use gix::zlib::stream::deflate::{Compress, FlushCompress};
use gix::zlib::{Compression, Status};

/// Writes loose objects, reusing its compressor and output buffer.
pub(crate) struct LooseWriter {
    level: Compression,
    state: RefCell<Option<(Compress, Vec<u8>)>>,
}

/// The compressor's output goes to disk in pieces of this size, so that a
/// large blob is never held compressed in memory.
const CHUNK: usize = 64 * 1024;

impl std::fmt::Debug for LooseWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LooseWriter")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl LooseWriter {
    /// A writer compressing as `core.looseCompression` (else
    /// `core.compression`) says, at git's default level 1 when neither is set.
    pub fn for_repo(repo: &gix::Repository) -> LooseWriter {
        let config = repo.config_snapshot();
        let configured = config
            .integer("core.looseCompression")
            .or_else(|| config.integer("core.compression"));
        let level = match configured {
            Some(-1) => Compression::DEFAULT,
            Some(level) => i32::try_from(level)
                .ok()
                .and_then(Compression::new)
                .unwrap_or(Compression::BEST_SPEED),
            None => Compression::BEST_SPEED,
        };
        LooseWriter {
            level,
            state: RefCell::new(None),
        }
    }

    /// Writes the blob `data`, whose id is `id`, straight into the objects
    /// directory: a blob can be large, and gix's object memory would hold a
    /// copy of it until the commit is complete. Nothing names it yet, so
    /// writing it early is safe.
    pub fn write_blob(&self, repo: &gix::Repository, id: &ObjectId, data: &[u8]) -> io::Result<()> {
        self.write(repo, id, gix::objs::Kind::Blob, data)
    }

    /// Writes every object the repository handle holds in memory into its
    /// objects directory, and empties the memory.
    pub fn flush(&self, repo: &gix::Repository) -> io::Result<()> {
        let Some(objects) = repo.objects.reset_object_memory() else {
            return Ok(());
        };
        for (id, (kind, data)) in objects.iter() {
            self.write(repo, id, *kind, data)?;
        }
        Ok(())
    }

    fn write(
        &self,
        repo: &gix::Repository,
        id: &ObjectId,
        kind: gix::objs::Kind,
        data: &[u8],
    ) -> io::Result<()> {
        let directory = repo.objects.store_ref().path();
        let mut state = self.state.borrow_mut();
        let (compress, buffer) =
            state.get_or_insert_with(|| (Compress::new(self.level), vec![0; CHUNK]));
        let header = gix::objs::encode::loose_header(kind, data.len() as u64);
        let mut file = temporary_object(directory)?;
        deflate(compress, buffer, &[&header, data], file.as_file_mut())?;
        persist(directory, id, file)
    }
}

/// One zlib stream of `parts`, one after the other, written to `sink` in
/// pieces of `buffer`'s size.
fn deflate(
    compress: &mut Compress,
    buffer: &mut [u8],
    parts: &[&[u8]],
    sink: &mut impl Write,
) -> io::Result<()> {
    compress.reset();
    let last_part = parts.len().saturating_sub(1);
    for (index, part) in parts.iter().enumerate() {
        let last = index == last_part;
        let flush = if last {
            FlushCompress::Finish
        } else {
            FlushCompress::None
        };
        let mut input: &[u8] = part;
        loop {
            let (before_in, before_out) = (compress.total_in(), compress.total_out());
            let status = compress
                .compress(input, buffer, flush)
                .map_err(io::Error::other)?;
            let consumed = (compress.total_in() - before_in) as usize;
            let produced = (compress.total_out() - before_out) as usize;
            sink.write_all(&buffer[..produced])?;
            input = &input[consumed..];
            let done = if last {
                status == Status::StreamEnd
            } else {
                input.is_empty() && produced < buffer.len()
            };
            if done {
                break;
            }
        }
    }
    Ok(())
}

/// A temporary file in the objects directory, read-only as git makes
/// object files.
fn temporary_object(directory: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o444));
    }
    builder.tempfile_in(directory)
}

/// Renames `file` to the object file `<directory>/<2 hex>/<38 hex>`.
fn persist(directory: &Path, id: &ObjectId, file: tempfile::NamedTempFile) -> io::Result<()> {
    let hex = id.to_hex().to_string();
    let (fan_out, rest) = hex.split_at(2);
    let target = directory.join(fan_out).join(rest);
    match file.persist(&target) {
        Ok(_) => Ok(()),
        Err(failed) if failed.error.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(directory.join(fan_out))?;
            failed
                .file
                .persist(&target)
                .map(drop)
                .map_err(|err| err.error)
        }
        Err(failed) => Err(failed.error),
    }
}
