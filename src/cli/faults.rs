//! `sandbox faults` and `sandbox limits`: change them on a running dependency.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct FaultsArgs {
    /// The dependency.
    pub dependency: String,
    /// Added before each answer, e.g. `200ms`.
    #[arg(long, value_name = "DURATION")]
    pub latency: Option<String>,
    /// Random extra latency, up to this much.
    #[arg(long, value_name = "DURATION")]
    pub jitter: Option<String>,
    /// Share of answers replaced by an error, 0..1.
    #[arg(long, value_name = "RATE")]
    pub error_rate: Option<f64>,
    /// Status of injected errors.
    #[arg(long, value_name = "STATUS")]
    pub error_status: Option<u16>,
    /// Share of connections dropped, 0..1.
    #[arg(long, value_name = "RATE")]
    pub reset_rate: Option<f64>,
    /// Bytes per second of each answer, e.g. `64KiB/s`.
    #[arg(long, value_name = "BYTES/s")]
    pub bandwidth: Option<String>,
    /// Seed for reproducible randomness.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Remove every fault.
    #[arg(long)]
    pub clear: bool,
    /// Print the faults in force as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LimitsArgs {
    /// The dependency.
    pub dependency: String,
    /// Requests per unit of time, e.g. `10/s`.
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,
    /// Requests allowed at once above the rate.
    #[arg(long)]
    pub burst: Option<u32>,
    /// Requests in flight at once.
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// Count each caller separately (`true`) or all together (`false`).
    #[arg(long, value_name = "BOOL")]
    pub per_caller: Option<bool>,
    /// Remove every limit.
    #[arg(long)]
    pub clear: bool,
    /// Print the limits in force as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn faults(_globals: &Globals, _args: FaultsArgs) -> Result<()> {
    Err(crate::Error::Failed("faults: not available yet".into()))
}

pub async fn limits(_globals: &Globals, _args: LimitsArgs) -> Result<()> {
    Err(crate::Error::Failed("limits: not available yet".into()))
}
