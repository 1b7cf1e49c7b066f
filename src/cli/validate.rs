//! `sandbox validate`, `sandbox schema` and `sandbox init`.

use std::path::PathBuf;

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the manifest (default: ./sandbox.yaml).
    pub path: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

pub fn validate(globals: &Globals, _args: ValidateArgs) -> Result<()> {
    let loaded = globals.load()?;
    eprintln!("{}: valid (sandbox `{}`)", loaded.file.display(), loaded.name);
    Ok(())
}

pub fn schema() -> Result<()> {
    let schema = schemars::schema_for!(crate::manifest::Manifest);
    println!("{}", serde_json::to_string_pretty(&schema).expect("a schema serializes"));
    Ok(())
}

pub fn init(_globals: &Globals, _args: InitArgs) -> Result<()> {
    Err(crate::Error::Failed("init: not available yet".into()))
}
