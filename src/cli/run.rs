//! `sandbox run`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Leave the sandbox up after the command ends.
    #[arg(long)]
    pub keep: bool,
    /// Give up waiting for health after this long.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub async fn run(_globals: &Globals, _args: RunArgs) -> Result<()> {
    Err(crate::Error::Failed("run: not available yet".into()))
}
