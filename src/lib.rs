//! The on-demand code platform: examples and end-to-end tests that compose
//! [`mq_lite`], [`dock_lite`] and [`repo_lite`] into a Graphviz render
//! service. This package is not published; the three crates are.
#![deny(missing_docs)]

pub mod cli;
