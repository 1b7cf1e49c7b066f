//! `sandbox up`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Switch a dependency to recording: `DEP` (a record dependency) or
    /// `DEP=URL` (a replay dependency, recorded from URL into its file).
    #[arg(long = "record", value_name = "DEP[=URL]")]
    pub record: Vec<String>,
    /// Start the service (or the named entries) with its debug settings.
    #[arg(long)]
    pub debug: bool,
    /// Give up waiting for health after this long (e.g. `90s`); default: each
    /// entry's own `health.timeout`.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Leave what was started in place when `up` fails.
    #[arg(long)]
    pub keep: bool,
    /// Print the status document as JSON once every entry is healthy.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_globals: &Globals, _args: UpArgs) -> Result<()> {
    Err(crate::Error::Failed("up: not available yet".into()))
}
