//! bench-git: repo-lite against the git CLI and Python GitPython — clones
//! over `file://` and `git://`, and loops of one-file commits — each on a
//! tmpfs and on disk. See bench/README.md.

mod check;
mod daemon;
mod fixture;
mod git_cli;
mod gitpython;
mod peers;
mod repo_lite_peer;
mod report;
mod site;
mod workload;

use std::path::PathBuf;
use std::time::Instant;

use bench_support::{runs, selected, PythonPeer};
use clap::Parser;

use gitpython::GitPython;
use peers::Tool;
use report::Samples;
use site::Site;
use workload::{Fs, Sizes, Workload};

pub type Result<T> = std::result::Result<T, bench_support::BoxError>;

/// Identity of every commit the git CLI and GitPython make (repo-lite gets
/// the same through `with_signature`).
const AUTHOR: (&str, &str) = ("Bench", "bench@example.com");

/// Git: repo-lite against the git CLI and Python GitPython.
#[derive(Debug, Parser)]
struct Args {
    /// Runs per tool, workload and file system; the table shows medians.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Files in the cloned fixture.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    files: u32,
    /// Commits in the cloned fixture.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    commits: u32,
    /// Commits per sample of (b) and (c).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    ops: u32,
    /// A directory on a tmpfs.
    #[arg(long, default_value = "/dev/shm")]
    tmpfs_dir: PathBuf,
    /// A directory on disk.
    #[arg(long, default_value = "/tmp")]
    disk_dir: PathBuf,
    /// Measure only on this file system (repeatable); both by default.
    #[arg(long = "fs", value_enum)]
    only: Vec<Fs>,
    /// Measure only this workload (repeatable); all by default.
    #[arg(long = "workload", value_enum)]
    workloads: Vec<Workload>,
    /// The Python with GitPython installed.
    #[arg(long, default_value = bench_support::DEFAULT_PYTHON)]
    python: PathBuf,
}

impl Args {
    fn sizes(&self) -> Sizes {
        Sizes {
            files: self.files as usize,
            commits: self.commits as usize,
            ops: self.ops as usize,
        }
    }

    fn file_systems(&self) -> Vec<Fs> {
        selected(&Fs::ALL, &self.only)
    }

    fn workloads(&self) -> Vec<Workload> {
        selected(&Workload::ALL, &self.workloads)
    }
}

fn main() {
    bench_support::exit_on_error("bench-git", run(&Args::parse()));
}

fn run(args: &Args) -> Result<()> {
    neutral_git_environment();
    let sizes = args.sizes();
    let gitpython = GitPython(PythonPeer::new(
        &args.python,
        concat!(env!("CARGO_MANIFEST_DIR"), "/gitpython_bench.py"),
    ));
    print_versions(&gitpython)?;
    let mut sites = create_sites(args, &sizes)?;
    print_header(args, &sites);
    let workloads = args.workloads();
    let samples = measure_all(&mut sites, &workloads, &sizes, &gitpython, args.runs)?;
    let fss = args.file_systems();
    println!();
    report::print_table(&samples, &fss, &workloads);
    println!();
    report::print_spread(&samples, &fss, &workloads);
    println!();
    let met = report::print_goals(&samples, &fss, &workloads);
    report::print_summary(&met, args.runs);
    Ok(())
}

/// The user's and the system's git config could change what any tool does
/// (hooks, fsync, gc, signing), so every tool runs without them, with one
/// fixed identity. Set before any thread starts; child processes inherit it.
fn neutral_git_environment() {
    for (key, value) in [
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_AUTHOR_NAME", AUTHOR.0),
        ("GIT_AUTHOR_EMAIL", AUTHOR.1),
        ("GIT_COMMITTER_NAME", AUTHOR.0),
        ("GIT_COMMITTER_EMAIL", AUTHOR.1),
        ("GIT_TERMINAL_PROMPT", "0"),
    ] {
        std::env::set_var(key, value);
    }
}

fn print_versions(gitpython: &GitPython) -> Result<()> {
    println!(
        "bench-git: {} (the git on PATH); GitPython {} on {}; repo-lite {} on gix",
        git_cli::version()?,
        gitpython.version()?,
        gitpython.0.python.display(),
        env!("CARGO_PKG_VERSION"),
    );
    Ok(())
}

/// Generates the fixture on the first file system with the git CLI, copies
/// it to the other, and starts a `git daemon` on each.
fn create_sites(args: &Args, sizes: &Sizes) -> Result<Vec<Site>> {
    let mut sites: Vec<Site> = Vec::new();
    for fs in args.file_systems() {
        let parent = match fs {
            Fs::Tmpfs => &args.tmpfs_dir,
            Fs::Disk => &args.disk_dir,
        };
        let start = Instant::now();
        let site = match sites.first() {
            None => Site::create(fs, parent, |work, source| {
                fixture::generate(work, source, sizes)
            })?,
            Some(first) => {
                let from = first.source();
                Site::create(fs, parent, |_, source| fixture::publish(&from, source))?
            }
        };
        eprintln!(
            "fixture on {fs} ready in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        sites.push(site);
    }
    Ok(sites)
}

fn print_header(args: &Args, sites: &[Site]) {
    println!(
        "fixture: {} files, {} commits, served bare and packed; (b)/(c): {} commits per sample; \
         median of {} runs",
        args.files, args.commits, args.ops, args.runs
    );
    for site in sites {
        println!(
            "{}: {} (stat -f: {})",
            site.fs,
            site.source().display(),
            site.fs_type
        );
    }
    println!(
        "times: repo-lite in this process; git as spawned processes (one per command), timed \
         here; GitPython inside its python process (start, import and setup untimed)"
    );
    println!(
        "peers measured elsewhere on tmpfs: clone file:// git 0.098 s, GitPython 0.235 s, \
         raw gix 0.053 s; git:// git 0.129 s; (b) git 1.98 s, GitPython 4.11 s"
    );
}

/// Every run goes through every workload, file system and tool, so that a
/// noisy moment does not fall on one tool only; the tool order rotates.
fn measure_all(
    sites: &mut [Site],
    workloads: &[Workload],
    sizes: &Sizes,
    gitpython: &GitPython,
    count: u32,
) -> Result<Samples> {
    let mut samples = Samples::default();
    for run in runs(count) {
        for &workload in workloads {
            for site in sites.iter_mut() {
                for tool in run.rotated(&Tool::ALL) {
                    let seconds =
                        measure_one(site, tool, workload, sizes, gitpython).map_err(|err| {
                            format!("{} {} on {}: {err}", tool.name(), workload.label(), site.fs)
                        })?;
                    eprintln!(
                        "{run} {:<22}{:<7}{:<10}{:>8.3} s",
                        workload.label(),
                        site.fs.to_string(),
                        tool.name(),
                        seconds.as_secs_f64()
                    );
                    samples.record((workload, site.fs, tool), seconds.as_secs_f64());
                }
            }
        }
    }
    Ok(samples)
}

/// One timed sample in a new destination, checked and removed afterwards.
fn measure_one(
    site: &mut Site,
    tool: Tool,
    workload: Workload,
    sizes: &Sizes,
    gitpython: &GitPython,
) -> Result<std::time::Duration> {
    let dest = site.next_destination();
    if let Some((commits, over_git)) = workload.push() {
        // A new empty bare repository, pushed to from the shared source.
        let dest_str = dest.to_str().ok_or("a temporary path is not UTF-8")?;
        git_cli::git(
            site.source().parent().ok_or("no site root")?,
            &["init", "-q", "--bare", "-b", "main", dest_str],
        )?;
        let source = site.push_source(commits);
        let url = site.push_url(&dest, over_git)?;
        let time = peers::measure(tool, workload, &source, &url, sizes, gitpython)?;
        check::verify_push(&source, &dest)?;
        site.remove(&dest)?;
        return Ok(time);
    }
    let url = site.url(workload).to_owned();
    let time = peers::measure(tool, workload, &dest, &url, sizes, gitpython)?;
    let (commits, files) = peers::expected(workload, sizes);
    check::verify(&dest, commits, files)?;
    site.remove(&dest)?;
    Ok(time)
}
