//! The agent's configuration: what one agent container serves. The CLI
//! builds it from the manifest (see `plan`), uploads it into the container as
//! JSON at [`CONFIG_PATH`], and the agent reads it at start.

use serde::{Deserialize, Serialize};

use crate::manifest::recording::Recording;
use crate::manifest::{Faults, Limits, ReplayTiming, Route};
use crate::registry::RegistryConfig;

/// Where the configuration is inside the agent container.
pub const CONFIG_PATH: &str = "/sandbox/agent.json";
/// The registry's port inside the network (`http://registry:7700`).
pub const REGISTRY_PORT: u16 = 7700;
/// The agent's control port: journal, faults and limits at run time.
pub const ADMIN_PORT: u16 = 7701;
/// The OTLP/HTTP trace receiver's port (`http://registry:4318`), the
/// OpenTelemetry SDKs' default.
pub const OTLP_PORT: u16 = 4318;
/// The tunnel port of an agent that stands for an entry run on the host
/// (`sandbox up --host`): the CLI connects to it, published on 127.0.0.1.
pub const TUNNEL_PORT: u16 = 7702;
/// Private ports handed out to served dependencies, one each, so that each
/// can be published on its own host port.
pub const FIRST_PRIVATE_PORT: u16 = 20000;
/// The configuration format's version.
pub const CONFIG_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentConfig {
    pub version: u32,
    /// The sandbox this agent belongs to.
    pub sandbox: String,
    /// Port of the control API (`/_sandbox/...`).
    pub admin_port: u16,
    /// The sandbox's token (see `registry::token`): requests that change state
    /// must carry it. Without one (an agent started by hand) they need none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The registry, when this agent also serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryConfig>,
    /// The dependencies this agent answers for.
    #[serde(default)]
    pub served: Vec<Served>,
    /// Entry names on the network; the agent resolves them to tell callers
    /// apart by source address (anything else is the caller `host`).
    #[serde(default)]
    pub callers: Vec<String>,
    /// Address every listener binds: `0.0.0.0` in the container, `127.0.0.1`
    /// for tests and benchmarks on the host.
    #[serde(default = "default_listen")]
    pub listen: std::net::IpAddr,
    /// Port of the registry, when this agent serves it.
    #[serde(default = "default_registry_port")]
    pub registry_port: u16,
    /// How many calls the journal keeps (the oldest are dropped first).
    #[serde(default = "default_journal_capacity")]
    pub journal_capacity: usize,
    /// Threads serving dependencies; 0 (the default) means one per CPU
    /// available to the container, at most 4.
    #[serde(default)]
    pub threads: usize,
    /// An entry run on the host that this agent stands for on the network:
    /// it listens on the entry's ports and carries each connection through
    /// the tunnel to the CLI (see [`crate::tunnel`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostForward>,
}

/// The entry this agent stands for, run on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostForward {
    /// The entry's name (its network alias is the agent container's).
    pub entry: String,
    /// Where the CLI's tunnel connects ([`TUNNEL_PORT`] in the sandbox).
    pub tunnel_port: u16,
    /// The entry's ports.
    pub ports: Vec<HostPort>,
}

/// One port of an entry run on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPort {
    /// The entry's declared port, listened on inside the network.
    pub listen: u16,
    /// The port the process listens on, on the host's 127.0.0.1 (for
    /// messages: the CLI's session maps it).
    pub host: u16,
}

fn default_listen() -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
}

fn default_registry_port() -> u16 {
    REGISTRY_PORT
}

/// The journal's default size: the last 50 000 calls.
pub const JOURNAL_CAPACITY: usize = 50_000;

fn default_journal_capacity() -> usize {
    JOURNAL_CAPACITY
}

/// One dependency answered by the agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Served {
    /// The dependency's name (also its network alias).
    pub name: String,
    /// The declared port, shared between dependencies of this agent and told
    /// apart by the `Host` header.
    pub port: u16,
    /// A port of this dependency alone, published on the host.
    pub private_port: u16,
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Faults>,
}

/// How a served dependency answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Mode {
    /// Canned answers; first matching route wins. With a contract, a
    /// request that breaks its OpenAPI operation is refused first (400).
    Stub {
        #[serde(with = "stub_routes")]
        routes: Vec<Route>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contract: Option<crate::openapi::Contract>,
        /// The routes answering gRPC methods, with the compiled `.proto`s.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grpc: Option<GrpcStubConfig>,
    },
    /// Answers from a recording.
    Replay {
        recording: Recording,
        /// The folder a recording's `body_file`s are relative to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bodies: Option<String>,
        /// The compiled `.proto` files of the recording's gRPC messages
        /// (a serialized `FileDescriptorSet`, in base64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grpc: Option<String>,
        /// `recorded`: answers keep their recorded time to first byte and
        /// gaps between chunks.
        #[serde(default, skip_serializing_if = "ReplayTiming::is_none")]
        timing: ReplayTiming,
    },
    /// Forward to `upstream` and save every interaction to `to` (a path
    /// inside the agent container, on a bind mount of the host folder).
    Record {
        upstream: String,
        to: String,
        redact: Vec<String>,
        /// The file as the manifest names it (relative to its folder), for
        /// messages; `to` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// With `proto:`: gRPC messages are recorded as JSON.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grpc: Option<GrpcRecordConfig>,
    },
    /// Forward to a real container (`target`, an alias on the network) with
    /// limits and faults applied; HTTP per request, other ports per
    /// connection.
    Proxy {
        target: String,
        ports: Vec<ProxyPort>,
    },
}

/// A stub's gRPC part: the routes with `match.grpc`, and the compiled
/// `.proto` files they answer from (a serialized `FileDescriptorSet`, in
/// base64), so the agent needs neither the files nor a compiler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrpcStubConfig {
    pub descriptors: String,
    #[serde(with = "stub_routes")]
    pub routes: Vec<Route>,
}

/// A recording's `.proto` files: as the manifest names them (written into
/// the recording) and compiled (base64 of a `FileDescriptorSet`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrpcRecordConfig {
    pub proto: Vec<String>,
    pub descriptors: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProxyPort {
    /// Port the agent listens on (the dependency's declared port).
    pub listen: u16,
    /// Port of the real container.
    pub target: u16,
    /// Whether the port speaks HTTP (per-request handling) or only TCP.
    pub http: bool,
    /// Whether the container is spoken to over HTTP/2 (a `grpc` port).
    #[serde(default)]
    pub h2: bool,
}

/// Stub routes as the agent reads them: as in a manifest, and with the
/// `converted` part that a manifest cannot write (a WireMock mapping's
/// matchers and answer), which the model's own serde skips.
mod stub_routes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::manifest::converted::ConvertedRoute;
    use crate::manifest::{Respond, Route, RouteMatch};

    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(rename = "match")]
        matcher: &'a RouteMatch,
        respond: &'a Respond,
        #[serde(skip_serializing_if = "Option::is_none")]
        converted: Option<&'a ConvertedRoute>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct In {
        #[serde(rename = "match")]
        matcher: RouteMatch,
        respond: Respond,
        #[serde(default)]
        converted: Option<Box<ConvertedRoute>>,
    }

    pub fn serialize<S: Serializer>(routes: &[Route], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(routes.iter().map(|route| Out {
            matcher: &route.matcher,
            respond: &route.respond,
            converted: route.converted.as_deref(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Route>, D::Error> {
        Ok(Vec::<In>::deserialize(deserializer)?
            .into_iter()
            .map(|route| Route {
                matcher: route.matcher,
                respond: route.respond,
                converted: route.converted,
            })
            .collect())
    }
}
