//! The dock-lite side: one operation from `Docker::connect()` to its result,
//! in this process (timed in-process) or in a `--once` child (timed whole).

use std::time::Instant;

use dock_lite::{BuildOptions, Docker, ListOptions, RunOptions};
use serde_json::json;

use crate::workload::{Op, Outcome, Workload, LABEL_KEY, LABEL_VALUE};
use crate::Result;

/// Connects and performs `op`; returns the seconds from connect to result.
pub fn timed(op: &Op) -> Result<(f64, Outcome)> {
    let started = Instant::now();
    let outcome = perform(op)?;
    Ok((started.elapsed().as_secs_f64(), outcome))
}

/// `bench-docker --once`: performs `op` and prints one JSON line, as
/// docker_py_bench.py does, for the parent to check.
pub fn once(op: &Op) -> Result<()> {
    let (op_s, outcome) = timed(op)?;
    println!("{}", json!({ "op_s": op_s, "result": outcome.to_json() }));
    Ok(())
}

fn perform(op: &Op) -> Result<Outcome> {
    // A fresh connection each time: a user's program connects once per run.
    let docker = Docker::connect()?;
    match op.workload {
        Workload::Run => run_true(&docker, op),
        Workload::Render => render(&docker, op),
        Workload::List => list(&docker),
        Workload::Rebuild | Workload::Context => build(&docker, op),
    }
}

fn run_true(docker: &Docker, op: &Op) -> Result<Outcome> {
    let options = RunOptions::new(op.image()?)
        .command(["true"])
        .label(LABEL_KEY, LABEL_VALUE);
    let output = docker.run(&options)?;
    Ok(Outcome {
        exit_code: Some(output.exit_code),
        ..Outcome::default()
    })
}

fn render(docker: &Docker, op: &Op) -> Result<Outcome> {
    let graph = std::fs::read(op.graph()?)?;
    let options = RunOptions::new(op.image()?)
        .command(["-Tsvg"])
        .stdin(graph)
        .network("none")
        .label(LABEL_KEY, LABEL_VALUE);
    let output = docker.run(&options)?;
    Ok(Outcome {
        exit_code: Some(output.exit_code),
        svg: Some(contains(&output.stdout, b"<svg")),
        ..Outcome::default()
    })
}

fn list(docker: &Docker) -> Result<Outcome> {
    let containers = docker.list_containers(&ListOptions::default())?;
    Ok(Outcome {
        count: Some(containers.len()),
        ..Outcome::default()
    })
}

fn build(docker: &Docker, op: &Op) -> Result<Outcome> {
    let options = BuildOptions::new(op.context()?).tag(op.tag()?);
    // The output lines are dropped, as `docker build -q` does.
    let output = docker.build(&options, |_line| {})?;
    Ok(Outcome {
        image_id: output.image_id,
        ..Outcome::default()
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
