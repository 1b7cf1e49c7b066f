//! Health probes (http, tcp, exec) and waiting for them. The same probe
//! description serves `up` (from the host, through published ports) and the
//! registry (from inside the sandbox network).
//!
//! [`http`] holds the small HTTP client that probes, semantic checks
//! ([`check`]) and the CLI share.

pub mod check;
pub mod exec;
pub mod http;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One health probe, with the address it targets already resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "probe", rename_all = "lowercase")]
pub enum ProbeSpec {
    /// GET `path` on `host:port`; pass on `status` (or any 2xx) and, when
    /// given, a body containing `contains`.
    Http {
        host: String,
        port: u16,
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contains: Option<String>,
    },
    /// `host:port` accepts a TCP connection.
    Tcp { host: String, port: u16 },
    /// `command` exits 0 in `container` (run through the engine).
    Exec {
        container: String,
        command: Vec<String>,
    },
}

/// How much of a probed body is read to look for `contains`.
pub const PROBE_BODY_LIMIT: usize = 64 * 1024;

/// A boxed future, so that [`ExecProber`] stays object safe without
/// `async-trait`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs exec probes. Only the engine can run a command in a container, so
/// whoever holds one (the CLI on the host) implements this and hands it to
/// the registry or [`probe_with`].
pub trait ExecProber: Send + Sync {
    /// Runs `command` in `container`; `Ok` when it exits 0, else the reason
    /// ("exit status 1: <last output line>").
    fn exec<'a>(
        &'a self,
        container: &'a str,
        command: &'a [String],
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Runs one probe; `Err` carries the reason it failed ("status 500 from
/// GET /healthz (expected 200)", "connection refused to orders:8080",
/// "timed out after 1s"). Exec probes fail here: they run through the engine
/// (see [`ExecProber`] and [`probe_with`]).
pub async fn probe(spec: &ProbeSpec, timeout: Duration) -> Result<(), String> {
    probe_with(spec, timeout, None).await.map(drop)
}

/// Runs one probe within `timeout`, exec probes through `exec` when given.
/// `Ok` carries what passed ("GET /healthz answered 200"), `Err` why it
/// failed.
pub async fn probe_with(
    spec: &ProbeSpec,
    timeout: Duration,
    exec: Option<&dyn ExecProber>,
) -> Result<String, String> {
    match spec {
        ProbeSpec::Http {
            host,
            port,
            path,
            status,
            contains,
        } => probe_http(host, *port, path, *status, contains.as_deref(), timeout).await,
        ProbeSpec::Tcp { host, port } => probe_tcp(host, *port, timeout).await,
        ProbeSpec::Exec { container, command } => {
            let Some(exec) = exec else {
                return Err("exec probes run through the engine".into());
            };
            match tokio::time::timeout(timeout, exec.exec(container, command)).await {
                Err(_) => Err(http::timed_out(timeout)),
                Ok(Err(reason)) => Err(reason),
                Ok(Ok(())) => Ok(format!("`{}` exited 0", command.join(" "))),
            }
        }
    }
}

/// How long a TCP probe watches a fresh connection for being closed at once.
const TCP_SETTLE: Duration = Duration::from_millis(100);

/// Connects, then watches the connection briefly: Docker's userland proxy
/// accepts on a published port even when nothing listens behind it, and
/// then closes the connection at once. A server that waits for the client
/// to speak (or greets it) passes.
async fn probe_tcp(host: &str, port: u16, timeout: Duration) -> Result<String, String> {
    use tokio::io::AsyncReadExt;

    let started = std::time::Instant::now();
    let mut stream = http::connect(host, port, timeout).await?;
    let settle = TCP_SETTLE.min(timeout.saturating_sub(started.elapsed()));
    let mut byte = [0u8; 1];
    match tokio::time::timeout(settle, stream.read(&mut byte)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Err(format!(
            "{host}:{port} accepted the connection and closed it at once (nothing listening behind it?)"
        )),
        Err(_) | Ok(Ok(_)) => Ok(format!("{host}:{port} accepts connections")),
    }
}

async fn probe_http(
    host: &str,
    port: u16,
    path: &str,
    status: Option<u16>,
    contains: Option<&str>,
    timeout: Duration,
) -> Result<String, String> {
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let target = http::Target {
        host: host.to_owned(),
        port,
        path: path.clone(),
    };
    let headers = [("user-agent".to_owned(), "sandbox-probe".to_owned())];
    let answer = http::exchange("GET", &target, &headers, None, PROBE_BODY_LIMIT, timeout).await?;
    judge_http(&path, status, contains, answer.status, &answer.body)
}

/// Whether an HTTP probe's answer passes; pure, so the wording is tested.
fn judge_http(
    path: &str,
    expected: Option<u16>,
    contains: Option<&str>,
    status: u16,
    body: &[u8],
) -> Result<String, String> {
    let status_ok = match expected {
        Some(want) => status == want,
        None => (200..300).contains(&status),
    };
    if !status_ok {
        let want = expected.map_or_else(|| "2xx".to_owned(), |s| s.to_string());
        return Err(format!("status {status} from GET {path} (expected {want})"));
    }
    if let Some(needle) = contains {
        let text = String::from_utf8_lossy(body);
        if !text.contains(needle) {
            return Err(format!(
                "body of GET {path} does not contain `{needle}` (got: {})",
                excerpt(&text, 80)
            ));
        }
    }
    Ok(format!("GET {path} answered {status}"))
}

/// The first `max` characters of `text` on one line, with `...` when cut.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let flat = flat.trim();
    if flat.is_empty() {
        return "an empty body".to_owned();
    }
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_verdicts_say_what_differed() {
        assert_eq!(
            judge_http("/healthz", Some(200), None, 500, b""),
            Err("status 500 from GET /healthz (expected 200)".into())
        );
        assert_eq!(
            judge_http("/healthz", None, None, 404, b""),
            Err("status 404 from GET /healthz (expected 2xx)".into())
        );
        assert_eq!(
            judge_http("/healthz", None, Some("ok"), 204, b"starting\nplease wait"),
            Err("body of GET /healthz does not contain `ok` (got: starting please wait)".into())
        );
        let long = "x".repeat(200);
        let err = judge_http("/h", None, Some("ok"), 200, long.as_bytes()).unwrap_err();
        assert!(
            err.ends_with(&format!("(got: {}...)", "x".repeat(80))),
            "{err}"
        );
        assert_eq!(
            judge_http("/healthz", Some(200), Some("ok"), 200, b"all ok"),
            Ok("GET /healthz answered 200".into())
        );
    }

    #[tokio::test]
    async fn exec_needs_the_engine() {
        let spec = ProbeSpec::Exec {
            container: "c".into(),
            command: vec!["true".into()],
        };
        assert_eq!(
            probe(&spec, Duration::from_secs(1)).await,
            Err("exec probes run through the engine".into())
        );

        struct Fake;
        impl ExecProber for Fake {
            fn exec<'a>(
                &'a self,
                _: &'a str,
                command: &'a [String],
            ) -> BoxFuture<'a, Result<(), String>> {
                Box::pin(async move {
                    if command[0] == "true" {
                        Ok(())
                    } else {
                        Err("exit status 1".into())
                    }
                })
            }
        }
        assert_eq!(
            probe_with(&spec, Duration::from_secs(1), Some(&Fake)).await,
            Ok("`true` exited 0".into())
        );
    }

    #[tokio::test]
    async fn tcp_probes_see_through_closing_proxies() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let spec = ProbeSpec::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        // Like a proxy with nothing behind it: accept, then close.
        let closer = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            drop(stream);
            listener
        });
        let err = probe(&spec, Duration::from_secs(1)).await.unwrap_err();
        assert!(err.contains("closed it at once"), "{err}");
        // A listener that waits for the client passes.
        let _listener = closer.await.unwrap();
        assert_eq!(probe(&spec, Duration::from_secs(1)).await, Ok(()));
    }

    #[tokio::test]
    async fn hung_targets_time_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts (the kernel does) but never answers.
        let spec = ProbeSpec::Http {
            host: "127.0.0.1".into(),
            port,
            path: "/healthz".into(),
            status: None,
            contains: None,
        };
        let started = std::time::Instant::now();
        assert_eq!(
            probe(&spec, Duration::from_millis(300)).await,
            Err("timed out after 300ms".into())
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(listener);
    }
}
