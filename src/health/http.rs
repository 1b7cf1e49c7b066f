//! A small HTTP/1.1 client for plain `http://host:port/path` URLs: one
//! request per connection, a deadline over the whole exchange, and failure
//! reasons precise enough to print as they are ("connection refused to
//! orders:8080", "timed out after 1s").
//!
//! Probes, semantic checks and the CLI (talking to the registry and to the
//! agent's control API) all use it; nothing here needs TLS, because every
//! address it is given is on the sandbox network or on 127.0.0.1.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use tokio::net::TcpStream;

/// The largest body [`request`] reads; the rest is dropped.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// What a server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    /// Header names are lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to a plain `http://host:port/path` URL and reads the
/// answer (at most [`MAX_BODY`] bytes of body), all within `timeout`.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<HttpAnswer, String> {
    let target = Target::parse(url)?;
    exchange(method, &target, headers, body, MAX_BODY, timeout).await
}

/// Where a request goes, split out of its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("unsupported URL {url:?} (expected http://host:port/path)"))?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        let (host, port) = match authority.rsplit_once(':') {
            // `[::1]:80` keeps its brackets out of the host.
            Some((host, port)) if !port.contains(']') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("bad port {port:?} in URL {url:?}"))?;
                (host, port)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("no host in URL {url:?}"));
        }
        Ok(Target {
            host: host.to_owned(),
            port,
            path,
        })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Connects to `host:port` within `timeout`, naming the failure.
pub(crate) async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Err(_) => Err(timed_out(timeout)),
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(connect_error(&e, host, port)),
    }
}

fn connect_error(e: &io::Error, host: &str, port: u16) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!("connection refused to {host}:{port}"),
        io::ErrorKind::TimedOut => format!("connection to {host}:{port} timed out"),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            format!("{host}:{port} is unreachable")
        }
        // Resolution failures come back as `Other` (or `Uncategorized`) with
        // the resolver's message; name the host rather than guess.
        _ if e.to_string().contains("lookup") || e.to_string().contains("resolve") => {
            format!("cannot resolve {host}")
        }
        _ => format!("cannot connect to {host}:{port}: {e}"),
    }
}

/// "timed out after 1s", "timed out after 1500ms".
pub(crate) fn timed_out(timeout: Duration) -> String {
    format!("timed out after {}", human(timeout))
}

/// A duration as the manifest writes them: `1s`, `250ms`, `2m`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if d.is_zero() {
        "0s".to_owned()
    } else if ms == 0 {
        format!("{}us", d.as_micros())
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// One request over a fresh connection; reads at most `max_body` bytes of
/// the answer's body (the rest is left unread), all within `timeout`.
pub(crate) async fn exchange(
    method: &str,
    target: &Target,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
    max_body: usize,
    timeout: Duration,
) -> Result<HttpAnswer, String> {
    let work = async {
        let stream = connect(&target.host, target.port, timeout).await?;
        send(method, target, headers, body, max_body, stream).await
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(answer) => answer,
        Err(_) => Err(timed_out(timeout)),
    }
}

async fn send(
    method: &str,
    target: &Target,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
    max_body: usize,
    stream: TcpStream,
) -> Result<HttpAnswer, String> {
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io)
        .await
        .map_err(|e| format!("HTTP handshake with {} failed: {e}", target.authority()))?;
    // The connection task ends when the exchange does (or when this function
    // is dropped on timeout, which drops the stream with it).
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    let _abort = AbortOnDrop(conn);

    let method = hyper::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("bad HTTP method {method:?}"))?;
    let mut builder = Request::builder()
        .method(method.clone())
        .uri(target.path.as_str());
    let mut has_host = false;
    for (name, value) in headers {
        has_host |= name.eq_ignore_ascii_case("host");
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !has_host {
        builder = builder.header(hyper::header::HOST, target.authority());
    }
    builder = builder.header(hyper::header::CONNECTION, "close");
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| format!("bad request to {}{}: {e}", target.authority(), target.path))?;

    let response = sender.send_request(request).await.map_err(|e| {
        let what = format!("{method} {}", target.path);
        if e.is_incomplete_message() {
            format!(
                "{} closed the connection before answering {what}",
                target.authority()
            )
        } else {
            format!("{what} to {} failed: {e}", target.authority())
        }
    })?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while bytes.len() < max_body {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = max_body - bytes.len();
                    bytes.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(e)) => {
                return Err(format!(
                    "reading the body of {method} {} from {} failed: {e}",
                    target.path,
                    target.authority()
                ));
            }
        }
    }
    Ok(HttpAnswer {
        status,
        headers,
        body: bytes,
    })
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("http://orders:8080/healthz?x=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("orders", 8080, "/healthz?x=1")
        );
        let t = Target::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("127.0.0.1", 9, "/")
        );
        let t = Target::parse("http://registry?q").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("registry", 80, "/?q")
        );
        let t = Target::parse("http://[::1]:7/a").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 7));
        assert!(Target::parse("https://x/").is_err());
        assert!(Target::parse("http://x:notaport/").is_err());
    }

    #[test]
    fn durations_read_like_the_manifest() {
        assert_eq!(human(Duration::from_secs(1)), "1s");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
        assert_eq!(human(Duration::from_secs(120)), "2m");
    }

    #[tokio::test]
    async fn refused_connections_are_named() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = request(
            "GET",
            &format!("http://127.0.0.1:{port}/"),
            &[],
            None,
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert_eq!(err, format!("connection refused to 127.0.0.1:{port}"));
    }
}
