//! `sandbox debug`: restart an entry with its debug settings and say how to
//! attach a debugger.

use clap::Args;

use super::Globals;
use super::up::{UpRequest, bring_up};
use crate::manifest::Source;
use crate::output::{self, Attach};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct DebugArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// The entry to debug (default: the service).
    pub entry: Option<String>,
    /// Return the entry to its normal settings.
    #[arg(long)]
    pub stop: bool,
    /// Print how to attach as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(globals: &Globals, args: DebugArgs) -> Result<()> {
    let loaded = globals.load()?;
    let manifest = &loaded.manifest;
    let entry = args
        .entry
        .clone()
        .unwrap_or_else(|| manifest.service.name.clone());
    let debug = if entry == manifest.service.name {
        manifest.service.debug.clone()
    } else {
        match loaded.entries.dependencies.get(&entry).map(|d| &d.source) {
            Some(Source::Container(container)) => container.debug.clone(),
            Some(Source::Stub(_) | Source::Replay(_) | Source::Record(_)) => {
                return Err(Error::Usage(format!(
                    "`{entry}` is served by the sandbox agent; only the service and real containers can be debugged"
                )));
            }
            None => {
                return Err(Error::Usage(format!(
                    "no entry named `{entry}` in {}",
                    loaded.file.display()
                )));
            }
        }
    };
    let Some(debug) = debug else {
        return Err(Error::Usage(format!(
            "`{entry}` has no `debug:` settings in {}; add e.g. `debug: {{port: 2345, command: [\"/dlv\", \"exec\", \"/app\", \"--listen=:2345\", \"--headless\"]}}`",
            loaded.file.display()
        )));
    };
    let (doc, _) = bring_up(
        globals,
        &loaded,
        UpRequest {
            record: Vec::new(),
            debug: if args.stop {
                Vec::new()
            } else {
                vec![entry.clone()]
            },
            timeout: None,
            keep: true,
            quiet: args.json,
            host: Vec::new(),
        },
    )
    .await?;
    if args.stop {
        if args.json {
            output::print_json(&serde_json::json!({"entry": entry, "debug": false}))?;
        } else {
            output::println(&format!("{entry} runs with its normal settings again"))?;
        }
        return Ok(());
    }
    let address = doc
        .entry(&entry)
        .and_then(|e| e.debug.clone())
        .ok_or_else(|| Error::Failed(format!("the debug port of `{entry}` is not published")))?;
    let attach = Attach::new(&entry, &debug, &address);
    let port = attach.port;
    if args.json {
        output::print_json(&attach)?;
    } else {
        output::println(&format!(
            "{entry} is waiting for a debugger at 127.0.0.1:{port} (port {} in the container)",
            debug.port
        ))?;
        for line in &attach.attach {
            output::println(&format!("  {line}"))?;
        }
        output::println(&format!(
            "`sandbox debug --stop{}` returns it to its normal settings",
            args.entry
                .as_ref()
                .map(|e| format!(" {e}"))
                .unwrap_or_default()
        ))?;
    }
    Ok(())
}
