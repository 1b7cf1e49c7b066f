//! The status of a sandbox, found from the engine's labels alone
//! (PRODUCT.md section 5, `sandbox status --json`).

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::agent::config;
use crate::engine::{ContainerInfo, Engine, EngineError, labels};
use crate::manifest::Kind;
use crate::plan::ServedLabel;

/// `sandbox status --json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusDoc {
    pub sandbox: String,
    pub registry_url: Option<String>,
    /// The OTLP/HTTP trace receiver on the host (`POST {otlp_url}/v1/traces`).
    #[serde(default)]
    pub otlp_url: Option<String>,
    pub entries: Vec<StatusEntry>,
    /// Recordings that cannot be written (`{"dependency", "file",
    /// "error"}`), as the agents report them.
    #[serde(default)]
    pub recording_errors: Vec<crate::agent::client::Recording>,
    /// The engine the sandbox runs on: `{"context", "host"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineName>,
}

/// Which engine: the docker context's name and its address.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EngineName {
    pub context: String,
    pub host: String,
    /// The forwarder that makes a remote engine's ports local: its pid and
    /// engine port -> 127.0.0.1 port. None with a local engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarder: Option<crate::engine::forward::State>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusEntry {
    pub name: String,
    /// `service` or `dependency`.
    pub role: String,
    /// `build`, `image`, `stub`, `replay`, `record`, or `host` for an entry
    /// run on the host (`up --host`).
    pub kind: String,
    /// The container's state: `running`, `exited`, ...
    pub state: String,
    /// `up`, `down`, `starting` or `unknown` (the registry is not answering).
    pub health: String,
    /// The first port's URL on the host.
    pub host_url: Option<String>,
    /// Named ports: name -> `127.0.0.1:P`.
    pub ports: IndexMap<String, String>,
    /// Named ports: name -> `http`, `grpc` or `tcp` (PRODUCT.md 6.3).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub protocols: IndexMap<String, String>,
    /// The debug port on the host, when the entry runs with debug settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<String>,
    /// Limits in force (from the agent that fronts the entry), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<serde_json::Value>,
    /// Faults in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<serde_json::Value>,
}

impl StatusDoc {
    pub fn entry(&self, name: &str) -> Option<&StatusEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// What the engine says about one sandbox.
pub struct Found {
    pub containers: Vec<ContainerInfo>,
}

impl Found {
    pub async fn load(engine: &Engine, sandbox: &str) -> Result<Found, EngineError> {
        Ok(Found {
            containers: engine
                .containers_with_label(&labels::of_sandbox(sandbox))
                .await?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
    }

    /// The container of an entry, or of the agent serving it.
    pub fn container_of(&self, entry: &str) -> Option<&ContainerInfo> {
        self.containers
            .iter()
            .find(|c| c.entry() == Some(entry))
            .or_else(|| self.agent_serving(entry).map(|(c, _)| c))
    }

    pub fn agent(&self) -> Option<&ContainerInfo> {
        self.containers.iter().find(|c| c.is_agent())
    }

    fn agent_serving(&self, entry: &str) -> Option<(&ContainerInfo, ServedLabel)> {
        let agent = self.agent()?;
        served(agent)
            .into_iter()
            .find(|s| s.name == entry)
            .map(|s| (agent, s))
    }

    /// The registry's URL on the host.
    pub fn registry_url(&self) -> Option<String> {
        loopback_url(self.agent()?, config::REGISTRY_PORT)
    }

    /// The OTLP/HTTP trace receiver's URL on the host.
    pub fn otlp_url(&self) -> Option<String> {
        loopback_url(self.agent()?, config::OTLP_PORT)
    }

    /// The agent control API's URL on the host, for the agent that serves
    /// `entry` (a proxy's for a proxied real container), or the main agent.
    pub fn admin_url(&self, entry: Option<&str>) -> Option<String> {
        let agent = entry
            .and_then(|e| self.containers.iter().find(|c| c.proxy_of() == Some(e)))
            .or_else(|| self.agent())?;
        loopback_url(agent, config::ADMIN_PORT)
    }

    /// The sandbox's token, from its agents' labels (the main agent's first):
    /// what their control interfaces ask of requests that change state.
    pub fn token(&self) -> Option<&str> {
        self.agent()
            .into_iter()
            .chain(self.containers.iter().filter(|c| {
                c.label(labels::ROLE) == Some("agent")
                    || c.label(labels::KIND) == Some(Kind::Host.as_str())
            }))
            .find_map(|c| c.label(labels::TOKEN))
    }

    /// The forwarders of entries run on the host (`up --host`).
    pub fn host_forwarders(&self) -> impl Iterator<Item = &ContainerInfo> {
        self.containers
            .iter()
            .filter(|c| c.label(labels::KIND) == Some(Kind::Host.as_str()) && !c.is_agent())
    }

    /// A URL on the host for a port of `container`, when it is published.
    pub fn published_url(container: &ContainerInfo, port: u16) -> Option<String> {
        loopback_url(container, port)
    }

    /// Every agent's control API URL on the host (the main agent and proxies).
    pub fn admin_urls(&self) -> Vec<String> {
        self.containers
            .iter()
            .filter(|c| c.label(labels::ROLE) == Some("agent"))
            .filter_map(|c| loopback_url(c, config::ADMIN_PORT))
            .collect()
    }

    /// Every entry, the service first, then dependencies by name.
    pub fn entries(&self, health: &HashMap<String, String>) -> Vec<StatusEntry> {
        let mut entries = Vec::new();
        for container in &self.containers {
            let role = container.label(labels::ROLE).unwrap_or_default();
            if role != "service" && role != "dependency" {
                continue;
            }
            let name = container
                .label(labels::ENTRY)
                .unwrap_or_default()
                .to_owned();
            let named: IndexMap<String, u16> = container
                .label(labels::PORTS)
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or_default();
            // A proxied container is reached through its proxy.
            let front = self
                .containers
                .iter()
                .find(|c| c.proxy_of() == Some(name.as_str()))
                .unwrap_or(container);
            // An entry run on the host, with nothing in front of it, is
            // reached where its process listens.
            let on_host: Option<IndexMap<String, u16>> = (std::ptr::eq(front, container)
                && container.label(labels::KIND) == Some(Kind::Host.as_str()))
            .then(|| {
                container
                    .label(labels::HOST_PORTS)
                    .and_then(|p| serde_json::from_str(p).ok())
                    .unwrap_or_default()
            });
            let ports: IndexMap<String, String> = match on_host {
                Some(on_host) => on_host
                    .iter()
                    .map(|(port_name, port)| (port_name.clone(), format!("127.0.0.1:{port}")))
                    .collect(),
                None => named
                    .iter()
                    .filter_map(|(port_name, port)| {
                        Some((
                            port_name.clone(),
                            format!("127.0.0.1:{}", front.published.get(port)?),
                        ))
                    })
                    .collect(),
            };
            let protocols: IndexMap<String, String> = container
                .label(crate::plan::PROTOCOLS_LABEL)
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or_default();
            let protocols = ports
                .keys()
                .filter_map(|name| Some((name.clone(), protocols.get(name)?.clone())))
                .collect();
            let debug = container
                .label(labels::DEBUG)
                .and_then(|p| p.parse::<u16>().ok())
                .and_then(|p| container.published.get(&p))
                .map(|p| format!("127.0.0.1:{p}"));
            entries.push(StatusEntry {
                health: health_of(health, &name, container.is_running()),
                host_url: ports.values().next().map(|a| format!("http://{a}")),
                name,
                role: role.to_owned(),
                kind: container.label(labels::KIND).unwrap_or_default().to_owned(),
                state: container.state.clone(),
                ports,
                protocols,
                debug,
                limits: None,
                faults: None,
            });
        }
        if let Some(agent) = self.agent() {
            for served in served(agent) {
                let address = agent
                    .published
                    .get(&served.private_port)
                    .map(|p| format!("127.0.0.1:{p}"));
                entries.push(StatusEntry {
                    health: health_of(health, &served.name, agent.is_running()),
                    host_url: address.as_ref().map(|a| format!("http://{a}")),
                    protocols: address
                        .iter()
                        .map(|_| ("http".to_owned(), "http".to_owned()))
                        .collect(),
                    ports: address
                        .into_iter()
                        .map(|a| ("http".to_owned(), a))
                        .collect(),
                    name: served.name,
                    role: "dependency".into(),
                    kind: served.kind.as_str().into(),
                    state: agent.state.clone(),
                    debug: None,
                    limits: None,
                    faults: None,
                });
            }
        }
        entries.sort_by(|a, b| (a.role != "service", &a.name).cmp(&(b.role != "service", &b.name)));
        entries
    }

    pub fn doc(&self, sandbox: &str, health: &HashMap<String, String>) -> StatusDoc {
        StatusDoc {
            sandbox: sandbox.to_owned(),
            registry_url: self.registry_url(),
            otlp_url: self.otlp_url(),
            entries: self.entries(health),
            recording_errors: Vec::new(),
            engine: None,
        }
    }
}

/// `http://127.0.0.1:P` for a container port published on the host.
fn loopback_url(container: &ContainerInfo, port: u16) -> Option<String> {
    let host_port = container.published.get(&port)?;
    Some(format!("http://127.0.0.1:{host_port}"))
}

fn health_of(health: &HashMap<String, String>, name: &str, running: bool) -> String {
    match health.get(name) {
        Some(status) => status.clone(),
        None if running => "unknown".into(),
        None => "down".into(),
    }
}

fn served(agent: &ContainerInfo) -> Vec<ServedLabel> {
    agent
        .label(labels::SERVED)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// What asking the recording agents to write their recordings found.
#[derive(Debug, Default)]
pub struct Flushed {
    /// Recordings that could not be written, with the reason.
    pub failed: Vec<crate::agent::client::Recording>,
    /// Agents that did not answer (their recordings are written, if at all,
    /// when they stop).
    pub unreachable: Vec<String>,
}

/// Whether the container is an agent that records (its recordings must be
/// written before it goes).
pub(crate) fn records(container: &ContainerInfo) -> bool {
    served(container)
        .iter()
        .any(|s| s.kind == crate::manifest::Kind::Record)
}

/// Before `down`: asks every running agent that records, among
/// `containers`, to write its recordings now, with the sandbox's token from
/// its label.
pub async fn flush_recordings(containers: &[ContainerInfo]) -> Flushed {
    let mut flushed = Flushed::default();
    for container in containers {
        if !records(container) || !container.is_running() {
            continue;
        }
        let Some(url) = loopback_url(container, config::ADMIN_PORT) else {
            continue;
        };
        match crate::agent::client::flush(&url, container.label(labels::TOKEN)).await {
            Ok(recordings) => flushed
                .failed
                .extend(recordings.into_iter().filter(|r| r.error.is_some())),
            Err(reason) => flushed.unreachable.push(reason),
        }
    }
    flushed
}
