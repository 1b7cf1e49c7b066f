//! The agent's data plane: which dependency answers on which port, and the
//! path of every call through it: pick the dependency (by port, then by the
//! `Host` header), name the caller, add a `traceparent`, apply limits, then
//! faults, answer (stub, replay, record or proxy), journal.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::body::Body;
use super::callers::Callers;
use super::faults::FaultState;
use super::journal::{self, Journal, Text};
use super::limits::LimitState;
use super::live::Live;
use super::record::Recorder;
use super::replay::Replay;
use super::stub::Stub;

mod compile;
mod connection;
mod h2c;
mod pipeline;
mod tcp;
mod upgrade;

pub use connection::serve_http;

/// The largest request body the agent reads whole (stub and replay, to
/// match it); record and proxy stream bodies of any size.
const MAX_BODY: usize = 64 * 1024 * 1024;

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static UNMATCHED: HeaderName = HeaderName::from_static("x-sandbox-unmatched");
static LIMITED: HeaderName = HeaderName::from_static("x-sandbox-limited");
static FAULT: HeaderName = HeaderName::from_static("x-sandbox-fault");

impl Dep {
    /// Puts new limits in force (fresh counters).
    pub fn set_limits(&self, limits: Option<crate::manifest::Limits>) {
        let state = LimitState::new(limits);
        let active = state.is_active();
        self.limits.store_with_activity(state, active);
    }

    /// The recorder of a record dependency.
    pub fn recorder(&self) -> Option<&Arc<Recorder>> {
        match &self.handler {
            Handler::Record(recorder) => Some(recorder),
            _ => None,
        }
    }

    /// Puts new faults in force (a fresh random sequence).
    pub fn set_faults(&self, faults: Option<crate::manifest::Faults>) {
        let state = FaultState::new(faults);
        let active = state.faults.is_some();
        self.faults.store_with_activity(state, active);
    }
}

/// Everything the agent serves, shared by every connection.
pub struct Agent {
    pub deps: Vec<Arc<Dep>>,
    pub journal: Journal,
    pub callers: Arc<Callers>,
    pub recorders: Vec<Arc<Recorder>>,
    pub ready: AtomicBool,
    /// The sandbox's token, asked of requests that change state.
    pub token: Option<String>,
    /// The tunnel's hub, when this agent stands for an entry run on the host.
    pub tunnel: Option<Arc<crate::tunnel::Hub>>,
}

/// The clients that forward record and proxy calls: one pair per serving
/// thread, keeping idle connections to upstreams for reuse. `h2` speaks
/// HTTP/2 cleartext with prior knowledge (gRPC upstreams, and upstreams that
/// answer HTTP/1 with an HTTP/2 preface).
#[derive(Clone)]
pub struct Forwarder {
    h1: Client<HttpConnector, Body>,
    h2: Client<HttpConnector, Body>,
}

impl Forwarder {
    async fn send(
        &self,
        request: Request<Body>,
        h2: bool,
    ) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
        if h2 {
            self.h2.request(request).await
        } else {
            self.h1.request(request).await
        }
    }
}

pub fn forwarder() -> Forwarder {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let h1 = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector.clone());
    let h2 = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .http2_only(true)
        .build(connector);
    Forwarder { h1, h2 }
}

/// One served dependency.
pub struct Dep {
    pub name: &'static str,
    pub mode: &'static str,
    pub port: u16,
    pub private_port: u16,
    /// A proxy whose ports are all TCP: no fault that answers with an HTTP
    /// status applies to it.
    pub tcp_only: bool,
    handler: Handler,
    /// gRPC routes, `.proto` files or recorded gRPC calls.
    grpc: crate::agent::grpc::Part,
    pub limits: Live<LimitState>,
    pub faults: Live<FaultState>,
}

enum Handler {
    Stub(Stub),
    Replay(Replay),
    Record(Arc<Recorder>),
    Proxy,
}

/// Where forwarded calls go.
#[derive(Debug)]
pub struct Upstream {
    /// `http://host:port`, no trailing slash.
    base: String,
    authority: HeaderValue,
    /// `upstream http://host:port`, as the journal shows it.
    label: &'static str,
    /// Spoken to over HTTP/2 cleartext: a gRPC port, or an upstream found
    /// to answer only HTTP/2.
    h2: AtomicBool,
}

impl Upstream {
    pub fn parse(url: &str) -> Result<Upstream, String> {
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|e| format!("upstream `{url}` is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "upstream `{url}` must start with http:// (the agent does not speak TLS)"
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("upstream `{url}` has no host"))?
            .as_str()
            .to_owned();
        let base = format!("http://{authority}");
        Ok(Upstream {
            authority: HeaderValue::from_str(&authority)
                .map_err(|e| format!("upstream `{url}`: {e}"))?,
            label: journal::lasting(format!("upstream {base}")),
            base,
            h2: AtomicBool::new(false),
        })
    }

    /// The same upstream, spoken to over HTTP/2 from the first call.
    pub fn http2(self) -> Upstream {
        self.h2.store(true, Ordering::Relaxed);
        self
    }
}

/// The dependencies answering on one HTTP port.
pub struct HttpPort {
    agent: Arc<Agent>,
    routes: Vec<PortRoute>,
}

struct PortRoute {
    dep: Arc<Dep>,
    /// For record and proxy: where calls go.
    upstream: Option<Arc<Upstream>>,
}

/// What listens on one port.
#[derive(Clone)]
pub enum Listener {
    Http(Arc<HttpPort>),
    Tcp(Arc<TcpForward>),
}

/// One serving thread's share of an HTTP port.
pub struct PortWorker {
    pub port: Arc<HttpPort>,
    pub forwarder: Forwarder,
}

impl PortWorker {
    pub async fn handle(
        self: Arc<Self>,
        remote: IpAddr,
        request: Request<Incoming>,
    ) -> Result<Response<Body>, Dropped> {
        self.port.handle(&self.forwarder, remote, request).await
    }
}

/// A raw TCP port of a proxy.
pub struct TcpForward {
    agent: Arc<Agent>,
    dep: Arc<Dep>,
    host: String,
    port: u16,
    listen: u16,
    /// `target host:port`, as the journal shows it.
    label: &'static str,
}

/// A call dropped on purpose (reset fault): hyper closes the connection.
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// What the journal needs to know about how a call was answered.
struct Outcome {
    traceparent: Text,
    matched: Option<&'static str>,
    limited: Option<&'static str>,
    fault: Option<&'static str>,
    /// An upgraded connection's copying, journaled when it ends.
    upgrade: Option<std::pin::Pin<Box<dyn Future<Output = journal::Upgrade> + Send>>>,
    /// A streamed gRPC answer's status, known when it ends; the call is
    /// journaled then.
    grpc_done: Option<tokio::sync::oneshot::Receiver<u32>>,
}

impl Agent {
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::pipeline::hostname;
    use super::*;

    #[test]
    fn host_names_drop_their_port() {
        assert_eq!(hostname("payments:80"), "payments");
        assert_eq!(hostname("payments"), "payments");
        assert_eq!(hostname("[::1]:80"), "::1");
    }

    #[test]
    fn upstreams_must_be_plain_http() {
        let upstream = Upstream::parse("http://catalog:8080/").unwrap();
        assert_eq!(upstream.base, "http://catalog:8080");
        assert_eq!(upstream.label, "upstream http://catalog:8080");
        assert!(
            Upstream::parse("https://catalog")
                .unwrap_err()
                .contains("http://")
        );
    }
}
