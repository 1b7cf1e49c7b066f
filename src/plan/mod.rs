//! The plan: what a manifest turns into on the engine (containers, their
//! configuration and start order). Pure and synchronous: images are named
//! here but resolved by the runner.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::agent::config::{self, AgentConfig, Mode, ProxyPort, Served};
use crate::engine::ContainerSpec;
use crate::engine::labels;
use crate::health::ProbeSpec;
use crate::manifest::{
    ContainerSource, Faults, Health, ImageRef, Kind, Limits, Loaded, ProbeKind, Source, env_stem,
};
use crate::registry::{ApiInfo, RegistryConfig, RegistryEntry};

/// Where the agent binary lives inside its image.
pub const AGENT_BINARY: &str = "/sandbox-agent";
/// Folder inside the agent image that receives its configuration.
pub const AGENT_DIR: &str = "/sandbox";
/// Where a record dependency's folder is mounted in the agent.
pub const RECORD_MOUNT: &str = "/sandbox/record";

// Object names. Sandbox and entry names are `[a-z][a-z0-9-]*`, so `_` and
// `.` never occur in them: an entry's container is `SANDBOX_ENTRY` (the first
// `_` ends the sandbox name) and the tool's own objects use `.`, which no
// entry name can produce. No pair of sandbox and entry names gives the same
// object name, and no entry can take a name the tool uses (PRODUCT.md 6.1).

/// The network of a sandbox.
pub fn network_name(sandbox: &str) -> String {
    format!("sandbox-{sandbox}")
}

/// The container of an entry.
pub fn container_name(sandbox: &str, entry: &str) -> String {
    format!("{sandbox}_{entry}")
}

/// The container of the sandbox's agent (registry, stubs, replays, recordings).
pub fn agent_container_name(sandbox: &str) -> String {
    format!("{sandbox}.agent")
}

/// The container of the proxy in front of a real entry.
pub fn proxy_container_name(sandbox: &str, entry: &str) -> String {
    format!("{sandbox}_{entry}.proxy")
}

/// The container that holds a sandbox's `up` lock (created, never started).
pub fn lock_container_name(sandbox: &str) -> String {
    format!("{sandbox}.lock")
}

/// The network alias of a real entry that has a proxy in front of it: the
/// proxy answers under the entry's name and reaches the entry here. A `.`
/// keeps it a valid host name that no entry name can be.
pub fn origin_alias(entry: &str) -> String {
    format!("{entry}.origin")
}

/// What a container is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Service,
    Dependency,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Service => "service",
            Role::Dependency => "dependency",
            Role::Agent => "agent",
        }
    }
}

/// Where a container's image comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// An image reference, pulled when missing.
    Reference(String),
    /// A build context with its Dockerfile and arguments.
    Build {
        context: PathBuf,
        dockerfile: String,
        args: HashMap<String, String>,
    },
    /// The agent image, made from the running binary.
    Agent,
}

/// One container to run.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The entry's name; `agent` for the main agent, `<dep>-proxy` for a proxy.
    pub entry: String,
    pub role: Role,
    /// `build`, `image`, `agent` or `proxy`.
    pub kind: String,
    /// Containers of wave 0 start first; the service (wave 1) once they are healthy.
    pub wave: u8,
    pub image: ImageSource,
    /// The spec, with `image` left empty until the runner resolves it.
    pub spec: ContainerSpec,
    /// Named ports of the entry.
    pub ports: IndexMap<String, u16>,
    pub health: Option<Health>,
    /// The debug port, when the entry runs with its debug settings: it is
    /// ready once that port accepts connections (a debugger may hold the
    /// program until it attaches, so health is not awaited).
    pub debug_port: Option<u16>,
    /// Files copied into the container before it starts: (folder, name, contents).
    pub files: Vec<(String, String, Vec<u8>)>,
}

impl Planned {
    /// How `up` tells, from the host, that this container is ready, given
    /// its published ports. `None`: running is enough.
    pub fn readiness(&self, published: &HashMap<u16, u16>) -> Option<ProbeSpec> {
        if self.role == Role::Agent || self.kind == Kind::Host.as_str() {
            return Some(ProbeSpec::Http {
                host: "127.0.0.1".into(),
                port: *published.get(&config::ADMIN_PORT)?,
                path: "/_sandbox/ready".into(),
                status: Some(200),
                contains: None,
            });
        }
        if let Some(port) = self.debug_port {
            return Some(ProbeSpec::Tcp {
                host: "127.0.0.1".into(),
                port: *published.get(&port)?,
            });
        }
        let health = self.health.as_ref()?;
        match health.probe()? {
            ProbeKind::Http(path) => {
                let port = named_port(&self.ports, health.port.as_deref())?;
                Some(ProbeSpec::Http {
                    host: "127.0.0.1".into(),
                    port: *published.get(&port)?,
                    path,
                    status: health.status,
                    contains: health.contains.clone(),
                })
            }
            ProbeKind::Tcp(name) => {
                let port = *self.ports.get(&name)?;
                Some(ProbeSpec::Tcp {
                    host: "127.0.0.1".into(),
                    port: *published.get(&port)?,
                })
            }
            ProbeKind::Exec(command) => Some(ProbeSpec::Exec {
                container: self.spec.name.clone(),
                command,
            }),
        }
    }
}

/// A served dependency as recorded in the agent's [`labels::SERVED`] label.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServedLabel {
    pub name: String,
    pub kind: Kind,
    pub port: u16,
    pub private_port: u16,
}

/// Everything `up` creates for a manifest.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sandbox: String,
    pub network: String,
    pub containers: Vec<Planned>,
}

/// Options that change the plan without changing the manifest.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Dependencies switched to recording: name -> upstream URL (None: the
    /// dependency is a `record` dependency already).
    pub record: IndexMap<String, Option<String>>,
    /// Entries started with their debug settings.
    pub debug: Vec<String>,
    /// Entries run as processes on this machine (`up --host`): each gets a
    /// forwarder container under its name instead of its own container.
    pub host: Vec<String>,
    /// The sandbox's token (see `registry::token`): the running agent's, so
    /// that a second `up` can keep it; `None` makes a fresh one.
    pub token: Option<String>,
}

/// Something in the options that does not fit the manifest.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

/// Where a replay's recording folder is mounted in the agent (for its
/// `bodies/` files).
const REPLAY_MOUNT: &str = "/sandbox/replay";

/// The label of a container with its ports' protocols (name -> `http`,
/// `grpc` or `tcp`), which `status` shows.
pub const PROTOCOLS_LABEL: &str = "dev.sandbox.protocols";

fn named_port(ports: &IndexMap<String, u16>, name: Option<&str>) -> Option<u16> {
    match name {
        Some(name) => ports.get(name).copied(),
        None => ports.values().next().copied(),
    }
}

fn base_labels(sandbox: &str, entry: &str, role: Role, kind: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::NAME.to_owned(), sandbox.to_owned()),
        (labels::ENTRY.to_owned(), entry.to_owned()),
        (labels::ROLE.to_owned(), role.as_str().to_owned()),
        (labels::KIND.to_owned(), kind.to_owned()),
    ])
}

/// Builds the plan of a loaded manifest.
pub fn plan(loaded: &Loaded, options: &PlanOptions) -> Result<Plan, PlanError> {
    let manifest = &loaded.manifest;
    let entries = &loaded.entries;
    let sandbox = loaded.name.clone();
    let network = network_name(&sandbox);
    let token = options
        .token
        .clone()
        .unwrap_or_else(crate::registry::token::generate);
    for name in options.record.keys() {
        let Some(dep) = entries.dependencies.get(name) else {
            return Err(PlanError(format!(
                "--record {name}: no dependency named `{name}`; the dependencies are: {}",
                entries
                    .dependencies
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if let Source::Container(_) | Source::Stub(_) = dep.source {
            return Err(PlanError(format!(
                "--record {name}: `{name}` is a {} dependency; only `record` dependencies and `replay` dependencies (with --record {name}=http://HOST:PORT) can be recorded",
                dep.source.kind().as_str()
            )));
        }
    }
    for name in &options.debug {
        let debug = if *name == entries.service.name {
            entries.service.container.debug.as_ref()
        } else {
            entries
                .dependencies
                .get(name)
                .ok_or_else(|| PlanError(format!("no entry named `{name}` to debug")))?
                .source
                .container()
                .and_then(|container| container.debug.as_ref())
        };
        if debug.is_none() {
            return Err(PlanError(format!(
                "`{name}` has no `debug:` settings in {}; add `debug: {{port: ..., command: [...]}}` to it",
                loaded.file.display()
            )));
        }
    }

    for name in &options.host {
        let container = if *name == entries.service.name {
            &entries.service.container
        } else {
            match entries.dependencies.get(name).map(|d| &d.source) {
                Some(Source::Container(container)) => container.as_ref(),
                Some(other) => {
                    return Err(PlanError(format!(
                        "--host {name}: `{name}` is a {} dependency, served by the sandbox's agent; only the service and entries with `build:` or `image:` can run on the host",
                        other.kind().as_str()
                    )));
                }
                None => {
                    return Err(PlanError(format!(
                        "--host {name}: no entry named `{name}`; the entries are: {}",
                        std::iter::once(entries.service.name.as_str())
                            .chain(entries.dependencies.keys().map(String::as_str))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        };
        if container.ports.is_empty() && container.host.as_ref().and_then(|h| h.port).is_none() {
            return Err(PlanError(format!(
                "--host {name}: `{name}` declares no port, so nothing could reach the process; add `ports: {{ http: 8080 }}` or `host: {{ port: 8080 }}` to it in {}",
                loaded.file.display()
            )));
        }
        if options.debug.contains(name) {
            return Err(PlanError(format!(
                "--host {name} and --debug: a process on the host is debugged from the IDE that starts it; drop one of them"
            )));
        }
    }

    // The environment every real container gets: one block per dependency.
    let mut shared_env: Vec<(String, String)> = vec![
        ("SANDBOX_NAME".into(), sandbox.clone()),
        (
            "SANDBOX_REGISTRY_URL".into(),
            format!("http://registry:{}", config::REGISTRY_PORT),
        ),
    ];
    for (name, dep) in &entries.dependencies {
        let port = dependency_port(&dep.source);
        let stem = env_stem(name);
        shared_env.push((format!("{stem}_URL"), format!("http://{name}:{port}")));
        shared_env.push((format!("{stem}_HOST"), name.clone()));
        shared_env.push((format!("{stem}_PORT"), port.to_string()));
    }

    let mut containers = Vec::new();
    let mut served = Vec::new();
    let mut served_labels = Vec::new();
    let mut binds = Vec::new();
    let mut next_private = config::FIRST_PRIVATE_PORT;
    let mut registry_entries = Vec::new();
    let owner_of = |own: &Option<String>| own.clone().or_else(|| manifest.owner.clone());
    let api_of = |entry: &str, api: &Option<crate::manifest::Api>| {
        api.as_ref().map(|api| ApiInfo {
            description: api.description.clone(),
            openapi: loaded.openapi.get(entry).cloned(),
        })
    };

    // The service, behind a proxy when it has limits or faults.
    let service = &entries.service;
    let service_container = &service.container;
    let service_proxied = has_any(&service.limits, &service.faults);
    let service_alias = if service_proxied {
        origin_alias(&service.name)
    } else {
        service.name.clone()
    };
    let debug = options.debug.contains(&service.name);
    if service_proxied {
        containers.push(proxy_for(
            loaded,
            &network,
            &service.name,
            &service_alias,
            service_container,
            &service.limits,
            &service.faults,
            &token,
        ));
    }
    let service_on_host = options.host.contains(&service.name);
    containers.push(if service_on_host {
        host_forwarder(
            loaded,
            &network,
            &service.name,
            Role::Service,
            service_container,
            &service_alias,
            &token,
        )
    } else {
        real_container(
            &sandbox,
            &network,
            &service.name,
            Role::Service,
            service_container,
            service_container.debug.as_ref().filter(|_| debug),
            &shared_env,
            Some(&service_alias),
            1,
            loaded,
        )
    });
    registry_entries.push(RegistryEntry {
        name: service.name.clone(),
        role: "service".into(),
        kind: if service_on_host {
            Kind::Host
        } else {
            service_container.kind()
        },
        owner: owner_of(&service.owner),
        internal_url: service_container
            .ports
            .values()
            .next()
            .map(|p| format!("http://{}:{p}", service.name)),
        host_url: None,
        api: api_of(&service.name, &service.api),
        probe: network_probe(
            &service_alias,
            &service.name,
            &sandbox,
            service_container,
            service_on_host,
        ),
    });

    for (name, dep) in &entries.dependencies {
        let recording = options.record.get(name);
        let owner = owner_of(&dep.owner);
        let api = api_of(name, &dep.api);
        let port = dependency_port(&dep.source);
        let (kind, mode) = match (&dep.source, recording) {
            (Source::Container(container), _) => {
                // A real container, behind a proxy when it has limits or faults.
                let proxied = has_any(&dep.limits, &dep.faults);
                let alias = if proxied {
                    origin_alias(name)
                } else {
                    name.clone()
                };
                let env: Vec<(String, String)> = shared_env
                    .iter()
                    .filter(|(key, _)| !key.starts_with(&format!("{}_", env_stem(name))))
                    .cloned()
                    .collect();
                let debug = options.debug.contains(name);
                let on_host = options.host.contains(name);
                let mut planned = if on_host {
                    host_forwarder(
                        loaded,
                        &network,
                        name,
                        Role::Dependency,
                        container,
                        &alias,
                        &token,
                    )
                } else {
                    real_container(
                        &sandbox,
                        &network,
                        name,
                        Role::Dependency,
                        container,
                        container.debug.as_ref().filter(|_| debug),
                        &env,
                        Some(&alias),
                        0,
                        loaded,
                    )
                };
                if proxied {
                    planned.spec.aliases = vec![alias.clone()];
                    containers.push(proxy_for(
                        loaded,
                        &network,
                        name,
                        &alias,
                        container,
                        &dep.limits,
                        &dep.faults,
                        &token,
                    ));
                }
                containers.push(planned);
                registry_entries.push(RegistryEntry {
                    name: name.clone(),
                    role: "dependency".into(),
                    kind: if on_host {
                        Kind::Host
                    } else {
                        container.kind()
                    },
                    owner,
                    internal_url: container
                        .ports
                        .values()
                        .next()
                        .map(|p| format!("http://{name}:{p}")),
                    host_url: None,
                    api,
                    probe: network_probe(&alias, name, &sandbox, container, on_host),
                });
                continue;
            }
            (Source::Stub(_), _) => (Kind::Stub, stub_mode(loaded, name)),
            (Source::Replay(replay), None) => {
                let recording = loaded.recordings.get(name).cloned().unwrap_or_default();
                // Large bodies are files beside the recording: its folder
                // is mounted, read only, and read as calls come.
                let has_files = recording
                    .interactions
                    .iter()
                    .any(|interaction| interaction.response.body_file.is_some());
                let bodies = has_files.then(|| {
                    let folder = loaded
                        .path(&replay.file)
                        .parent()
                        .map(PathBuf::from)
                        .unwrap_or_else(|| loaded.dir.clone());
                    let mount = format!("{REPLAY_MOUNT}/{name}");
                    binds.push(format!("{}:{mount}:ro", folder.display()));
                    mount
                });
                (
                    Kind::Replay,
                    Mode::Replay {
                        recording,
                        bodies,
                        grpc: loaded.protos.get(name).map(descriptors),
                        timing: replay.timing,
                    },
                )
            }
            (Source::Replay(replay), Some(Some(url))) => (
                Kind::Record,
                record_mode(loaded, name, url, &replay.file, &[], &mut binds),
            ),
            (Source::Replay(_), Some(None)) => {
                return Err(PlanError(format!(
                    "--record {name}: `{name}` replays a recording and has no upstream; say where to record from: --record {name}=http://HOST:PORT"
                )));
            }
            (Source::Record(record), recording) => {
                let upstream = match recording {
                    Some(Some(url)) => url,
                    _ => &record.upstream,
                };
                (
                    Kind::Record,
                    record_mode(
                        loaded,
                        name,
                        upstream,
                        &record.to,
                        &record.redact,
                        &mut binds,
                    ),
                )
            }
        };
        let private_port = next_private;
        next_private += 1;
        let probe = match &mode {
            Mode::Record { upstream, .. } => upstream_probe(upstream),
            _ => Some(ProbeSpec::Tcp {
                host: name.clone(),
                port,
            }),
        };
        served.push(Served {
            name: name.clone(),
            port,
            private_port,
            mode,
            limits: dep.limits.clone(),
            faults: dep.faults.clone(),
        });
        served_labels.push(ServedLabel {
            name: name.clone(),
            kind,
            port,
            private_port,
        });
        registry_entries.push(RegistryEntry {
            name: name.clone(),
            role: "dependency".into(),
            kind,
            owner,
            internal_url: Some(format!("http://{name}:{port}")),
            host_url: None,
            api,
            probe,
        });
    }

    // The main agent: the registry and every stub, replay and record dependency.
    let agent_config = AgentConfig {
        version: config::CONFIG_VERSION,
        sandbox: sandbox.clone(),
        admin_port: config::ADMIN_PORT,
        token: Some(token.clone()),
        registry: Some(RegistryConfig {
            sandbox: sandbox.clone(),
            entries: registry_entries,
        }),
        served,
        callers: caller_names(loaded),
        listen: std::net::Ipv4Addr::UNSPECIFIED.into(),
        registry_port: config::REGISTRY_PORT,
        journal_capacity: config::JOURNAL_CAPACITY,
        threads: 0,
        host: None,
    };
    // The registry runs exec probes through the engine: only then does the
    // agent get the engine's socket.
    let exec_probes = agent_config.registry.as_ref().is_some_and(|r| {
        r.entries
            .iter()
            .any(|e| matches!(e.probe, Some(ProbeSpec::Exec { .. })))
    });
    if exec_probes && let Some(socket) = crate::engine::endpoint().strip_prefix("unix://") {
        binds.push(format!("{socket}:/var/run/docker.sock"));
    }
    let mut aliases = vec!["registry".to_owned()];
    aliases.extend(served_labels.iter().map(|s| s.name.clone()));
    let mut publish = vec![config::REGISTRY_PORT, config::ADMIN_PORT, config::OTLP_PORT];
    publish.extend(served_labels.iter().map(|s| s.private_port));
    let mut agent_labels = base_labels(&sandbox, "agent", Role::Agent, "agent");
    agent_labels.insert(
        labels::SERVED.into(),
        serde_json::to_string(&served_labels).unwrap_or_default(),
    );
    agent_labels.insert(labels::TOKEN.into(), token);
    containers.insert(
        0,
        Planned {
            entry: "agent".into(),
            role: Role::Agent,
            kind: "agent".into(),
            wave: 0,
            image: ImageSource::Agent,
            spec: ContainerSpec {
                name: agent_container_name(&sandbox),
                image: String::new(),
                command: Some(agent_command()),
                env: Vec::new(),
                labels: agent_labels,
                network: network.clone(),
                aliases,
                publish,
                binds,
                log_to: None,
            },
            ports: IndexMap::new(),
            health: None,
            debug_port: None,
            files: vec![agent_file(&agent_config)],
        },
    );
    Ok(Plan {
        sandbox,
        network,
        containers,
    })
}

/// The agent's mode for recording `name` from `upstream` into `to` (a file
/// the manifest names); its folder is bound into the agent.
fn record_mode(
    loaded: &Loaded,
    name: &str,
    upstream: &str,
    to: &str,
    redact: &[String],
    binds: &mut Vec<String>,
) -> Mode {
    let host_file = loaded.path(to);
    let folder = host_file
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| loaded.dir.clone());
    let file_name = host_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{name}.yaml"));
    binds.push(format!("{}:{RECORD_MOUNT}/{name}", folder.display()));
    Mode::Record {
        upstream: upstream.to_owned(),
        to: format!("{RECORD_MOUNT}/{name}/{file_name}"),
        redact: redact.to_vec(),
        file: Some(to.to_owned()),
        grpc: loaded
            .protos
            .get(name)
            .map(|protos| config::GrpcRecordConfig {
                proto: match loaded
                    .manifest
                    .dependencies
                    .get(name)
                    .and_then(|d| d.record.as_ref())
                {
                    Some(record) => record.proto.clone(),
                    None => loaded
                        .recordings
                        .get(name)
                        .map(|r| r.proto.clone())
                        .unwrap_or_default(),
                },
                descriptors: descriptors(protos),
            }),
    }
}

/// Compiled `.proto` files as the agent's configuration carries them.
fn descriptors(protos: &crate::proto::Protos) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, protos.encoded())
}

/// An agent proxy in front of a real container: it answers under the
/// entry's name and publishes its ports; the container itself is reached
/// through it under `alias`.
#[allow(clippy::too_many_arguments)]
fn proxy_for(
    loaded: &Loaded,
    network: &str,
    name: &str,
    alias: &str,
    container: &ContainerSource,
    limits: &Option<Limits>,
    faults: &Option<Faults>,
    token: &str,
) -> Planned {
    let sandbox = &loaded.name;
    let ports: Vec<ProxyPort> = container
        .ports
        .iter()
        .map(|(port_name, port)| ProxyPort {
            listen: *port,
            target: *port,
            http: container
                .protocols
                .get(port_name)
                .is_some_and(|protocol| protocol.is_http()),
            h2: container.protocols.get(port_name) == Some(&crate::manifest::Protocol::Grpc),
        })
        .collect();
    let proxy_entry = format!("{name}-proxy");
    let proxy_config = AgentConfig {
        version: config::CONFIG_VERSION,
        sandbox: sandbox.clone(),
        admin_port: config::ADMIN_PORT,
        token: Some(token.to_owned()),
        registry: None,
        served: vec![Served {
            name: name.to_owned(),
            port: container.ports.values().next().copied().unwrap_or(80),
            private_port: 0,
            mode: Mode::Proxy {
                target: alias.to_owned(),
                ports,
            },
            limits: limits.clone(),
            faults: faults.clone(),
        }],
        callers: caller_names(loaded),
        listen: std::net::Ipv4Addr::UNSPECIFIED.into(),
        registry_port: config::REGISTRY_PORT,
        journal_capacity: config::JOURNAL_CAPACITY,
        threads: 0,
        host: None,
    };
    let mut publish: Vec<u16> = container.ports.values().copied().collect();
    publish.push(config::ADMIN_PORT);
    // Labelled with the entry it fronts; its role and kind tell it apart.
    let mut proxy_labels = base_labels(sandbox, name, Role::Agent, "proxy");
    proxy_labels.insert(
        labels::PORTS.into(),
        serde_json::to_string(container.ports.numbers()).unwrap_or_default(),
    );
    proxy_labels.insert(
        PROTOCOLS_LABEL.into(),
        serde_json::to_string(&container.protocols).unwrap_or_default(),
    );
    proxy_labels.insert(labels::TOKEN.into(), token.to_owned());
    Planned {
        entry: proxy_entry.clone(),
        role: Role::Agent,
        kind: "proxy".into(),
        wave: 0,
        image: ImageSource::Agent,
        spec: ContainerSpec {
            name: proxy_container_name(sandbox, name),
            image: String::new(),
            command: Some(agent_command()),
            env: Vec::new(),
            labels: proxy_labels,
            network: network.to_owned(),
            aliases: vec![name.to_owned()],
            publish,
            binds: Vec::new(),
            log_to: None,
        },
        ports: container.ports.numbers().clone(),
        health: None,
        debug_port: None,
        files: vec![agent_file(&proxy_config)],
    }
}

/// The ports of an entry inside the network: its declared ones; an entry
/// run on the host that declares none answers on `host.port`, named `http`.
fn host_entry_ports(container: &ContainerSource, on_host: bool) -> IndexMap<String, u16> {
    match container.host.as_ref().and_then(|h| h.port) {
        Some(port) if on_host && container.ports.is_empty() => {
            IndexMap::from([("http".to_owned(), port)])
        }
        _ => container.ports.numbers().clone(),
    }
}

/// Where the process of a host entry listens on 127.0.0.1, by port name:
/// the first port at `host.port` (default its own number), the others at
/// their own numbers.
pub fn host_ports(container: &ContainerSource) -> IndexMap<String, u16> {
    let mut ports = host_entry_ports(container, true);
    if let (Some(first), Some(port)) = (
        ports.values_mut().next(),
        container.host.as_ref().and_then(|h| h.port),
    ) {
        *first = port;
    }
    ports
}

/// Each port a host entry's forwarder listens on in the network, and the
/// port on 127.0.0.1 where the process answers it.
pub fn host_forward(container: &ContainerSource) -> Vec<config::HostPort> {
    let on_host = host_ports(container);
    host_entry_ports(container, true)
        .iter()
        .map(|(port_name, port)| config::HostPort {
            listen: *port,
            host: on_host.get(port_name).copied().unwrap_or(*port),
        })
        .collect()
}

/// The container that stands for an entry run on the host (`up --host`):
/// an agent under the entry's name and alias that answers on its ports in
/// the network and carries every connection to the process through the
/// tunnel that `up --host` opens to it.
fn host_forwarder(
    loaded: &Loaded,
    network: &str,
    name: &str,
    role: Role,
    container: &ContainerSource,
    alias: &str,
    token: &str,
) -> Planned {
    let sandbox = &loaded.name;
    let ports = host_entry_ports(container, true);
    let on_host = host_ports(container);
    let forward = config::HostForward {
        entry: name.to_owned(),
        tunnel_port: config::TUNNEL_PORT,
        ports: host_forward(container),
    };
    let forwarder_config = AgentConfig {
        version: config::CONFIG_VERSION,
        sandbox: sandbox.clone(),
        admin_port: config::ADMIN_PORT,
        token: Some(token.to_owned()),
        registry: None,
        served: Vec::new(),
        callers: Vec::new(),
        listen: std::net::Ipv4Addr::UNSPECIFIED.into(),
        registry_port: config::REGISTRY_PORT,
        journal_capacity: config::JOURNAL_CAPACITY,
        threads: 1,
        host: Some(forward),
    };
    let mut forwarder_labels = base_labels(sandbox, name, role, Kind::Host.as_str());
    forwarder_labels.insert(
        labels::PORTS.into(),
        serde_json::to_string(&ports).unwrap_or_default(),
    );
    forwarder_labels.insert(
        labels::HOST_PORTS.into(),
        serde_json::to_string(&on_host).unwrap_or_default(),
    );
    forwarder_labels.insert(labels::TOKEN.into(), token.to_owned());
    Planned {
        entry: name.to_owned(),
        role,
        kind: Kind::Host.as_str().to_owned(),
        wave: 0,
        image: ImageSource::Agent,
        spec: ContainerSpec {
            name: container_name(sandbox, name),
            image: String::new(),
            command: Some(agent_command()),
            env: Vec::new(),
            labels: forwarder_labels,
            network: network.to_owned(),
            aliases: vec![alias.to_owned()],
            publish: vec![config::ADMIN_PORT, config::TUNNEL_PORT],
            binds: Vec::new(),
            log_to: None,
        },
        ports,
        // The process's health is awaited by `up --host` once it runs; the
        // forwarder is ready when its agent is.
        health: None,
        debug_port: None,
        files: vec![agent_file(&forwarder_config)],
    }
}

/// The agent's arguments; the image's entrypoint is the binary.
fn agent_command() -> Vec<String> {
    vec![
        "agent".to_owned(),
        "--config".to_owned(),
        config::CONFIG_PATH.to_owned(),
    ]
}

impl Plan {
    /// Gives every agent of the plan `token` (the running agents' one, read
    /// under the sandbox's lock), so an unchanged agent keeps its spec and
    /// every agent of the sandbox answers to one token.
    pub fn adopt_token(&mut self, token: &str) {
        for planned in self
            .containers
            .iter_mut()
            .filter(|c| c.role == Role::Agent || c.kind == Kind::Host.as_str())
        {
            planned
                .spec
                .labels
                .insert(labels::TOKEN.into(), token.to_owned());
            for file in &mut planned.files {
                let Ok(mut config) = serde_json::from_slice::<AgentConfig>(&file.2) else {
                    continue;
                };
                config.token = Some(token.to_owned());
                *file = agent_file(&config);
            }
        }
    }
}

fn agent_file(config: &AgentConfig) -> (String, String, Vec<u8>) {
    let json = serde_json::to_vec(config).expect("the agent configuration serializes");
    let name = config::CONFIG_PATH
        .rsplit('/')
        .next()
        .unwrap_or("agent.json")
        .to_owned();
    (AGENT_DIR.to_owned(), name, json)
}

fn caller_names(loaded: &Loaded) -> Vec<String> {
    std::iter::once(loaded.entries.service.name.clone())
        .chain(
            loaded
                .entries
                .dependencies
                .iter()
                .filter(|(_, d)| matches!(d.source, Source::Container(_)))
                .map(|(n, _)| n.clone()),
        )
        .collect()
}

fn has_any(limits: &Option<Limits>, faults: &Option<Faults>) -> bool {
    limits.is_some() || faults.is_some()
}

/// The port a dependency answers on inside the network: the agent's for a
/// served kind, the first declared one for a container (80 without one).
/// A stub's routes (its own, then those made from its OpenAPI document)
/// and, with `validate`, the contract requests are checked against.
fn stub_mode(loaded: &Loaded, name: &str) -> Mode {
    let mut routes = loaded.stub_routes.get(name).cloned().unwrap_or_default();
    let openapi = loaded.openapi_stubs.get(name);
    if let Some(openapi) = openapi {
        routes.extend(openapi.routes.iter().cloned());
    }
    // Routes with `match.grpc` answer gRPC calls only.
    let (grpc, routes): (Vec<_>, Vec<_>) = routes
        .into_iter()
        .partition(|route| route.matcher.grpc.is_some());
    Mode::Stub {
        routes,
        contract: openapi.and_then(|o| o.contract()),
        grpc: loaded
            .protos
            .get(name)
            .map(|protos| config::GrpcStubConfig {
                descriptors: descriptors(protos),
                routes: grpc,
            }),
    }
}

pub fn dependency_port(source: &Source) -> u16 {
    match source {
        Source::Stub(stub) => stub.port,
        Source::Record(record) => record.port,
        Source::Replay(_) => 80,
        Source::Container(container) => container.ports.values().next().copied().unwrap_or(80),
    }
}

fn upstream_probe(upstream: &str) -> Option<ProbeSpec> {
    let rest = upstream.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().ok()?),
        None => (authority.to_owned(), 80),
    };
    Some(ProbeSpec::Tcp { host, port })
}

/// The registry's probe for a real container, from inside the network.
///
/// An entry run on the host (`on_host`) is probed through its forwarder;
/// an `exec` check, which needs the entry's own container, becomes a TCP
/// probe of its first port there.
fn network_probe(
    host: &str,
    entry: &str,
    sandbox: &str,
    container: &ContainerSource,
    on_host: bool,
) -> Option<ProbeSpec> {
    let ports = host_entry_ports(container, on_host);
    let first_port = || {
        ports.values().next().map(|port| ProbeSpec::Tcp {
            host: host.to_owned(),
            port: *port,
        })
    };
    let Some(health) = &container.health else {
        return first_port();
    };
    match health.probe()? {
        ProbeKind::Exec(_) if on_host => first_port(),
        ProbeKind::Http(path) => Some(ProbeSpec::Http {
            host: host.to_owned(),
            port: named_port(&ports, health.port.as_deref())?,
            path,
            status: health.status,
            contains: health.contains.clone(),
        }),
        ProbeKind::Tcp(name) => Some(ProbeSpec::Tcp {
            host: host.to_owned(),
            port: *ports.get(&name)?,
        }),
        ProbeKind::Exec(command) => Some(ProbeSpec::Exec {
            container: container_name(sandbox, entry),
            command,
        }),
    }
}

/// The OTLP/HTTP endpoint inside the network.
pub fn otlp_endpoint() -> String {
    format!("http://registry:{}", config::OTLP_PORT)
}

#[allow(clippy::too_many_arguments)]
fn real_container(
    sandbox: &str,
    network: &str,
    entry: &str,
    role: Role,
    container: &ContainerSource,
    debug: Option<&crate::manifest::Debug>,
    shared_env: &[(String, String)],
    alias: Option<&str>,
    wave: u8,
    loaded: &Loaded,
) -> Planned {
    let mut env: IndexMap<String, String> = shared_env.iter().cloned().collect();
    // OpenTelemetry SDKs export to the agent's receiver unless the manifest
    // says otherwise (its `env` comes after and wins).
    env.insert("OTEL_EXPORTER_OTLP_ENDPOINT".into(), otlp_endpoint());
    env.insert("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into());
    env.insert("OTEL_SERVICE_NAME".into(), entry.to_owned());
    for (key, value) in &container.env {
        env.insert(key.clone(), value.0.clone());
    }
    let mut command = container.command.clone();
    let mut publish: Vec<u16> = container.ports.values().copied().collect();
    let kind = container.kind();
    let mut labels = base_labels(sandbox, entry, role, kind.as_str());
    labels.insert(
        labels::PORTS.into(),
        serde_json::to_string(container.ports.numbers()).unwrap_or_default(),
    );
    labels.insert(
        PROTOCOLS_LABEL.into(),
        serde_json::to_string(&container.protocols).unwrap_or_default(),
    );
    if let Some(debug) = debug {
        for (key, value) in &debug.env {
            env.insert(key.clone(), value.0.clone());
        }
        if debug.command.is_some() {
            command = debug.command.clone();
        }
        if !publish.contains(&debug.port) {
            publish.push(debug.port);
        }
        labels.insert(labels::DEBUG.into(), debug.port.to_string());
    }
    let image = match &container.image {
        ImageRef::Build(build) => ImageSource::Build {
            context: loaded.path(&build.context),
            dockerfile: build
                .dockerfile
                .clone()
                .unwrap_or_else(|| "Dockerfile".into()),
            args: build
                .args
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
        },
        ImageRef::Image(image) => ImageSource::Reference(image.clone()),
    };
    Planned {
        entry: entry.to_owned(),
        role,
        kind: kind.as_str().to_owned(),
        wave,
        image,
        spec: ContainerSpec {
            name: container_name(sandbox, entry),
            image: String::new(),
            command,
            env: env.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
            labels,
            network: network.to_owned(),
            aliases: vec![alias.unwrap_or(entry).to_owned()],
            publish,
            binds: Vec::new(),
            log_to: None,
        },
        ports: container.ports.numbers().clone(),
        health: container.health.clone(),
        debug_port: debug.map(|d| d.port),
        files: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
version: 1
name: shop
owner: team-shop
service:
  name: orders
  image: orders:dev
  env: { LOG: debug }
  ports: { http: 8080 }
  health: { http: /healthz }
  debug: { port: 2345, command: ["/dlv"], env: { DEBUGGING: "1" } }
dependencies:
  payments:
    owner: team-pay
    stub:
      routes:
        - match: { path: /p }
          respond: { body: ok }
  user-db:
    image: postgres:16
    ports: { pg: 5432 }
    health: { tcp: pg }
  search:
    image: search:1
    ports: { http: 9200 }
    faults: { latency: 10ms }
"#;

    fn load() -> (tempfile::TempDir, Loaded) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sandbox.yaml");
        std::fs::write(&file, MANIFEST).unwrap();
        let loaded = crate::manifest::load(&file).unwrap();
        (dir, loaded)
    }

    fn find<'a>(plan: &'a Plan, entry: &str) -> &'a Planned {
        plan.containers.iter().find(|c| c.entry == entry).unwrap()
    }

    #[test]
    fn every_real_container_gets_each_dependency_s_address() {
        let (_dir, loaded) = load();
        let plan = plan(&loaded, &PlanOptions::default()).unwrap();
        assert_eq!(plan.network, "sandbox-shop");
        let orders = find(&plan, "orders");
        for expected in [
            "PAYMENTS_URL=http://payments:80",
            "USER_DB_URL=http://user-db:5432",
            "USER_DB_HOST=user-db",
            "USER_DB_PORT=5432",
            "SEARCH_URL=http://search:9200",
            "SANDBOX_NAME=shop",
            "SANDBOX_REGISTRY_URL=http://registry:7700",
            "LOG=debug",
        ] {
            assert!(
                orders.spec.env.iter().any(|e| e == expected),
                "{expected} in {:?}",
                orders.spec.env
            );
        }
        assert_eq!(orders.wave, 1);
        assert_eq!(orders.spec.publish, vec![8080]);
        assert_eq!(orders.spec.labels[labels::NAME], "shop");
        assert_eq!(orders.spec.labels[labels::ROLE], "service");
        // A dependency does not get its own address.
        let db = find(&plan, "user-db");
        assert!(
            !db.spec.env.iter().any(|e| e.starts_with("USER_DB_")),
            "{:?}",
            db.spec.env
        );
        assert!(
            db.spec
                .env
                .iter()
                .any(|e| e == "PAYMENTS_URL=http://payments:80")
        );
        assert_eq!(db.wave, 0);
    }

    #[test]
    fn one_agent_serves_the_registry_and_every_stub() {
        let (_dir, loaded) = load();
        let plan = plan(&loaded, &PlanOptions::default()).unwrap();
        let agent = &plan.containers[0];
        assert_eq!(agent.entry, "agent");
        assert_eq!(agent.spec.aliases, vec!["registry", "payments"]);
        assert_eq!(
            agent.spec.publish,
            vec![
                config::REGISTRY_PORT,
                config::ADMIN_PORT,
                config::OTLP_PORT,
                config::FIRST_PRIVATE_PORT
            ]
        );
        let config: AgentConfig = serde_json::from_slice(&agent.files[0].2).unwrap();
        let registry = config.registry.unwrap();
        let owners: Vec<_> = registry
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.owner.as_deref()))
            .collect();
        assert_eq!(
            owners,
            [
                ("orders", Some("team-shop")),
                ("payments", Some("team-pay")),
                ("user-db", Some("team-shop")),
                ("search", Some("team-shop"))
            ]
        );
        assert_eq!(config.served.len(), 1);
        assert_eq!(config.callers, ["orders", "user-db", "search"]);
    }

    #[test]
    fn faults_on_a_real_container_put_a_proxy_under_its_name() {
        let (_dir, loaded) = load();
        let plan = plan(&loaded, &PlanOptions::default()).unwrap();
        assert_eq!(find(&plan, "search").spec.aliases, vec!["search.origin"]);
        let proxy = find(&plan, "search-proxy");
        assert_eq!(proxy.spec.aliases, vec!["search"]);
        let config: AgentConfig = serde_json::from_slice(&proxy.files[0].2).unwrap();
        match &config.served[0].mode {
            Mode::Proxy { target, ports } => {
                assert_eq!(target, "search.origin");
                assert_eq!(
                    (ports[0].listen, ports[0].target, ports[0].http),
                    (9200, 9200, true)
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(find(&plan, "user-db").spec.aliases, vec!["user-db"]);
    }

    #[test]
    fn every_agent_gets_the_token_in_its_file_and_label_never_its_env() {
        let (_dir, loaded) = load();
        let fresh = plan(&loaded, &PlanOptions::default()).unwrap();
        let token = find(&fresh, "agent").spec.labels[labels::TOKEN].clone();
        assert_eq!(token.len(), 64);
        for entry in ["agent", "search-proxy"] {
            let planned = find(&fresh, entry);
            assert_eq!(planned.spec.labels[labels::TOKEN], token);
            let config: AgentConfig = serde_json::from_slice(&planned.files[0].2).unwrap();
            assert_eq!(config.token.as_deref(), Some(token.as_str()));
            assert!(planned.spec.env.iter().all(|e| !e.contains(&token)));
            assert!(
                planned
                    .spec
                    .command
                    .iter()
                    .flatten()
                    .all(|a| !a.contains(&token))
            );
        }
        for other in ["orders", "user-db", "search"] {
            assert!(!find(&fresh, other).spec.labels.contains_key(labels::TOKEN));
        }
        // A second plan makes another token unless given the running one,
        // with which the agent's spec and files are what they were.
        let another = plan(&loaded, &PlanOptions::default()).unwrap();
        assert_ne!(find(&another, "agent").spec.labels[labels::TOKEN], token);
        let options = PlanOptions {
            token: Some(token.clone()),
            ..PlanOptions::default()
        };
        let again = plan(&loaded, &options).unwrap();
        let (before, after) = (find(&fresh, "agent"), find(&again, "agent"));
        assert_eq!(before.spec.labels, after.spec.labels);
        assert_eq!(before.files, after.files);
    }

    #[test]
    fn debug_settings_replace_command_and_publish_the_port() {
        let (_dir, loaded) = load();
        let options = PlanOptions {
            debug: vec!["orders".into()],
            ..Default::default()
        };
        let planned = plan(&loaded, &options).unwrap();
        let orders = find(&planned, "orders");
        assert_eq!(orders.spec.command, Some(vec!["/dlv".to_owned()]));
        assert_eq!(orders.spec.publish, vec![8080, 2345]);
        assert!(orders.spec.env.iter().any(|e| e == "DEBUGGING=1"));
        assert_eq!(orders.debug_port, Some(2345));
        let published = HashMap::from([(2345, 40000), (8080, 40001)]);
        assert_eq!(
            orders.readiness(&published),
            Some(ProbeSpec::Tcp {
                host: "127.0.0.1".into(),
                port: 40000
            })
        );
        let missing = PlanOptions {
            debug: vec!["user-db".into()],
            ..Default::default()
        };
        assert!(
            plan(&loaded, &missing)
                .unwrap_err()
                .0
                .contains("no `debug:`")
        );
    }

    #[test]
    fn recording_a_replay_needs_an_upstream() {
        let (_dir, loaded) = load();
        let options = PlanOptions {
            record: IndexMap::from([("nobody".to_owned(), None)]),
            ..Default::default()
        };
        assert!(
            plan(&loaded, &options)
                .unwrap_err()
                .0
                .contains("no dependency named `nobody`")
        );
    }

    /// A sandbox with a replay and a record dependency, and the agent's
    /// configuration and served label of `options`' plan of it.
    fn recorded(options: &PlanOptions) -> Result<(AgentConfig, Vec<ServedLabel>, Plan), PlanError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rec")).unwrap();
        std::fs::write(
            dir.path().join("rec/inv.yaml"),
            "version: 1\ninteractions: []\n",
        )
        .unwrap();
        let file = dir.path().join("sandbox.yaml");
        std::fs::write(
            &file,
            "version: 1\nname: rec\nservice: { name: orders, image: orders:dev }\ndependencies:\n  inv: { replay: rec/inv.yaml }\n  pay: { record: { upstream: 'http://real:9000', to: rec/pay.yaml, redact: [x-key], port: 8081 } }\n",
        )
        .unwrap();
        let loaded = crate::manifest::load(&file).unwrap();
        let plan = plan(&loaded, options)?;
        let agent = find(&plan, "agent");
        let config = serde_json::from_slice(&agent.files[0].2).unwrap();
        let served = serde_json::from_str(&agent.spec.labels[labels::SERVED]).unwrap();
        Ok((config, served, plan))
    }

    fn record_of(
        config: &AgentConfig,
        name: &str,
    ) -> (String, String, Vec<String>, Option<String>) {
        match &config.served.iter().find(|s| s.name == name).unwrap().mode {
            Mode::Record {
                upstream,
                to,
                redact,
                file,
                ..
            } => (upstream.clone(), to.clone(), redact.clone(), file.clone()),
            other => panic!("{name} is not recording: {other:?}"),
        }
    }

    #[test]
    fn replay_and_record_dependencies_are_served_by_the_agent() {
        let (config, served, plan) = recorded(&PlanOptions::default()).unwrap();
        let kinds: Vec<_> = served
            .iter()
            .map(|s| (s.name.as_str(), s.kind, s.port))
            .collect();
        assert_eq!(
            kinds,
            [("inv", Kind::Replay, 80), ("pay", Kind::Record, 8081)]
        );
        assert!(matches!(config.served[0].mode, Mode::Replay { .. }));
        assert_eq!(
            record_of(&config, "pay"),
            (
                "http://real:9000".into(),
                format!("{RECORD_MOUNT}/pay/pay.yaml"),
                vec!["x-key".into()],
                Some("rec/pay.yaml".into())
            )
        );
        let binds = &find(&plan, "agent").spec.binds;
        assert_eq!(binds.len(), 1, "{binds:?}");
        assert!(
            binds[0].ends_with(&format!("/rec:{RECORD_MOUNT}/pay")),
            "{binds:?}"
        );
        assert_eq!(config.callers, ["orders"]);
        let orders = find(&plan, "orders");
        for expected in ["INV_URL=http://inv:80", "PAY_URL=http://pay:8081"] {
            assert!(orders.spec.env.iter().any(|e| e == expected), "{expected}");
        }
    }

    #[test]
    fn recording_a_replay_writes_its_file_from_the_upstream_given() {
        let options = PlanOptions {
            record: IndexMap::from([
                ("inv".to_owned(), Some("http://up:1".to_owned())),
                ("pay".to_owned(), Some("http://other:2".to_owned())),
            ]),
            ..Default::default()
        };
        let (config, served, _) = recorded(&options).unwrap();
        assert_eq!(served[0].kind, Kind::Record);
        assert_eq!(
            record_of(&config, "inv"),
            (
                "http://up:1".into(),
                format!("{RECORD_MOUNT}/inv/inv.yaml"),
                Vec::new(),
                Some("rec/inv.yaml".into())
            )
        );
        assert_eq!(record_of(&config, "pay").0, "http://other:2");
        assert_eq!(record_of(&config, "pay").2, ["x-key"]);
        let without = PlanOptions {
            record: IndexMap::from([("inv".to_owned(), None)]),
            ..Default::default()
        };
        let error = recorded(&without).unwrap_err().0;
        assert!(
            error.contains("`inv` replays a recording and has no upstream"),
            "{error}"
        );
        let record = PlanOptions {
            record: IndexMap::from([("pay".to_owned(), None)]),
            ..Default::default()
        };
        assert_eq!(
            record_of(&recorded(&record).unwrap().0, "pay").0,
            "http://real:9000"
        );
    }

    #[test]
    fn only_record_and_replay_dependencies_can_be_recorded() {
        let (_dir, loaded) = load();
        for (name, kind) in [("payments", "stub"), ("user-db", "image")] {
            let options = PlanOptions {
                record: IndexMap::from([(name.to_owned(), Some("http://x".to_owned()))]),
                ..Default::default()
            };
            let error = plan(&loaded, &options).unwrap_err().0;
            assert!(
                error.contains(&format!("`{name}` is a {kind} dependency")),
                "{error}"
            );
        }
    }
}

#[cfg(test)]
mod host_tests {
    use super::*;

    fn load(manifest: &str) -> (tempfile::TempDir, Loaded) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sandbox.yaml");
        std::fs::write(&file, manifest).unwrap();
        let loaded = crate::manifest::load(&file).unwrap();
        (dir, loaded)
    }

    const MANIFEST: &str = r#"
version: 1
name: shop
service:
  name: orders
  image: orders:dev
  ports: { http: 8080, admin: 9090 }
  health: { http: /healthz, port: http }
  host: { port: 18080 }
dependencies:
  pay:
    stub: {}
  db:
    image: postgres:16
    ports: { pg: 5432 }
    health: { exec: [pg_isready] }
"#;

    fn host(names: &[&str]) -> PlanOptions {
        PlanOptions {
            host: names.iter().map(|n| n.to_string()).collect(),
            ..PlanOptions::default()
        }
    }

    #[test]
    fn a_host_entry_is_a_forwarder_under_its_name_that_answers_on_its_ports() {
        let (_dir, loaded) = load(MANIFEST);
        let plan = plan(&loaded, &host(&["orders"])).unwrap();
        let orders = plan
            .containers
            .iter()
            .find(|c| c.entry == "orders")
            .unwrap();
        assert_eq!(orders.kind, "host");
        assert_eq!(orders.role, Role::Service);
        assert_eq!(orders.spec.name, "shop_orders");
        assert_eq!(orders.spec.aliases, vec!["orders"]);
        assert_eq!(orders.image, ImageSource::Agent);
        // Only the control and tunnel ports are published; the entry's
        // ports are the process's own on the host.
        assert_eq!(
            orders.spec.publish,
            vec![config::ADMIN_PORT, config::TUNNEL_PORT]
        );
        assert_eq!(
            orders.spec.labels[labels::HOST_PORTS],
            r#"{"http":18080,"admin":9090}"#
        );
        let agent: AgentConfig = serde_json::from_slice(&orders.files[0].2).unwrap();
        let forward = agent.host.unwrap();
        assert_eq!(forward.entry, "orders");
        assert_eq!(
            forward.ports,
            vec![
                config::HostPort {
                    listen: 8080,
                    host: 18080
                },
                config::HostPort {
                    listen: 9090,
                    host: 9090
                }
            ]
        );
        // The registry knows it as kind host and probes it by name.
        let main: AgentConfig = serde_json::from_slice(&plan.containers[0].files[0].2).unwrap();
        let entry = main
            .registry
            .unwrap()
            .entries
            .into_iter()
            .find(|e| e.name == "orders")
            .unwrap();
        assert_eq!(entry.kind, Kind::Host);
        assert!(matches!(
            entry.probe,
            Some(ProbeSpec::Http { ref host, port: 8080, .. }) if host == "orders"
        ));
        // Every token holder gets the sandbox's token.
        let mut adopted = plan.clone();
        adopted.adopt_token("t-1");
        let orders = adopted
            .containers
            .iter()
            .find(|c| c.entry == "orders")
            .unwrap();
        assert_eq!(orders.spec.labels[labels::TOKEN], "t-1");
    }

    #[test]
    fn only_container_entries_with_a_port_can_run_on_the_host() {
        let (_dir, loaded) = load(MANIFEST);
        let error = plan(&loaded, &host(&["pay"])).unwrap_err();
        assert!(error.0.contains("is a stub dependency"), "{}", error.0);
        let error = plan(&loaded, &host(&["nope"])).unwrap_err();
        assert!(error.0.contains("no entry named `nope`"), "{}", error.0);
        // An exec check needs the container: the registry probes the port.
        let plan = plan(&loaded, &host(&["db"])).unwrap();
        let main: AgentConfig = serde_json::from_slice(&plan.containers[0].files[0].2).unwrap();
        let db = main
            .registry
            .unwrap()
            .entries
            .into_iter()
            .find(|e| e.name == "db")
            .unwrap();
        assert!(matches!(db.probe, Some(ProbeSpec::Tcp { port: 5432, .. })));
        let (_dir, loaded) = load(&MANIFEST.replace("    ports: { pg: 5432 }\n", ""));
        let error = super::plan(&loaded, &host(&["db"])).unwrap_err();
        assert!(error.0.contains("declares no port"), "{}", error.0);
    }
}
