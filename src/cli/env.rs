//! `sandbox env`: the environment an entry gets, for IDE run settings and
//! shells (PRODUCT.md 6.2).

use clap::Args;

use super::Globals;
use crate::host::env::{self, Format};
use crate::output;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// The entry (default: the service).
    pub entry: Option<String>,
    /// As a process on this machine gets it: host URLs of the running sandbox.
    #[arg(long)]
    pub host: bool,
    /// How to print it.
    #[arg(long, value_enum, default_value = "dotenv")]
    pub format: Format,
    /// The same as `--format json`.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(globals: &Globals, args: EnvArgs) -> Result<()> {
    let loaded = globals.load()?;
    let entry = args
        .entry
        .clone()
        .unwrap_or_else(|| loaded.entries.service.name.clone());
    let vars = if args.host {
        let engine = super::connect().await?;
        let found = super::find_running(&engine, &loaded.name).await?;
        let doc = found.doc(&loaded.name, &Default::default());
        env::host_env(&loaded, &entry, &doc)
    } else {
        env::container_env(&loaded, &entry)
    }
    .map_err(|error| match error {
        env::EnvError::Plan(message) => Error::Usage(message),
        other => Error::Usage(other.to_string()),
    })?;
    let format = if args.json { Format::Json } else { args.format };
    output::print(&env::render(&vars, format))
}
