//! The foreground of `sandbox up --host`: the host processes, their output,
//! and Ctrl-C (PRODUCT.md 6.2).

use std::net::SocketAddr;
use std::time::Duration;

use super::Globals;
use crate::agent::config::TUNNEL_PORT;
use crate::error::exit;
use crate::host::run::{self, Control, HostEvent, Link, Supervisor};
use crate::manifest::{Kind, Loaded};
use crate::output;
use crate::runner::DEFAULT_HEALTH_TIMEOUT;
use crate::runner::status::{Found, StatusDoc};
use crate::{Error, Result};

/// Runs `names` on the host against the sandbox `up` just brought up
/// (`doc`), until Ctrl-C (exit 130) or until a process fails (exit 1); the
/// rest of the sandbox stays up either way. With `watching`, the
/// supervisor's [`Control`] goes to `control` once every process is
/// healthy, and a process that ends or fails to restart is reported, not
/// fatal: the next change restarts it.
pub async fn run(
    globals: &Globals,
    loaded: &Loaded,
    mut doc: StatusDoc,
    names: &[String],
    timeout: Option<Duration>,
    json: bool,
    mut control: Option<tokio::sync::oneshot::Sender<Control>>,
) -> Result<()> {
    let mut cancel = globals.interrupted();
    let engine = super::connect().await?;
    let found = Found::load(&engine, &loaded.name).await?;
    let token = found.token().map(str::to_owned);
    let registry = found.registry_url();
    let network = crate::plan::network_name(&loaded.name);
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
        // A process a killed `up --host` left behind holds the port and
        // the forwarder's record of it: stop it first.
        if let Some(stopped) = crate::host::stop_left_behind_by(forwarder).await {
            output::eprintln(&format!(
                "{stopped}: stopped the process a previous `up --host` left behind"
            ));
        }
        let port = forwarder
            .published
            .get(&TUNNEL_PORT)
            .copied()
            .ok_or_else(|| {
                Error::Failed(format!(
                    "the forwarder of `{}` publishes no tunnel port",
                    entry.entry
                ))
            })?;
        let published = SocketAddr::from(([127, 0, 0, 1], port));
        let tunnel = match engine.address_on(&forwarder.id, &network).await {
            Ok(Some(address)) => direct_or(SocketAddr::new(address, TUNNEL_PORT), published).await,
            _ => published,
        };
        linked.push((
            entry,
            Link {
                tunnel,
                token: token.clone(),
            },
        ));
    }
    // The dashboard shows the processes' output too.
    let sink = match registry.clone() {
        Some(url) => crate::registry::forwarding_logs(url, token.clone(), run::output_sink(json)),
        None => run::output_sink(json),
    };
    let mut supervisor = Supervisor::start(linked, sink)
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
    let watching = control.is_some();
    loop {
        let event = tokio::select! {
            event = supervisor.events.recv() => event,
            _ = cancel.wait_for(|stop| *stop) => {
                supervisor.control.stop().await;
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
                    && let Err(message) = crate::registry::put_healthy(
                        registry,
                        token.as_deref(),
                        std::slice::from_ref(&entry),
                    )
                    .await
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
                        if let Some(control) = control.take() {
                            let _ = control.send(supervisor.control.clone());
                        }
                    }
                }
                // A restart is reported by whoever asked for it (`--watch`).
            }
            HostEvent::Failed {
                entry,
                message,
                last_lines,
            } => {
                let text = format!(
                    "`{entry}` on the host: {message}{}",
                    crate::runner::render_logs(&join_lines(&last_lines), 0)
                );
                // While watching, once up, the next change tries again.
                if watching && !waiting.contains(&entry) {
                    output::eprintln(&format!("{text}\n{entry}: the next change restarts it"));
                    continue;
                }
                supervisor.control.stop().await;
                return Err(Error::Failed(format!("{text}\n{stays_up}")));
            }
            HostEvent::Exited {
                entry,
                how,
                last_lines,
            } => {
                let text = format!(
                    "`{entry}` on the host {how}{}",
                    crate::runner::render_logs(&join_lines(&last_lines), 0)
                );
                if watching {
                    output::eprintln(&format!("{text}\n{entry}: the next change restarts it"));
                    continue;
                }
                supervisor.control.stop().await;
                return Err(Error::Failed(format!("{text}\n{stays_up}")));
            }
            HostEvent::Disconnected { entry, reason } => {
                supervisor.control.stop().await;
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

/// The forwarder's address on the sandbox's own network when this machine
/// reaches it (a local engine on Linux): one hop fewer than the port
/// published on 127.0.0.1, which is the way otherwise (an engine in a VM or
/// elsewhere).
async fn direct_or(direct: SocketAddr, published: SocketAddr) -> SocketAddr {
    let reach = tokio::time::timeout(
        Duration::from_millis(300),
        tokio::net::TcpStream::connect(direct),
    )
    .await;
    match reach {
        Ok(Ok(_)) => direct,
        _ => published,
    }
}
