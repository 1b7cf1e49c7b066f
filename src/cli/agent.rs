//! `sandbox agent` (hidden): what runs inside the agent container.

use std::path::PathBuf;

use clap::Args;

use crate::Result;

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The agent's configuration (JSON).
    #[arg(long, default_value = crate::agent::config::CONFIG_PATH)]
    pub config: PathBuf,
    /// Carry connections into the sandbox network over stdin and stdout
    /// (the forwarder of a remote engine runs this; see `agent::pipe`).
    #[arg(long)]
    pub mux: bool,
}

pub async fn run(args: AgentArgs) -> Result<()> {
    if args.mux {
        return crate::agent::pipe::serve_stdio()
            .await
            .map_err(|e| crate::Error::io("carry connections over stdin and stdout", e));
    }
    crate::agent::run(&args.config).await
}
