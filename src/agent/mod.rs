//! The agent: the `sandbox` binary running inside a container of the
//! sandbox, serving stub, replay and record dependencies, proxies with limits
//! and faults, the call journal, and (through `registry`) the registry.

pub mod config;

use std::path::Path;

use crate::Result;

/// Runs the agent with the configuration at `path` until SIGTERM.
pub async fn run(path: &Path) -> Result<()> {
    let _ = path;
    Err(crate::Error::Failed("agent: not available yet".into()))
}
