//! `/metrics`: what the server counts, in Prometheus' text format.

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntGauge, Registry, TextEncoder};

use super::tracker::{Known, Phase};

/// The server's counters, on a registry of their own.
pub struct Metrics {
    registry: Registry,
    /// Jobs accepted for rendering (published).
    pub submitted: IntCounter,
    /// Jobs rendered.
    pub rendered: IntCounter,
    /// Jobs failed.
    pub failed: IntCounter,
    /// Requests answered from git without rendering.
    pub cache_hits: IntCounter,
    /// Container plus commit time of rendered jobs, in seconds.
    pub render_seconds: Histogram,
    /// Messages waiting in the job queue, as of the last scrape.
    pub queue_depth: IntGauge,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| {
            let counter = IntCounter::new(name, help).expect("a valid metric name");
            registry
                .register(Box::new(counter.clone()))
                .expect("registered once");
            counter
        };
        let submitted = counter(
            "ondemand_jobs_submitted_total",
            "Jobs published for rendering",
        );
        let rendered = counter(
            "ondemand_jobs_rendered_total",
            "Jobs rendered and committed",
        );
        let failed = counter("ondemand_jobs_failed_total", "Jobs that failed");
        let cache_hits = counter(
            "ondemand_jobs_served_from_cache_total",
            "Requests answered from git without rendering",
        );
        let render_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "ondemand_render_duration_seconds",
                "Container run plus commit of rendered jobs",
            )
            .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
        )
        .expect("valid buckets");
        registry
            .register(Box::new(render_seconds.clone()))
            .expect("registered once");
        let queue_depth =
            IntGauge::new("ondemand_queue_depth", "Messages waiting in the job queue")
                .expect("a valid metric name");
        registry
            .register(Box::new(queue_depth.clone()))
            .expect("registered once");
        Metrics {
            registry,
            submitted,
            rendered,
            failed,
            cache_hits,
            render_seconds,
            queue_depth,
        }
    }

    /// Counts a job that finished.
    pub fn observe(&self, known: &Known) {
        match known.phase {
            Phase::Rendered => {
                self.rendered.inc();
                let millis = known.timings.container_ms + known.timings.git_ms;
                self.render_seconds.observe(millis as f64 / 1000.0);
            }
            Phase::Failed => self.failed.inc(),
            Phase::Queued | Phase::Rendering => {}
        }
    }

    /// Every metric in the text exposition format.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        // Encoding into a Vec fails only for metrics it cannot represent,
        // which these are not.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut text);
        String::from_utf8_lossy(&text).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
