//! `sandbox agent` (hidden): what runs inside the agent container.

use std::path::PathBuf;

use clap::Args;

use crate::Result;

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The agent's configuration (JSON).
    #[arg(long, default_value = crate::agent::config::CONFIG_PATH)]
    pub config: PathBuf,
}

pub async fn run(args: AgentArgs) -> Result<()> {
    crate::agent::run(&args.config).await
}
