//! Turning gix's progress tree into [`CloneProgress`] snapshots.
//!
//! gix reports through prodash-style progress objects and often bumps their
//! shared counters directly, bypassing any method we could hook, so the
//! tracker below only records counters and a poller reads them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use gix::progress::{Count, Id, MessageLevel, NestedProgress, Progress, Step, StepShared, Unit};

/// What a clone is doing, as far as [`CloneProgress`] can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClonePhase {
    /// Connecting and listing the remote's references.
    Connecting,
    /// Receiving the pack of objects.
    Receiving,
    /// Resolving deltas in the received pack.
    Resolving,
    /// Writing the files of the work tree.
    CheckingOut,
    /// The clone is in place at its destination; reported once, last.
    Done,
}

impl std::fmt::Display for ClonePhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClonePhase::Connecting => "connecting",
            ClonePhase::Receiving => "receiving objects",
            ClonePhase::Resolving => "resolving deltas",
            ClonePhase::CheckingOut => "checking out files",
            ClonePhase::Done => "done",
        })
    }
}

/// A snapshot of a clone's progress, handed to the callback of
/// [`CloneOptions::on_progress`](crate::CloneOptions::on_progress) on a
/// helper thread; plain data, `Send` and `Sync`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloneProgress {
    /// What the clone is doing.
    pub phase: ClonePhase,
    /// Objects received (and indexed) so far.
    pub objects_received: u64,
    /// Objects in the pack, once its header has arrived.
    pub objects_total: Option<u64>,
    /// Bytes of pack data received so far.
    pub bytes_received: u64,
    /// Deltas resolved so far.
    pub deltas_resolved: u64,
    /// Deltas to resolve, once known.
    pub deltas_total: Option<u64>,
    /// Files written to the work tree so far.
    pub files_checked_out: u64,
    /// Files to write, once known.
    pub files_total: Option<u64>,
}

// The four-byte progress ids of gix-pack and gix's clone, stable within gix 0.90.
const READ_PACK_BYTES: Id = *b"BWRB";
const INDEX_OBJECTS: Id = *b"IWIO";
const RESOLVE_OBJECTS: Id = *b"IWRO";
const CHECKOUT_FILES: Id = *b"CLCF";

/// No maximum set.
const UNBOUNDED: usize = usize::MAX;

struct Task {
    id: Id,
    step: StepShared,
    max: AtomicUsize,
}

/// A progress node handed to gix; every child it creates is registered in
/// the shared list, which outlives the children so final counts survive.
#[derive(Clone)]
pub(crate) struct Tracker {
    tasks: Arc<Mutex<Vec<Arc<Task>>>>,
    task: Arc<Task>,
}

impl Tracker {
    pub(crate) fn new() -> Tracker {
        Tracker {
            tasks: Arc::default(),
            task: Arc::new(Task {
                id: gix::progress::UNKNOWN,
                step: StepShared::default(),
                max: AtomicUsize::new(UNBOUNDED),
            }),
        }
    }

    /// The progress so far, summed over all tasks with the same id (a
    /// shallow clone connects twice).
    pub(crate) fn snapshot(&self) -> CloneProgress {
        let tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        let sum = |id: Id| -> Option<(u64, Option<u64>)> {
            let mut found = None;
            for task in tasks.iter().filter(|task| task.id == id) {
                let (step, total) = found.get_or_insert((0u64, None));
                *step += task.step.load(Ordering::Relaxed) as u64;
                let max = task.max.load(Ordering::Relaxed);
                if max != UNBOUNDED {
                    *total = Some(total.unwrap_or(0) + max as u64);
                }
            }
            found
        };
        let bytes = sum(READ_PACK_BYTES);
        let objects = sum(INDEX_OBJECTS);
        let deltas = sum(RESOLVE_OBJECTS);
        let files = sum(CHECKOUT_FILES);
        let phase = if files.is_some() {
            ClonePhase::CheckingOut
        } else if deltas.is_some() {
            ClonePhase::Resolving
        } else if bytes.is_some() || objects.is_some() {
            ClonePhase::Receiving
        } else {
            ClonePhase::Connecting
        };
        let (objects_received, objects_total) = objects.unwrap_or_default();
        let (deltas_resolved, deltas_total) = deltas.unwrap_or_default();
        let (files_checked_out, files_total) = files.unwrap_or_default();
        CloneProgress {
            phase,
            objects_received,
            objects_total,
            bytes_received: bytes.map_or(0, |(step, _)| step),
            deltas_resolved,
            deltas_total,
            files_checked_out,
            files_total,
        }
    }
}

impl Count for Tracker {
    fn set(&self, step: Step) {
        self.task.step.store(step, Ordering::Relaxed);
    }

    fn step(&self) -> Step {
        self.task.step.load(Ordering::Relaxed)
    }

    fn inc_by(&self, step: Step) {
        self.task.step.fetch_add(step, Ordering::Relaxed);
    }

    fn counter(&self) -> StepShared {
        self.task.step.clone()
    }
}

impl Progress for Tracker {
    fn init(&mut self, max: Option<Step>, _unit: Option<Unit>) {
        self.task
            .max
            .store(max.unwrap_or(UNBOUNDED), Ordering::Relaxed);
        self.task.step.store(0, Ordering::Relaxed);
    }

    fn max(&self) -> Option<Step> {
        Some(self.task.max.load(Ordering::Relaxed)).filter(|max| *max != UNBOUNDED)
    }

    fn set_max(&mut self, max: Option<Step>) -> Option<Step> {
        let previous = self
            .task
            .max
            .swap(max.unwrap_or(UNBOUNDED), Ordering::Relaxed);
        Some(previous).filter(|max| *max != UNBOUNDED)
    }

    fn set_name(&mut self, _name: String) {}

    fn name(&self) -> Option<String> {
        None
    }

    fn id(&self) -> Id {
        self.task.id
    }

    fn message(&self, _level: MessageLevel, _message: String) {}
}

impl NestedProgress for Tracker {
    type SubProgress = Tracker;

    fn add_child(&mut self, name: impl Into<String>) -> Tracker {
        self.add_child_with_id(name, gix::progress::UNKNOWN)
    }

    fn add_child_with_id(&mut self, _name: impl Into<String>, id: Id) -> Tracker {
        let task = Arc::new(Task {
            id,
            step: StepShared::default(),
            max: AtomicUsize::new(UNBOUNDED),
        });
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task.clone());
        Tracker {
            tasks: self.tasks.clone(),
            task,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sums_counters_by_id_and_picks_the_latest_phase() {
        let mut root = Tracker::new();
        assert_eq!(root.snapshot().phase, ClonePhase::Connecting);

        let bytes = root.add_child_with_id("read pack", READ_PACK_BYTES);
        bytes.inc_by(100);
        let mut objects = root.add_child_with_id("indexing", INDEX_OBJECTS);
        objects.init(Some(7), None);
        objects.counter().fetch_add(3, Ordering::Relaxed);
        let progress = root.snapshot();
        assert_eq!(progress.phase, ClonePhase::Receiving);
        assert_eq!(progress.bytes_received, 100);
        assert_eq!(
            (progress.objects_received, progress.objects_total),
            (3, Some(7))
        );

        drop((bytes, objects));
        let mut files = root.add_child_with_id("checkout", CHECKOUT_FILES);
        files.init(Some(2), None);
        files.inc();
        let progress = root.snapshot();
        assert_eq!(progress.phase, ClonePhase::CheckingOut);
        assert_eq!(progress.bytes_received, 100, "dropped tasks keep counting");
        assert_eq!(
            (progress.files_checked_out, progress.files_total),
            (1, Some(2))
        );
    }
}
