//! `sandbox check`: the manifest's semantic checks against the running
//! sandbox, stubs and replays included.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::Globals;
use crate::health::check::{self, CheckOutcome};
use crate::output;
use crate::runner::status::Found;
use crate::{Error, Result};

/// How long one check's request may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ChecksDoc<'a> {
    passed: bool,
    checks: Vec<EntryOutcome<'a>>,
}

#[derive(Serialize)]
struct EntryOutcome<'a> {
    entry: &'a str,
    name: &'a str,
    passed: bool,
    status: Option<u16>,
    difference: Option<&'a str>,
    duration_ms: u64,
}

pub async fn run(globals: &Globals, args: CheckArgs) -> Result<()> {
    let loaded = globals.load()?;
    let engine = super::connect().await?;
    let found = super::find_running(&engine, &loaded.name).await?;
    let doc = Found::doc(&found, &loaded.name, &Default::default());
    let manifest = &loaded.manifest;
    let mut jobs = Vec::new();
    let service = std::iter::once((&manifest.service.name, &manifest.service.checks));
    let dependencies = manifest
        .dependencies
        .iter()
        .map(|(name, dep)| (name, &dep.checks));
    for (entry, checks) in service.chain(dependencies) {
        for check in checks {
            let status = doc.entry(entry);
            let address = status.and_then(|e| match &check.request.port {
                Some(port) => e.ports.get(port).cloned(),
                None => e.ports.values().next().cloned(),
            });
            jobs.push((entry.clone(), check, address));
        }
    }
    if jobs.is_empty() {
        return Err(Error::Usage(format!(
            "{} declares no `checks:`; add some to an entry, e.g. `checks: [{{name: list, request: {{path: /items}}, expect: {{status: 200}}}}]`",
            loaded.file.display()
        )));
    }
    let runs = jobs.iter().map(|(entry, check, address)| async move {
        let outcome = match address {
            Some(address) => {
                check::run_check(&format!("http://{address}"), check, CHECK_TIMEOUT).await
            }
            None => CheckOutcome {
                name: check.name.clone(),
                passed: false,
                status: None,
                difference: Some(format!(
                    "`{entry}` has no published port to send the check to"
                )),
                duration_ms: 0,
            },
        };
        (entry.clone(), outcome)
    });
    let results: Vec<(String, CheckOutcome)> = futures_util::future::join_all(runs).await;
    let passed = results.iter().all(|(_, o)| o.passed);
    if args.json {
        output::print_json(&ChecksDoc {
            passed,
            checks: results
                .iter()
                .map(|(entry, outcome)| EntryOutcome {
                    entry,
                    name: &outcome.name,
                    passed: outcome.passed,
                    status: outcome.status,
                    difference: outcome.difference.as_deref(),
                    duration_ms: outcome.duration_ms,
                })
                .collect(),
        })?;
    } else {
        output::print(&check::render_checks(&results))?;
    }
    if passed {
        Ok(())
    } else {
        let failed = results.iter().filter(|(_, o)| !o.passed).count();
        Err(Error::Failed(format!(
            "{failed} of {} check{} failed",
            results.len(),
            if results.len() == 1 { "" } else { "s" }
        )))
    }
}
