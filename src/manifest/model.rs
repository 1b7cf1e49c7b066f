//! The manifest's data model (version 1), as deserialized from `sandbox.yaml`.
//!
//! Every struct denies unknown keys so that a typo is an error, not a silently
//! ignored setting. Field order follows the contract in PRODUCT.md section 1.
//! An entry's kind is a set of optional keys here; validation checks there is
//! exactly one and turns it into an enum ([`super::entries`]), read downstream.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::units::{ByteRate, Rate, Span};

/// A whole manifest.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version; must be 1.
    pub version: u32,
    /// Sandbox name; defaults to the manifest folder's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Who answers for the sandbox; entries may set their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The service under work.
    pub service: Service,
    /// Dependencies by name, each of exactly one kind.
    #[serde(default)]
    pub dependencies: IndexMap<String, Dependency>,
}

/// The service under work: a container built or taken from an image.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Name on the network; `[a-z][a-z0-9-]{0,39}`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A build context with a Dockerfile inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// An image present locally (pulled when missing and a registry is reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Overrides the image's command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, EnvValue>,
    /// Port name -> container port, or `{ port, protocol }`.
    #[serde(default, skip_serializing_if = "Ports::is_none")]
    pub ports: Ports,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<Debug>,
    /// How the entry runs on this machine with `sandbox up --host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Host>,
    /// What `sandbox up --watch` does when files change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<WatchRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Faults>,
}

/// A dependency: exactly one of `stub`, `replay`, `record`, `image` or `build`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stub: Option<Stub>,
    /// A recording (`.yaml`, `.yml`) or a HAR 1.2 file (`.har`) to answer
    /// from: its path, or `{ file, timing }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// A build context with a Dockerfile inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// An image present locally (pulled when missing and a registry is reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Overrides the image's command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, EnvValue>,
    /// Port name -> container port, or `{ port, protocol }`.
    #[serde(default, skip_serializing_if = "Ports::is_none")]
    pub ports: Ports,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<Debug>,
    /// How the entry runs on this machine with `sandbox up --host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Host>,
    /// What `sandbox up --watch` does when files change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<WatchRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Faults>,
}

/// How an entry runs, as the registry and `status` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Build,
    Image,
    Stub,
    Replay,
    Record,
    /// An entry run as a process on this machine (`up --host`).
    Host,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Build => "build",
            Kind::Image => "image",
            Kind::Stub => "stub",
            Kind::Replay => "replay",
            Kind::Record => "record",
            Kind::Host => "host",
        }
    }

    /// Whether the agent serves this kind (no container of the entry's own).
    pub fn is_agent(self) -> bool {
        matches!(self, Kind::Stub | Kind::Replay | Kind::Record)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Dependency {
    /// Every kind key present; a valid dependency has exactly one.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut kinds = Vec::new();
        if self.stub.is_some() {
            kinds.push(Kind::Stub);
        }
        if self.replay.is_some() {
            kinds.push(Kind::Replay);
        }
        if self.record.is_some() {
            kinds.push(Kind::Record);
        }
        if self.image.is_some() {
            kinds.push(Kind::Image);
        }
        if self.build.is_some() {
            kinds.push(Kind::Build);
        }
        kinds
    }
}

/// A build context: `./orders` or `{context, dockerfile, args}`.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Build {
    pub context: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub args: IndexMap<String, EnvValue>,
}

impl<'de> Deserialize<'de> for Build {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            context: String,
            #[serde(default)]
            dockerfile: Option<String>,
            #[serde(default)]
            args: IndexMap<String, EnvValue>,
        }

        struct BuildVisitor;

        impl<'de> Visitor<'de> for BuildVisitor {
            type Value = Build;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a build context path, or a map with `context`, `dockerfile` and `args`",
                )
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Build, E> {
                Ok(Build {
                    context: value.to_owned(),
                    dockerfile: None,
                    args: IndexMap::new(),
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Build, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Build {
                    context: full.context,
                    dockerfile: full.dockerfile,
                    args: full.args,
                })
            }
        }

        deserializer.deserialize_any(BuildVisitor)
    }
}

/// A replay: `replay: recordings/api.yaml`, or `{ file, timing: recorded }`
/// to answer with the recorded time to first byte and gaps between chunks.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// A recording (`.yaml`, `.yml`) or a HAR 1.2 file (`.har`).
    pub file: String,
    /// `recorded` replays the recorded waits; `none` (the default) answers
    /// at once.
    #[serde(default, skip_serializing_if = "ReplayTiming::is_none")]
    pub timing: ReplayTiming,
}

/// How a replay paces its answers (PRODUCT.md section 6.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReplayTiming {
    /// Every answer at once, whole.
    #[default]
    None,
    /// The recorded time to first byte, then each chunk after its recorded
    /// gap.
    Recorded,
}

impl ReplayTiming {
    pub fn is_none(&self) -> bool {
        *self == ReplayTiming::None
    }
}

impl From<&str> for Replay {
    fn from(file: &str) -> Replay {
        Replay {
            file: file.to_owned(),
            timing: ReplayTiming::None,
        }
    }
}

impl<'de> Deserialize<'de> for Replay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            file: String,
            #[serde(default)]
            timing: ReplayTiming,
        }

        struct ReplayVisitor;

        impl<'de> Visitor<'de> for ReplayVisitor {
            type Value = Replay;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a recording's path, or a map with `file` and `timing`")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Replay, E> {
                Ok(Replay::from(value))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Replay, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Replay {
                    file: full.file,
                    timing: full.timing,
                })
            }
        }

        deserializer.deserialize_any(ReplayVisitor)
    }
}

/// An environment value. YAML numbers and booleans are accepted and kept as
/// the text they were written as, so `LOG_LEVEL: 1` does what it says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvVisitor;

        impl Visitor<'_> for EnvVisitor {
            type Value = EnvValue;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<EnvValue, E> {
                Ok(EnvValue(value.to_owned()))
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<EnvValue, E> {
                Ok(EnvValue(value.to_string()))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<EnvValue, E> {
                Ok(EnvValue(value.to_string()))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<EnvValue, E> {
                Ok(EnvValue(value.to_string()))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<EnvValue, E> {
                Ok(EnvValue(value.to_string()))
            }
        }

        deserializer.deserialize_any(EnvVisitor)
    }
}

impl JsonSchema for EnvValue {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("EnvValue")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

/// Readiness: one real call. Exactly one of `http`, `tcp`, `exec`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// An HTTP path to GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// A port name that must accept a connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// A command run in the container; exit 0 means healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
    /// Which named port (default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Expected HTTP status (default: any 2xx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Text the body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// Give up after this long (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Span>,
}

/// The probe a health block describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    Http(String),
    Tcp(String),
    Exec(Vec<String>),
}

impl Health {
    pub fn probe(&self) -> Option<ProbeKind> {
        if let Some(path) = &self.http {
            Some(ProbeKind::Http(path.clone()))
        } else if let Some(port) = &self.tcp {
            Some(ProbeKind::Tcp(port.clone()))
        } else {
            self.exec.clone().map(ProbeKind::Exec)
        }
    }
}

/// A semantic check run by `sandbox check`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub name: String,
    pub request: CheckRequest,
    #[serde(default)]
    pub expect: Expect,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    /// Which named port (default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn default_method() -> String {
    "GET".to_owned()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Expected status (default: any 2xx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Text the body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// JSON fields the body must contain (a subset match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
}

/// What API an entry offers.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// An OpenAPI document (YAML or JSON) in the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openapi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Settings used by `sandbox debug` and `sandbox up --debug`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Debug {
    /// The debugger's port in the container; published on 127.0.0.1.
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, EnvValue>,
}

/// How an entry runs as a process on this machine (`sandbox up --host`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// The command to start; without one, `up --host` waits for the process
    /// to be started by hand (from an IDE, under a debugger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Working directory, relative to the manifest's folder; default the
    /// manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Where the process listens on 127.0.0.1; default the first port's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Added to the wiring.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, EnvValue>,
}

/// What `sandbox up --watch` does when files under `path` change.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WatchRule {
    /// A file or folder, relative to the manifest's folder.
    pub path: String,
    /// Default: `rebuild` for an entry with `build:`, else `restart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<WatchAction>,
    /// `sync`: the folder in the container that receives `path`'s files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Patterns (`.gitignore` syntax) of files whose changes are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// A watch rule's action.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WatchAction {
    /// Rebuild the image and replace the entry's container.
    Rebuild,
    /// Copy the changed files into the running container.
    Sync,
    /// Restart the container (a host entry: its command).
    Restart,
}

impl WatchAction {
    pub fn as_str(self) -> &'static str {
        match self {
            WatchAction::Rebuild => "rebuild",
            WatchAction::Sync => "sync",
            WatchAction::Restart => "restart",
        }
    }
}

/// A stub dependency: canned answers.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Stub {
    #[serde(default = "default_stub_port")]
    pub port: u16,
    #[serde(default)]
    pub routes: Vec<Route>,
    /// More route files (a YAML list of routes, or `{routes: [...]}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// A folder of WireMock JSON mappings (and their `__files`), served
    /// after `routes` and `files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wiremock: Option<String>,
    /// An OpenAPI 3.x document (YAML or JSON) whose every operation the
    /// stub answers, after `routes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openapi: Option<String>,
    /// Answer a request that breaks its operation's parameters or body
    /// schema with 400 and the violations (needs `openapi`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub validate: bool,
    /// `.proto` files (in the manifest's folder) whose gRPC methods the
    /// routes with `match.grpc` answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proto: Vec<String>,
}

fn default_stub_port() -> u16 {
    80
}

/// One stub route: first match wins.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    pub respond: Respond,
    /// Set only for a route converted from another format (a WireMock
    /// mapping): it alone then decides what matches and what is answered.
    /// Never read from a manifest (see [`super::converted`]).
    #[serde(skip)]
    pub converted: Option<Box<super::converted::ConvertedRoute>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    /// HTTP method; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A path, with `{name}` segments; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Query parameters that must be present with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Headers that must be present with these values (names case-insensitive).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The JSON request body must contain these fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// The request body must be exactly this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A gRPC method, `package.Service/Method` (needs the stub's `proto`);
    /// `json` then matches a subset of the request message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Respond {
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (content-type application/json).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// A text body (content-type text/plain unless a header says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Wait this long before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Span>,
    /// gRPC: the status answered, by name (`NOT_FOUND`) or code (5);
    /// default `OK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_status: Option<GrpcStatus>,
    /// gRPC: the status message (`grpc-message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// gRPC server streaming: the messages answered, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Vec<serde_json::Value>>,
}

/// A gRPC status: a name such as `NOT_FOUND`, or its code.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum GrpcStatus {
    Code(u32),
    Name(String),
}

impl GrpcStatus {
    /// The status code, when the name or code is one gRPC defines.
    pub fn code(&self) -> Option<u32> {
        match self {
            GrpcStatus::Code(code) => crate::proto::status::parse(&code.to_string()),
            GrpcStatus::Name(name) => crate::proto::status::parse(name),
        }
    }
}

fn default_status() -> u16 {
    200
}

/// A record dependency: a proxy to a real upstream that saves every call.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// `http://host:port`; the host may name another entry of the sandbox.
    pub upstream: String,
    /// The recording file to write, in the manifest's folder.
    pub to: String,
    /// Header names stored as `<redacted>`, besides the default list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<String>,
    #[serde(default = "default_stub_port")]
    pub port: u16,
    /// `.proto` files (in the manifest's folder): gRPC messages are then
    /// recorded as JSON, else as base64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proto: Vec<String>,
}

/// Quotas enforced in front of an entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Token-bucket rate such as `50/s`; over it: 429 with Retry-After.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Bucket size (default: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Requests in flight; over it: 503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Count each caller separately (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_caller: Option<bool>,
}

/// Faults injected in front of an entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Span>,
    /// Share of answers replaced by `error_status`, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// Status of injected errors (default 503); 4xx or 5xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u16>,
    /// Share of connections dropped, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<ByteRate>,
    /// Seed for reproducible randomness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl Faults {
    pub fn is_empty(&self) -> bool {
        *self == Faults::default()
    }
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self.rate.is_none() && self.concurrency.is_none()
    }
}

/// What a port speaks (PRODUCT.md section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Http,
    Grpc,
    Tcp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
            Protocol::Tcp => "tcp",
        }
    }

    /// The protocol of a port named `name` without `protocol:`; `called`
    /// when an `http` health check or a check calls it.
    pub fn by_name(name: &str, called: bool) -> Protocol {
        match name {
            "http" | "web" | "api" => Protocol::Http,
            _ if called => Protocol::Http,
            "grpc" => Protocol::Grpc,
            _ => Protocol::Tcp,
        }
    }

    /// HTTP at the agent's door (`http` and `grpc`).
    pub fn is_http(self) -> bool {
        self != Protocol::Tcp
    }
}

/// One entry of `ports`: a number, or a number with its protocol.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
enum PortValue {
    Number(u16),
    Spec(PortSpec),
}

/// `{ port: 9090, protocol: grpc }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PortSpec {
    port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<Protocol>,
}

/// An entry's named ports: name -> container port (what the map derefs
/// to), and the protocols written with `{ port, protocol }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ports {
    numbers: IndexMap<String, u16>,
    protocols: IndexMap<String, Protocol>,
}

impl Ports {
    pub fn is_none(&self) -> bool {
        self.numbers.is_empty()
    }

    /// Name -> container port.
    pub fn numbers(&self) -> &IndexMap<String, u16> {
        &self.numbers
    }

    /// The protocol written for `name`, if any.
    pub fn declared(&self, name: &str) -> Option<Protocol> {
        self.protocols.get(name).copied()
    }

    /// Adds a port with an optional declared protocol.
    pub fn insert(&mut self, name: String, port: u16, protocol: Option<Protocol>) {
        if let Some(protocol) = protocol {
            self.protocols.insert(name.clone(), protocol);
        }
        self.numbers.insert(name, port);
    }
}

impl From<IndexMap<String, u16>> for Ports {
    fn from(numbers: IndexMap<String, u16>) -> Ports {
        Ports {
            numbers,
            protocols: IndexMap::new(),
        }
    }
}

impl std::ops::Deref for Ports {
    type Target = IndexMap<String, u16>;

    fn deref(&self) -> &IndexMap<String, u16> {
        &self.numbers
    }
}

impl<'a> IntoIterator for &'a Ports {
    type Item = (&'a String, &'a u16);
    type IntoIter = indexmap::map::Iter<'a, String, u16>;

    fn into_iter(self) -> Self::IntoIter {
        self.numbers.iter()
    }
}

impl<'de> Deserialize<'de> for Ports {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Ports, D::Error> {
        let values = IndexMap::<String, PortValue>::deserialize(deserializer)?;
        let mut ports = Ports::default();
        for (name, value) in values {
            match value {
                PortValue::Number(port) => ports.insert(name, port, None),
                PortValue::Spec(spec) => ports.insert(name, spec.port, spec.protocol),
            }
        }
        Ok(ports)
    }
}

impl Serialize for Ports {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let values: IndexMap<&String, PortValue> = self
            .numbers
            .iter()
            .map(|(name, port)| {
                let value = match self.declared(name) {
                    None => PortValue::Number(*port),
                    Some(protocol) => PortValue::Spec(PortSpec {
                        port: *port,
                        protocol: Some(protocol),
                    }),
                };
                (name, value)
            })
            .collect();
        values.serialize(serializer)
    }
}

impl JsonSchema for Ports {
    fn schema_name() -> Cow<'static, str> {
        "Ports".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let spec = generator.subschema_for::<Protocol>();
        json_schema!({
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": 65535},
                    {
                        "type": "object",
                        "properties": {
                            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                            "protocol": spec,
                        },
                        "required": ["port"],
                        "additionalProperties": false,
                    },
                ]
            }
        })
    }
}
