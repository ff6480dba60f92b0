//! The pack a push sends: the objects reachable from the new tips that the
//! remote's tips do not reach, found and written by gix's pack generator
//! (`gix_pack::data::output`). Entries already stored as deltas in a local
//! pack are sent as they are, against bases the remote may already have
//! (a thin pack), unless the remote refuses thin packs.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use gix::hash::ObjectId;
use gix_pack::data::output;

use crate::error::BoxError;

/// What was sent.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sent {
    pub objects: usize,
    pub bytes: u64,
}

/// The commits (and annotated tags) to send for `tips`, leaving out what
/// `remote_has` reaches; `remote_has` must hold only ids present locally.
pub(crate) fn objects_to_send(
    repo: &gix::Repository,
    tips: &[ObjectId],
    remote_has: &[ObjectId],
) -> Result<Vec<ObjectId>, BoxError> {
    let mut ids = Vec::new();
    let mut commits = Vec::new();
    for &tip in tips {
        let object = repo.find_header(tip)?;
        if object.kind() == gix::object::Kind::Tag {
            ids.push(tip);
            let peeled = repo.find_object(tip)?.peel_to_commit()?.id;
            commits.push(peeled);
        } else {
            commits.push(tip);
        }
    }
    if commits.is_empty() {
        return Ok(ids);
    }
    let walk = repo
        .rev_walk(commits)
        .with_hidden(remote_has.iter().copied())
        .all()?;
    for info in walk {
        ids.push(info?.id);
    }
    Ok(ids)
}

/// Writes the pack of `ids` (expanded to the trees and blobs each commit
/// adds to its parents') to `out`; `on_written` hears each chunk. Stops
/// with an error when `cancel` is set, leaving the pack incomplete (the
/// remote then discards it).
pub(crate) fn write(
    repo: &gix::Repository,
    ids: Vec<ObjectId>,
    thin: bool,
    out: &mut dyn Write,
    cancel: &AtomicBool,
    on_written: &mut dyn FnMut(Sent),
) -> Result<Sent, BoxError> {
    let mut db = (*repo.objects).clone();
    // gix's pack generator keeps positions in packs, which must not unload.
    db.prevent_pack_unload();
    let (counts, _) = output::count::objects(
        db.clone(),
        Box::new(ids.into_iter().map(Ok)),
        &gix::progress::Discard,
        cancel,
        output::count::objects::Options {
            thread_limit: Some(1),
            chunk_size: 64,
            input_object_expansion:
                output::count::objects::ObjectExpansion::TreeAdditionsComparedToAncestor,
        },
    )?;
    let total = counts.len();
    let entries = output::entry::iter_from_counts(
        counts,
        db,
        Box::new(gix::progress::Discard),
        output::entry::iter_from_counts::Options {
            thread_limit: Some(1),
            allow_thin_pack: thin,
            ..Default::default()
        },
    )?;
    let in_order = gix::parallel::InOrderIter::from(entries);
    let mut writer = CancellableWriter { out, cancel };
    let mut pack = output::bytes::FromEntriesIter::new(
        in_order,
        &mut writer,
        u32::try_from(total).map_err(|_| "more objects than a pack can hold")?,
        gix_pack::data::Version::V2,
        repo.object_hash(),
    );
    let mut sent = Sent {
        objects: total,
        bytes: 0,
    };
    for written in &mut pack {
        sent.bytes += written?;
        on_written(sent);
    }
    Ok(sent)
}

/// Fails every write once `cancel` is set.
struct CancellableWriter<'a> {
    out: &'a mut dyn Write,
    cancel: &'a AtomicBool,
}

impl Write for CancellableWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "push cancelled"));
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
