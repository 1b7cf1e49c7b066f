//! `sandbox up`.

use std::collections::HashMap;

use clap::Args;

use super::Globals;
use crate::manifest::Span;
use crate::output::{self, Progress};
use crate::plan::{self, PlanOptions};
use crate::runner::status::Found;
use crate::runner::{self, UpOptions};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// Switch a dependency to recording: `DEP` (a record dependency) or
    /// `DEP=URL` (a replay dependency, recorded from URL into its file).
    #[arg(long = "record", value_name = "DEP[=URL]")]
    pub record: Vec<String>,
    /// Start the service with its debug settings.
    #[arg(long)]
    pub debug: bool,
    /// Give up waiting for health after this long (e.g. `90s`); default: each
    /// entry's own `health.timeout`, else 60s.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Leave what was started in place when `up` fails.
    #[arg(long)]
    pub keep: bool,
    /// Print the status document as JSON once every entry is healthy.
    #[arg(long)]
    pub json: bool,
}

/// The settings `up` and `run` share.
pub struct UpRequest {
    pub record: Vec<String>,
    /// Entries started with their debug settings (`None`: the service with `--debug`).
    pub debug: Vec<String>,
    pub timeout: Option<String>,
    pub keep: bool,
    pub quiet: bool,
}

pub async fn run(globals: &Globals, args: UpArgs) -> Result<()> {
    let json = args.json;
    let request = UpRequest {
        record: args.record,
        debug: if args.debug {
            vec![String::new()]
        } else {
            Vec::new()
        },
        timeout: args.timeout,
        keep: args.keep,
        quiet: false,
    };
    let debug = args.debug;
    let (doc, _) = bring_up(globals, request).await?;
    if json {
        output::print_json(&doc);
    } else {
        print!("{}", output::status_table(&doc));
        if debug {
            print_attach(globals, &doc)?;
        }
    }
    Ok(())
}

/// After `up --debug`: how to attach to the service.
fn print_attach(globals: &Globals, doc: &crate::runner::status::StatusDoc) -> Result<()> {
    let loaded = globals.load()?;
    let service = &loaded.manifest.service;
    let (Some(debug), Some(address)) = (
        service.debug.as_ref(),
        doc.entry(&service.name).and_then(|e| e.debug.clone()),
    ) else {
        return Ok(());
    };
    let attach = super::debug::Attach::new(&service.name, debug, &address);
    println!("\n{} is waiting for a debugger at {address}", service.name);
    for line in &attach.attach {
        println!("  {line}");
    }
    Ok(())
}

/// Validates, plans and carries out `up`; returns the status document (every
/// entry healthy) and the sandbox name.
pub async fn bring_up(
    globals: &Globals,
    request: UpRequest,
) -> Result<(runner::status::StatusDoc, String)> {
    let loaded = globals.load()?;
    let mut options = PlanOptions::default();
    for item in &request.record {
        let (name, url) = match item.split_once('=') {
            Some((name, url)) => (name.to_owned(), Some(url.to_owned())),
            None => (item.clone(), None),
        };
        if let Some(url) = &url
            && !url.starts_with("http://")
        {
            return Err(Error::Usage(format!(
                "--record {item}: the upstream must be an http:// URL, such as http://127.0.0.1:8080"
            )));
        }
        options.record.insert(name, url);
    }
    for entry in &request.debug {
        // An empty name stands for the service.
        options.debug.push(if entry.is_empty() {
            loaded.manifest.service.name.clone()
        } else {
            entry.clone()
        });
    }
    let timeout = match &request.timeout {
        Some(text) => Some(
            text.parse::<Span>()
                .map_err(|e| Error::Usage(format!("--timeout: {e}")))?
                .0,
        ),
        None => None,
    };
    let mut plan = plan::plan(&loaded, &options).map_err(|e| Error::Usage(e.0))?;
    let sandbox = plan.sandbox.clone();
    let engine = super::connect().await?;
    // The running agents' token, so that an unchanged agent is kept.
    if let Some(token) = Found::load(&engine, &sandbox).await?.token() {
        options.token = Some(token.to_owned());
        plan = plan::plan(&loaded, &options).map_err(|e| Error::Usage(e.0))?;
    }
    let progress = Progress::new(request.quiet);
    let cancel = super::interrupt_signal();
    let result = runner::up(
        &engine,
        plan,
        &UpOptions {
            keep: request.keep,
            timeout,
        },
        &progress,
        cancel,
    )
    .await;
    progress.finish();
    result?;
    let found = Found::load(&engine, &sandbox).await?;
    publish_host_urls(&found).await;
    // Every entry passed its readiness probe just now.
    let health: HashMap<String, String> = found
        .entries(&HashMap::new())
        .into_iter()
        .map(|e| (e.name, "up".to_owned()))
        .collect();
    Ok((found.doc(&sandbox, &health), sandbox))
}

/// Tells the registry where each entry is reachable from the host.
async fn publish_host_urls(found: &Found) {
    let Some(registry) = found.registry_url() else {
        return;
    };
    let urls: Vec<(String, String)> = found
        .entries(&HashMap::new())
        .into_iter()
        .filter_map(|e| Some((e.name, e.host_url?)))
        .collect();
    if let Err(reason) = crate::registry::put_hosts(&registry, found.token(), &urls).await {
        eprintln!("warning: {reason}");
    }
}
