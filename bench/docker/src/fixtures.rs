//! What the workloads need, made once per benchmark: a graph, two build
//! contexts in a temporary directory (removed on drop), and the containers
//! that keep running during (c).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use dock_lite::{Docker, RunOptions, RunningContainer};
use tempfile::TempDir;

use crate::peers::Tool;
use crate::workload::{Op, Workload, LABEL_KEY, LABEL_VALUE};
use crate::Result;

const GRAPH: &str = "digraph bench {\n  rankdir=LR;\n  request -> queue -> worker -> render;\n  \
                     worker -> cache; cache -> render;\n  render -> response;\n}\n";
/// Image repositories; each tool builds its own tag (see `Op::for_tool`).
const REBUILD_REPO: &str = "bench-docker/rebuild";
const CONTEXT_REPO: &str = "bench-docker/context";
const MIB: usize = 1024 * 1024;

/// Sizes of the (e) context, in MiB: sent, and listed in `.dockerignore`.
#[derive(Debug, Clone, Copy)]
pub struct ContextSize {
    pub kept_mib: usize,
    pub ignored_mib: usize,
}

pub struct Fixtures {
    dir: TempDir,
    base_image: String,
    graphviz_image: String,
    /// How many containers sleep during (c).
    pub running: usize,
}

impl Fixtures {
    /// Writes the graph and both build contexts.
    pub fn create(
        base_image: &str,
        graphviz_image: &str,
        running: usize,
        size: ContextSize,
    ) -> Result<Fixtures> {
        let dir = tempfile::Builder::new().prefix("bench-docker-").tempdir()?;
        fs::write(dir.path().join("graph.dot"), GRAPH)?;
        write_rebuild_context(&dir.path().join("rebuild"), base_image)?;
        write_big_context(&dir.path().join("context"), base_image, size)?;
        Ok(Fixtures {
            dir,
            base_image: base_image.to_owned(),
            graphviz_image: graphviz_image.to_owned(),
            running,
        })
    }

    /// The operation every tool performs for `workload`.
    pub fn op(&self, workload: Workload) -> Op {
        let mut op = Op {
            workload,
            image: None,
            graph: None,
            context: None,
            tag: None,
            min_running: 0,
        };
        match workload {
            Workload::Run => op.image = Some(self.base_image.clone()),
            Workload::Render => {
                op.image = Some(self.graphviz_image.clone());
                op.graph = Some(self.dir.path().join("graph.dot"));
            }
            Workload::List => op.min_running = self.running,
            Workload::Rebuild => {
                op.context = Some(self.dir.path().join("rebuild"));
                op.tag = Some(REBUILD_REPO.to_owned());
            }
            Workload::Context => {
                op.context = Some(self.dir.path().join("context"));
                op.tag = Some(CONTEXT_REPO.to_owned());
            }
        }
        op
    }

    /// Starts the containers that run during (c); they are removed when the
    /// returned handles are dropped.
    pub fn start_sleepers(&self, docker: &Docker) -> Result<Vec<RunningContainer>> {
        let options = RunOptions::new(&self.base_image)
            .command(["sleep", "300"])
            .network("none")
            .label(LABEL_KEY, LABEL_VALUE);
        (0..self.running)
            .map(|_| docker.start_detached(&options).map_err(Into::into))
            .collect()
    }

    /// Removes the tags the builds made (what a failed run leaves behind,
    /// bench/docker/run removes by label).
    pub fn remove_images(&self, docker: &Docker) {
        let tags = [REBUILD_REPO, CONTEXT_REPO]
            .into_iter()
            .flat_map(|repo| Tool::ALL.map(|tool| format!("{repo}:{}", tool.name())));
        for tag in tags {
            let tag = tag.as_str();
            match docker.remove_image(tag, true) {
                // Not built: its workload was left out, or failed first.
                Ok(()) | Err(dock_lite::Error::ImageNotFound { .. }) => {}
                Err(err) => eprintln!("bench-docker: could not remove {tag}: {err}"),
            }
        }
    }
}

/// (d): a COPY and a RUN on the base image; the LABEL lets the run script
/// find the image.
fn write_rebuild_context(dir: &Path, base_image: &str) -> Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("greeting.txt"), "hello from bench-docker\n")?;
    fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {base_image}\nLABEL {LABEL_KEY}={LABEL_VALUE}\n\
             COPY greeting.txt /greeting.txt\nRUN cat /greeting.txt > /copied.txt\n"
        ),
    )?;
    Ok(())
}

/// (e): `kept/` is sent, `ignored/` is excluded by `.dockerignore`. Files of
/// 1 MiB of pseudo-random bytes, so that neither size nor content is special.
fn write_big_context(dir: &Path, base_image: &str, size: ContextSize) -> Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(
        dir.join("Dockerfile"),
        format!("FROM {base_image}\nLABEL {LABEL_KEY}={LABEL_VALUE}\nCOPY kept /kept\n"),
    )?;
    fs::write(dir.join(".dockerignore"), "ignored\n")?;
    let mut bytes = RandomBytes(0x9E37_79B9_7F4A_7C15);
    write_random_files(&dir.join("kept"), size.kept_mib, &mut bytes)?;
    write_random_files(&dir.join("ignored"), size.ignored_mib, &mut bytes)?;
    Ok(())
}

fn write_random_files(dir: &Path, count: usize, bytes: &mut RandomBytes) -> Result<()> {
    fs::create_dir_all(dir)?;
    let mut buffer = vec![0u8; MIB];
    for index in 0..count {
        bytes.fill(&mut buffer);
        let path: PathBuf = dir.join(format!("blob-{index:04}.bin"));
        fs::File::create(path)?.write_all(&buffer)?;
    }
    Ok(())
}

/// xorshift64: fast, and random enough that nothing compresses.
struct RandomBytes(u64);

impl RandomBytes {
    fn fill(&mut self, buffer: &mut [u8]) {
        for chunk in buffer.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}
