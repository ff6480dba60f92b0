//! bench-docker: whole Docker operations with dock-lite against the docker
//! CLI and Python docker-py: run `true`, render a graph through stdin, list
//! containers while 20 run, rebuild with a warm cache, build with a mostly
//! ignored context. See bench/README.md.

mod dock_lite_ops;
mod fixtures;
mod peers;
mod report;
mod workload;

use std::collections::BTreeMap;
use std::path::PathBuf;

use bench_support::{fixed, runs, selected, PythonPeer};
use clap::Parser;
use dock_lite::Docker;

use fixtures::{ContextSize, Fixtures};
use peers::{Peers, Sample, Tool};
use report::Samples;
use workload::{Op, Workload};

pub type Result<T> = std::result::Result<T, bench_support::BoxError>;

/// Docker operations: dock-lite against the docker CLI and docker-py.
#[derive(Debug, Parser)]
struct Args {
    /// Image with `true` and `sleep` (bench/docker/run passes $BASE_IMAGE).
    #[arg(long, default_value = "alpine:3.20")]
    base_image: String,
    /// Image whose entrypoint is `dot` ($GRAPHVIZ_IMAGE).
    #[arg(long, default_value = "ondemand-platform/graphviz:latest")]
    graphviz_image: String,
    /// Timed runs per tool and workload; the table shows medians.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Untimed rounds of every tool before a workload's timed runs (file
    /// caches, the first start of each binary).
    #[arg(long, default_value_t = 1)]
    warmup: u32,
    /// Only these workloads (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Workload>,
    /// Containers kept running during (c).
    #[arg(long, default_value_t = 20)]
    running: usize,
    /// MiB of the (e) context that are sent.
    #[arg(long, default_value_t = 10)]
    kept_mib: usize,
    /// MiB of the (e) context listed in .dockerignore.
    #[arg(long, default_value_t = 190)]
    ignored_mib: usize,
    /// The docker CLI.
    #[arg(long, default_value = "docker")]
    docker_cli: PathBuf,
    /// The Python with docker-py installed.
    #[arg(long, default_value = bench_support::DEFAULT_PYTHON)]
    python: PathBuf,

    /// Performs one operation with dock-lite, prints a JSON line, and exits:
    /// what the `dl proc` column times, spawned by the benchmark itself.
    #[arg(long, value_enum, value_name = "WORKLOAD")]
    once: Option<Workload>,
    #[arg(long, hide = true)]
    image: Option<String>,
    #[arg(long, hide = true)]
    graph: Option<PathBuf>,
    #[arg(long, hide = true)]
    context: Option<PathBuf>,
    #[arg(long, hide = true)]
    tag: Option<String>,
    #[arg(long, hide = true, default_value_t = 0)]
    min_running: usize,
}

impl Args {
    /// The operation of `--once`, from the hidden flags the parent passed.
    fn once_op(&self, workload: Workload) -> Op {
        Op {
            workload,
            image: self.image.clone(),
            graph: self.graph.clone(),
            context: self.context.clone(),
            tag: self.tag.clone(),
            min_running: self.min_running,
        }
    }

    fn workloads(&self) -> Vec<Workload> {
        selected(&Workload::ALL, &self.only)
    }
}

fn main() {
    let args = Args::parse();
    let result = match args.once {
        Some(workload) => dock_lite_ops::once(&args.once_op(workload)),
        None => run(&args),
    };
    bench_support::exit_on_error("bench-docker", result);
}

fn run(args: &Args) -> Result<()> {
    let docker = Docker::connect()?;
    docker.ping()?;
    let workloads = args.workloads();
    let size = ContextSize {
        kept_mib: args.kept_mib,
        ignored_mib: args.ignored_mib,
    };
    eprintln!("bench-docker: writing the build contexts");
    let fixtures = Fixtures::create(&args.base_image, &args.graphviz_image, args.running, size)?;
    let peers = Peers {
        docker_cli: args.docker_cli.clone(),
        docker_py: PythonPeer::new(
            &args.python,
            concat!(env!("CARGO_MANIFEST_DIR"), "/docker_py_bench.py"),
        ),
        bench_exe: std::env::current_exe()?,
    };
    print_header(args, &docker)?;
    let measured = measure_all(args, &docker, &fixtures, &peers, &workloads);
    fixtures.remove_images(&docker);
    let (samples, notes) = measured?;
    report::print_results(&samples, &workloads, &notes);
    Ok(())
}

fn print_header(args: &Args, docker: &Docker) -> Result<()> {
    let version = docker.version()?;
    println!(
        "bench-docker: Docker Engine {} (API {}), median of {} runs after {} warm-up round(s)",
        version.version, version.api_version, args.runs, args.warmup
    );
    println!(
        "images: base {}, graphviz {}",
        args.base_image, args.graphviz_image
    );
    println!(
        "dock-lite: in this process, connect to result; dl proc: `bench-docker --once`, spawn to exit; \
         CLI and py proc (a fresh python per operation): spawn to exit; \
         py inside: docker.from_env() to result; py start = py proc - py inside"
    );
    println!();
    Ok(())
}

/// One workload at a time (so that (c)'s running containers exist only
/// during (c)), its runs interleaving the tools, the order turning each run
/// so that none always goes first (right after another tool's container was
/// removed, say).
fn measure_all(
    args: &Args,
    docker: &Docker,
    fixtures: &Fixtures,
    peers: &Peers,
    workloads: &[Workload],
) -> Result<(Samples, Vec<String>)> {
    let mut samples = Samples::default();
    let mut notes = Vec::new();
    for &workload in workloads {
        let op = fixtures.op(workload);
        let phase = Phase::prepare(docker, fixtures, peers, &op)?;
        notes.extend(phase.shared_cache_note(workload));
        for round in 1..=args.warmup {
            for tool in Tool::ALL {
                phase.measure(peers, tool, &op).map_err(|err| {
                    format!(
                        "warm-up {round}, {} on {}: {err}",
                        tool.name(),
                        workload.id()
                    )
                })?;
            }
        }
        for run in runs(args.runs) {
            for tool in run.rotated(&Tool::ALL) {
                let sample = phase
                    .measure(peers, tool, &op)
                    .map_err(|err| format!("{} on {}: {err}", tool.name(), workload.id()))?;
                eprintln!(
                    "{run} {:<30}{:<16}{:>8} s",
                    workload.label(),
                    tool.name(),
                    fixed(sample.seconds, 3)
                );
                samples.record(tool, workload, &sample);
            }
        }
    }
    Ok((samples, notes))
}

/// What a workload needs while it is measured.
struct Phase {
    /// The image id each tool's first build produced: its later builds must
    /// reproduce it, or they missed the cache (d, e).
    warm_ids: BTreeMap<Tool, String>,
    /// Removed when the phase ends (c).
    _running: Vec<dock_lite::RunningContainer>,
}

impl Phase {
    fn prepare(docker: &Docker, fixtures: &Fixtures, peers: &Peers, op: &Op) -> Result<Phase> {
        let mut phase = Phase {
            warm_ids: BTreeMap::new(),
            _running: Vec::new(),
        };
        match op.workload {
            Workload::List => {
                eprintln!("bench-docker: starting {} containers", fixtures.running);
                phase._running = fixtures.start_sleepers(docker)?;
            }
            Workload::Rebuild | Workload::Context => phase.warm_caches(peers, op)?,
            Workload::Run | Workload::Render => {}
        }
        Ok(phase)
    }

    /// Builds once with every tool, untimed, so that each timed build finds
    /// every step cached.
    fn warm_caches(&mut self, peers: &Peers, op: &Op) -> Result<()> {
        eprintln!("bench-docker: warm-up builds for {}", op.workload.label());
        for tool in Tool::ALL {
            let sample = peers.measure(tool, &op.for_tool(tool.name()))?;
            sample.outcome.check(op, None)?;
            let id = sample.outcome.image_id.unwrap_or_default();
            self.warm_ids.insert(tool, id);
        }
        Ok(())
    }

    /// Whether dock-lite and the CLI built the same image: if not, their
    /// build contexts differ (tar headers, say) and they share no cache.
    fn shared_cache_note(&self, workload: Workload) -> Option<String> {
        let dock_lite = self.warm_ids.get(&Tool::DockLite)?;
        let cli = self.warm_ids.get(&Tool::Cli)?;
        let py = self.warm_ids.get(&Tool::DockerPy)?;
        let same = |a: &str, b: &str| workload::same_image(a, b);
        Some(format!(
            "{}: dock-lite built {}, the CLI {}, docker-py {} ({})",
            workload.label(),
            short(dock_lite),
            short(cli),
            short(py),
            match (same(dock_lite, cli), same(cli, py)) {
                (true, true) => "one image: the tools share the build cache",
                (false, true) => "dock-lite's context does not hit the CLI's and docker-py's cache",
                _ => "the tools do not share the build cache",
            }
        ))
    }

    /// One timed operation, checked.
    fn measure(&self, peers: &Peers, tool: Tool, op: &Op) -> Result<Sample> {
        let sample = peers.measure(tool, &op.for_tool(tool.name()))?;
        sample
            .outcome
            .check(op, self.warm_ids.get(&tool).map(String::as_str))?;
        Ok(sample)
    }
}

/// An image id as `docker images` shows it.
fn short(id: &str) -> &str {
    let bare = id.trim_start_matches("sha256:");
    bare.get(..12).unwrap_or(bare)
}
