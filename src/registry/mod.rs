//! The service registry (PRODUCT.md section 3): served by the agent inside
//! the sandbox, it lists every entry with its API, live health and addresses.
//!
//! HTTP API (JSON everywhere, HTTP/1.1 with keep-alive):
//!
//! - `GET /services` → `{"sandbox": "shop", "services": [ENTRY, ...]}` in
//!   manifest order.
//! - `GET /services/{name}` → `ENTRY`; 404 `{"error", "entries": [names]}`.
//! - `GET /services/{name}/openapi` → the OpenAPI document; 404 with a reason
//!   when the entry declares none.
//! - `PUT /_sandbox/hosts` with `{"<entry>": "http://127.0.0.1:P" | null}` →
//!   `{"updated": [names]}`; 404 naming unknown entries (nothing changes),
//!   400 for a bad body. It needs the sandbox's token (`Authorization:
//!   Bearer TOKEN`, see `registry::token`) when the registry has one: 401
//!   `{"error"}` otherwise. Every read stays open on the network.
//! - `PUT /_sandbox/healthy` with `["<entry>", ...]`: `up` saw these entries
//!   pass their readiness checks just now; an entry the registry has not yet
//!   seen up becomes `up` at once, so `status` never shows `starting` for
//!   an entry `up` reported healthy → `{"updated": [names]}`; 404 naming
//!   unknown entries (nothing changes). Needs the token, as above.
//! - `GET /_sandbox/health` → `{"ok": true}`; `GET /_sandbox/metrics` →
//!   `{"probes": N, "uptime_s": F}`.
//!
//! `ENTRY` is [`EntryDoc`]. Health is probed from inside the network every
//! [`PROBE_INTERVAL`], each entry on its own task with its own
//! [`PROBE_TIMEOUT`], so a hung entry delays nobody else.

mod client;
mod live;
mod server;
pub mod token;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::health::{ExecProber, ProbeSpec};
use crate::manifest::Kind;

pub use client::{forwarding_logs, put_healthy, put_hosts, render_table, services};
use live::{Health, State};

/// How often each entry is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How long one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// What the registry serves, built by the CLI from the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistryConfig {
    pub sandbox: String,
    pub entries: Vec<RegistryEntry>,
}

/// One entry as configured (health is found at run time).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistryEntry {
    pub name: String,
    /// `service` or `dependency`.
    pub role: String,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `http://<name>:<first port>` on the sandbox network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_url: Option<String>,
    /// Filled in by the CLI once ports are published (`PUT /_sandbox/hosts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiInfo>,
    /// How to tell whether the entry works, from inside the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The OpenAPI document, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openapi: Option<serde_json::Value>,
}

/// `GET /services`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicesDoc {
    pub sandbox: String,
    pub services: Vec<EntryDoc>,
}

/// One entry as the registry answers it (`ENTRY` in PRODUCT.md). Absent
/// values are `null`, never missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryDoc {
    pub name: String,
    /// `service` or `dependency`.
    pub role: String,
    pub kind: Kind,
    /// The entry's owner, else the sandbox's.
    pub owner: Option<String>,
    pub internal_url: Option<String>,
    pub host_url: Option<String>,
    pub api: Option<ApiDoc>,
    pub health: HealthDoc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiDoc {
    pub description: Option<String>,
    /// Where the document is served: `/services/<name>/openapi`.
    pub openapi: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthDoc {
    pub status: HealthStatus,
    /// When the latest probe ran (RFC 3339, UTC, milliseconds); `null`
    /// before the first and for entries that are not probed.
    pub checked_at: Option<String>,
    /// Why it failed, or what passed ("GET /healthz answered 200").
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Up,
    Down,
    Starting,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Up => "up",
            HealthStatus::Down => "down",
            HealthStatus::Starting => "starting",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serves the registry on `listener` until the process ends.
pub async fn serve(
    config: RegistryConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    serve_with(config, listener, None, None).await
}

/// Serves the registry on `listener`, running exec probes through `exec`
/// when given. Without it, an exec-probed entry is probed by a TCP connect to
/// its internal URL, or shown `up` unprobed when it has none. With `token`,
/// `PUT /_sandbox/hosts` needs it.
///
/// Probing and open connections stop when this future is dropped.
pub async fn serve_with(
    config: RegistryConfig,
    listener: tokio::net::TcpListener,
    exec: Option<Arc<dyn ExecProber>>,
    token: Option<String>,
) -> std::io::Result<()> {
    let plans: Vec<Plan> = config
        .entries
        .iter()
        .map(|e| plan(e, exec.is_some()))
        .collect();
    let initial = plans
        .iter()
        .map(|p| match p {
            Plan::Probe(_) => Health::starting(),
            Plan::Unprobed(detail) => Health::unprobed(detail),
        })
        .collect();
    let mut state = State::new(config, initial);
    state.token = token;
    let state = Arc::new(state);

    let mut probers = JoinSet::new();
    for (i, plan) in plans.into_iter().enumerate() {
        if let Plan::Probe(spec) = plan {
            probers.spawn(watch(state.clone(), i, spec, exec.clone()));
        }
    }

    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) if is_transient(&e) => {
                // Out of descriptors or a connection reset before accept:
                // wait a little rather than spin or stop serving.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        connections.spawn(async move {
            let service =
                hyper::service::service_fn(move |request| server::handle(state.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) || e
        .raw_os_error()
        .is_some_and(|code| code == 23 || code == 24) // ENFILE, EMFILE
}

/// How an entry's health is found.
enum Plan {
    Probe(ProbeSpec),
    Unprobed(&'static str),
}

fn plan(entry: &RegistryEntry, has_exec: bool) -> Plan {
    match &entry.probe {
        None => Plan::Unprobed("no health check declared"),
        Some(ProbeSpec::Exec { .. }) if !has_exec => {
            match entry
                .internal_url
                .as_deref()
                .and_then(|url| crate::health::http::Target::parse(url).ok())
            {
                Some(target) => Plan::Probe(ProbeSpec::Tcp {
                    host: target.host,
                    port: target.port,
                }),
                None => {
                    Plan::Unprobed("no probe from the registry: exec probes run through the engine")
                }
            }
        }
        Some(spec) => Plan::Probe(spec.clone()),
    }
}

/// Probes entry `i` every [`PROBE_INTERVAL`] (or right after a probe that
/// took longer) for as long as the registry runs.
async fn watch(state: Arc<State>, i: usize, spec: ProbeSpec, exec: Option<Arc<dyn ExecProber>>) {
    let mut ticks = tokio::time::interval(PROBE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let result = crate::health::probe_with(&spec, PROBE_TIMEOUT, exec.as_deref()).await;
        state.record(i, result, SystemTime::now());
    }
}

/// Each entry's health status (`up`, `down`, `starting`) from the registry.
pub async fn health_by_entry(
    registry_url: &str,
) -> Result<std::collections::HashMap<String, String>, String> {
    let doc = services(registry_url).await?;
    Ok(doc
        .services
        .into_iter()
        .map(|e| (e.name, e.health.status.as_str().to_owned()))
        .collect())
}
