//! What the four benchmarks (`bench/mq`, `bench/docker`, `bench/git`,
//! `bench/platform`) share, so that each keeps only its workloads:
//!
//! - [`runs`] numbers the runs and [`Run::rotated`] turns the order of the
//!   tools each run, so that a noisy moment does not fall on one tool only;
//! - [`Samples`] keeps every figure by key and gives its [`median`] and
//!   [`Spread`]; [`Samples::ratio`] is ours over a peer's;
//! - [`Goal`] is the bound a ratio is held to, [`Target`] a goal for one
//!   workload and peer, [`Tally`] counts the goals met;
//! - [`Table`] prints a header and rows with one column layout, [`fixed`]
//!   prints a figure or `n/a`;
//! - [`PythonPeer`] runs a peer script in a fresh interpreter and reads the
//!   JSON line it prints ([`Report`]); [`process`] runs and times any child;
//! - [`selected`], [`exit_on_error`] and [`DEFAULT_PYTHON`] are the command
//!   lines' common parts.
//!
//! `bench/support/lib.sh` is the shell side, sourced by the `run` scripts:
//! the Python virtual environment, the broker container, the clean-up.
//!
//! ```
//! use bench_support::{runs, Goal, Samples, Table, Column, fixed};
//!
//! let mut samples = Samples::default();
//! for run in runs(3) {
//!     for tool in run.rotated(&["ours", "peer"]) {
//!         // Time the tool here; the figures are made up.
//!         let seconds = if tool == "ours" { 0.5 } else { 1.0 };
//!         samples.record(tool, seconds);
//!     }
//! }
//! let ratio = samples.ratio(&"ours", &"peer");
//! let goal = Goal::AtMost(0.6);
//! let mut table = Table::new([Column::left("tool", 8), Column::right("median s", 10)]);
//! table.row(["ours".into(), fixed(samples.median(&"ours"), 3)]);
//! assert_eq!(table.lines()[1], "ours         0.500");
//! assert_eq!(format!("{ratio:.2}x {goal} {}", goal.verdict(ratio)), "0.50x <= 0.60x met");
//! ```
#![deny(missing_docs)]

mod cli;
mod error;
mod goal;
mod peer;
pub mod process;
mod runs;
mod samples;
mod stats;
mod table;

pub use cli::{exit_on_error, selected, BoxError, DEFAULT_PYTHON};
pub use error::{Error, Result};
pub use goal::{Goal, Tally, Target};
pub use peer::{last_json_line, run_reporting, PythonPeer, Report};
pub use runs::{runs, Run};
pub use samples::Samples;
pub use stats::{median, Spread};
pub use table::{fixed, Align, Column, Table};
