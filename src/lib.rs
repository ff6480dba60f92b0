//! The on-demand code platform: a Graphviz render service composed from
//! [`mq_lite`] (jobs and results travel through RabbitMQ), [`dock_lite`]
//! (each job renders in a throwaway container) and [`repo_lite`] (sources
//! and outputs are committed to a git project). This package is not
//! published; its examples and end-to-end tests are the platform.
//!
//! A [`Client`] publishes [`Job`]s to a quorum queue; each [`Worker`]
//! takes one at a time, renders it with `dot` in a container with no network,
//! a memory limit and a timeout, hands the output to the [`Committer`]
//! through another queue, and only then acknowledges the job. The
//! committer, the one writer of the git history, commits source and output
//! in one commit, publishes a [`JobResult`] to the job's reply-to queue, and
//! pushes the history to a mirror. A job that stops its worker
//! [`DELIVERY_LIMIT`] + 1 times is dead-lettered and answered as failed.
#![deny(missing_docs)]

mod api_client;
mod backend;
mod client;
mod committer;
mod error;
pub mod images;
mod job;
mod mirror;
mod orphans;
mod queues;
mod replies;
pub mod server;
pub mod store;
mod worker;

pub use api_client::ApiClient;
pub use backend::LocalBackEnd;
pub use client::Client;
pub use committer::{Committer, CommitterConfig};
pub use error::PlatformError;
pub use job::{
    content_type, job_id_for, valid_job_id, Job, JobResult, RenderedJob, Status, Timings,
    DEFAULT_JOB_QUEUE, FORMATS,
};
pub use mirror::MIRROR_REMOTE;
pub use orphans::{remove_orphaned_renders, ORPHAN_GRACE, RENDER_TIMEOUT_LABEL};
pub use queues::{quorum, Queues, DELIVERY_LIMIT};
pub use worker::{
    now_ms, Worker, WorkerConfig, JOB_LABEL, NOTIFY_RENDERING_HEADER, SUBMITTED_AT_HEADER,
};
