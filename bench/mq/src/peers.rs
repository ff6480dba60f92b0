//! The tools being compared, and one place that runs a workload on any of them.

use crate::amiquip_client::AmiquipClient;
use crate::mq_lite_client::MqLiteClient;
use crate::pika::PikaRunner;
use crate::workload::{throughput, Settings, Workload};
use crate::Result;

/// A column of the results table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    MqLite,
    Pika,
    /// amiquip on a socket with `TCP_NODELAY`, as mq-lite opens it.
    Amiquip,
}

impl Tool {
    pub const ALL: [Tool; 3] = [Tool::MqLite, Tool::Pika, Tool::Amiquip];

    pub fn name(self) -> &'static str {
        match self {
            Tool::MqLite => "mq-lite",
            Tool::Pika => "pika",
            Tool::Amiquip => "amiquip",
        }
    }
}

/// One open connection per Rust tool, kept for the whole benchmark; pika
/// connects in each script run.
pub struct Peers {
    pub mq_lite: MqLiteClient,
    pub amiquip: AmiquipClient,
    pub pika: PikaRunner,
}

impl Peers {
    pub fn throughput(
        &mut self,
        tool: Tool,
        workload: Workload,
        settings: &Settings,
    ) -> Result<f64> {
        match tool {
            Tool::MqLite => throughput(&mut self.mq_lite, tool.name(), workload, settings),
            Tool::Amiquip => throughput(&mut self.amiquip, tool.name(), workload, settings),
            Tool::Pika => self.pika.throughput(workload, settings),
        }
    }
}
