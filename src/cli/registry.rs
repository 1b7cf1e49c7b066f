//! `sandbox registry`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Print the registry's answer as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_globals: &Globals, _args: RegistryArgs) -> Result<()> {
    Err(crate::Error::Failed("registry: not available yet".into()))
}
