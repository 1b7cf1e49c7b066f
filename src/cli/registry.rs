//! `sandbox registry`: what the sandbox's registry answers.

use clap::Args;

use super::Globals;
use crate::output;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// Print the registry's answer as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(globals: &Globals, args: RegistryArgs) -> Result<()> {
    let sandbox = globals.sandbox_name()?;
    let engine = super::connect().await?;
    let found = super::find_running(&engine, &sandbox).await?;
    let url = found
        .registry_url()
        .ok_or_else(|| Error::Failed(format!("the registry of `{sandbox}` is not running")))?;
    let mut doc = crate::registry::services(&url)
        .await
        .map_err(Error::Failed)?;
    // The order of `sandbox status`: the service, then dependencies by name.
    doc.services
        .sort_by(|a, b| (a.role != "service", &a.name).cmp(&(b.role != "service", &b.name)));
    if args.json {
        output::print_json(&doc)?;
    } else {
        output::print(&crate::registry::render_table(&doc))?;
        output::println(&format!("\nregistry: {url}"))?;
    }
    Ok(())
}
