//! `sandbox check`: the manifest's semantic checks against the running
//! sandbox, stubs and replays included.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::Globals;
use crate::health::check::{self, CheckOutcome};
use crate::openapi::check as contract;
use crate::output;
use crate::runner::status::Found;
use crate::{Error, Result};

/// How long one check's request may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// Also check answers against the OpenAPI documents entries declare:
    /// stub routes, recordings and the checks' live answers.
    #[arg(long)]
    pub contract: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ChecksDoc<'a> {
    passed: bool,
    checks: Vec<EntryOutcome<'a>>,
    /// With `--contract`.
    #[serde(skip_serializing_if = "Option::is_none")]
    contract: Option<&'a contract::Report>,
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
    let manifest = &loaded.manifest;
    let service = std::iter::once((&manifest.service.name, &manifest.service.checks));
    let dependencies = manifest
        .dependencies
        .iter()
        .map(|(name, dep)| (name, &dep.checks));
    let declared: Vec<_> = service
        .chain(dependencies)
        .flat_map(|(entry, checks)| {
            checks
                .iter()
                .enumerate()
                .map(move |(i, check)| (entry, i, check))
        })
        .collect();
    let mut contract = args.contract.then(|| contract::Checker::new(&loaded));
    if let Some(contract) = &mut contract {
        if loaded.specs.is_empty() {
            return Err(Error::Usage(format!(
                "{} declares no OpenAPI document to check against; add `api: {{ openapi: ./api.yaml }}` to an entry (or `openapi:` to a stub)",
                loaded.file.display()
            )));
        }
        contract.files();
    }
    if declared.is_empty() && contract.is_none() {
        return Err(Error::Usage(format!(
            "{} declares no `checks:`; add some to an entry, e.g. `checks: [{{name: list, request: {{path: /items}}, expect: {{status: 200}}}}]`",
            loaded.file.display()
        )));
    }
    let mut results: Vec<(String, CheckOutcome)> = Vec::new();
    if !declared.is_empty() {
        let found = match running(&loaded.name).await {
            Ok(found) => found,
            Err(error) => {
                // What needs no sandbox is still worth showing.
                if let Some(contract) = &contract
                    && !args.json
                {
                    output::print(&contract::render(&contract.report))?;
                }
                return Err(error);
            }
        };
        let doc = Found::doc(&found, &loaded.name, &Default::default());
        let jobs: Vec<_> = declared
            .iter()
            .map(|(entry, i, check)| {
                let status = doc.entry(entry);
                let address = status.and_then(|e| match &check.request.port {
                    Some(port) => e.ports.get(port).cloned(),
                    None => e.ports.values().next().cloned(),
                });
                (*entry, *i, *check, address)
            })
            .collect();
        let runs = jobs.iter().map(|(entry, _, check, address)| async move {
            match address {
                Some(address) => {
                    check::run_check_answer(&format!("http://{address}"), check, CHECK_TIMEOUT)
                        .await
                }
                None => (
                    CheckOutcome {
                        name: check.name.clone(),
                        passed: false,
                        status: None,
                        difference: Some(format!(
                            "`{entry}` has no published port to send the check to"
                        )),
                        duration_ms: 0,
                    },
                    None,
                ),
            }
        });
        let answers = futures_util::future::join_all(runs).await;
        let tree = std::fs::read_to_string(&loaded.file)
            .ok()
            .and_then(|text| crate::manifest::tree::parse(&text).ok().flatten());
        for ((entry, i, check, _), (outcome, answer)) in jobs.iter().zip(answers) {
            if let (Some(contract), Some(answer)) = (&mut contract, &answer)
                && contract.has(entry)
            {
                let place = if *entry == &manifest.service.name {
                    format!("service.checks.{i}")
                } else {
                    format!("dependencies.{entry}.checks.{i}")
                };
                let at = tree
                    .as_ref()
                    .and_then(|root| root.find(&place).map(|(_, node)| node.at));
                contract.answer(
                    entry,
                    &check.name,
                    at,
                    &check.request.method,
                    &check.request.path,
                    answer.status,
                    answer.header("content-type"),
                    &answer.body,
                );
            }
            results.push(((*entry).clone(), outcome));
        }
    }
    let report = contract.map(|c| c.report);
    let passed = results.iter().all(|(_, o)| o.passed)
        && report.as_ref().is_none_or(|r| r.findings.is_empty());
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
            contract: report.as_ref(),
        })?;
    } else {
        let mut text = String::new();
        if !results.is_empty() {
            text.push_str(&check::render_checks(&results));
        }
        if let Some(report) = &report {
            text.push_str(&contract::render(report));
        }
        output::print(&text)?;
    }
    if passed {
        return Ok(());
    }
    let failed = results.iter().filter(|(_, o)| !o.passed).count();
    let mut reasons = Vec::new();
    if failed > 0 {
        reasons.push(format!(
            "{failed} of {} check{} failed",
            results.len(),
            if results.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(report) = report.as_ref().filter(|r| !r.findings.is_empty()) {
        reasons.push(format!(
            "{} contract violation{}",
            report.findings.len(),
            if report.findings.len() == 1 { "" } else { "s" }
        ));
    }
    Err(Error::Failed(reasons.join("; ")))
}

/// The running sandbox's containers.
async fn running(name: &str) -> Result<crate::runner::status::Found> {
    let engine = super::connect().await?;
    super::find_running(&engine, name).await
}
