//! `sandbox up`.

use clap::Args;

use super::Globals;
use crate::manifest::{Loaded, Span};
use crate::output::{self, Progress};
use crate::plan::{self, PlanOptions};
use crate::runner::{self, UpOptions};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// Switch a dependency to recording: `DEP` (a record dependency) or
    /// `DEP=URL` (a replay dependency, recorded from URL into its file).
    #[arg(long = "record", value_name = "DEP[=URL]")]
    pub record: Vec<RecordArg>,
    /// Start the service with its debug settings.
    #[arg(long)]
    pub debug: bool,
    /// Give up waiting for health after this long (e.g. `90s`); default: each
    /// entry's own `health.timeout`, else 60s.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<Span>,
    /// Leave what was started in place when `up` fails.
    #[arg(long)]
    pub keep: bool,
    /// Print the status document as JSON once every entry is healthy.
    #[arg(long)]
    pub json: bool,
    /// Run these entries (default: the service) as processes on this
    /// machine, with `host.command`, or wait for you to start them (from an
    /// IDE); stays in the foreground until Ctrl-C.
    #[arg(long, value_name = "ENTRY", num_args = 0..)]
    pub host: Option<Vec<String>>,
    /// Stay in the foreground: stream every entry's logs and apply the
    /// manifest's `watch` rules when files change (rebuild, sync, restart;
    /// by default a `build:` entry rebuilds on any change in its context).
    /// Ctrl-C stops watching; the sandbox stays up.
    #[arg(long, conflicts_with = "json")]
    pub watch: bool,
}

/// `--record DEP[=URL]`, checked for its shape here and against the
/// manifest by the plan.
#[derive(Debug, Clone)]
pub struct RecordArg {
    pub dependency: String,
    /// Where to record from; `None`: the dependency's own `record.upstream`.
    pub upstream: Option<String>,
}

impl std::str::FromStr for RecordArg {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        let (dependency, upstream) = match text.split_once('=') {
            Some((name, url)) => (name, Some(url)),
            None => (text, None),
        };
        if dependency.is_empty() {
            return Err("name the dependency: DEP or DEP=http://HOST:PORT".into());
        }
        if let Some(url) = upstream
            && (!url.starts_with("http://") || url.len() <= "http://".len())
        {
            return Err(format!(
                "the upstream must be an http:// URL, such as {dependency}=http://127.0.0.1:8080"
            ));
        }
        Ok(RecordArg {
            dependency: dependency.to_owned(),
            upstream: upstream.map(str::to_owned),
        })
    }
}

/// The settings `up` and `run` share.
pub struct UpRequest {
    pub record: Vec<RecordArg>,
    /// Entries started with their debug settings (`None`: the service with `--debug`).
    pub debug: Vec<String>,
    pub timeout: Option<Span>,
    pub keep: bool,
    pub quiet: bool,
    /// Entries run on the host.
    pub host: Vec<String>,
}

pub async fn run(globals: &Globals, args: UpArgs) -> Result<()> {
    let json = args.json;
    let loaded = globals.load()?;
    let host = match &args.host {
        None => Vec::new(),
        Some(names) if names.is_empty() => vec![loaded.entries.service.name.clone()],
        Some(names) => names.clone(),
    };
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
        host: host.clone(),
    };
    let debug = args.debug;
    let timeout = args.timeout.map(|t| t.0);
    let watching = args.watch.then(|| Watching {
        options: plan_options(&loaded, &request),
        up: UpOptions {
            keep: request.keep,
            timeout,
        },
    });
    let (doc, _) = bring_up(globals, &loaded, request).await?;
    if !host.is_empty() {
        let Some(watching) = watching else {
            return super::host::run(globals, &loaded, doc, &host, timeout, json, None).await;
        };
        // Both end on Ctrl-C; the host processes' own end (a failure
        // before they are up, a lost link) ends watching too. Watching
        // starts once they are up, with their supervisor to restart them.
        let (control_to, control) = tokio::sync::oneshot::channel();
        let (ended, stop) = tokio::sync::watch::channel(false);
        let hosted = async {
            let result = super::host::run(
                globals,
                &loaded,
                doc,
                &host,
                timeout,
                json,
                Some(control_to),
            )
            .await;
            let _ = ended.send(true);
            result
        };
        let watched = async {
            let mut stop_early = stop.clone();
            let control = tokio::select! {
                control = control => control.ok(),
                _ = stop_early.wait_for(|s| *s) => None,
            };
            match control {
                Some(control) => {
                    let control: std::sync::Arc<dyn crate::watch::HostControl> =
                        std::sync::Arc::new(control);
                    watch(globals, &loaded, watching, Some(control), Some(stop)).await
                }
                None => Ok(()),
            }
        };
        let (hosted, watched) = tokio::join!(hosted, watched);
        return hosted.and(watched);
    }
    if json {
        output::print_json(&doc)?;
    } else {
        output::print(&output::status_table(&doc))?;
        if debug {
            print_attach(&loaded, &doc)?;
        }
    }
    match watching {
        Some(watching) => watch(globals, &loaded, watching, None, None).await,
        None => Ok(()),
    }
}

/// What `--watch` re-plans with.
struct Watching {
    options: PlanOptions,
    up: UpOptions,
}

/// `up --watch` after `up`: until Ctrl-C (exit 130), or until `stop` turns
/// true (then quietly).
async fn watch(
    globals: &Globals,
    loaded: &Loaded,
    watching: Watching,
    host: Option<std::sync::Arc<dyn crate::watch::HostControl>>,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
) -> Result<()> {
    let engine = super::connect().await?;
    let context = crate::watch::WatchContext {
        engine: &engine,
        manifest_file: globals.manifest_path(),
        loaded: loaded.clone(),
        options: watching.options,
        up: watching.up,
        host,
        cancel: globals.interrupted(),
    };
    let Some(mut stop) = stop else {
        return crate::watch::run(context).await;
    };
    tokio::select! {
        result = crate::watch::run(context) => result,
        _ = stop.wait_for(|s| *s) => Ok(()),
    }
}

/// After `up --debug`: how to attach to the service.
fn print_attach(loaded: &Loaded, doc: &crate::runner::status::StatusDoc) -> Result<()> {
    let service = &loaded.manifest.service;
    let (Some(debug), Some(address)) = (
        service.debug.as_ref(),
        doc.entry(&service.name).and_then(|e| e.debug.clone()),
    ) else {
        return Ok(());
    };
    let attach = output::Attach::new(&service.name, debug, &address);
    output::println(&format!(
        "\n{} is waiting for a debugger at {address}",
        service.name
    ))?;
    for line in &attach.attach {
        output::println(&format!("  {line}"))?;
    }
    Ok(())
}

/// Plans and carries out `up` of a loaded manifest; returns the status
/// document (every entry healthy) and the sandbox name.
pub async fn bring_up(
    globals: &Globals,
    loaded: &Loaded,
    request: UpRequest,
) -> Result<(runner::status::StatusDoc, String)> {
    let options = plan_options(loaded, &request);
    let timeout = request.timeout.map(|span| span.0);
    let plan = plan::plan(loaded, &options).map_err(|e| Error::Usage(e.0))?;
    let sandbox = plan.sandbox.clone();
    let engine = super::connect().await?;
    let progress = Progress::new(request.quiet);
    let cancel = globals.interrupted();
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
    Ok((result?.status, sandbox))
}

/// The plan options of an `up` request.
fn plan_options(loaded: &Loaded, request: &UpRequest) -> PlanOptions {
    let mut options = PlanOptions {
        host: request.host.clone(),
        ..PlanOptions::default()
    };
    for record in &request.record {
        options
            .record
            .insert(record.dependency.clone(), record.upstream.clone());
    }
    for entry in &request.debug {
        // An empty name stands for the service.
        options.debug.push(if entry.is_empty() {
            loaded.manifest.service.name.clone()
        } else {
            entry.clone()
        });
    }
    options
}
