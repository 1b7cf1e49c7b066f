//! `sandbox logs`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only this entry's logs.
    pub entry: Option<String>,
    /// Keep following new lines.
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines of each entry.
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
}

pub async fn run(_globals: &Globals, _args: LogsArgs) -> Result<()> {
    Err(crate::Error::Failed("logs: not available yet".into()))
}
