//! The five workloads, one operation of each as every tool is given it, and
//! the check of what an operation returned.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::Result;

/// The label on every container and image the benchmark creates, so that
/// `bench/docker/run` can remove whatever a failed run left behind.
pub const LABEL_KEY: &str = "dev.ondemand.bench";
pub const LABEL_VALUE: &str = "docker";

/// A row of the results table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Workload {
    /// (a) `true` in the base image, container removed.
    Run,
    /// (b) a small graph through `dot -Tsvg` on stdin, network none.
    Render,
    /// (c) list the running containers while N (20) sleep.
    List,
    /// (d) rebuild a small image, every step cached.
    Rebuild,
    /// (e) build with a 200 MiB context, 190 MiB of it in `.dockerignore`.
    Context,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::Run,
        Workload::Render,
        Workload::List,
        Workload::Rebuild,
        Workload::Context,
    ];

    /// The name on the command line of `--once` and of docker_py_bench.py.
    pub fn id(self) -> &'static str {
        match self {
            Workload::Run => "run",
            Workload::Render => "render",
            Workload::List => "list",
            Workload::Rebuild => "rebuild",
            Workload::Context => "context",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Workload::Run => "(a) run true",
            Workload::Render => "(b) render via stdin",
            Workload::List => "(c) list while N run",
            Workload::Rebuild => "(d) warm rebuild",
            Workload::Context => "(e) mostly ignored context",
        }
    }

    /// The peers' whole-process seconds measured elsewhere on this kind of
    /// machine (docker CLI, docker-py), which the goals were set against.
    /// (e) has none.
    pub fn reference(self) -> Option<(f64, f64)> {
        match self {
            Workload::Run => Some((0.39, 0.62)),
            Workload::Render => Some((0.42, 0.64)),
            Workload::List => Some((0.024, 0.26)),
            Workload::Rebuild => Some((0.105, 0.39)),
            Workload::Context => None,
        }
    }
}

/// One operation, with everything a tool needs to perform it in any process.
#[derive(Debug, Clone)]
pub struct Op {
    pub workload: Workload,
    /// The image to run (a, b).
    pub image: Option<String>,
    /// The graph fed to stdin (b).
    pub graph: Option<PathBuf>,
    /// The build context directory (d, e).
    pub context: Option<PathBuf>,
    /// The repository built (d, e), tagged per tool by [`Op::for_tool`].
    pub tag: Option<String>,
    /// At least this many containers must be listed (c).
    pub min_running: usize,
}

impl Op {
    /// The arguments after the workload name, the same for `bench-docker
    /// --once` and docker_py_bench.py.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![self.workload.id().to_owned()];
        let mut add = |flag: &str, value: Option<String>| {
            if let Some(value) = value {
                args.extend([flag.to_owned(), value]);
            }
        };
        add("--image", self.image.clone());
        add(
            "--graph",
            self.graph.as_ref().map(|p| p.display().to_string()),
        );
        add(
            "--context",
            self.context.as_ref().map(|p| p.display().to_string()),
        );
        add("--tag", self.tag.clone());
        add("--min-running", Some(self.min_running.to_string()));
        args
    }

    /// This operation as `tool` performs it: a build gets the tool's own tag
    /// (`repo:tool`), so that each tool's rebuild re-tags nothing and finds
    /// its own cached image.
    pub fn for_tool(&self, tool: &str) -> Op {
        Op {
            tag: self.tag.as_ref().map(|repo| format!("{repo}:{tool}")),
            ..self.clone()
        }
    }

    pub fn image(&self) -> Result<&str> {
        self.image.as_deref().ok_or_else(|| missing("--image"))
    }

    pub fn graph(&self) -> Result<&PathBuf> {
        self.graph.as_ref().ok_or_else(|| missing("--graph"))
    }

    pub fn context(&self) -> Result<&PathBuf> {
        self.context.as_ref().ok_or_else(|| missing("--context"))
    }

    pub fn tag(&self) -> Result<&str> {
        self.tag.as_deref().ok_or_else(|| missing("--tag"))
    }
}

fn missing(flag: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("this workload needs {flag}").into()
}

/// What an operation returned, as much as is checked. The JSON form is the
/// `result` object that `--once` and docker_py_bench.py print.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub exit_code: Option<i64>,
    pub svg: Option<bool>,
    pub count: Option<usize>,
    pub image_id: Option<String>,
}

impl Outcome {
    pub fn to_json(&self) -> Value {
        json!({
            "exit_code": self.exit_code,
            "svg": self.svg,
            "count": self.count,
            "image_id": self.image_id,
        })
    }

    pub fn from_json(result: &Value) -> Outcome {
        Outcome {
            exit_code: result["exit_code"].as_i64(),
            svg: result["svg"].as_bool(),
            count: result["count"].as_u64().map(|n| n as usize),
            image_id: result["image_id"].as_str().map(str::to_owned),
        }
    }

    /// An error unless the operation did what `op` asked. `warm_id` is the
    /// image id of the warm-up build: a rebuild with another id missed the
    /// cache.
    pub fn check(&self, op: &Op, warm_id: Option<&str>) -> Result<()> {
        match op.workload {
            Workload::Run => match self.exit_code {
                Some(0) => Ok(()),
                other => Err(format!("`true` exited with {other:?}").into()),
            },
            Workload::Render => match (self.exit_code, self.svg) {
                (Some(0), Some(true)) => Ok(()),
                other => Err(format!("no SVG from dot (exit code, svg: {other:?})").into()),
            },
            Workload::List => match self.count {
                Some(count) if count >= op.min_running => Ok(()),
                other => Err(format!(
                    "listed {other:?} containers, expected at least {}",
                    op.min_running
                )
                .into()),
            },
            Workload::Rebuild | Workload::Context => self.check_image(warm_id),
        }
    }

    fn check_image(&self, warm_id: Option<&str>) -> Result<()> {
        match (self.image_id.as_deref(), warm_id) {
            (None, _) => Err("the build reported no image id".into()),
            (Some(id), Some(warm)) if !same_image(id, warm) => {
                Err(format!("built {id}, not the warm-cache image {warm}: cache missed").into())
            }
            _ => Ok(()),
        }
    }
}

/// Image ids compare without their `sha256:` prefix, a short id matching the
/// full one it starts (the legacy builder may print either).
pub fn same_image(a: &str, b: &str) -> bool {
    let (a, b) = (bare_id(a), bare_id(b));
    !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a))
}

fn bare_id(id: &str) -> &str {
    id.trim().trim_start_matches("sha256:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_prefixed_ids_name_the_same_image() {
        assert!(same_image("sha256:0123456789abcdef", "0123456789ab"));
        assert!(!same_image("sha256:0123", "sha256:0124"));
        assert!(!same_image("", "sha256:0123"));
    }

    #[test]
    fn an_outcome_survives_its_json_form() {
        let outcome = Outcome {
            exit_code: Some(0),
            svg: Some(true),
            count: Some(21),
            image_id: Some("sha256:ab".into()),
        };
        assert_eq!(Outcome::from_json(&outcome.to_json()), outcome);
    }
}
