//! The tools being compared, and how each is timed: dock-lite in this
//! process, and three whole processes (a `bench-docker --once` child, the
//! docker CLI, a fresh Python running docker_py_bench.py), from spawn to exit.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Output};

use bench_support::{process, run_reporting, PythonPeer, Report};

use crate::dock_lite_ops;
use crate::workload::{Op, Outcome, Workload, LABEL_KEY, LABEL_VALUE};
use crate::Result;

/// A column of the results table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    /// dock-lite in this process, from connect to result.
    DockLite,
    /// `bench-docker --once`, spawn to exit.
    DockLiteProcess,
    /// The docker CLI, spawn to exit.
    Cli,
    /// A fresh Python with docker-py, spawn to exit.
    DockerPy,
}

impl Tool {
    pub const ALL: [Tool; 4] = [
        Tool::DockLite,
        Tool::DockLiteProcess,
        Tool::Cli,
        Tool::DockerPy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::DockLite => "dock-lite",
            Tool::DockLiteProcess => "dock-lite-proc",
            Tool::Cli => "docker-cli",
            Tool::DockerPy => "docker-py",
        }
    }
}

/// One timed operation.
#[derive(Debug)]
pub struct Sample {
    /// What the column shows: in-process seconds for [`Tool::DockLite`],
    /// spawn-to-exit seconds for the others.
    pub seconds: f64,
    /// For the child processes that report it, the seconds of the operation
    /// inside them (docker-py: from `docker.from_env()` to the result).
    pub in_process: Option<f64>,
    pub outcome: Outcome,
}

/// Where the peers are.
pub struct Peers {
    pub docker_cli: PathBuf,
    pub docker_py: PythonPeer,
    pub bench_exe: PathBuf,
}

impl Peers {
    pub fn measure(&self, tool: Tool, op: &Op) -> Result<Sample> {
        match tool {
            Tool::DockLite => {
                let (seconds, outcome) = dock_lite_ops::timed(op)?;
                Ok(Sample {
                    seconds,
                    in_process: Some(seconds),
                    outcome,
                })
            }
            Tool::DockLiteProcess => {
                let mut command = Command::new(&self.bench_exe);
                command.arg("--once").args(op.args());
                Ok(reported(run_reporting(command, "bench-docker --once")?))
            }
            Tool::DockerPy => Ok(reported(self.docker_py.run(op.args())?)),
            Tool::Cli => self.cli(op),
        }
    }

    /// The docker CLI as a user types it, its output read as a user would.
    fn cli(&self, op: &Op) -> Result<Sample> {
        let mut command = Command::new(&self.docker_cli);
        let label = format!("{LABEL_KEY}={LABEL_VALUE}");
        match op.workload {
            Workload::Run => {
                command.args(["run", "--rm", "--label", &label, op.image()?, "true"]);
            }
            Workload::Render => {
                command.args(["run", "--rm", "-i", "--network", "none", "--label", &label]);
                command.args([op.image()?, "-Tsvg"]);
                command.stdin(File::open(op.graph()?)?);
            }
            Workload::List => {
                command.arg("ps");
            }
            Workload::Rebuild | Workload::Context => {
                command
                    .args(["build", "-q", "-t", op.tag()?])
                    .arg(op.context()?);
            }
        }
        let (elapsed, output) = process::timed(&mut command, "docker")?;
        Ok(Sample {
            seconds: elapsed.as_secs_f64(),
            in_process: None,
            outcome: cli_outcome(op.workload, &output),
        })
    }
}

/// The sample of a child that printed `{"op_s": .., "result": {..}}`,
/// timed from spawn to exit.
fn reported(report: Report) -> Sample {
    Sample {
        seconds: report.elapsed.as_secs_f64(),
        in_process: report.json["op_s"].as_f64(),
        outcome: Outcome::from_json(&report.json["result"]),
    }
}

/// What the CLI's output says. It exited 0, or `time_process` failed.
fn cli_outcome(workload: Workload, output: &Output) -> Outcome {
    let stdout = String::from_utf8_lossy(&output.stdout);
    match workload {
        Workload::Run => Outcome {
            exit_code: Some(0),
            ..Outcome::default()
        },
        Workload::Render => Outcome {
            exit_code: Some(0),
            svg: Some(stdout.contains("<svg")),
            ..Outcome::default()
        },
        // `docker ps` prints a header line, then one line per container.
        Workload::List => Outcome {
            count: Some(stdout.lines().count().saturating_sub(1)),
            ..Outcome::default()
        },
        // `docker build -q` prints only the image id.
        Workload::Rebuild | Workload::Context => Outcome {
            image_id: stdout.lines().last().map(|id| id.trim().to_owned()),
            ..Outcome::default()
        },
    }
}
