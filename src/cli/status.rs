//! `sandbox status` (`ps`).

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status document as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_globals: &Globals, _args: StatusArgs) -> Result<()> {
    Err(crate::Error::Failed("status: not available yet".into()))
}
