//! `sandbox down`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Remove every sandbox on the engine.
    #[arg(long)]
    pub all: bool,
    /// Print what was removed as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_globals: &Globals, _args: DownArgs) -> Result<()> {
    Err(crate::Error::Failed("down: not available yet".into()))
}
