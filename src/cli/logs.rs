//! `sandbox logs`: every entry's output, prefixed with its name, interleaved
//! as lines arrive.

use clap::Args;
use futures_util::StreamExt;
use futures_util::stream::select_all;
use tokio::io::AsyncWriteExt;

use super::Globals;
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
    let mut stdout = tokio::io::stdout();
    let mut stopped = Box::pin(tokio::signal::ctrl_c());
    loop {
        let item = tokio::select! {
            item = merged.next() => item,
            _ = &mut stopped => break,
        };
        let Some(item) = item else { break };
        let (prefix, line) = item?;
        let mut text = String::new();
        for part in line.text.lines() {
            text.push_str(&prefix);
            text.push_str(part);
            text.push('\n');
        }
        // A closed pipe (`| head`) ends the output quietly.
        if stdout.write_all(text.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stdout.flush().await;
    Ok(())
}
