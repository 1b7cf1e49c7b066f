//! `sandbox calls`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct CallsArgs {
    /// Only calls to this dependency.
    pub dependency: Option<String>,
    /// Keep printing new calls.
    #[arg(short, long)]
    pub follow: bool,
    /// Print the journal as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_globals: &Globals, _args: CallsArgs) -> Result<()> {
    Err(crate::Error::Failed("calls: not available yet".into()))
}
