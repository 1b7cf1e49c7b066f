//! Which engine to talk to, chosen as the docker CLI chooses it:
//! `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`), then
//! `--context NAME`, then `DOCKER_CONTEXT`, then the `currentContext` of the
//! docker CLI's config (`$DOCKER_CONFIG` or `~/.docker`). A context lives in
//! `contexts/meta/<sha256 of its name>/meta.json` (`Endpoints.docker.Host`,
//! `SkipTLSVerify`) with its TLS files in `contexts/tls/<same>/docker/`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The default socket of a local engine.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// `--context NAME`, set once by the command line before any connection.
static CONTEXT_FLAG: OnceLock<String> = OnceLock::new();

/// Records the global `--context` flag (first call wins).
pub fn set_context_flag(name: &str) {
    let _ = CONTEXT_FLAG.set(name.to_owned());
}

/// The chosen engine: where it is and how to speak to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    /// The context's name (`default` when none is used).
    pub context: String,
    /// `unix://PATH`, `tcp://HOST:PORT` or `ssh://[USER@]HOST[:PORT]`.
    pub host: String,
    /// Client certificate, key and CA for TLS, when it is used.
    #[serde(skip)]
    pub tls: Option<Tls>,
}

/// The files of a TLS connection (`cert.pem`, `key.pem`, `ca.pem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    /// Skip verifying the engine's certificate (`SkipTLSVerify`).
    pub skip_verify: bool,
}

impl Target {
    /// Whether the engine shares this machine's loopback: only an engine
    /// behind a unix socket can (a `tcp://` or `ssh://` one is elsewhere,
    /// even at 127.0.0.1 through a tunnel). A unix socket of an engine in
    /// another network namespace is told apart by probing (see `up`).
    pub fn is_unix(&self) -> bool {
        self.host.starts_with("unix://")
    }

    /// `context (host)`, for messages and `status`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.context, self.host)
    }
}

/// A context or variable that names no usable engine.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(
        "docker context `{name}` does not exist (looked for {path})\n  help: name a context that `docker context ls` lists, or set DOCKER_HOST"
    )]
    NoContext { name: String, path: String },
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(
        "unsupported engine address `{host}`: use unix://PATH, tcp://HOST:PORT or ssh://[USER@]HOST"
    )]
    Scheme { host: String },
}

/// What the selection reads from the process (an explicit value so that it
/// can be tested without touching the environment).
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    pub docker_host: Option<String>,
    /// `DOCKER_TLS_VERIFY`: any value that is not empty turns TLS and its
    /// check on (`0` too, as for the docker CLI).
    pub tls_verify: Option<String>,
    /// `DOCKER_TLS`: TLS without checking the engine's certificate.
    pub tls: Option<String>,
    pub cert_path: Option<String>,
    pub context_flag: Option<String>,
    pub docker_context: Option<String>,
    pub config_dir: PathBuf,
}

impl Inputs {
    /// The process's environment and `--context`.
    pub fn from_process() -> Inputs {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let home = var("HOME").unwrap_or_else(|| "/".into());
        Inputs {
            docker_host: var("DOCKER_HOST"),
            tls_verify: var("DOCKER_TLS_VERIFY"),
            tls: var("DOCKER_TLS"),
            cert_path: var("DOCKER_CERT_PATH"),
            context_flag: CONTEXT_FLAG.get().cloned(),
            docker_context: var("DOCKER_CONTEXT"),
            config_dir: var("DOCKER_CONFIG")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(&home).join(".docker")),
        }
    }
}

/// The engine this process talks to.
pub fn current() -> Result<Target, SelectError> {
    select(&Inputs::from_process())
}

/// The selection itself. As in the docker CLI, `--context` wins over
/// everything, then `DOCKER_HOST`, then `DOCKER_CONTEXT`, then the config's
/// current context; `default` is the local socket.
pub fn select(inputs: &Inputs) -> Result<Target, SelectError> {
    if let Some(name) = &inputs.context_flag {
        return context(&inputs.config_dir, name);
    }
    if let Some(host) = &inputs.docker_host {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        let verify = set(&inputs.tls_verify);
        let tls = (verify || set(&inputs.tls) || host.starts_with("https://")).then(|| {
            let dir = inputs
                .cert_path
                .clone()
                .map(PathBuf::from)
                .unwrap_or_else(|| inputs.config_dir.clone());
            tls_in(&dir, !verify && set(&inputs.tls))
        });
        return checked(Target {
            context: "default".into(),
            host: host.clone(),
            tls,
        });
    }
    if let Some(name) = &inputs.docker_context {
        return context(&inputs.config_dir, name);
    }
    let config = inputs.config_dir.join("config.json");
    if let Ok(text) = std::fs::read_to_string(&config) {
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| SelectError::Unreadable {
                path: config.display().to_string(),
                reason: e.to_string(),
            })?;
        if let Some(name) = value.get("currentContext").and_then(|v| v.as_str()) {
            if !name.is_empty() {
                return context(&inputs.config_dir, name);
            }
        }
    }
    Ok(default_target())
}

fn default_target() -> Target {
    Target {
        context: "default".into(),
        host: DEFAULT_HOST.into(),
        tls: None,
    }
}

fn tls_in(dir: &Path, skip_verify: bool) -> Tls {
    Tls {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        ca: dir.join("ca.pem"),
        skip_verify,
    }
}

fn checked(target: Target) -> Result<Target, SelectError> {
    let known = ["unix://", "tcp://", "ssh://", "http://", "https://"];
    if known.iter().any(|s| target.host.starts_with(s)) {
        Ok(target)
    } else {
        Err(SelectError::Scheme { host: target.host })
    }
}

/// The directory name of a context in the store: the sha256 of its name.
pub fn context_digest(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads context `name` from the store under `config_dir`.
pub fn context(config_dir: &Path, name: &str) -> Result<Target, SelectError> {
    if name == "default" {
        return Ok(default_target());
    }
    let digest = context_digest(name);
    let meta = config_dir
        .join("contexts/meta")
        .join(&digest)
        .join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|_| SelectError::NoContext {
        name: name.into(),
        path: meta.display().to_string(),
    })?;
    let unreadable = |reason: String| SelectError::Unreadable {
        path: meta.display().to_string(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
    let docker = value
        .get("Endpoints")
        .and_then(|e| e.get("docker"))
        .ok_or_else(|| unreadable("no Endpoints.docker".into()))?;
    let host = docker
        .get("Host")
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .unwrap_or(DEFAULT_HOST)
        .to_owned();
    let skip_verify = docker
        .get("SkipTLSVerify")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let tls_dir = config_dir.join("contexts/tls").join(&digest).join("docker");
    let tls =
        (skip_verify || tls_dir.join("ca.pem").is_file() || tls_dir.join("cert.pem").is_file())
            .then(|| tls_in(&tls_dir, skip_verify));
    checked(Target {
        context: name.into(),
        host,
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(dir: &Path) -> Inputs {
        Inputs {
            config_dir: dir.to_owned(),
            ..Default::default()
        }
    }

    fn write_context(dir: &Path, name: &str, host: &str) {
        let meta = dir.join("contexts/meta").join(context_digest(name));
        std::fs::create_dir_all(&meta).unwrap();
        let doc = serde_json::json!({"Name": name, "Metadata": {},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}});
        std::fs::write(meta.join("meta.json"), doc.to_string()).unwrap();
    }

    #[test]
    fn digest_is_the_docker_cli_one() {
        // The directory the docker CLI uses for a context named `default`.
        assert_eq!(
            context_digest("default"),
            "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
        );
    }

    #[test]
    fn order_is_flag_host_variable_config() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "a", "tcp://10.0.0.1:2375");
        write_context(dir.path(), "b", "ssh://me@box");
        std::fs::write(dir.path().join("config.json"), r#"{"currentContext":"b"}"#).unwrap();
        let mut i = inputs(dir.path());
        assert_eq!(select(&i).unwrap().host, "ssh://me@box");
        i.docker_context = Some("a".into());
        assert_eq!(select(&i).unwrap().context, "a");
        i.docker_host = Some("unix:///x.sock".into());
        assert_eq!(select(&i).unwrap().describe(), "default (unix:///x.sock)");
        i.context_flag = Some("b".into());
        assert_eq!(select(&i).unwrap().describe(), "b (ssh://me@box)");
        i.context_flag = Some("default".into());
        assert_eq!(select(&i).unwrap().host, DEFAULT_HOST);
    }

    #[test]
    fn nothing_set_is_the_local_socket() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(select(&inputs(dir.path())).unwrap(), default_target());
    }

    #[test]
    fn tls_from_variables_and_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut i = inputs(dir.path());
        i.docker_host = Some("tcp://h:2376".into());
        i.tls_verify = Some("1".into());
        i.cert_path = Some("/certs".into());
        let tls = select(&i).unwrap().tls.unwrap();
        assert_eq!(tls.ca, Path::new("/certs/ca.pem"));
        assert!(!tls.skip_verify);
        // As for the docker CLI, any value turns it on, `0` too.
        i.tls_verify = Some("0".into());
        assert!(select(&i).unwrap().tls.is_some());
        i.tls_verify = None;
        assert!(select(&i).unwrap().tls.is_none());
        i.tls = Some("1".into());
        assert!(select(&i).unwrap().tls.unwrap().skip_verify);
        i.tls_verify = Some("1".into());
        assert!(!select(&i).unwrap().tls.unwrap().skip_verify);
        i.tls = None;
        i.tls_verify = None;

        write_context(dir.path(), "t", "tcp://h:2376");
        let tls_dir = dir
            .path()
            .join("contexts/tls")
            .join(context_digest("t"))
            .join("docker");
        std::fs::create_dir_all(&tls_dir).unwrap();
        std::fs::write(tls_dir.join("ca.pem"), "x").unwrap();
        let target = context(dir.path(), "t").unwrap();
        assert_eq!(target.tls.unwrap().cert, tls_dir.join("cert.pem"));
    }

    #[test]
    fn missing_context_and_bad_scheme_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut i = inputs(dir.path());
        i.docker_context = Some("nope".into());
        let e = select(&i).unwrap_err().to_string();
        assert!(e.contains("`nope` does not exist"), "{e}");
        i.docker_host = Some("npipe:////./pipe/docker".into());
        let e = select(&i).unwrap_err().to_string();
        assert!(e.contains("unsupported engine address"), "{e}");
    }
}
