//! The keys each level of the manifest allows: the source of "unknown key"
//! errors and their suggestions.

pub const TOP: &[&str] = &["version", "name", "owner", "service", "dependencies"];
pub const SERVICE: &[&str] = &[
    "name", "owner", "build", "image", "command", "env", "ports", "health", "checks", "api",
    "debug", "limits", "faults",
];
pub const DEPENDENCY: &[&str] = &[
    "stub", "replay", "record", "image", "build", "owner", "command", "env", "ports", "health",
    "checks", "api", "debug", "limits", "faults",
];
/// The keys that choose a dependency's kind.
pub const KINDS: &[&str] = &["stub", "replay", "record", "image", "build"];
/// Keys that only make sense for a container of the entry's own.
pub const CONTAINER_ONLY: &[&str] = &["command", "env", "ports", "health", "debug"];
pub const BUILD: &[&str] = &["context", "dockerfile", "args"];
pub const HEALTH: &[&str] = &[
    "http", "tcp", "exec", "port", "status", "contains", "timeout",
];
pub const CHECK: &[&str] = &["name", "request", "expect"];
pub const CHECK_REQUEST: &[&str] = &["method", "path", "port", "headers", "json", "body"];
pub const EXPECT: &[&str] = &["status", "contains", "json"];
pub const API: &[&str] = &["openapi", "description"];
pub const DEBUG: &[&str] = &["port", "command", "env"];
pub const STUB: &[&str] = &["port", "routes", "files"];
pub const ROUTE: &[&str] = &["match", "respond"];
pub const ROUTE_MATCH: &[&str] = &["method", "path", "query", "headers", "json", "body"];
pub const RESPOND: &[&str] = &["status", "headers", "json", "body", "delay"];
pub const RECORD: &[&str] = &["upstream", "to", "redact", "port"];
pub const LIMITS: &[&str] = &["rate", "burst", "concurrency", "per_caller"];
pub const FAULTS: &[&str] = &[
    "latency",
    "jitter",
    "error_rate",
    "error_status",
    "reset_rate",
    "bandwidth",
    "seed",
];
pub const ROUTE_FILE: &[&str] = &["routes"];
