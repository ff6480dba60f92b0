//! (d) What one job's commit costs as jobs accumulate: the platform's
//! layout (`jobs/xx/yy/<id>.*` in a bare repository) at 1,000, 10,000 and
//! 100,000 jobs, and, for comparison, the same paths in a project with a
//! work tree and the flat `jobs/<id>.*` layout the platform used first.

use std::path::Path;
use std::time::Instant;

use ondemand_platform::store;
use repo_lite::{InitOptions, Outcome, Project, Signature};

use crate::Result;

/// Jobs per filling commit (untimed).
const FILL_BATCH: u32 = 1000;

/// Where the job files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `jobs/xx/yy/<id>.dot` in a bare repository, as the platform stores
    /// them.
    ShardedBare,
    /// The same paths in a project with a work tree and index.
    ShardedWorktree,
    /// `jobs/<id>.dot` with a work tree, as the platform stored them first.
    Flat,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::ShardedBare => "sharded-bare",
            Layout::ShardedWorktree => "sharded-worktree",
            Layout::Flat => "flat",
        }
    }

    fn paths(self, id: &str) -> (String, String) {
        match self {
            Layout::ShardedBare | Layout::ShardedWorktree => {
                (store::source_path(id), store::output_path(id, "svg"))
            }
            Layout::Flat => (format!("jobs/{id}.dot"), format!("jobs/{id}.svg")),
        }
    }
}

/// A job's two files, as small as the bundled graphs'.
fn job_files(layout: Layout, number: u32) -> [(String, Vec<u8>); 2] {
    let id = format!(
        "{:032x}",
        u128::from(number).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    );
    let (source, output) = layout.paths(&id);
    [
        (
            source,
            format!("digraph j{number} {{ a -> b{number} }}").into_bytes(),
        ),
        (
            output,
            format!("<svg><!-- job {number} --><text>b{number}</text></svg>\n").into_bytes(),
        ),
    ]
}

/// Milliseconds per one-job commit, `sample` commits after the project
/// holds each of `checkpoints` jobs (filled untimed, a thousand per commit).
pub fn measure(
    dir: &Path,
    layout: Layout,
    checkpoints: &[u32],
    sample: u32,
) -> Result<Vec<(u32, f64)>> {
    let root = dir.join(format!("storage-{}", layout.name()));
    let options = InitOptions::default().bare(layout == Layout::ShardedBare);
    let project = Project::init(&root, &options)?
        .with_signature(Signature::new("bench", "bench@example.com"));
    let mut jobs = 0u32;
    let mut figures = Vec::new();
    for &checkpoint in checkpoints {
        while jobs < checkpoint {
            let batch = FILL_BATCH.min(checkpoint - jobs);
            let files: Vec<_> = (jobs..jobs + batch)
                .flat_map(|number| job_files(layout, number))
                .collect();
            project.write_files(&files, "fill")?;
            jobs += batch;
        }
        let started = Instant::now();
        for _ in 0..sample {
            let files = job_files(layout, jobs);
            match project.write_files(&files, "Render job")? {
                Outcome::Committed { .. } => {}
                other => return Err(format!("job {jobs} was not committed: {other:?}").into()),
            }
            jobs += 1;
        }
        let per_commit = started.elapsed().as_secs_f64() * 1000.0 / f64::from(sample);
        eprintln!(
            "storage ({}): {per_commit:.2} ms per commit at {checkpoint} jobs",
            layout.name()
        );
        figures.push((checkpoint, per_commit));
    }
    drop(project);
    std::fs::remove_dir_all(&root)?;
    Ok(figures)
}
