//! Carries a plan out on the engine: resolves images, starts containers in
//! waves, waits for readiness, and cleans up on failure or interruption. It
//! never prints; it reports [`Event`]s to a [`Reporter`].

pub mod lock;
pub mod status;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::engine::image::{self, BuildFailure};
use crate::engine::{ContainerInfo, Engine, EngineError, labels};
use crate::health::{self, ProbeSpec};
use crate::plan::{self, ImageSource, Plan, Planned};

/// How long an entry may take to become healthy unless its manifest says.
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Grace period between SIGTERM and SIGKILL when stopping an agent, which
/// writes its last recordings on SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How a container is stopped before removal: an agent that records gets
/// SIGTERM and a grace period (its recordings must be complete); everything
/// else of an ephemeral sandbox is killed at once, since its volumes go
/// with it.
fn grace(container: &ContainerInfo) -> Option<Duration> {
    status::records(container).then_some(STOP_GRACE)
}
/// Lines of an entry's log shown when it fails.
pub const FAILURE_LOG_LINES: usize = 20;
/// Lines of an entry's log read when it fails, among which the health
/// probe's own requests are left out before the last
/// [`FAILURE_LOG_LINES`] are shown.
pub const FAILURE_LOG_SCAN: u64 = 500;
/// The longest one readiness probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// A probe with less time than this left before the deadline is not sent:
/// it could only time out, and hide the last real answer.
const MIN_PROBE_TIME: Duration = Duration::from_millis(50);
/// How long an entry waits before a failing probe is shown: while an entry
/// starts, refused connections are normal, not news.
pub const QUIET_WAIT: Duration = Duration::from_secs(2);

/// Something that happened while carrying out a plan.
#[derive(Debug, Clone)]
pub enum Event {
    ImageBuilding {
        entry: String,
    },
    ImageBuilt {
        entry: String,
        cached: bool,
    },
    ImagePulling {
        entry: String,
        status: String,
    },
    NetworkCreated {
        name: String,
    },
    EntryKept {
        entry: String,
    },
    EntryRemoved {
        entry: String,
    },
    EntryStarted {
        entry: String,
    },
    EntryHealthy {
        entry: String,
        after: Duration,
    },
    ProbeFailed {
        entry: String,
        reason: String,
    },
    /// A dependency served by the agent (a stub, replay or record): it is
    /// as ready as the agent.
    Served {
        entry: String,
        /// `stub`, `replay` or `record`.
        kind: String,
        state: ServedState,
    },
    /// The forwarder of an entry run on the host (`up --host`) started, or
    /// is ready after this long; the process itself comes after `up`.
    Forwarder {
        entry: String,
        ready: Option<Duration>,
    },
    /// Another `up` of the same sandbox is at work; this one waits for it.
    LockWaiting {
        holder: String,
    },
    /// Something went wrong that does not fail the job.
    Warning {
        message: String,
    },
}

/// Where a dependency served by the agent stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServedState {
    /// The agent is starting.
    Waiting,
    /// The agent is ready, after this long.
    Healthy(Duration),
}

/// Receives events; renderers in `output` implement it.
pub trait Reporter: Send + Sync {
    fn event(&self, event: Event);
}

/// A reporter that drops everything.
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: Event) {}
}

/// Why `up` failed.
#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("failed to build the image of `{entry}`{}: {message}", step.as_ref().map(|s| format!(" at `{s}`")).unwrap_or_default())]
    Build {
        entry: String,
        step: Option<String>,
        message: String,
    },
    #[error("failed to prepare the image of `{entry}`: {message}")]
    Image { entry: String, message: String },
    #[error("`{entry}` did not become healthy: {reason}{}", render_logs(logs, *left_out))]
    Unhealthy {
        entry: String,
        reason: String,
        /// The last log lines, the health probe's own requests left out.
        logs: String,
        /// How many of the probe's requests were left out of `logs`.
        left_out: usize,
    },
    #[error("{0}")]
    Interrupted(Cleanup),
}

/// What an interrupted `up` did with what it had started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cleanup {
    /// Empty when `up` was interrupted before it started anything.
    pub sandbox: String,
    /// Containers removed (or, with `kept`, left in place).
    pub containers: usize,
    /// Whether the sandbox's network was removed (or left).
    pub network: bool,
    /// `--keep`: what was started is left in place.
    pub kept: bool,
}

impl std::fmt::Display for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.sandbox.is_empty() {
            return write!(f, "interrupted before anything was started");
        }
        if self.containers == 0 && !self.network {
            return write!(
                f,
                "interrupted: nothing of sandbox `{}` had been started",
                self.sandbox
            );
        }
        let containers = match self.containers {
            0 => None,
            1 => Some("1 container".to_owned()),
            n => Some(format!("{n} containers")),
        };
        let what = match (containers, self.network) {
            (Some(c), true) => format!("{c} and the network"),
            (Some(c), false) => c,
            (None, _) => "the network".to_owned(),
        };
        if self.kept {
            write!(
                f,
                "interrupted: left {what} of sandbox `{0}` in place; `sandbox down --name {0}` removes them",
                self.sandbox
            )
        } else {
            write!(
                f,
                "interrupted: removed {what} of sandbox `{}`",
                self.sandbox
            )
        }
    }
}

impl UpError {
    /// Interrupted before anything was started.
    pub fn interrupted() -> UpError {
        UpError::Interrupted(Cleanup::default())
    }

    pub fn is_interrupted(&self) -> bool {
        matches!(self, UpError::Interrupted(_))
    }
}

/// The last log lines of a failed entry, and how many health-probe lines
/// were left out of them.
pub fn render_logs(logs: &str, left_out: usize) -> String {
    let mut text = if logs.trim().is_empty() {
        "\n(no log output)".to_owned()
    } else {
        let mut text = String::from("\nlast log lines:");
        for line in logs.lines() {
            text.push_str("\n  | ");
            text.push_str(line);
        }
        text
    };
    if left_out > 0 {
        text.push_str(&format!(
            "\n({left_out} health-probe line{} left out)",
            if left_out == 1 { "" } else { "s" }
        ));
    }
    text
}

/// The method and path of `probe` as an access log writes them, when it is
/// an HTTP probe.
pub fn probe_request(probe: Option<&ProbeSpec>) -> Option<(String, String)> {
    match probe? {
        ProbeSpec::Http { path, .. } => Some((
            "GET".to_owned(),
            if path.starts_with('/') {
                path.clone()
            } else {
                format!("/{path}")
            },
        )),
        _ => None,
    }
}

/// Whether `line` is an access-log line of a request `METHOD PATH`: the
/// two appear together, the path followed by the end, a space, a query or
/// a quote (`GET /healthz 200`, `"GET /healthz?x HTTP/1.1" 200`), so
/// `GET /healthzz` is not one.
pub fn is_probe_line(line: &str, method: &str, path: &str) -> bool {
    let request = format!("{method} {path}");
    let mut from = 0;
    while let Some(at) = line[from..].find(&request) {
        let end = from + at + request.len();
        let before_ok = from + at == 0
            || !line[..from + at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        let after_ok = line[end..]
            .chars()
            .next()
            .is_none_or(|c| c == ' ' || c == '?' || c == '"' || c == '\t');
        if before_ok && after_ok {
            return true;
        }
        from = end;
    }
    false
}

/// The last `keep` lines of `logs` that are not the health probe's own
/// requests (`probe`: its method and path), and how many probe lines
/// `logs` held.
pub fn without_probe_lines(
    logs: &str,
    probe: Option<(&str, &str)>,
    keep: usize,
) -> (String, usize) {
    let mut left_out = 0;
    let mut kept: Vec<&str> = Vec::new();
    for line in logs.lines() {
        if probe.is_some_and(|(method, path)| is_probe_line(line, method, path)) {
            left_out += 1;
        } else {
            kept.push(line);
        }
    }
    let shown = &kept[kept.len().saturating_sub(keep)..];
    let mut text = shown.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    (text, left_out)
}

/// The last log lines of a container that failed, without the health
/// probe's own requests: what `up`, `debug` and `run` show.
pub async fn failure_logs(
    engine: &Engine,
    container: &str,
    probe: Option<(&str, &str)>,
) -> (String, usize) {
    let logs = engine.tail_logs(container, FAILURE_LOG_SCAN).await;
    without_probe_lines(&logs, probe, FAILURE_LOG_LINES)
}

/// Whether a failed probe's `reason` replaces the last one shown: a probe
/// cut short by the deadline that timed out says less than the answer
/// before it.
fn replaces(last: Option<&str>, reason: &str, cut_short: bool) -> bool {
    match last {
        None => true,
        Some(_) if cut_short && reason.starts_with("timed out") => false,
        Some(_) => true,
    }
}

/// Settings of one `up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Leave what was started when `up` fails or is interrupted.
    pub keep: bool,
    /// Overrides every entry's health timeout.
    pub timeout: Option<Duration>,
}

/// What `up` did.
#[derive(Debug, Clone, Default)]
pub struct UpOutcome {
    pub created: Vec<String>,
    pub kept: Vec<String>,
    pub removed: Vec<String>,
}

/// A sandbox that `up` brought to its manifest's state.
#[derive(Debug, Clone)]
pub struct Brought {
    pub outcome: UpOutcome,
    /// The status document, every entry healthy; the registry agrees.
    pub status: status::StatusDoc,
}

/// Carries out `plan`: on success every entry is healthy, the registry knows
/// each entry's host URL and that it passed its readiness check, and the
/// status document says so. On failure or interruption (`cancel` turning
/// true) what this call started is removed unless `options.keep`. Holds the
/// sandbox's lock throughout, so a second `up` of the same sandbox waits and
/// then finds this one's work.
pub async fn up(
    engine: &Engine,
    mut plan: Plan,
    options: &UpOptions,
    reporter: &dyn Reporter,
    mut cancel: watch::Receiver<bool>,
) -> Result<Brought, UpError> {
    let agent_image = tokio::select! {
        image = ensure_agent_image(engine) => image.map_err(|message| UpError::Image {
            entry: "agent".into(),
            message,
        })?,
        _ = cancel.changed() => return Err(UpError::interrupted()),
    };
    let sandbox = plan.sandbox.clone();
    let lock = lock::Lock::acquire(engine, &sandbox, &agent_image, reporter, &mut cancel).await?;
    // Under the lock: the running agents' token, so that an unchanged agent
    // is kept and every agent answers to one token.
    match status::Found::load(engine, &sandbox).await {
        Ok(found) => {
            if let Some(token) = found.token() {
                plan.adopt_token(token);
            }
        }
        Err(error) => {
            lock.release(engine).await;
            return Err(error.into());
        }
    }
    let result = match up_locked(engine, plan, options, reporter, cancel).await {
        Ok(outcome) => announce(engine, &sandbox, reporter)
            .await
            .map(|status| Brought { outcome, status }),
        Err(error) => Err(error),
    };
    lock.release(engine).await;
    result
}

/// After a successful `up`: tells the registry where each entry is reachable
/// from the host and that each passed its readiness check, and returns the
/// status document.
async fn announce(
    engine: &Engine,
    sandbox: &str,
    reporter: &dyn Reporter,
) -> Result<status::StatusDoc, UpError> {
    let found = status::Found::load(engine, sandbox).await?;
    let token = found.token();
    let entries = found.entries(&HashMap::new());
    if let Some(registry) = found.registry_url() {
        let urls: Vec<(String, String)> = entries
            .iter()
            .filter_map(|e| Some((e.name.clone(), e.host_url.clone()?)))
            .collect();
        // An entry run on the host is healthy once its process answers,
        // which `up --host` awaits and tells the registry itself.
        let names: Vec<String> = entries
            .iter()
            .filter(|e| e.kind != crate::manifest::Kind::Host.as_str())
            .map(|e| e.name.clone())
            .collect();
        // The sandbox works without these; a registry that refuses them is
        // reported, not fatal.
        for told in [
            crate::registry::put_hosts(&registry, token, &urls).await,
            crate::registry::put_healthy(&registry, token, &names).await,
        ] {
            if let Err(message) = told {
                reporter.event(Event::Warning { message });
            }
        }
    }
    let health: HashMap<String, String> = entries
        .into_iter()
        .map(|e| {
            let health = if e.kind == crate::manifest::Kind::Host.as_str() {
                "starting"
            } else {
                "up"
            };
            (e.name, health.to_owned())
        })
        .collect();
    Ok(found.doc(sandbox, &health))
}

async fn up_locked(
    engine: &Engine,
    mut plan: Plan,
    options: &UpOptions,
    reporter: &dyn Reporter,
    mut cancel: watch::Receiver<bool>,
) -> Result<UpOutcome, UpError> {
    let mut outcome = UpOutcome::default();
    let mut created_network = false;
    // Whether any of the sandbox ran before this call: then a failure
    // removes only what this call started, never what was there.
    let mut existed = true;
    let result = async {
        let existing = engine
            .containers_with_label(&labels::of_sandbox(&plan.sandbox))
            .await?;
        // The lock is not part of the sandbox's state.
        let existing: HashMap<String, ContainerInfo> = existing
            .into_iter()
            .filter(|c| c.label(labels::ROLE) != Some("lock"))
            .map(|c| (c.name.clone(), c))
            .collect();
        existed = !existing.is_empty();
        // Builds can take minutes: an interruption must not wait for them.
        let mut interrupted = cancel.clone();
        tokio::select! {
            resolved = resolve_images(engine, &mut plan, reporter) => resolved?,
            _ = interrupted.wait_for(|stop| *stop) => return Err(UpError::interrupted()),
        }

        // What to keep, what to replace, what no longer belongs.
        let planned_names: HashSet<&str> = plan
            .containers
            .iter()
            .map(|c| c.spec.name.as_str())
            .collect();
        let mut stale: Vec<&ContainerInfo> = existing
            .values()
            .filter(|c| !planned_names.contains(c.name.as_str()))
            .collect();
        let mut to_start = Vec::new();
        for planned in &plan.containers {
            match existing.get(&planned.spec.name) {
                Some(current)
                    if current.is_running()
                        && current.label(labels::HASH)
                            == planned.spec.labels.get(labels::HASH).map(String::as_str) =>
                {
                    reporter.event(Event::EntryKept {
                        entry: planned.entry.clone(),
                    });

                    outcome.kept.push(planned.entry.clone());
                }
                Some(current) => {
                    stale.push(current);
                    to_start.push(planned.spec.name.clone());
                }
                None => to_start.push(planned.spec.name.clone()),
            }
        }
        let removals = stale.iter().map(|c| async move {
            engine.remove_container(&c.id, grace(c)).await?;
            Ok::<_, EngineError>(c.display_name())
        });
        for removed in join_all(removals).await {
            let entry = removed?;
            reporter.event(Event::EntryRemoved {
                entry: entry.clone(),
            });
            outcome.removed.push(entry);
        }
        check_cancel(&cancel)?;

        let mut network_labels = HashMap::from([(labels::NAME.to_owned(), plan.sandbox.clone())]);
        network_labels.insert(labels::ENTRY.into(), "network".into());
        if engine.ensure_network(&plan.network, network_labels).await? {
            created_network = true;
            reporter.event(Event::NetworkCreated {
                name: plan.network.clone(),
            });
        }

        // Every service and real dependency also sends its output to the
        // agent, which never reads the engine: so the agent starts first,
        // and its address is where the others' log driver sends.
        let agent = plan
            .containers
            .iter()
            .find(|c| c.role == plan::Role::Agent && c.kind == "agent");
        let mut started_first = None;
        let agent_id = match agent {
            Some(agent) if to_start.contains(&agent.spec.name) => {
                let (entry, id) = start_one(engine, agent).await?;
                outcome.created.push(id.clone());
                reporter.event(Event::EntryStarted { entry });
                started_first = Some(agent.spec.name.clone());
                Some(id)
            }
            Some(agent) => existing.get(&agent.spec.name).map(|c| c.id.clone()),
            None => None,
        };
        check_cancel(&cancel)?;
        if let Some(id) = agent_id {
            if let Some(ip) = engine.address_in_engine(&id, &plan.network).await? {
                let address = format!("udp://{ip}:{}", crate::agent::logs::GELF_PORT);
                for planned in &mut plan.containers {
                    // A host entry's container is the agent's tunnel, not the entry.
                    if planned.role != plan::Role::Agent
                        && planned.kind != crate::manifest::Kind::Host.as_str()
                    {
                        planned.spec.log_to = Some((address.clone(), planned.entry.clone()));
                    }
                }
            }
        }

        for wave in [0u8, 1] {
            let in_wave: Vec<&Planned> =
                plan.containers.iter().filter(|c| c.wave == wave).collect();
            let starts = in_wave
                .iter()
                .filter(|c| to_start.contains(&c.spec.name))
                .filter(|c| started_first.as_ref() != Some(&c.spec.name))
                .map(|c| start_one(engine, c));
            for started in join_all(starts).await {
                let (entry, id) = started?;
                outcome.created.push(id);
                let on_host = in_wave
                    .iter()
                    .any(|c| c.entry == entry && c.kind == crate::manifest::Kind::Host.as_str());
                reporter.event(if on_host {
                    Event::Forwarder { entry, ready: None }
                } else {
                    Event::EntryStarted { entry }
                });
            }
            check_cancel(&cancel)?;
            let waits = in_wave
                .iter()
                .map(|c| wait_ready(engine, c, options.timeout, reporter, cancel.clone()));
            for ready in join_all(waits).await {
                ready?;
            }
        }
        Ok::<(), UpError>(())
    }
    .await;

    match result {
        Ok(()) => Ok(outcome),
        Err(error) => {
            let mut cleanup = Cleanup {
                sandbox: plan.sandbox.clone(),
                kept: options.keep,
                ..Cleanup::default()
            };
            if options.keep {
                cleanup.containers = outcome.created.len();
                cleanup.network = created_network;
            } else if !existed {
                // Nothing of the sandbox was running before: remove
                // every object of it by label, so a container whose
                // creation was cut short goes too (the lock stays until
                // released).
                if let Ok((containers, networks)) = remove_by_label(engine, &plan.sandbox).await {
                    cleanup.containers = containers;
                    cleanup.network = networks > 0;
                }
            } else {
                // Remove what this call started; leave what it kept.
                let removals = outcome
                    .created
                    .iter()
                    .map(|id| engine.remove_container(id, Some(STOP_GRACE)));
                cleanup.containers = join_all(removals)
                    .await
                    .iter()
                    .filter(|r| r.is_ok())
                    .count();
                if created_network {
                    cleanup.network = remove_networks(engine, &labels::of_sandbox(&plan.sandbox))
                        .await
                        .is_ok_and(|n| n > 0);
                }
            }
            // A signal that arrived while we failed still means "interrupted".
            if *cancel.borrow_and_update() || error.is_interrupted() {
                return Err(UpError::Interrupted(cleanup));
            }
            Err(error)
        }
    }
}

/// Removes every container (but the lock) and network of a sandbox; says
/// how many of each.
async fn remove_by_label(engine: &Engine, sandbox: &str) -> Result<(usize, usize), EngineError> {
    let selector = labels::of_sandbox(sandbox);
    let containers = engine.containers_with_label(&selector).await?;
    let removals = containers
        .iter()
        .filter(|c| c.label(labels::ROLE) != Some("lock"))
        .map(|c| engine.remove_container(&c.id, grace(c)));
    let mut count = 0;
    for removed in join_all(removals).await {
        removed?;
        count += 1;
    }
    Ok((count, remove_networks(engine, &selector).await?))
}

fn check_cancel(cancel: &watch::Receiver<bool>) -> Result<(), UpError> {
    if *cancel.borrow() {
        Err(UpError::interrupted())
    } else {
        Ok(())
    }
}

async fn start_one(engine: &Engine, planned: &Planned) -> Result<(String, String), UpError> {
    let id = match engine.create_container(&planned.spec).await {
        Ok(id) => id,
        Err(EngineError::Conflict { .. }) => {
            // A container of that name left by an earlier, interrupted run.
            engine.remove_container(&planned.spec.name, None).await?;
            engine.create_container(&planned.spec).await?
        }
        Err(other) => return Err(other.into()),
    };
    for (folder, name, contents) in &planned.files {
        if let Err(error) = engine
            .upload_files(&id, folder, &[(name.as_str(), contents.as_slice())])
            .await
        {
            let _ = engine.remove_container(&id, None).await;
            return Err(error.into());
        }
    }
    if let Err(error) = engine.start_container(&id).await {
        let _ = engine.remove_container(&id, None).await;
        return Err(error.into());
    }
    Ok((planned.entry.clone(), id))
}

/// The dependencies the agent `planned` serves, as (name, kind).
fn served_by(planned: &Planned) -> Vec<(String, String)> {
    if planned.role != plan::Role::Agent {
        return Vec::new();
    }
    planned
        .spec
        .labels
        .get(labels::SERVED)
        .and_then(|s| serde_json::from_str::<Vec<plan::ServedLabel>>(s).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.name, s.kind.as_str().to_owned()))
        .collect()
}

/// Reports the state of every dependency the agent `planned` serves.
fn report_served(planned: &Planned, state: ServedState, reporter: &dyn Reporter) {
    for (entry, kind) in served_by(planned) {
        reporter.event(Event::Served { entry, kind, state });
    }
}

/// Waits until `planned` is ready: its container runs and its readiness
/// probe passes, within its health timeout.
async fn wait_ready(
    engine: &Engine,
    planned: &Planned,
    timeout: Option<Duration>,
    reporter: &dyn Reporter,
    mut cancel: watch::Receiver<bool>,
) -> Result<(), UpError> {
    let started = Instant::now();
    let limit = timeout
        .or_else(|| planned.health.as_ref().and_then(|h| h.timeout.map(|t| t.0)))
        .unwrap_or(DEFAULT_HEALTH_TIMEOUT);
    let deadline = started + limit;
    // The last real answer of the probe, and the last one shown.
    let mut last_reason: Option<String> = None;
    let mut shown: Option<String> = None;
    // Ports appear in inspect only once the container runs.
    let (mut running, _, published) = engine.inspect_container(&planned.spec.name).await?;
    let probe = planned.readiness(&published);
    // The health probe's own requests, left out of the failure logs: the
    // manifest's http check (which the registry sends too, also while the
    // entry is being debugged), else what `up` probes.
    let request = match planned.health.as_ref().and_then(|h| h.probe()) {
        Some(crate::manifest::ProbeKind::Http(path)) => Some((
            "GET".to_owned(),
            if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            },
        )),
        _ => probe_request(probe.as_ref()),
    };
    let request = request.as_ref().map(|(m, p)| (m.as_str(), p.as_str()));
    report_served(planned, ServedState::Waiting, reporter);
    loop {
        let mut cut_short = false;
        let attempt = match &probe {
            // Without a probe, running is ready.
            None if running => Some(Ok(())),
            None => Some(Err("the container is not running".to_owned())),
            Some(ProbeSpec::Exec { command, .. }) => Some(
                match engine.exec_capture(&planned.spec.name, command).await {
                    Ok((0, _)) => Ok(()),
                    Ok((code, output)) => Err(format!(
                        "`{}` exited with code {code}{}",
                        command.join(" "),
                        health::exec::first_line(&output)
                    )),
                    Err(error) => Err(error.to_string()),
                },
            ),
            Some(spec) => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                let budget = remaining.min(PROBE_TIMEOUT);
                cut_short = budget < PROBE_TIMEOUT;
                // With no time left a probe could only time out.
                if budget < MIN_PROBE_TIME {
                    None
                } else {
                    Some(health::probe(spec, budget).await)
                }
            }
        };
        match attempt {
            Some(Ok(())) => {
                let after = started.elapsed();
                reporter.event(if planned.kind == crate::manifest::Kind::Host.as_str() {
                    Event::Forwarder {
                        entry: planned.entry.clone(),
                        ready: Some(after),
                    }
                } else {
                    Event::EntryHealthy {
                        entry: planned.entry.clone(),
                        after,
                    }
                });
                report_served(planned, ServedState::Healthy(after), reporter);
                return Ok(());
            }
            Some(Err(reason)) if replaces(last_reason.as_deref(), &reason, cut_short) => {
                last_reason = Some(reason);
            }
            Some(Err(_)) | None => {}
        }
        // While an entry starts, failing probes are normal: they are shown
        // once it has waited a while.
        if started.elapsed() > QUIET_WAIT && last_reason != shown {
            if let Some(reason) = &last_reason {
                reporter.event(Event::ProbeFailed {
                    entry: planned.entry.clone(),
                    reason: reason.clone(),
                });
            }
            shown = last_reason.clone();
        }
        // Not ready: a container that exited will never be.
        let (now_running, exit_code, _) = engine.inspect_container(&planned.spec.name).await?;
        running = now_running;
        if !running {
            let (logs, left_out) = failure_logs(engine, &planned.spec.name, request).await;
            return Err(UpError::Unhealthy {
                entry: planned.entry.clone(),
                reason: format!(
                    "the container exited{}",
                    exit_code
                        .map(|c| format!(" with code {c}"))
                        .unwrap_or_default()
                ),
                logs,
                left_out,
            });
        }
        if Instant::now() >= deadline {
            let (logs, left_out) = failure_logs(engine, &planned.spec.name, request).await;
            return Err(UpError::Unhealthy {
                entry: planned.entry.clone(),
                reason: format!(
                    "{} (gave up after {})",
                    last_reason.as_deref().unwrap_or("no probe ran"),
                    health::http::human(limit)
                ),
                logs,
                left_out,
            });
        }
        // Short pauses while starting is likely quick, longer ones after.
        let pause = if started.elapsed() < QUIET_WAIT {
            Duration::from_millis(50)
        } else {
            Duration::from_millis(200)
        };
        tokio::select! {
            _ = tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))) => {}
            _ = cancel.changed() => return Err(UpError::interrupted()),
        }
    }
}

/// Resolves every planned image (building, pulling or importing as needed),
/// fills `spec.image`, and stamps each spec with the hash of what it is
/// made of.
async fn resolve_images(
    engine: &Engine,
    plan: &mut Plan,
    reporter: &dyn Reporter,
) -> Result<(), UpError> {
    let sandbox = plan.sandbox.clone();
    let mut unique: Vec<ImageSource> = Vec::new();
    for planned in &plan.containers {
        if !unique.contains(&planned.image) {
            unique.push(planned.image.clone());
        }
    }
    let entry_of = |source: &ImageSource| {
        plan.containers
            .iter()
            .find(|c| &c.image == source)
            .map(|c| c.entry.clone())
            .unwrap_or_default()
    };
    let jobs = unique.iter().map(|source| {
        let entry = entry_of(source);
        let sandbox = sandbox.clone();
        async move {
            let reference = resolve_one(engine, source, &entry, &sandbox, reporter).await?;
            // What the container hash takes for its image. A built image and
            // the agent image are tagged by their content, so the tag says it
            // all: two `up` that build or import the same content at once
            // move the tag to a second, identical image, and that must not
            // make the next `up` replace containers. An image named by the
            // manifest may be rebuilt under the same tag: its id counts.
            let id = match source {
                ImageSource::Reference(_) => engine.image_id(&reference).await?,
                ImageSource::Build { .. } | ImageSource::Agent => reference.clone(),
            };
            Ok::<_, UpError>((source.clone(), reference, id))
        }
    });
    let mut resolved = Vec::new();
    for result in join_all(jobs).await {
        resolved.push(result?);
    }
    for planned in &mut plan.containers {
        let (_, reference, id) = resolved
            .iter()
            .find(|(source, _, _)| source == &planned.image)
            .expect("every image source was resolved");
        planned.spec.image = reference.clone();
        let mut hasher = Sha256::new();
        hasher.update(serde_json::to_vec(&planned.spec).expect("a container spec serializes"));
        hasher.update(id.as_bytes());
        for (folder, name, contents) in &planned.files {
            hasher.update(folder.as_bytes());
            hasher.update(name.as_bytes());
            hasher.update(contents);
        }
        let hash = image::hex(&hasher.finalize());
        planned
            .spec
            .labels
            .insert(labels::HASH.into(), hash[..16].to_owned());
    }
    Ok(())
}

async fn resolve_one(
    engine: &Engine,
    source: &ImageSource,
    entry: &str,
    sandbox: &str,
    reporter: &dyn Reporter,
) -> Result<String, UpError> {
    match source {
        ImageSource::Reference(reference) => {
            engine
                .ensure_image(reference, |status| {
                    reporter.event(Event::ImagePulling {
                        entry: entry.to_owned(),
                        status: status.to_owned(),
                    })
                })
                .await?;
            Ok(reference.clone())
        }
        ImageSource::Build {
            context,
            dockerfile,
            args,
        } => {
            let (context, dockerfile_name) = (context.clone(), dockerfile.clone());
            let (tar, hash) =
                tokio::task::spawn_blocking(move || image::context_tar(&context, &dockerfile_name))
                    .await
                    .map_err(|e| UpError::Image {
                        entry: entry.to_owned(),
                        message: e.to_string(),
                    })?
                    .map_err(|e| UpError::Image {
                        entry: entry.to_owned(),
                        message: format!("cannot read the build context: {e}"),
                    })?;
            let mut hasher = Sha256::new();
            hasher.update(hash.as_bytes());
            hasher.update(dockerfile.as_bytes());
            let mut sorted: Vec<_> = args.iter().collect();
            sorted.sort();
            for (key, value) in sorted {
                hasher.update(format!("{key}={value}\n").as_bytes());
            }
            let tag = format!("sandbox-{entry}:{}", &image::hex(&hasher.finalize())[..16]);
            if engine.image_exists(&tag).await? {
                reporter.event(Event::ImageBuilt {
                    entry: entry.to_owned(),
                    cached: true,
                });
                return Ok(tag);
            }
            reporter.event(Event::ImageBuilding {
                entry: entry.to_owned(),
            });
            let image_labels = HashMap::from([(labels::NAME.to_owned(), sandbox.to_owned())]);
            engine
                .build_image(tar, dockerfile, args, &tag, &image_labels, |_| {})
                .await
                .map_err(|BuildFailure { step, message }| UpError::Build {
                    entry: entry.to_owned(),
                    step,
                    message,
                })?;
            reporter.event(Event::ImageBuilt {
                entry: entry.to_owned(),
                cached: false,
            });
            Ok(tag)
        }
        ImageSource::Agent => ensure_agent_image(engine)
            .await
            .map_err(|message| UpError::Image {
                entry: entry.to_owned(),
                message,
            }),
    }
}

/// Refuses an engine whose OS or architecture cannot run this binary (the
/// agent image is this binary).
async fn same_platform(engine: &Engine) -> Result<(), String> {
    let (os, arch) = engine.platform().await.map_err(|e| e.to_string())?;
    match platform_refusal(
        engine.endpoint(),
        (&os, &arch),
        (std::env::consts::OS, std::env::consts::ARCH),
    ) {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// Why an engine on `engine` (OS and architecture in Go's names) cannot
/// run a binary built for `ours` (Rust's names); None when it can.
fn platform_refusal(endpoint: &str, engine: (&str, &str), ours: (&str, &str)) -> Option<String> {
    let (os, arch) = engine;
    let our_arch = match ours.1 {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "riscv64" => "riscv64",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        other => other,
    };
    let our_os = ours.0;
    if os == our_os && arch == our_arch {
        return None;
    }
    Some(format!(
        "the engine at {endpoint} is {os}/{arch} but this sandbox binary is {our_os}/{our_arch}; run a sandbox built for {os}/{arch} (on that host, or cross-compiled), or point DOCKER_HOST at a {our_os}/{our_arch} engine"
    ))
}

/// Makes sure the agent image of the running binary exists; it is tagged by
/// the binary's content hash, so it is made once per build of `sandbox`.
pub async fn ensure_agent_image(engine: &Engine) -> Result<String, String> {
    if !engine.is_local() {
        same_platform(engine).await?;
    }
    let (binary, hash) = agent_binary().await?;
    let tag = format!("sandbox-agent:{}", &hash[..16]);
    if engine.image_exists(&tag).await.map_err(|e| e.to_string())? {
        return Ok(tag);
    }
    let name = plan::AGENT_BINARY.trim_start_matches('/').to_owned();
    let dir = plan::AGENT_DIR.trim_start_matches('/').to_owned();
    let (tar, _) =
        tokio::task::spawn_blocking(move || image::binary_rootfs(&binary, &name, &[dir.as_str()]))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot pack the agent image: {e}"))?;
    let changes = vec![
        format!("ENTRYPOINT [\"{}\"]", plan::AGENT_BINARY),
        format!("LABEL {}={}", labels::AGENT_IMAGE, &hash[..16]),
    ];
    engine
        .import_image(tar, &tag, &changes)
        .await
        .map_err(|e| e.to_string())?;
    Ok(tag)
}

/// The running binary and its content hash, computed once per process.
async fn agent_binary() -> Result<(std::path::PathBuf, String), String> {
    static HASH: tokio::sync::OnceCell<(std::path::PathBuf, String)> =
        tokio::sync::OnceCell::const_new();
    HASH.get_or_try_init(|| async {
        let binary =
            std::env::current_exe().map_err(|e| format!("cannot find the running binary: {e}"))?;
        let path = binary.clone();
        let hash = tokio::task::spawn_blocking(move || {
            std::fs::read(&path).map(|data| image::hex(&Sha256::digest(&data)))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot read {}: {e}", binary.display()))?;
        Ok((binary, hash))
    })
    .await
    .cloned()
}

/// What `down` removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DownReport {
    pub sandboxes: Vec<String>,
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    pub images: usize,
    /// Recordings that could not be written, with the reason.
    pub recording_errors: Vec<crate::agent::client::Recording>,
    /// Recording agents that did not answer before they were stopped.
    #[serde(skip)]
    pub unreachable: Vec<String>,
    /// Entries whose host processes, left behind by a killed `up --host`,
    /// were stopped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_processes: Vec<String>,
}

/// Asks every recording agent to write its recordings (and reports those
/// that could not be written), then removes every container, network and
/// volume whose labels match `selector` (`dev.sandbox.name=X`, or
/// `dev.sandbox.name` for all), then the agent images no container uses any
/// more, except the running binary's own (another `up` of this binary may
/// be about to use it).
pub async fn down(engine: &Engine, selector: &str) -> Result<DownReport, EngineError> {
    // Recordings are written before their agents go, and a failure is said.
    let containers = engine.containers_with_label(selector).await?;
    let flushed = status::flush_recordings(&containers).await;
    let host_processes = crate::host::stop_left_behind(&containers).await;
    let mut report = DownReport {
        recording_errors: flushed.failed,
        unreachable: flushed.unreachable,
        host_processes,
        ..Default::default()
    };
    let mut sandboxes: Vec<String> = containers
        .iter()
        .filter_map(|c| c.label(labels::NAME).map(str::to_owned))
        .collect();
    let removals = containers
        .iter()
        .map(|c| engine.remove_container(&c.id, grace(c)));
    for removed in join_all(removals).await {
        removed?;
        report.containers += 1;
    }
    report.networks = remove_networks(engine, selector).await?;
    report.volumes = engine.remove_volumes_with_label(selector).await?;
    let own = agent_binary()
        .await
        .ok()
        .map(|(_, hash)| format!("sandbox-agent:{}", &hash[..16]));
    for (id, tags) in engine.images_with_label(labels::AGENT_IMAGE).await? {
        if own.as_ref().is_some_and(|own| tags.contains(own)) {
            continue;
        }
        // Best effort: another `down` may be removing the same image, or an
        // `up` of another build may be about to use it.
        if let Ok(true) = engine.remove_image(&id).await {
            report.images += 1;
        }
    }
    sandboxes.sort();
    sandboxes.dedup();
    if !engine.is_local() {
        for sandbox in &sandboxes {
            crate::engine::forward::stop(engine.target(), sandbox);
        }
    }
    report.sandboxes = sandboxes;
    Ok(report)
}

async fn remove_networks(engine: &Engine, selector: &str) -> Result<usize, EngineError> {
    let networks = engine.networks_with_label(selector).await?;
    for (id, _) in &networks {
        engine.remove_network(id).await?;
    }
    Ok(networks.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_of_another_platform_is_refused_in_one_line() {
        let endpoint = "ssh://ci@bigbox";
        assert_eq!(
            platform_refusal(endpoint, ("linux", "amd64"), ("linux", "x86_64")),
            None
        );
        assert_eq!(
            platform_refusal(endpoint, ("linux", "arm64"), ("linux", "aarch64")),
            None
        );
        let refusal = platform_refusal(endpoint, ("linux", "arm64"), ("linux", "x86_64")).unwrap();
        assert!(!refusal.contains('\n'), "{refusal}");
        assert!(
            refusal.contains("ssh://ci@bigbox is linux/arm64")
                && refusal.contains("binary is linux/amd64")
                && refusal.contains("run a sandbox built for linux/arm64"),
            "{refusal}"
        );
        let windows =
            platform_refusal(endpoint, ("windows", "amd64"), ("linux", "x86_64")).unwrap();
        assert!(windows.contains("is windows/amd64"), "{windows}");
    }

    #[test]
    fn a_probe_cut_short_by_the_deadline_keeps_the_last_real_answer() {
        let answer = "status 404 from GET /nothere (expected 2xx)";
        // The first failure is always kept, a timeout too.
        assert!(replaces(None, "timed out after 40ms", true));
        // A later real answer replaces an earlier one.
        assert!(replaces(Some("connection refused"), answer, false));
        assert!(replaces(Some("connection refused"), answer, true));
        // A probe with a full budget that timed out says something.
        assert!(replaces(Some(answer), "timed out after 2s", false));
        // One the deadline cut short does not.
        assert!(!replaces(Some(answer), "timed out after 40ms", true));
        assert_eq!(health::http::human(Duration::ZERO), "0s");
    }

    #[test]
    fn an_interruption_says_what_was_removed_or_left() {
        let cleanup = |containers, network, kept| Cleanup {
            sandbox: "shop".into(),
            containers,
            network,
            kept,
        };
        assert_eq!(
            UpError::Interrupted(cleanup(3, true, false)).to_string(),
            "interrupted: removed 3 containers and the network of sandbox `shop`"
        );
        assert_eq!(
            cleanup(1, false, true).to_string(),
            "interrupted: left 1 container of sandbox `shop` in place; `sandbox down --name shop` removes them"
        );
        assert_eq!(
            cleanup(0, false, false).to_string(),
            "interrupted: nothing of sandbox `shop` had been started"
        );
        assert_eq!(
            UpError::interrupted().to_string(),
            "interrupted before anything was started"
        );
    }

    /// A service's log in which the health probe's requests bury the cause.
    const FIXTURE_LOG: &str = "\
listening on :8080
GET /healthz 200
config: cannot open /etc/app.toml, using defaults
GET /healthz 200
\"GET /healthz?full=1 HTTP/1.1\" 200 12
GET /healthzz 404
POST /healthz 405
GET /orders 500
panic: no database
GET /healthz 503
";

    #[test]
    fn failure_logs_leave_out_the_health_probe_lines() {
        let (text, left_out) =
            without_probe_lines(FIXTURE_LOG, Some(("GET", "/healthz")), FAILURE_LOG_LINES);
        assert_eq!(left_out, 4);
        assert_eq!(
            text,
            "listening on :8080\n\
             config: cannot open /etc/app.toml, using defaults\n\
             GET /healthzz 404\n\
             POST /healthz 405\n\
             GET /orders 500\n\
             panic: no database\n"
        );
        // The last lines that remain, however many probe lines came after.
        let (text, left_out) = without_probe_lines(FIXTURE_LOG, Some(("GET", "/healthz")), 2);
        assert_eq!(text, "GET /orders 500\npanic: no database\n");
        assert_eq!(left_out, 4);
        // Without an HTTP probe nothing is left out.
        let (text, left_out) = without_probe_lines(FIXTURE_LOG, None, 100);
        assert_eq!((text.as_str(), left_out), (FIXTURE_LOG, 0));
        assert_eq!(
            render_logs("panic: no database\n", 12),
            "\nlast log lines:\n  | panic: no database\n(12 health-probe lines left out)"
        );
        assert_eq!(render_logs("", 0), "\n(no log output)");
    }
}
