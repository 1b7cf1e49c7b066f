//! The agent's data plane: which dependency answers on which port, and the
//! path of every call through it: pick the dependency (by port, then by the
//! `Host` header), name the caller, add a `traceparent`, apply limits, then
//! faults, answer (stub, replay, record or proxy), journal.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::body::{self, Body, Guarded};
use super::callers::Callers;
use super::config::{AgentConfig, Mode, ProxyPort};
use super::faults::FaultState;
use super::journal::{self, Call, Journal, Text};
use super::limits::{LimitState, Refusal};
use super::live::Live;
use super::record::{self, Pending, Recorder, Tee};
use super::replay::{self, Replay};
use super::stub::{RequestView, Stub};
use crate::manifest::recording::{self, RecordedRequest};

/// The largest request body the agent reads whole (stub, replay, record).
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

/// The client that forwards record and proxy calls: one per serving thread,
/// keeping idle connections to upstreams for reuse.
pub type Forwarder = Client<HttpConnector, Body>;

pub fn forwarder() -> Forwarder {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector)
}

/// One served dependency.
pub struct Dep {
    pub name: &'static str,
    pub mode: &'static str,
    pub port: u16,
    pub private_port: u16,
    handler: Handler,
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
        })
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

impl Agent {
    /// Compiles the configuration: routes, recordings, upstreams, and what
    /// listens on which port.
    pub fn build(config: &AgentConfig) -> Result<(Arc<Agent>, BTreeMap<u16, Listener>), String> {
        let mut deps = Vec::new();
        let mut recorders = Vec::new();
        // (port, dep index, upstream) for HTTP; (port, dep index, target) for TCP.
        let mut http_routes: Vec<(u16, usize, Option<Arc<Upstream>>)> = Vec::new();
        let mut tcp_ports: Vec<(u16, usize, ProxyPort)> = Vec::new();
        for (index, served) in config.served.iter().enumerate() {
            let context = |e: String| format!("dependency `{}`: {e}", served.name);
            let (mode, handler) = match &served.mode {
                Mode::Stub { routes, contract } => (
                    "stub",
                    Handler::Stub(
                        Stub::compile(routes)
                            .and_then(|stub| stub.with_contract(contract.as_ref()))
                            .map_err(context)?,
                    ),
                ),
                Mode::Replay { recording } => (
                    "replay",
                    Handler::Replay(Replay::new(recording).map_err(context)?),
                ),
                Mode::Record {
                    upstream,
                    to,
                    redact,
                    file,
                } => {
                    let upstream = Arc::new(Upstream::parse(upstream).map_err(context)?);
                    let shown = file.clone().unwrap_or_else(|| to.clone());
                    let recorder = Recorder::new(to.into(), shown, redact);
                    recorders.push(recorder.clone());
                    http_routes.push((served.port, index, Some(upstream.clone())));
                    http_routes.push((served.private_port, index, Some(upstream)));
                    ("record", Handler::Record(recorder))
                }
                Mode::Proxy { target, ports } => {
                    for port in ports {
                        if port.http {
                            let upstream =
                                Upstream::parse(&format!("http://{target}:{}", port.target))
                                    .map_err(context)?;
                            http_routes.push((port.listen, index, Some(Arc::new(upstream))));
                        } else {
                            tcp_ports.push((port.listen, index, port.clone()));
                        }
                    }
                    // The private port mirrors the first declared port.
                    if let Some(first) = ports.first()
                        && !ports.iter().any(|port| port.listen == served.private_port)
                    {
                        if first.http {
                            let upstream =
                                Upstream::parse(&format!("http://{target}:{}", first.target))
                                    .map_err(context)?;
                            http_routes.push((
                                served.private_port,
                                index,
                                Some(Arc::new(upstream)),
                            ));
                        } else {
                            tcp_ports.push((served.private_port, index, first.clone()));
                        }
                    }
                    ("proxy", Handler::Proxy)
                }
            };
            if matches!(served.mode, Mode::Stub { .. } | Mode::Replay { .. }) {
                http_routes.push((served.port, index, None));
                http_routes.push((served.private_port, index, None));
            }
            let dep = Dep {
                name: journal::lasting(served.name.as_str()),
                mode,
                port: served.port,
                private_port: served.private_port,
                handler,
                limits: Live::with_activity(LimitState::new(None), false),
                faults: Live::with_activity(FaultState::new(None), false),
            };
            dep.set_limits(served.limits.clone());
            dep.set_faults(served.faults.clone());
            deps.push(Arc::new(dep));
        }
        let agent = Arc::new(Agent {
            deps,
            journal: Journal::new(config.journal_capacity),
            callers: Arc::new(Callers::new(config.callers.clone())),
            recorders,
            ready: AtomicBool::new(false),
            token: config.token.clone(),
            tunnel: config.host.as_ref().map(|host| {
                crate::tunnel::Hub::new(
                    host.entry.clone(),
                    config.token.clone(),
                    host.ports.iter().map(|port| port.listen).collect(),
                )
            }),
        });

        let mut listeners: BTreeMap<u16, Listener> = BTreeMap::new();
        for (port, index, target) in tcp_ports {
            if port == 0 {
                continue;
            }
            let dep = agent.deps[index].clone();
            if listeners.contains_key(&port) {
                return Err(format!("port {port} of `{}` is already served", dep.name));
            }
            let served = &config.served[index];
            let Mode::Proxy { target: host, .. } = &served.mode else {
                continue;
            };
            listeners.insert(
                port,
                Listener::Tcp(Arc::new(TcpForward {
                    agent: agent.clone(),
                    dep,
                    host: host.clone(),
                    port: target.target,
                    listen: port,
                    label: journal::lasting(format!("target {host}:{}", target.target)),
                })),
            );
        }
        for (port, index, upstream) in http_routes {
            if port == 0 {
                continue;
            }
            let dep = agent.deps[index].clone();
            let entry = listeners.entry(port).or_insert_with(|| {
                Listener::Http(Arc::new(HttpPort {
                    agent: agent.clone(),
                    routes: Vec::new(),
                }))
            });
            match entry {
                Listener::Tcp(other) => {
                    return Err(format!(
                        "port {port} is a TCP port of `{}` and an HTTP port of `{}`",
                        other.dep.name, dep.name
                    ));
                }
                Listener::Http(http) => {
                    // The only owner while building.
                    let Some(http) = Arc::get_mut(http) else {
                        continue;
                    };
                    if !http
                        .routes
                        .iter()
                        .any(|route| Arc::ptr_eq(&route.dep, &dep))
                    {
                        http.routes.push(PortRoute { dep, upstream });
                    }
                }
            }
        }
        for port in [config.admin_port, config.registry_port] {
            if listeners.contains_key(&port) {
                return Err(format!(
                    "port {port} is reserved for the agent's control API or the registry"
                ));
            }
        }
        if let Some(host) = &config.host {
            check_host_ports(config, host, &listeners)?;
        }
        Ok((agent, listeners))
    }

    pub fn dep(&self, name: &str) -> Option<&Arc<Dep>> {
        self.deps.iter().find(|dep| dep.name == name)
    }
}

/// The ports of an entry run on the host must be free in this agent: none
/// served, none reserved, none twice, and at least one.
fn check_host_ports(
    config: &AgentConfig,
    host: &super::config::HostForward,
    listeners: &BTreeMap<u16, Listener>,
) -> Result<(), String> {
    if host.ports.is_empty() {
        return Err(format!(
            "`{}` on the host has no port to stand for",
            host.entry
        ));
    }
    let mut taken: Vec<(u16, &str)> = vec![
        (config.admin_port, "the control API"),
        (config.registry_port, "the registry"),
    ];
    taken.extend(listeners.keys().map(|port| (*port, "a served dependency")));
    for (port, what) in std::iter::once((host.tunnel_port, "the tunnel"))
        .chain(host.ports.iter().map(|port| (port.listen, "the entry")))
    {
        if let Some((_, owner)) = taken.iter().find(|(used, _)| *used == port) {
            return Err(format!(
                "port {port} of {what} of `{}` on the host is already {owner}'s",
                host.entry
            ));
        }
        taken.push((port, what));
    }
    Ok(())
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
}

/// Accepts HTTP connections on `listener` forever.
pub async fn serve_http<S, F>(listener: TcpListener, handler: S)
where
    S: Fn(IpAddr, Request<Incoming>) -> F + Clone + Send + 'static,
    F: std::future::Future<Output = Result<Response<Body>, Dropped>> + Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder.keep_alive(true);
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of descriptors or a connection reset before accept:
                // wait a moment rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let ip = remote.ip();
            let service = service_fn(move |request| handler(ip, request));
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl HttpPort {
    /// The route answering `request`: the only one, or the one named by the
    /// `Host` header.
    fn pick(&self, request: &Request<Incoming>) -> Result<&PortRoute, String> {
        if let [only] = self.routes.as_slice() {
            return Ok(only);
        }
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .or_else(|| request.uri().host())
            .unwrap_or("");
        let hostname = hostname(host);
        let found = self
            .routes
            .iter()
            .find(|route| route.dep.name.eq_ignore_ascii_case(hostname))
            .or_else(|| {
                // `payments.shop` or another qualified alias of `payments`.
                let first = hostname.split('.').next().unwrap_or("");
                self.routes
                    .iter()
                    .find(|route| route.dep.name.eq_ignore_ascii_case(first))
            });
        found.ok_or_else(|| hostname.to_owned())
    }

    fn names(&self) -> String {
        self.routes
            .iter()
            .map(|route| route.dep.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One call through the agent, journaled.
    pub async fn handle(
        &self,
        forwarder: &Forwarder,
        remote: IpAddr,
        request: Request<Incoming>,
    ) -> Result<Response<Body>, Dropped> {
        let started = Instant::now();
        let time = SystemTime::now();
        // Added to the request only when it goes upstream (see `forward`).
        let (traceparent, parent) =
            crate::trace::child_of(request.headers().get(&TRACEPARENT).map(|v| v.as_bytes()));
        let method = request.method().clone();
        let path = Text::new(
            request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or_else(|| request.uri().path()),
        );
        let caller = self.agent.callers.name(remote);
        let mut outcome = Outcome {
            traceparent,
            matched: None,
            limited: None,
            fault: None,
        };
        let (dependency, result) = match self.pick(&request) {
            Ok(route) => (
                Cow::Borrowed(route.dep.name),
                process(forwarder, route, caller, request, &mut outcome).await,
            ),
            Err(host) => {
                let message = format!(
                    "no dependency named `{host}` is served on this port; the Host header must name one of: {}\n",
                    self.names()
                );
                let mut response = body::text(StatusCode::BAD_GATEWAY, message);
                response
                    .headers_mut()
                    .insert(UNMATCHED.clone(), HeaderValue::from_static("true"));
                (Cow::Owned(host), Ok(response))
            }
        };
        let status = result.as_ref().map_or(0, |r| r.status().as_u16());
        crate::trace::record_call(crate::trace::AgentCall {
            traceparent: &outcome.traceparent,
            parent,
            dependency: &dependency,
            method: method.as_str(),
            path: path.as_str(),
            status,
            time,
            duration: started.elapsed(),
            caller,
            fault: outcome.fault,
            limited: outcome.limited,
        });
        self.agent.journal.push(Call {
            time,
            dependency,
            method,
            path,
            status: result
                .as_ref()
                .map(|response| response.status().as_u16())
                .unwrap_or(0),
            duration: started.elapsed(),
            matched: outcome.matched,
            traceparent: Some(outcome.traceparent),
            caller,
            limited: outcome.limited,
            fault: outcome.fault,
        });
        result
    }
}

/// The host name of a `Host` header value (`name`, `name:80`, `[::1]:80`).
fn hostname(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map(|(name, _)| name).unwrap_or(host)
}

async fn process(
    forwarder: &Forwarder,
    route: &PortRoute,
    caller: &'static str,
    request: Request<Incoming>,
    outcome: &mut Outcome,
) -> Result<Response<Body>, Dropped> {
    let dep = &route.dep;
    let limits = dep.limits.load_active();
    let admitted = match &limits {
        None => Ok(None),
        Some(limits) => limits.admit(caller, Instant::now()),
    };
    let permit = match admitted {
        Ok(permit) => permit,
        Err(Refusal::Rate(retry_after)) => {
            outcome.limited = Some("rate");
            let mut response = body::text(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "rate limit of `{}` exceeded (sandbox limits); retry after {retry_after} s\n",
                    dep.name
                ),
            );
            let headers = response.headers_mut();
            headers.insert(LIMITED.clone(), HeaderValue::from_static("rate"));
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(response);
        }
        Err(Refusal::Concurrency) => {
            outcome.limited = Some("concurrency");
            let mut response = body::text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "too many requests in flight to `{}` (sandbox concurrency limit)\n",
                    dep.name
                ),
            );
            response
                .headers_mut()
                .insert(LIMITED.clone(), HeaderValue::from_static("concurrency"));
            return Ok(response);
        }
    };
    drop(limits);
    let draw = dep
        .faults
        .load_active()
        .map(|faults| faults.draw())
        .unwrap_or_default();
    outcome.fault = draw.label();
    if draw.reset {
        return Err(Dropped);
    }
    if let Some(delay) = draw.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = match draw.error {
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = body::text(
                status,
                format!("error injected by the sandbox (faults of `{}`)\n", dep.name),
            );
            response
                .headers_mut()
                .insert(FAULT.clone(), HeaderValue::from_static("error"));
            response
        }
        None => answer(forwarder, route, request, outcome).await,
    };
    if let Some(rate) = draw.bandwidth {
        response = response.map(|inner| body::throttle(inner, rate));
    }
    if let Some(permit) = permit {
        response = response.map(|inner| Guarded::wrap(inner, permit));
    }
    Ok(response)
}

async fn answer(
    forwarder: &Forwarder,
    route: &PortRoute,
    request: Request<Incoming>,
    outcome: &mut Outcome,
) -> Response<Body> {
    match &route.dep.handler {
        Handler::Stub(stub) => {
            let (parts, incoming) = request.into_parts();
            let bytes = match read_body(incoming).await {
                Ok(bytes) => bytes,
                Err(response) => return response,
            };
            let view = RequestView {
                method: &parts.method,
                path: parts.uri.path(),
                query: body::query_pairs(parts.uri.query()),
                raw_query: parts.uri.query(),
                headers: &parts.headers,
                body: &bytes,
            };
            let answer = stub.answer(&view);
            drop(view);
            match answer {
                Ok(answer) => {
                    outcome.matched = Some(answer.label);
                    if let Some(delay) = answer.delay {
                        tokio::time::sleep(delay).await;
                    }
                    answer.response
                }
                Err(message) => unmatched(message),
            }
        }
        Handler::Replay(replay) => {
            let (parts, incoming) = request.into_parts();
            let bytes = match read_body(incoming).await {
                Ok(bytes) => bytes,
                Err(response) => return response,
            };
            let found = replay.answer(&replay::Request {
                method: &parts.method,
                path: parts.uri.path(),
                query: parts.uri.query(),
                body: &bytes,
            });
            match found {
                Ok((label, response)) => {
                    outcome.matched = Some(label);
                    response
                }
                Err(message) => unmatched(message),
            }
        }
        Handler::Record(recorder) => {
            forward(forwarder, route, Some(recorder), request, outcome).await
        }
        Handler::Proxy => forward(forwarder, route, None, request, outcome).await,
    }
}

fn unmatched(message: String) -> Response<Body> {
    let mut response = body::text(StatusCode::BAD_GATEWAY, message);
    response
        .headers_mut()
        .insert(UNMATCHED.clone(), HeaderValue::from_static("true"));
    response
}

async fn read_body(incoming: Incoming) -> Result<Bytes, Response<Body>> {
    match Limited::new(incoming, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => {
            let status = if error.is::<http_body_util::LengthLimitError>() {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            Err(body::text(
                status,
                format!("cannot read the request body: {error}\n"),
            ))
        }
    }
}

/// Forwards a call upstream (record and HTTP proxy), streaming the answer
/// back; when recording, a copy of both sides is saved.
async fn forward(
    forwarder: &Forwarder,
    route: &PortRoute,
    recorder: Option<&Arc<Recorder>>,
    request: Request<Incoming>,
    outcome: &mut Outcome,
) -> Response<Body> {
    let Some(upstream) = &route.upstream else {
        return body::text(StatusCode::BAD_GATEWAY, "this dependency has no upstream\n");
    };
    outcome.matched = Some(upstream.label);
    let (parts, incoming) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let uri: Uri = match format!("{}{path_and_query}", upstream.base).parse() {
        Ok(uri) => uri,
        Err(error) => {
            return body::text(
                StatusCode::BAD_REQUEST,
                format!("cannot forward `{path_and_query}`: {error}\n"),
            );
        }
    };
    let (body, recorded) = match recorder {
        Some(recorder) => {
            let bytes = match read_body(incoming).await {
                Ok(bytes) => bytes,
                Err(response) => return response,
            };
            let (text, base64) = record::stored_body(&bytes);
            // The caller's Host and the per-call trace id would only make
            // every re-recording differ.
            let mut headers = recorder.headers(&parts.headers);
            headers.remove("host");
            headers.remove("traceparent");
            let recorded = RecordedRequest {
                method: parts.method.as_str().to_owned(),
                path: parts.uri.path().to_owned(),
                query: recording::query_from_pairs(body::query_pairs(parts.uri.query())),
                headers,
                body: text,
                body_base64: base64,
            };
            (body::full(bytes), Some((recorder.clone(), recorded)))
        }
        None => (incoming.map_err(Into::into).boxed_unsync(), None),
    };
    let mut headers = parts.headers;
    body::strip_hop_by_hop(&mut headers);
    // A recording's upstream is another server and wants its own name; a
    // proxy stands in for its entry, whose callers named the entry, so the
    // entry sees the Host they sent (not the proxy's `ENTRY.origin` alias).
    if recorder.is_some() || !headers.contains_key(header::HOST) {
        headers.insert(header::HOST, upstream.authority.clone());
    }
    if let Ok(value) = HeaderValue::from_str(outcome.traceparent.as_str()) {
        headers.insert(TRACEPARENT.clone(), value);
    }
    let mut outgoing = Request::new(body);
    *outgoing.method_mut() = parts.method;
    *outgoing.uri_mut() = uri;
    *outgoing.headers_mut() = headers;
    let response = match forwarder.request(outgoing).await {
        Ok(response) => response,
        Err(error) => {
            let mut cause = String::new();
            let mut source = std::error::Error::source(&error);
            while let Some(inner) = source {
                cause = format!(": {inner}");
                source = inner.source();
            }
            return body::text(
                StatusCode::BAD_GATEWAY,
                format!(
                    "the sandbox could not reach {}: {error}{cause}\n",
                    upstream.base
                ),
            );
        }
    };
    let (mut parts, incoming) = response.into_parts();
    body::strip_hop_by_hop(&mut parts.headers);
    let body = match recorded {
        Some((recorder, request)) => {
            let pending = Pending {
                headers: recorder.headers(&parts.headers),
                recorder,
                request,
                status: parts.status.as_u16(),
            };
            Tee::new(incoming, pending).boxed_unsync()
        }
        None => incoming.map_err(Into::into).boxed_unsync(),
    };
    Response::from_parts(parts, body)
}

impl TcpForward {
    /// Accepts connections forever, forwarding each to the target with
    /// limits (a connection is a request) and faults applied.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (stream, remote) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(self.clone().connection(stream, remote));
        }
    }

    async fn connection(self: Arc<Self>, stream: TcpStream, remote: SocketAddr) {
        let started = Instant::now();
        let time = SystemTime::now();
        let caller = self.agent.callers.name(remote.ip());
        let mut outcome = Outcome {
            traceparent: Text::new(""),
            matched: None,
            limited: None,
            fault: None,
        };
        let status = self.forward(stream, caller, &mut outcome).await;
        self.agent.journal.push(Call {
            time,
            dependency: Cow::Borrowed(self.dep.name),
            method: Method::from_bytes(b"TCP").unwrap_or(Method::CONNECT),
            path: Text::new(&format!(":{}", self.listen)),
            status,
            duration: started.elapsed(),
            matched: outcome.matched,
            traceparent: None,
            caller,
            limited: outcome.limited,
            fault: outcome.fault,
        });
    }

    /// Returns the status journaled for the connection: 200 forwarded, 502
    /// target unreachable, 429/503 refused by limits, 0 dropped by a fault.
    async fn forward(
        &self,
        mut stream: TcpStream,
        caller: &'static str,
        outcome: &mut Outcome,
    ) -> u16 {
        let limits = self.dep.limits.load();
        let _permit = match limits.admit(caller, Instant::now()) {
            Ok(permit) => permit,
            Err(Refusal::Rate(_)) => {
                outcome.limited = Some("rate");
                return 429;
            }
            Err(Refusal::Concurrency) => {
                outcome.limited = Some("concurrency");
                return 503;
            }
        };
        drop(limits);
        let draw = self.dep.faults.load().draw();
        outcome.fault = draw.label();
        if draw.reset {
            return 0;
        }
        if let Some(delay) = draw.delay {
            tokio::time::sleep(delay).await;
        }
        let target = match TcpStream::connect((self.host.as_str(), self.port)).await {
            Ok(target) => target,
            Err(_) => return 502,
        };
        let _ = target.set_nodelay(true);
        outcome.matched = Some(self.label);
        match draw.bandwidth {
            None => {
                let mut target = target;
                let _ = tokio::io::copy_bidirectional(&mut stream, &mut target).await;
            }
            Some(rate) => {
                let (client_read, client_write) = stream.into_split();
                let (target_read, target_write) = target.into_split();
                let _ = tokio::join!(
                    copy_throttled(client_read, target_write, rate),
                    copy_throttled(target_read, client_write, rate)
                );
            }
        }
        200
    }
}

async fn copy_throttled<R, W>(mut from: R, mut to: W, bytes_per_second: u64) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let rate = bytes_per_second.max(1);
    let mut buffer = vec![0u8; (rate / 20).clamp(1, 64 * 1024) as usize];
    loop {
        let read = from.read(&mut buffer).await?;
        if read == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buffer[..read]).await?;
        tokio::time::sleep(Duration::from_secs_f64(read as f64 / rate as f64)).await;
    }
}

impl Agent {
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
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
