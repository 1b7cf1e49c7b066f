//! `sandbox run`: an ephemeral sandbox around one command, for CI.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;

use clap::Args;

use super::Globals;
use super::up::{UpRequest, bring_up};
use crate::engine::labels;
use crate::manifest::ProbeKind;
use crate::manifest::env_stem;
use crate::output;
use crate::runner;
use crate::runner::status::{Found, StatusEntry};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// Leave the sandbox up after the command ends.
    #[arg(long)]
    pub keep: bool,
    /// Give up waiting for health after this long.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<crate::manifest::Span>,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// A name no other `run` of the same manifest uses: parallel CI jobs on one
/// engine never collide.
fn unique_name(base: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut base = base.to_owned();
    // At most 16 + 5 + 7 + 1 + 5 = 34 characters: a valid name.
    base.truncate(16);
    format!(
        "{}-run-{}-{:05x}",
        base.trim_end_matches('-'),
        std::process::id(),
        nanos & 0xfffff
    )
}

pub async fn run(globals: &Globals, args: RunArgs) -> Result<()> {
    let mut loaded = globals.load()?;
    if globals.name.is_none() {
        loaded.name = unique_name(&loaded.name);
    }
    let (doc, sandbox) = bring_up(
        globals,
        &loaded,
        UpRequest {
            record: Vec::new(),
            debug: Vec::new(),
            timeout: args.timeout,
            keep: args.keep,
            quiet: false,
            host: Vec::new(),
        },
    )
    .await?;

    let mut env: HashMap<String, String> =
        HashMap::from([("SANDBOX_NAME".to_owned(), sandbox.clone())]);
    if let Some(url) = &doc.registry_url {
        env.insert("SANDBOX_REGISTRY_URL".into(), url.clone());
    }
    for entry in &doc.entries {
        if let Some(url) = &entry.host_url {
            env.insert(format!("{}_URL", env_stem(&entry.name)), url.clone());
        }
    }
    let mut child = tokio::process::Command::new(&args.command[0])
        .args(&args.command[1..])
        .envs(&env)
        .stdin(Stdio::inherit())
        .spawn();
    let status = match &mut child {
        Ok(child) => {
            let mut interrupted = globals.interrupted();
            tokio::select! {
                status = child.wait() => status.ok(),
                _ = interrupted.changed() => {
                    // A terminal's Ctrl-C reached the command too; SIGTERM may not have.
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    None
                }
            }
        }
        Err(error) => {
            output::eprintln(&format!("error: cannot run `{}`: {error}", args.command[0]));
            None
        }
    };
    let code = match (&child, status) {
        (_, Some(status)) => status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }),
        (Ok(_), None) => crate::error::exit::INTERRUPTED,
        (Err(_), None) => 127,
    };

    let engine = super::connect().await?;
    if code != 0 {
        let probes = probe_requests(&loaded.manifest);
        let healthy: HashSet<String> = doc.entries.iter().map(|e| e.name.clone()).collect();
        report_failure(&engine, &sandbox, &probes, &healthy).await;
    }
    if args.keep {
        output::eprintln(&format!(
            "the sandbox `{sandbox}` is left running: `sandbox down --name {sandbox}` removes it"
        ));
    } else {
        let report = runner::down(&engine, &labels::of_sandbox(&sandbox)).await?;
        let written = super::down::recordings_written(&report);
        // The command's own failure comes first; else a lost recording fails.
        if code == 0 {
            written?;
        }
    }
    if code == 0 {
        Ok(())
    } else {
        Err(Error::Status(code))
    }
}

/// Whether a failed command's summary shows `entry`: its container stopped,
/// or its health is known to be bad. An entry `up` saw pass its readiness
/// check (in `healthy`) is not called `starting` or `unknown` because the
/// registry has not probed it yet or does not answer.
fn needs_report(entry: &StatusEntry, healthy: &HashSet<String>) -> bool {
    if entry.state != "running" {
        return true;
    }
    match entry.health.as_str() {
        "up" => false,
        "down" => true,
        _ => !healthy.contains(&entry.name),
    }
}

/// The method and path of each entry's HTTP health probe, to leave its
/// requests out of the log lines shown.
fn probe_requests(manifest: &crate::manifest::Manifest) -> HashMap<String, (String, String)> {
    let service = std::iter::once((&manifest.service.name, &manifest.service.health));
    let dependencies = manifest
        .dependencies
        .iter()
        .map(|(name, dep)| (name, &dep.health));
    service
        .chain(dependencies)
        .filter_map(|(name, health)| match health.as_ref()?.probe()? {
            ProbeKind::Http(path) => {
                let path = if path.starts_with('/') {
                    path
                } else {
                    format!("/{path}")
                };
                Some((name.clone(), ("GET".to_owned(), path)))
            }
            _ => None,
        })
        .collect()
}

/// What helps to understand a failed command: the last log lines of every
/// entry that is not healthy, and the calls nothing matched.
async fn report_failure(
    engine: &crate::engine::Engine,
    sandbox: &str,
    probes: &HashMap<String, (String, String)>,
    healthy: &HashSet<String>,
) {
    let Ok(found) = Found::load(engine, sandbox).await else {
        return;
    };
    let health = super::registry_health(&found).await;
    for entry in found.entries(&health) {
        if !needs_report(&entry, healthy) {
            continue;
        }
        output::eprintln(&format!(
            "--- `{}` is {} ({}); its last log lines:",
            entry.name, entry.health, entry.state
        ));
        if let Some(container) = found.container_of(&entry.name) {
            let probe = probes
                .get(&entry.name)
                .map(|(method, path)| (method.as_str(), path.as_str()));
            let (logs, left_out) = runner::failure_logs(engine, &container.id, probe).await;
            for line in logs.lines() {
                output::eprintln(&format!("  | {line}"));
            }
            if left_out > 0 {
                output::eprintln(&format!(
                    "  ({left_out} health-probe line{} left out)",
                    if left_out == 1 { "" } else { "s" }
                ));
            }
        }
    }
    let agents = found.admin_urls();
    let mut since = vec![0; agents.len()];
    if let Ok(calls) = super::calls::fetch(&agents, &mut since, None).await {
        let unmatched: Vec<_> = calls.iter().filter(|c| c.matched.is_none()).collect();
        if !unmatched.is_empty() {
            output::eprintln("--- calls that no stub or recording matched:");
            for call in unmatched {
                output::eprint(&format!("  {}", super::calls::render_call(call, false)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_up_saw_healthy_are_not_called_starting() {
        let entry = |name: &str, state: &str, health: &str| StatusEntry {
            name: name.into(),
            role: "dependency".into(),
            kind: "image".into(),
            state: state.into(),
            health: health.into(),
            host_url: None,
            ports: Default::default(),
            protocols: Default::default(),
            debug: None,
            limits: None,
            faults: None,
        };
        let healthy: HashSet<String> = ["web".to_owned(), "db".to_owned()].into();
        assert!(!needs_report(&entry("web", "running", "up"), &healthy));
        // The registry has not probed it yet, or does not answer: up saw it pass.
        assert!(!needs_report(
            &entry("web", "running", "starting"),
            &healthy
        ));
        assert!(!needs_report(&entry("db", "running", "unknown"), &healthy));
        // Known bad: said.
        assert!(needs_report(&entry("db", "running", "down"), &healthy));
        assert!(needs_report(&entry("db", "exited", "starting"), &healthy));
        assert!(needs_report(&entry("new", "running", "starting"), &healthy));
    }

    #[test]
    fn run_names_are_valid_even_for_long_sandbox_names() {
        let long = "a-very-long-sandbox-name-of-forty-chars-x";
        let first = unique_name(&long[..40]);
        assert!(crate::manifest::is_valid_name(&first), "{first}");
        assert!(first.starts_with("a-very-long-sand"));
        assert!(crate::manifest::is_valid_name(&unique_name("shop")));
    }
}
