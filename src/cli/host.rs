//! The foreground of `sandbox up --host`: the host processes, their output,
//! and Ctrl-C (PRODUCT.md 6.2).

use std::time::Duration;

use super::Globals;
use crate::agent::config::TUNNEL_PORT;
use crate::error::exit;
use crate::host::run::{self, HostEvent, Link, Supervisor};
use crate::manifest::{Kind, Loaded};
use crate::output;
use crate::runner::status::{Found, StatusDoc};
use crate::runner::DEFAULT_HEALTH_TIMEOUT;
use crate::{Error, Result};

/// Runs `names` on the host against the sandbox `up` just brought up
/// (`doc`), until Ctrl-C (exit 130) or until a process fails (exit 1); the
/// rest of the sandbox stays up either way.
pub async fn run(
    globals: &Globals,
    loaded: &Loaded,
    mut doc: StatusDoc,
    names: &[String],
    timeout: Option<Duration>,
    json: bool,
) -> Result<()> {
    let mut cancel = globals.interrupted();
    let engine = super::connect().await?;
    let found = Found::load(&engine, &loaded.name).await?;
    let token = found.token().map(str::to_owned);
    let registry = found.registry_url();
    let entries = run::prepare(
        loaded,
        &doc,
        names,
        timeout.unwrap_or(DEFAULT_HEALTH_TIMEOUT),
    )
    .map_err(|e| Error::Usage(e.0))?;
    let mut linked = Vec::new();
    for entry in entries {
        let forwarder = found
            .host_forwarders()
            .find(|c| c.entry() == Some(entry.entry.as_str()))
            .ok_or_else(|| {
                Error::Failed(format!(
                    "the forwarder of `{}` is not running; run `sandbox up --host` again",
                    entry.entry
                ))
            })?;
        let port = forwarder.published.get(&TUNNEL_PORT).copied().ok_or_else(|| {
            Error::Failed(format!(
                "the forwarder of `{}` publishes no tunnel port",
                entry.entry
            ))
        })?;
        linked.push((
            entry,
            Link {
                tunnel: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                token: token.clone(),
            },
        ));
    }
    let mut supervisor = Supervisor::start(linked, run::output_sink(json))
        .await
        .map_err(|e| Error::Failed(e.0))?;
    let sandbox = loaded.name.clone();
    let stays_up = format!(
        "the rest of sandbox `{sandbox}` stays up; `sandbox down{}` removes it",
        globals
            .name
            .as_ref()
            .map(|n| format!(" --name {n}"))
            .unwrap_or_default()
    );
    let mut waiting: Vec<String> = names.to_vec();
    loop {
        let event = tokio::select! {
            event = supervisor.events.recv() => event,
            _ = cancel.wait_for(|stop| *stop) => {
                supervisor.stop().await;
                output::eprintln(&format!(
                    "stopped {}; {stays_up}",
                    names.join(", ")
                ));
                return Err(Error::Status(exit::INTERRUPTED));
            }
        };
        let Some(event) = event else {
            return Err(Error::Failed("every host process ended".into()));
        };
        match event {
            HostEvent::Waiting { entry, port } => output::eprintln(&format!(
                "{entry}: waiting for you to start it on 127.0.0.1:{port} (from your IDE, under a debugger); `sandbox env {entry} --host` prints its environment"
            )),
            HostEvent::Healthy { entry, after } => {
                if let Some(registry) = &registry
                    && let Err(message) =
                        crate::registry::put_healthy(registry, token.as_deref(), std::slice::from_ref(&entry)).await
                {
                    output::eprintln(&format!("warning: {message}"));
                }
                let first = waiting.contains(&entry);
                waiting.retain(|e| *e != entry);
                if first {
                    output::eprintln(&format!(
                        "{entry}: healthy on the host after {:.1}s",
                        after.as_secs_f64()
                    ));
                    if waiting.is_empty() {
                        for status in doc.entries.iter_mut() {
                            if status.kind == Kind::Host.as_str() {
                                status.health = "up".into();
                            }
                        }
                        if json {
                            output::print_json(&doc)?;
                        } else {
                            output::print(&output::status_table(&doc))?;
                            output::eprintln(&format!(
                                "running {} on the host; Ctrl-C stops {}",
                                names.join(", "),
                                if names.len() == 1 { "it" } else { "them" }
                            ));
                        }
                    }
                } else {
                    output::eprintln(&format!(
                        "{entry}: restarted, healthy after {:.1}s",
                        after.as_secs_f64()
                    ));
                }
            }
            HostEvent::Failed {
                entry,
                message,
                last_lines,
            } => {
                supervisor.stop().await;
                return Err(Error::Failed(format!(
                    "`{entry}` on the host: {message}{}\n{stays_up}",
                    crate::runner::render_logs(&join_lines(&last_lines), 0)
                )));
            }
            HostEvent::Exited {
                entry,
                how,
                last_lines,
            } => {
                supervisor.stop().await;
                return Err(Error::Failed(format!(
                    "`{entry}` on the host {how}{}\n{stays_up}",
                    crate::runner::render_logs(&join_lines(&last_lines), 0)
                )));
            }
            HostEvent::Disconnected { entry, reason } => {
                supervisor.stop().await;
                return Err(Error::Failed(format!(
                    "the link to `{entry}`'s forwarder ended ({reason}); was the sandbox taken down? The host process was stopped"
                )));
            }
        }
    }
}

fn join_lines(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}
