//! The Docker engine adapter: the only module that speaks to the engine
//! (through bollard). Everything it creates carries the labels of
//! [`labels`], which are all the state a sandbox has.

mod buildkit;
pub mod forward;
pub mod image;
pub mod labels;
pub mod select;
mod ssh;
mod tls;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, ExecConfig, HostConfig, HostConfigLogConfig,
    NetworkCreateRequest, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptions, RestartContainerOptionsBuilder,
    StartContainerOptions, StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::{Stream, StreamExt};

/// How long opening a connection to the engine may take before we say it
/// is unreachable.
const CONNECT_DEADLINE: Duration = Duration::from_millis(1_500);
/// How long a reachable engine may take to answer its first ping. A ping is
/// the cheapest call there is, so an engine that has not answered it by
/// then is hung, and every command says so within 5 s (PRODUCT.md 6.1).
const BUSY_DEADLINE: Duration = Duration::from_secs(4);

/// Opens (and closes) a connection to the endpoint, to tell "not there"
/// from "busy" quickly.
async fn reachable(endpoint: &str) -> std::io::Result<()> {
    if let Some(path) = endpoint.strip_prefix("unix://") {
        tokio::net::UnixStream::connect(path).await.map(drop)
    } else if let Some(address) = endpoint
        .strip_prefix("tcp://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .or_else(|| endpoint.strip_prefix("https://"))
    {
        tokio::net::TcpStream::connect(address.trim_end_matches('/'))
            .await
            .map(drop)
    } else {
        Ok(())
    }
}

/// Something the engine refused or could not do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The variables, `--context` or the context store name no usable engine.
    #[error(transparent)]
    Selection(#[from] select::SelectError),
    /// The engine cannot be reached at all.
    #[error("cannot reach the Docker engine at {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    /// An operation failed; `operation` names it ("create container shop-orders").
    #[error("failed to {operation}: {message}")]
    Operation { operation: String, message: String },
    /// The object does not exist (HTTP 404).
    #[error("failed to {operation}: not found")]
    NotFound { operation: String },
    /// An object of that name exists already (HTTP 409).
    #[error("failed to {operation}: already exists")]
    Conflict { operation: String },
}

impl EngineError {
    fn from_bollard(operation: impl Into<String>, error: BollardError) -> Self {
        let operation = operation.into();
        match error {
            BollardError::DockerResponseServerError {
                status_code: 404, ..
            } => EngineError::NotFound { operation },
            BollardError::DockerResponseServerError {
                status_code: 409, ..
            } => EngineError::Conflict { operation },
            BollardError::DockerResponseServerError { message, .. } => EngineError::Operation {
                operation,
                message: message.trim().to_owned(),
            },
            other => EngineError::Operation {
                operation,
                message: other.to_string(),
            },
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, EngineError::NotFound { .. })
    }
}

/// The result of an operation on an object that may be absent: `None` when
/// the engine says it does not exist (HTTP 404).
pub(crate) fn present<T>(
    result: Result<T, BollardError>,
    operation: impl Into<String>,
) -> EngineResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) => match EngineError::from_bollard(operation, e) {
            EngineError::NotFound { .. } => Ok(None),
            other => Err(other),
        },
    }
}

/// Shorthand for this module's results.
pub type EngineResult<T> = Result<T, EngineError>;

/// A connected engine.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: String,
    target: select::Target,
    /// Whether published ports are on this machine's loopback; when not,
    /// callers see the ports of the sandbox's forwarder ([`forward`]).
    local: bool,
}

/// What to create: one container of a sandbox.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// `K=V` pairs, sorted so that the same input gives the same spec.
    pub env: Vec<String>,
    /// Sorted, so that the spec's serialization (hashed by the runner) is
    /// the same for the same input.
    pub labels: std::collections::BTreeMap<String, String>,
    pub network: String,
    pub aliases: Vec<String>,
    /// Container ports published on 127.0.0.1 at an engine-chosen port.
    pub publish: Vec<u16>,
    /// Bind mounts, `host:container[:ro]`.
    pub binds: Vec<String>,
    /// Where the engine also sends the container's output, with Docker's
    /// `gelf` log driver: (`udp://IP:PORT`, the tag naming the entry). The
    /// engine keeps its own copy too (dual logging), so its logs API works
    /// as without. Not hashed: the address is known only once the agent runs.
    #[serde(skip)]
    pub log_to: Option<(String, String)>,
}

/// A container of a sandbox as listed by the engine.
#[derive(Debug, Clone)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
    /// `running`, `exited`, `created`, ...
    pub state: String,
    /// Container port -> host port on 127.0.0.1.
    pub published: HashMap<u16, u16>,
    /// Its IP address on its network (the sandbox's), when it has one.
    pub address: Option<String>,
}

impl ContainerInfo {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    pub fn is_running(&self) -> bool {
        self.state == "running"
    }

    /// The sandbox's main agent (registry, stubs, replays, recordings).
    pub fn is_agent(&self) -> bool {
        self.label(labels::ROLE) == Some("agent") && self.label(labels::KIND) == Some("agent")
    }

    /// The entry this container is a proxy in front of, if it is a proxy.
    pub fn proxy_of(&self) -> Option<&str> {
        (self.label(labels::ROLE) == Some("agent") && self.label(labels::KIND) == Some("proxy"))
            .then(|| self.label(labels::ENTRY))
            .flatten()
    }

    /// The entry this container runs, if it runs one (not an agent or proxy).
    pub fn entry(&self) -> Option<&str> {
        matches!(self.label(labels::ROLE), Some("service" | "dependency"))
            .then(|| self.label(labels::ENTRY))
            .flatten()
    }

    /// How logs and progress name the container: the entry, `agent`, or
    /// `ENTRY-proxy`.
    pub fn display_name(&self) -> String {
        if self.is_agent() {
            "agent".to_owned()
        } else if let Some(entry) = self.proxy_of() {
            format!("{entry}-proxy")
        } else {
            self.label(labels::ENTRY).unwrap_or(&self.name).to_owned()
        }
    }
}

/// One line of a container's output.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub stderr: bool,
    pub text: String,
}

/// The endpoint of the selected engine, for messages.
pub fn endpoint() -> String {
    select::current()
        .map(|t| t.host)
        .unwrap_or_else(|_| select::DEFAULT_HOST.to_owned())
}

/// A bollard client whose requests go through `client` (which keeps its
/// connections for reuse) to `address` (`SCHEME://AUTHORITY`).
fn pooled<C, B>(
    client: hyper_util::client::legacy::Client<C, B>,
    address: String,
    timeout: u64,
) -> std::io::Result<Docker>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
    bollard::BollardRequest: Into<http::Request<B>>,
    B: hyper::body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let client = std::sync::Arc::new(client);
    Docker::connect_with_custom_transport(
        move |request: bollard::BollardRequest| {
            let client = client.clone();
            Box::pin(async move {
                client
                    .request(request.into())
                    .await
                    .map_err(|e| BollardError::from(std::io::Error::other(e)))
            })
        },
        Some(address),
        timeout,
        bollard::API_DEFAULT_VERSION,
    )
    .map_err(std::io::Error::other)
}

impl Engine {
    /// Connects to the engine the docker CLI would use (see [`select`]),
    /// checks that it answers, and negotiates the API version. An engine
    /// that is not there (no socket, connection refused) is reported within
    /// [`CONNECT_DEADLINE`]; one that is there but busy is given longer.
    pub async fn connect() -> EngineResult<Engine> {
        let target = select::current()?;
        let endpoint = target.host.clone();
        let unreachable = |reason: String| EngineError::Unreachable {
            endpoint: endpoint.clone(),
            reason,
        };
        let docker = if let Some(path) = endpoint.strip_prefix("unix://") {
            tokio::time::timeout(CONNECT_DEADLINE, reachable(&endpoint))
                .await
                .map_err(|_| unreachable("no connection within 1.5s".into()))?
                .map_err(|e| unreachable(e.to_string()))?;
            Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)
        } else if endpoint.starts_with("ssh://") {
            Ok(ssh::connect(&endpoint, 120)
                .await
                .map_err(|e| unreachable(e.to_string()))?)
        } else {
            tokio::time::timeout(CONNECT_DEADLINE, reachable(&endpoint))
                .await
                .map_err(|_| unreachable("no connection within 1.5s".into()))?
                .map_err(|e| unreachable(e.to_string()))?;
            match &target.tls {
                Some(tls) => tls::connect(&endpoint, tls, 120).map_err(BollardError::from),
                None => Docker::connect_with_http(&endpoint, 120, bollard::API_DEFAULT_VERSION),
            }
        }
        .map_err(|e| unreachable(e.to_string()))?;
        let negotiated = tokio::time::timeout(BUSY_DEADLINE, async {
            docker.ping().await?;
            docker.negotiate_version().await
        })
        .await
        .map_err(|_| unreachable(format!("no answer within {}s", BUSY_DEADLINE.as_secs())))?
        .map_err(|e| unreachable(short_reason(&e)))?;
        let local = forward::is_local(&target).await;
        Ok(Engine {
            docker: negotiated.with_timeout(Duration::from_secs(600)),
            endpoint,
            target,
            local,
        })
    }

    /// Whether the engine's published ports are on this machine's loopback.
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// This engine without the forwarder's ports: callers see the ports the
    /// engine published, and no forwarder is started (for `down`).
    pub fn without_forwarding(mut self) -> Engine {
        self.local = true;
        self
    }

    /// The engine's context and address.
    pub fn target(&self) -> &select::Target {
        &self.target
    }

    /// The engine's OS and architecture in Go's names (`linux`, `amd64`).
    pub async fn platform(&self) -> EngineResult<(String, String)> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|e| EngineError::from_bollard("ask the engine's version", e))?;
        Ok((
            version.os.unwrap_or_default(),
            version.arch.unwrap_or_default(),
        ))
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }

    // ---- networks ----

    /// Creates the network unless one of exactly that name exists (this engine
    /// happily creates duplicates, which then break every container start).
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> EngineResult<bool> {
        if self.network_exists(name).await? {
            return Ok(false);
        }
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map_err(|e| EngineError::from_bollard(format!("create network {name}"), e))?;
        Ok(true)
    }

    pub async fn network_exists(&self, name: &str) -> EngineResult<bool> {
        // The `name` filter matches substrings; keep the exact name only.
        let networks = self.list_networks("name", name).await?;
        Ok(networks.iter().any(|(_, n)| n == name))
    }

    /// Networks carrying `label` (`key` or `key=value`), as (id, name).
    pub async fn networks_with_label(&self, label: &str) -> EngineResult<Vec<(String, String)>> {
        self.list_networks("label", label).await
    }

    async fn list_networks(
        &self,
        filter: &str,
        value: &str,
    ) -> EngineResult<Vec<(String, String)>> {
        let options = ListNetworksOptionsBuilder::default()
            .filters(&HashMap::from([(filter, vec![value])]))
            .build();
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| EngineError::from_bollard("list networks", e))?;
        Ok(networks
            .into_iter()
            .map(|n| (n.id.unwrap_or_default(), n.name.unwrap_or_default()))
            .collect())
    }

    /// Removes a network; an absent one is not an error.
    pub async fn remove_network(&self, id: &str) -> EngineResult<()> {
        present(
            self.docker.remove_network(id).await,
            format!("remove network {id}"),
        )
        .map(drop)
    }

    // ---- containers ----

    /// Creates a container from a spec: published ports on 127.0.0.1 only,
    /// `init: true`, never privileged.
    pub async fn create_container(&self, spec: &ContainerSpec) -> EngineResult<String> {
        let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = spec
            .publish
            .iter()
            .map(|port| {
                (
                    format!("{port}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".into()),
                        host_port: Some(String::new()),
                    }]),
                )
            })
            .collect();
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: spec.command.clone(),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            exposed_ports: Some(spec.publish.iter().map(|p| format!("{p}/tcp")).collect()),
            host_config: Some(HostConfig {
                init: Some(true),
                privileged: Some(false),
                port_bindings: Some(port_bindings),
                binds: (!spec.binds.is_empty()).then(|| spec.binds.clone()),
                network_mode: Some(spec.network.clone()),
                log_config: spec
                    .log_to
                    .as_ref()
                    .map(|(address, tag)| HostConfigLogConfig {
                        typ: Some("gelf".into()),
                        config: Some(HashMap::from([
                            ("gelf-address".to_owned(), address.clone()),
                            ("gelf-compression-type".to_owned(), "none".to_owned()),
                            ("tag".to_owned(), tag.clone()),
                        ])),
                    }),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    spec.network.clone(),
                    EndpointSettings {
                        aliases: Some(spec.aliases.clone()),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| EngineError::from_bollard(format!("create container {}", spec.name), e))?;
        Ok(created.id)
    }

    /// Creates a container that is never started, as a marker whose name
    /// only one caller can take (the engine refuses a second container of
    /// the same name with a conflict, which becomes [`EngineError::Conflict`]).
    pub async fn create_marker(
        &self,
        name: &str,
        image: &str,
        labels: HashMap<String, String>,
    ) -> EngineResult<String> {
        let body = ContainerCreateBody {
            image: Some(image.to_owned()),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                privileged: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| EngineError::from_bollard(format!("create container {name}"), e))?;
        Ok(created.id)
    }

    /// A container's labels, or `None` when it does not exist.
    pub async fn container_labels(
        &self,
        name: &str,
    ) -> EngineResult<Option<HashMap<String, String>>> {
        let inspect = present(
            self.docker
                .inspect_container(name, None::<InspectContainerOptions>)
                .await,
            format!("inspect container {name}"),
        )?;
        Ok(inspect.map(|inspect| inspect.config.and_then(|c| c.labels).unwrap_or_default()))
    }

    pub async fn start_container(&self, id: &str) -> EngineResult<()> {
        self.docker
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|e| EngineError::from_bollard(format!("start container {id}"), e))
    }

    /// Stops a container (SIGTERM, then SIGKILL after `grace`), leaving it in place.
    pub async fn stop_container(&self, id: &str, grace: Duration) -> EngineResult<()> {
        let options = StopContainerOptionsBuilder::default()
            .t(grace.as_secs().max(1) as i32)
            .build();
        match self.docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) => Err(EngineError::from_bollard(format!("stop container {id}"), e)),
        }
    }

    /// Restarts a container in place (SIGTERM, then SIGKILL after `grace`,
    /// then start): same id, same configuration, a new process.
    pub async fn restart_container(&self, id: &str, grace: Duration) -> EngineResult<()> {
        let options = RestartContainerOptionsBuilder::default()
            .t(grace.as_secs().max(1) as i32)
            .build();
        self.docker
            .restart_container(id, Some(options))
            .await
            .map_err(|e| EngineError::from_bollard(format!("restart container {id}"), e))
    }

    /// A container's id and when its process last started (RFC 3339), or
    /// `None` when it does not exist.
    pub async fn container_started(&self, name: &str) -> EngineResult<Option<(String, String)>> {
        let inspect = present(
            self.docker
                .inspect_container(name, None::<InspectContainerOptions>)
                .await,
            format!("inspect container {name}"),
        )?;
        Ok(inspect.map(|i| {
            (
                i.id.unwrap_or_default(),
                i.state.and_then(|s| s.started_at).unwrap_or_default(),
            )
        }))
    }

    /// Stops (SIGTERM, then SIGKILL after `grace`) and removes a container
    /// with its anonymous volumes; an absent one is not an error.
    pub async fn remove_container(&self, id: &str, grace: Option<Duration>) -> EngineResult<()> {
        if let Some(grace) = grace {
            let options = StopContainerOptionsBuilder::default()
                .t(grace.as_secs().max(1) as i32)
                .build();
            // A container that is already stopped or gone is fine here.
            let _ = self.docker.stop_container(id, Some(options)).await;
        }
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let removed = self.docker.remove_container(id, Some(options)).await;
        match present(removed, format!("remove container {id}")) {
            // Removal already in progress (a parallel `down`).
            Err(EngineError::Conflict { .. }) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Containers carrying `label` (`key` or `key=value`), running or not,
    /// with their published ports as this machine reaches them.
    pub async fn containers_with_label(&self, label: &str) -> EngineResult<Vec<ContainerInfo>> {
        let mut containers = self.containers_with_label_raw(label).await?;
        if !self.local {
            for c in &mut containers {
                let Some(sandbox) = c.labels.get(labels::NAME).cloned() else {
                    continue;
                };
                if c.state != "running" || c.published.is_empty() {
                    continue;
                }
                c.published = self.forwarded(&sandbox, &c.published).await;
            }
        }
        Ok(containers)
    }

    /// Published ports (container port -> engine port) as local ports of
    /// the sandbox's forwarder; a port it does not forward is left out.
    async fn forwarded(&self, sandbox: &str, published: &HashMap<u16, u16>) -> HashMap<u16, u16> {
        let mut local = HashMap::new();
        for (container_port, engine_port) in published {
            if let Some(port) = forward::local_port(&self.target, sandbox, *engine_port).await {
                local.insert(*container_port, port);
            }
        }
        local
    }

    /// Containers carrying `label`, with the ports the engine published.
    /// One item per event of a container labelled `label` (created,
    /// started, stopped, removed, ...), as the engine reports them; ends
    /// when the engine's connection does.
    pub fn container_events(
        &self,
        label: &str,
    ) -> impl Stream<Item = Result<(), BollardError>> + Send + 'static {
        let options = bollard::query_parameters::EventsOptionsBuilder::new()
            .filters(&HashMap::from([
                ("type", vec!["container"]),
                ("label", vec![label]),
            ]))
            .build();
        self.docker
            .events(Some(options))
            .map(|event| event.map(|_| ()))
    }

    pub async fn containers_with_label_raw(&self, label: &str) -> EngineResult<Vec<ContainerInfo>> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&HashMap::from([("label", vec![label])]))
            .build();
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| EngineError::from_bollard("list containers", e))?;
        Ok(containers
            .into_iter()
            .map(|c| {
                let published = c
                    .ports
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|p| p.ip.as_deref() == Some("127.0.0.1"))
                    .filter_map(|p| Some((p.private_port, p.public_port?)))
                    .collect();
                let address = c
                    .network_settings
                    .and_then(|n| n.networks)
                    .and_then(|networks| {
                        let mut addresses: Vec<String> = networks
                            .into_values()
                            .filter_map(|e| e.ip_address)
                            .filter(|a| !a.is_empty())
                            .collect();
                        addresses.sort();
                        addresses.into_iter().next()
                    });
                ContainerInfo {
                    id: c.id.unwrap_or_default(),
                    name: c
                        .names
                        .and_then(|n| n.into_iter().next())
                        .unwrap_or_default()
                        .trim_start_matches('/')
                        .to_owned(),
                    labels: c.labels.unwrap_or_default(),
                    state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                    published,
                    address,
                }
            })
            .collect())
    }

    /// State of one container: running or not, its exit code, and its
    /// published ports (container port -> host port).
    pub async fn inspect_container(
        &self,
        id: &str,
    ) -> EngineResult<(bool, Option<i64>, HashMap<u16, u16>)> {
        let inspect = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| EngineError::from_bollard(format!("inspect container {id}"), e))?;
        let state = inspect.state.unwrap_or_default();
        let mut published = HashMap::new();
        if let Some(ports) = inspect
            .network_settings
            .as_ref()
            .and_then(|n| n.ports.clone())
        {
            for (key, bindings) in ports {
                let Some(port) = key.split('/').next().and_then(|p| p.parse::<u16>().ok()) else {
                    continue;
                };
                for binding in bindings.unwrap_or_default() {
                    if let Some(host) = binding.host_port.and_then(|p| p.parse::<u16>().ok()) {
                        published.insert(port, host);
                    }
                }
            }
        }
        let running = state.running.unwrap_or(false);
        if !self.local && running && !published.is_empty() {
            let sandbox = inspect
                .config
                .and_then(|c| c.labels)
                .and_then(|l| l.get(labels::NAME).cloned());
            if let Some(sandbox) = sandbox {
                published = self.forwarded(&sandbox, &published).await;
            }
        }
        Ok((running, state.exit_code, published))
    }

    /// The container's address on `network` as the engine's own processes
    /// reach it (its log drivers send from the engine's host), local
    /// engine or not.
    pub async fn address_in_engine(&self, id: &str, network: &str) -> EngineResult<Option<IpAddr>> {
        let inspect = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| EngineError::from_bollard(format!("inspect container {id}"), e))?;
        Ok(inspect
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut networks| networks.remove(network))
            .and_then(|endpoint| endpoint.ip_address)
            .and_then(|ip| ip.parse().ok()))
    }

    /// The container's address on `network` (one the sandbox created), if
    /// it has one. None on a remote engine: its networks are not routed to
    /// this machine, even where an address looks like one of ours.
    pub async fn address_on(&self, id: &str, network: &str) -> EngineResult<Option<IpAddr>> {
        if !self.local {
            return Ok(None);
        }
        self.address_in_engine(id, network).await
    }

    /// Puts files into a (created, not yet started) container.
    pub async fn upload_files(
        &self,
        id: &str,
        folder: &str,
        files: &[(&str, &[u8])],
    ) -> EngineResult<()> {
        let mut archive = tar::Builder::new(Vec::new());
        for (name, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            archive
                .append_data(&mut header, name, *contents)
                .map_err(|e| EngineError::Operation {
                    operation: format!("pack files for {id}"),
                    message: e.to_string(),
                })?;
        }
        let tar = archive.into_inner().map_err(|e| EngineError::Operation {
            operation: format!("pack files for {id}"),
            message: e.to_string(),
        })?;
        self.upload_tar(id, folder, tar).await
    }

    /// Copies a tar archive into a container, unpacked at `folder` (which
    /// must exist; missing folders named inside the archive are created).
    /// The container may be running: nothing is restarted.
    pub async fn upload_tar(&self, id: &str, folder: &str, tar: Vec<u8>) -> EngineResult<()> {
        let options = UploadToContainerOptionsBuilder::default()
            .path(folder)
            .build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| EngineError::from_bollard(format!("copy files into {id}"), e))
    }

    /// A container's output from `since` (UNIX seconds) on, each line with
    /// the engine's timestamp (RFC 3339 with nanoseconds), so that a caller
    /// following a container across restarts can skip lines it has shown.
    pub fn logs_stamped(
        &self,
        id: &str,
        since: i64,
    ) -> impl Stream<Item = EngineResult<(String, LogLine)>> + use<> {
        let options = LogsOptionsBuilder::default()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .since(since.clamp(0, i32::MAX as i64) as i32)
            .build();
        let operation = format!("read logs of {id}");
        self.docker.logs(id, Some(options)).flat_map(move |item| {
            let lines: Vec<EngineResult<(String, LogLine)>> = match item {
                Ok(output) => {
                    let stderr = matches!(output, bollard::container::LogOutput::StdErr { .. });
                    String::from_utf8_lossy(&output.into_bytes())
                        .lines()
                        .map(|line| {
                            let (stamp, text) = line.split_once(' ').unwrap_or((line, ""));
                            Ok((
                                stamp.to_owned(),
                                LogLine {
                                    stderr,
                                    text: text.to_owned(),
                                },
                            ))
                        })
                        .collect()
                }
                Err(e) => vec![Err(EngineError::from_bollard(operation.clone(), e))],
            };
            futures_util::stream::iter(lines)
        })
    }

    /// A container's output, line by line.
    pub fn logs(
        &self,
        id: &str,
        follow: bool,
        tail: Option<u64>,
    ) -> impl Stream<Item = EngineResult<LogLine>> + use<> {
        let tail = tail.map(|t| t.to_string()).unwrap_or_else(|| "all".into());
        let options = LogsOptionsBuilder::default()
            .follow(follow)
            .stdout(true)
            .stderr(true)
            .tail(&tail)
            .build();
        let operation = format!("read logs of {id}");
        self.docker
            .logs(id, Some(options))
            .map(move |item| match item {
                Ok(output) => {
                    let stderr = matches!(output, bollard::container::LogOutput::StdErr { .. });
                    Ok(LogLine {
                        stderr,
                        text: String::from_utf8_lossy(&output.into_bytes()).into_owned(),
                    })
                }
                Err(e) => Err(EngineError::from_bollard(operation.clone(), e)),
            })
    }

    /// The last `lines` lines of a container's output, as text.
    pub async fn tail_logs(&self, id: &str, lines: u64) -> String {
        let mut text = String::new();
        let mut stream = Box::pin(self.logs(id, false, Some(lines)));
        while let Some(Ok(line)) = stream.next().await {
            text.push_str(&line.text);
        }
        text
    }

    /// Creates and starts an exec of `command` in a container (stdin attached
    /// when `stdin`); returns its id and its streams.
    async fn start_exec(
        &self,
        id: &str,
        command: &[String],
        stdin: bool,
        tty: bool,
        operation: &str,
    ) -> EngineResult<(String, bollard::exec::StartExecResults)> {
        let config = ExecConfig {
            cmd: Some(command.to_vec()),
            attach_stdin: Some(stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(tty),
            ..Default::default()
        };
        let exec = self
            .docker
            .create_exec(id, config)
            .await
            .map_err(|e| EngineError::from_bollard(operation, e))?;
        let started = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| EngineError::from_bollard(operation, e))?;
        Ok((exec.id, started))
    }

    /// The exit code of a finished exec.
    async fn exec_exit_code(&self, exec_id: &str, operation: &str) -> EngineResult<i64> {
        let inspect = self
            .docker
            .inspect_exec(exec_id)
            .await
            .map_err(|e| EngineError::from_bollard(operation, e))?;
        Ok(inspect.exit_code.unwrap_or(-1))
    }

    /// Runs a command in a container, collecting its output; returns the exit
    /// code and the combined output. A missing program is exit code 126 or
    /// 127, as the engine reports it.
    pub async fn exec_capture(&self, id: &str, command: &[String]) -> EngineResult<(i64, String)> {
        let operation = format!("run {:?} in {id}", command.join(" "));
        let (exec, started) = self
            .start_exec(id, command, false, false, &operation)
            .await?;
        let mut output = String::new();
        if let bollard::exec::StartExecResults::Attached {
            output: mut stream, ..
        } = started
        {
            while let Some(Ok(chunk)) = stream.next().await {
                output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            }
        }
        Ok((self.exec_exit_code(&exec, &operation).await?, output))
    }

    /// Runs a command in a container with its stdin and stdout as a pipe:
    /// what is written reaches the command, its output arrives as chunks.
    pub async fn exec_pipe(
        &self,
        id: &str,
        command: &[String],
    ) -> EngineResult<(
        std::pin::Pin<
            Box<dyn Stream<Item = Result<bollard::container::LogOutput, BollardError>> + Send>,
        >,
        std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    )> {
        let operation = format!("run {:?} in {id}", command.join(" "));
        let (_, started) = self
            .start_exec(id, command, true, false, &operation)
            .await?;
        match started {
            bollard::exec::StartExecResults::Attached { output, input } => Ok((output, input)),
            bollard::exec::StartExecResults::Detached => Err(EngineError::Operation {
                operation,
                message: "the engine did not attach".into(),
            }),
        }
    }

    /// Runs a command in a container attached to this process's stdin and
    /// stdout, with a TTY when `tty`; returns its exit code.
    pub async fn exec_interactive(
        &self,
        id: &str,
        command: &[String],
        tty: bool,
    ) -> EngineResult<i64> {
        use tokio::io::AsyncWriteExt;
        let operation = format!("run {:?} in {id}", command.join(" "));
        let (exec, started) = self.start_exec(id, command, true, tty, &operation).await?;
        if let bollard::exec::StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        {
            let pump = tokio::spawn(async move {
                let mut stdin = tokio::io::stdin();
                let _ = tokio::io::copy(&mut stdin, &mut input).await;
                let _ = input.shutdown().await;
            });
            let mut stdout = tokio::io::stdout();
            let mut stderr = tokio::io::stderr();
            while let Some(Ok(chunk)) = output.next().await {
                let result = match chunk {
                    bollard::container::LogOutput::StdErr { message } => {
                        stderr.write_all(&message).await
                    }
                    other => stdout.write_all(&other.into_bytes()).await,
                };
                if result.is_err() {
                    break;
                }
                let _ = stdout.flush().await;
            }
            pump.abort();
        }
        self.exec_exit_code(&exec, &operation).await
    }

    // ---- volumes ----

    /// Removes every volume carrying `label`; returns how many.
    pub async fn remove_volumes_with_label(&self, label: &str) -> EngineResult<usize> {
        let options = ListVolumesOptionsBuilder::default()
            .filters(&HashMap::from([("label", vec![label])]))
            .build();
        let volumes = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| EngineError::from_bollard("list volumes", e))?;
        let mut removed = 0;
        for volume in volumes.volumes.unwrap_or_default() {
            let result = self
                .docker
                .remove_volume(&volume.name, None::<RemoveVolumeOptions>)
                .await;
            if present(result, format!("remove volume {}", volume.name))?.is_some() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn short_reason(error: &BollardError) -> String {
    let text = error.to_string();
    let mut source = std::error::Error::source(error);
    let mut deepest = None;
    while let Some(cause) = source {
        deepest = Some(cause.to_string());
        source = cause.source();
    }
    deepest.unwrap_or(text)
}
