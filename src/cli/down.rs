//! `sandbox down`.

use clap::Args;

use super::Globals;
use crate::engine::labels;
use crate::output;
use crate::runner;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// Remove every sandbox on the engine.
    #[arg(long)]
    pub all: bool,
    /// Print what was removed as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(globals: &Globals, args: DownArgs) -> Result<()> {
    let selector = if args.all {
        labels::NAME.to_owned()
    } else {
        labels::of_sandbox(&globals.sandbox_name()?)
    };
    let engine = super::connect().await?.without_forwarding();
    let report = runner::down(&engine, &selector).await?;
    if !args.all {
        crate::engine::forward::stop(engine.target(), &globals.sandbox_name()?);
    }
    for sandbox in &report.sandboxes {
        crate::engine::forward::stop(engine.target(), sandbox);
    }
    if args.json {
        output::print_json(&report)?;
    } else if report.containers == 0 && report.networks == 0 && report.images == 0 {
        output::eprintln("nothing to remove");
    } else {
        output::eprintln(&format!(
            "removed {} container{} and {} network{}{}",
            report.containers,
            if report.containers == 1 { "" } else { "s" },
            report.networks,
            if report.networks == 1 { "" } else { "s" },
            if report.sandboxes.is_empty() {
                String::new()
            } else {
                format!(" of {}", report.sandboxes.join(", "))
            }
        ));
        if !report.host_processes.is_empty() {
            output::eprintln(&format!(
                "stopped the host process{} of {}, left behind by `up --host`",
                if report.host_processes.len() == 1 {
                    ""
                } else {
                    "es"
                },
                report.host_processes.join(", ")
            ));
        }
        if report.images > 0 {
            output::eprintln(&format!(
                "removed {} unused agent image{}",
                report.images,
                if report.images == 1 { "" } else { "s" }
            ));
        }
    }
    recordings_written(&report)
}

/// Says which recordings `down` could not write; `Err` (exit 1) if any.
pub(crate) fn recordings_written(report: &runner::DownReport) -> Result<()> {
    for reason in &report.unreachable {
        output::eprintln(&format!("warning: recordings may be incomplete: {reason}"));
    }
    for recording in &report.recording_errors {
        output::eprintln(&format!(
            "error: recording {} was not written: {}",
            recording.file,
            recording.error.as_deref().unwrap_or("unknown reason")
        ));
    }
    if report.recording_errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Status(crate::error::exit::FAILURE))
    }
}
