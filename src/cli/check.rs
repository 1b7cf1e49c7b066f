//! `sandbox check`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_globals: &Globals, _args: CheckArgs) -> Result<()> {
    Err(crate::Error::Failed("check: not available yet".into()))
}
