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
//!
//! Once written, the last commit's trees and the commit itself stay in the
//! object memory (and are not written again): the next commit starts from
//! them, and would otherwise read them back from disk.
//!
//! As git's `write_object_file` does, an object already on disk is not
//! written again, only freshened (its modification time set to now, so that
//! a concurrent `git gc` does not prune it as old and unreachable just as the
//! new commit comes to name it); and a new object goes through a temporary
//! `tmp_obj_*` file in its fan-out directory, the name `git prune` removes
//! when a crash leaves one behind.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use gix::hash::ObjectId;
use gix::zlib::stream::deflate::{Compress, FlushCompress};
use gix::zlib::{Compression, Status};

/// Writes loose objects, reusing its compressor and output buffer.
pub(crate) struct LooseWriter {
    level: Compression,
    state: RefCell<Option<(Compress, Vec<u8>)>>,
    /// The objects in memory that are on disk already: the last commit's.
    written: RefCell<HashSet<ObjectId>>,
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
            written: RefCell::new(HashSet::new()),
        }
    }

    /// Writes the blob `data`, whose id is `id`, straight into the objects
    /// directory: a blob can be large, and gix's object memory would hold a
    /// copy of it until the commit is complete. Nothing names it yet, so
    /// writing it early is safe.
    pub fn write_blob(&self, repo: &gix::Repository, id: &ObjectId, data: &[u8]) -> io::Result<()> {
        self.write(repo, id, gix::objs::Kind::Blob, data)
    }

    /// Drops the objects that an earlier call left in memory without
    /// writing them (it failed before its commit), keeping the last
    /// commit's.
    pub fn discard_unwritten(&self, repo: &gix::Repository) {
        let written = self.written.borrow();
        // Only written objects are kept, so equal counts mean nothing else.
        if repo.objects.num_objects_in_memory() == written.len() {
            return;
        }
        let Some(objects) = repo.objects.reset_object_memory() else {
            return;
        };
        for id in written.iter() {
            if let Some((kind, data)) = objects.get(id) {
                keep_in_memory(repo, id, *kind, data);
            }
        }
    }

    /// Writes every object the repository handle holds in memory, and did
    /// not write before, into its objects directory. Only those stay in
    /// memory afterwards.
    pub fn flush(&self, repo: &gix::Repository) -> io::Result<()> {
        let Some(objects) = repo.objects.reset_object_memory() else {
            return Ok(());
        };
        let mut written = self.written.borrow_mut();
        let before = std::mem::take(&mut *written);
        let new = || objects.iter().filter(|(id, _)| !before.contains(*id));
        for (id, (kind, data)) in new() {
            self.write(repo, id, *kind, data)?;
        }
        for (id, (kind, data)) in new() {
            if keep_in_memory(repo, id, *kind, data) {
                written.insert(*id);
            }
        }
        Ok(())
    }

    /// Writes one object unless it is on disk already, in which case it is
    /// freshened instead.
    fn write(
        &self,
        repo: &gix::Repository,
        id: &ObjectId,
        kind: gix::objs::Kind,
        data: &[u8],
    ) -> io::Result<()> {
        let path = ObjectPath::new(repo.objects.store_ref().path(), id);
        if freshen(&path.file) {
            return Ok(());
        }
        let mut state = self.state.borrow_mut();
        let (compress, buffer) =
            state.get_or_insert_with(|| (Compress::new(self.level), vec![0; CHUNK]));
        let header = gix::objs::encode::loose_header(kind, data.len() as u64);
        let mut file = temporary_object(&path.fan_out)?;
        deflate(compress, buffer, &[&header, data], file.as_file_mut())?;
        file.persist(&path.file).map(drop).map_err(|err| err.error)
    }
}

/// Where a loose object lives: `<objects>/<2 hex>/<38 hex>`.
struct ObjectPath {
    fan_out: PathBuf,
    file: PathBuf,
}

impl ObjectPath {
    fn new(objects: &Path, id: &ObjectId) -> ObjectPath {
        let hex = id.to_hex().to_string();
        let (fan_out, rest) = hex.split_at(2);
        let fan_out = objects.join(fan_out);
        let file = fan_out.join(rest);
        ObjectPath { fan_out, file }
    }
}

/// Sets the modification time of the object file at `path` to now, as git's
/// `freshen_loose_object` does; `false` when there is none (the usual case,
/// one failed `open`) or it cannot be freshened, and the object is to be
/// written, as git then writes it.
fn freshen(path: &Path) -> bool {
    std::fs::File::open(path)
        .and_then(|file| file.set_modified(std::time::SystemTime::now()))
        .is_ok()
}

/// Puts an object that is on disk back into the object memory; `false` if
/// it is not there (it is then read from disk when needed).
fn keep_in_memory(
    repo: &gix::Repository,
    id: &ObjectId,
    kind: gix::objs::Kind,
    data: &[u8],
) -> bool {
    gix::objs::Write::write_buf_with_known_id(&repo.objects, kind, data, *id).is_ok()
}

/// One zlib stream of `parts`, one after the other, written to `sink` in
/// pieces of `buffer`'s size: a small object is one write.
fn deflate(
    compress: &mut Compress,
    buffer: &mut [u8],
    parts: &[&[u8]],
    sink: &mut impl Write,
) -> io::Result<()> {
    compress.reset();
    let last_part = parts.len().saturating_sub(1);
    // Compressed bytes waiting in `buffer[..filled]`.
    let mut filled = 0;
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
                .compress(input, &mut buffer[filled..], flush)
                .map_err(io::Error::other)?;
            let consumed = (compress.total_in() - before_in) as usize;
            filled += (compress.total_out() - before_out) as usize;
            input = &input[consumed..];
            let full = filled == buffer.len();
            let done = if last {
                status == Status::StreamEnd
            } else {
                input.is_empty() && !full
            };
            if full || (done && last) {
                sink.write_all(&buffer[..filled])?;
                filled = 0;
            }
            if done {
                break;
            }
        }
    }
    Ok(())
}

/// A temporary object file `tmp_obj_<random>` in `fan_out`, as git names
/// them (`git prune` removes stale ones), read-only as git makes object
/// files; the fan-out directory is made when missing, as git makes it.
fn temporary_object(fan_out: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMPORARY_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o444));
    }
    match builder.tempfile_in(fan_out) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(fan_out)?;
            builder.tempfile_in(fan_out)
        }
        other => other,
    }
}

/// The prefix of git's temporary object files (`create_tmpfile` in git's
/// `object-file.c`), which `git prune` looks for.
const TEMPORARY_PREFIX: &str = "tmp_obj_";

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the writes it gets.
    #[derive(Default)]
    struct Sink {
        bytes: Vec<u8>,
        writes: usize,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn inflate(stream: &[u8], size: usize) -> Vec<u8> {
        let mut out = vec![0; size + 1];
        let (status, consumed, written) = gix::zlib::Inflate::default()
            .once(stream, &mut out)
            .unwrap();
        assert_eq!(status, Status::StreamEnd);
        assert_eq!(consumed, stream.len());
        out.truncate(written);
        out
    }

    #[test]
    fn a_small_object_is_one_write_of_one_zlib_stream() {
        let mut compress = Compress::new(Compression::BEST_SPEED);
        let mut buffer = vec![0; CHUNK];
        let mut sink = Sink::default();

        deflate(
            &mut compress,
            &mut buffer,
            &[b"blob 6\0", b"hello\n"],
            &mut sink,
        )
        .unwrap();

        assert_eq!(sink.writes, 1);
        assert_eq!(inflate(&sink.bytes, 13), b"blob 6\0hello\n");
    }

    #[test]
    fn output_larger_than_the_buffer_goes_out_in_full_pieces() {
        let mut compress = Compress::new(Compression::BEST_SPEED);
        // Incompressible input, so that the output is as large.
        let mut state = 0x2545_f491_u32;
        let data: Vec<u8> = (0..10_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let mut buffer = vec![0; 1024];
        let mut sink = Sink::default();

        for _ in 0..2 {
            sink = Sink::default();
            deflate(
                &mut compress,
                &mut buffer,
                &[b"blob 10000\0", &data],
                &mut sink,
            )
            .unwrap();
        }

        assert!(sink.writes >= 10, "{} writes", sink.writes);
        let mut expected = b"blob 10000\0".to_vec();
        expected.extend_from_slice(&data);
        assert_eq!(inflate(&sink.bytes, expected.len()), expected);
    }
}
