//! `sandbox debug`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct DebugArgs {
    /// The entry to debug (default: the service).
    pub entry: Option<String>,
    /// Return the entry to its normal settings.
    #[arg(long)]
    pub stop: bool,
    /// Print how to attach as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_globals: &Globals, _args: DebugArgs) -> Result<()> {
    Err(crate::Error::Failed("debug: not available yet".into()))
}
