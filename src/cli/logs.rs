//! `sandbox logs`: every entry's output, prefixed with its name, interleaved
//! as lines arrive. `logs -f` runs until Ctrl-C or SIGTERM (exit 130, quietly)
//! or until its reader closes stdout (exit 0).

use clap::Args;
use futures_util::StreamExt;
use futures_util::stream::select_all;

use super::Globals;
use crate::error::exit;
use crate::output;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub manifest: super::FileLong,
    /// Only this entry's logs.
    pub entry: Option<String>,
    /// Keep following new lines.
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines of each entry.
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
}

pub async fn run(globals: &Globals, args: LogsArgs) -> Result<()> {
    // Ctrl-C or SIGTERM ends the command; listening from the start keeps a
    // signal that comes early from killing the process mid-line.
    let mut interrupted = globals.interrupted();
    super::follow_not_file("logs", args.follow, args.entry.as_deref())?;
    let sandbox = globals.sandbox_name()?;
    let engine = super::connect().await?;
    let found = super::find_running(&engine, &sandbox).await?;
    let containers: Vec<_> = match &args.entry {
        Some(entry) => vec![found.container_of(entry).ok_or_else(|| {
            Error::Usage(format!(
                "no entry named `{entry}` in sandbox `{sandbox}`; see `sandbox status`"
            ))
        })?],
        None => found.containers.iter().collect(),
    };
    let width = containers
        .iter()
        .map(|c| c.display_name().len())
        .max()
        .unwrap_or(0);
    let streams = containers.iter().map(|c| {
        let prefix = format!("{:<width$} | ", c.display_name());
        engine
            .logs(&c.id, args.follow, args.tail)
            .map(move |line| line.map(|l| (prefix.clone(), l)))
            .boxed()
    });
    let mut merged = select_all(streams);
    loop {
        let item = tokio::select! {
            item = merged.next() => item,
            _ = interrupted.changed() => return Err(Error::Status(exit::INTERRUPTED)),
        };
        let Some(item) = item else { break };
        let (prefix, line) = item?;
        let mut text = String::new();
        for part in line.text.lines() {
            text.push_str(&prefix);
            text.push_str(part);
            text.push('\n');
        }
        output::print(&text)?;
    }
    Ok(())
}
