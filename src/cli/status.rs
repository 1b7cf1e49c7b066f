//! `sandbox status` (`ps`).

use clap::Args;

use super::Globals;
use crate::Result;
use crate::output;
use crate::runner::status::Found;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// Print the status document as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(globals: &Globals, args: StatusArgs) -> Result<()> {
    let sandbox = globals.sandbox_name()?;
    let engine = super::connect().await?;
    let found = Found::load(&engine, &sandbox).await?;
    let health = super::registry_health(&found).await;
    let mut doc = found.doc(&sandbox, &health);
    super::faults::add_in_force(&found, &mut doc).await;
    doc.recording_errors = crate::agent::client::recording_errors(&found.admin_urls()).await;
    let target = engine.target();
    doc.engine = Some(crate::runner::status::EngineName {
        context: target.context.clone(),
        host: target.host.clone(),
        forwarder: if engine.is_local() || doc.entries.is_empty() {
            None
        } else {
            crate::engine::forward::running(target, &sandbox)
        },
    });
    if args.json {
        output::print_json(&doc)?;
    } else if doc.entries.is_empty() {
        output::eprintln(&format!(
            "sandbox `{sandbox}` is not running (engine: {})",
            target.describe()
        ));
    } else {
        output::print(&output::status_table(&doc))?;
        for recording in &doc.recording_errors {
            output::println(&format!(
                "recording {} of {} cannot be written: {}",
                recording.file,
                recording.dependency,
                recording.error.as_deref().unwrap_or("unknown reason")
            ))?;
        }
        output::println(&format!("engine: {}", target.describe()))?;
        if let Some(forwarder) = doc.engine.as_ref().and_then(|e| e.forwarder.as_ref()) {
            output::println(&format!(
                "forwarder: pid {}, {} port{} on 127.0.0.1",
                forwarder.pid,
                forwarder.ports.len(),
                if forwarder.ports.len() == 1 { "" } else { "s" }
            ))?;
        }
    }
    Ok(())
}
