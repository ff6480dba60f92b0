//! Writing a commit's new objects to disk once the commit is complete.
//!
//! A project's repository handle keeps the objects it writes in memory
//! (gix's object memory, which reads see too). Before the branch moves,
//! they are written out as loose objects with one zlib state that is reset
//! between objects: gix's loose writer sets up a fresh one, hundreds of
//! kilobytes zeroed, for every object, which was the largest cost of a
//! small commit. The objects are on disk before any reference names them.

use std::cell::RefCell;
use std::io::{self, Write};
use std::path::Path;

use gix::hash::ObjectId;
use gix::zlib::stream::deflate::{Compress, FlushCompress};
use gix::zlib::{Compression, Status};

/// Writes loose objects, reusing its compressor.
pub(crate) struct LooseWriter {
    level: Compression,
    compress: RefCell<Option<Compress>>,
}

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
            compress: RefCell::new(None),
        }
    }

    /// Writes every object the repository handle holds in memory into its
    /// objects directory, and empties the memory.
    pub fn flush(&self, repo: &gix::Repository) -> io::Result<()> {
        let Some(objects) = repo.objects.reset_object_memory() else {
            return Ok(());
        };
        let directory = repo.objects.store_ref().path();
        let mut compress = self.compress.borrow_mut();
        let compress = compress.get_or_insert_with(|| Compress::new(self.level));
        for (id, (kind, data)) in objects.iter() {
            let header = gix::objs::encode::loose_header(*kind, data.len() as u64);
            let compressed = deflate(compress, &[&header, data])?;
            write_loose(directory, id, &compressed)?;
        }
        Ok(())
    }
}

/// One zlib stream of `parts`, one after the other.
fn deflate(compress: &mut Compress, parts: &[&[u8]]) -> io::Result<Vec<u8>> {
    compress.reset();
    let input: Vec<u8> = parts.concat();
    // zlib's worst case is a few bytes per 16 KiB beyond the input.
    let mut output = vec![0; input.len() + input.len() / 1024 + 64];
    let (start_in, start_out) = (compress.total_in(), compress.total_out());
    loop {
        let consumed = (compress.total_in() - start_in) as usize;
        let produced = (compress.total_out() - start_out) as usize;
        if produced == output.len() {
            output.resize(output.len() * 2, 0);
        }
        let status = compress
            .compress(
                &input[consumed..],
                &mut output[produced..],
                FlushCompress::Finish,
            )
            .map_err(io::Error::other)?;
        if status == Status::StreamEnd {
            output.truncate((compress.total_out() - start_out) as usize);
            return Ok(output);
        }
    }
}

/// Writes the object file `<directory>/<2 hex>/<38 hex>` through a
/// temporary file, read-only as git makes it.
fn write_loose(directory: &Path, id: &ObjectId, compressed: &[u8]) -> io::Result<()> {
    let hex = id.to_hex().to_string();
    let (fan_out, rest) = hex.split_at(2);
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o444));
    }
    let mut file = builder.tempfile_in(directory)?;
    file.write_all(compressed)?;
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
