//! The connection loop of HTTP ports: HTTP/1.0, HTTP/1.1 and HTTP/2
//! cleartext (prior knowledge and `Upgrade: h2c`) on one port, upgrades
//! (WebSocket) kept possible, and the number of connections bounded: a
//! client that sends no request in time is cut off (slowloris), an idle
//! HTTP/2 connection is closed, and past a cap of open connections per port
//! the longest idle are closed first (new ones are never refused for it).

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::Dropped;
use super::h2c;
use crate::agent::body::{Body, BoxError};

/// How long a client has to send a request's headers (slowloris), and a
/// new connection its first request.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection with no request in flight stays open (HTTP/1
/// keep-alive connections are closed sooner, by the header read timeout).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection asked to close has to finish what it is doing.
const GRACE: Duration = Duration::from_secs(5);

/// Open connections per port above which idle ones are closed, unless
/// `SANDBOX_AGENT_MAX_CONNECTIONS` says otherwise.
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The cap on open connections per port.
fn max_connections() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::env::var("SANDBOX_AGENT_MAX_CONNECTIONS")
            .ok()
            .and_then(|value| value.trim().parse::<usize>().ok())
            .filter(|max| *max > 0)
            .unwrap_or(DEFAULT_MAX_CONNECTIONS)
    })
}

/// Milliseconds since the agent's first connection: idle times.
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The open connections of one port, shared by every serving thread.
struct Port {
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    next: AtomicU64,
}

/// The port record for `port`, the same for every serving thread.
fn port(port: u16) -> Arc<Port> {
    static PORTS: OnceLock<Mutex<HashMap<u16, Arc<Port>>>> = OnceLock::new();
    let ports = PORTS.get_or_init(Default::default);
    let mut ports = ports.lock().unwrap_or_else(|e| e.into_inner());
    ports
        .entry(port)
        .or_insert_with(|| {
            Arc::new(Port {
                open: Mutex::new(HashMap::new()),
                next: AtomicU64::new(0),
            })
        })
        .clone()
}

impl Port {
    /// Registers a new connection; past the cap, asks the longest idle
    /// connections to close.
    fn open(self: &Arc<Self>) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new());
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.insert(id, conn.clone());
        let cap = max_connections();
        if open.len() > cap {
            let closing = open
                .values()
                .filter(|c| c.closing.load(Ordering::Relaxed))
                .count();
            let excess = open.len().saturating_sub(cap).saturating_sub(closing);
            if excess > 0 {
                // Kept-alive connections go first, longest idle first; then
                // those still to send a request, oldest first.
                let mut idle: Vec<((bool, u64), &Arc<Conn>)> = open
                    .iter()
                    .filter(|(other, c)| {
                        **other != id
                            && !c.closing.load(Ordering::Relaxed)
                            && c.in_flight.load(Ordering::Acquire) == 0
                    })
                    .map(|(_, c)| {
                        let fresh = !c.served.load(Ordering::Relaxed);
                        ((fresh, c.idle_since.load(Ordering::Relaxed)), c)
                    })
                    .collect();
                idle.sort_unstable_by_key(|(key, _)| *key);
                for (_, victim) in idle.into_iter().take(excess) {
                    victim.closing.store(true, Ordering::Relaxed);
                    victim.close.notify_one();
                }
            }
        }
        Registered {
            port: self.clone(),
            id,
            conn,
        }
    }
}

/// A connection's place in its port's record, given up when dropped.
struct Registered {
    port: Arc<Port>,
    id: u64,
    conn: Arc<Conn>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut open = self.port.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&self.id);
    }
}

/// What the connection loop knows of one connection.
struct Conn {
    /// Requests whose answer is not fully sent.
    in_flight: AtomicU32,
    /// When the last request in flight ended ([`now_ms`]).
    idle_since: AtomicU64,
    /// Whether a request has been received.
    served: AtomicBool,
    /// Asked to close (past the cap).
    closing: AtomicBool,
    close: Notify,
    /// An `Upgrade: h2c` accepted: the upgrade and the request's frames.
    h2c: Mutex<Option<(OnUpgrade, Vec<u8>)>>,
}

impl Conn {
    fn new() -> Self {
        Conn {
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(now_ms()),
            served: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            close: Notify::new(),
            h2c: Mutex::new(None),
        }
    }

    /// A request starts; the returned guard ends it.
    fn busy(self: &Arc<Self>) -> Busy {
        self.served.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }

    /// When the connection is to be closed if it stays idle, or `None`
    /// while a request is in flight.
    fn deadline(&self) -> Option<u64> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let limit = if self.served.load(Ordering::Relaxed) {
            IDLE_TIMEOUT
        } else {
            HEADER_READ_TIMEOUT
        };
        Some(self.idle_since.load(Ordering::Relaxed) + limit.as_millis() as u64)
    }
}

/// A request in flight on a connection.
struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.idle_since.store(now_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A streamed answer: the request stays in flight until it is sent.
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Accepts HTTP connections on `listener` forever.
pub async fn serve_http<S, F>(listener: TcpListener, handler: S)
where
    S: Fn(IpAddr, Request<Incoming>) -> F + Clone + Send + 'static,
    F: std::future::Future<Output = Result<Response<Body>, Dropped>> + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256);
    let mut upgraded = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    upgraded
        .timer(TokioTimer::new())
        .max_concurrent_streams(256);
    let record = port(listener.local_addr().map_or(0, |address| address.port()));
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
        let upgraded = upgraded.clone();
        let registered = record.open();
        tokio::spawn(async move {
            let conn = registered.conn.clone();
            let ip = remote.ip();
            let service = {
                let conn = conn.clone();
                service_fn(move |request| answer(conn.clone(), handler.clone(), ip, request))
            };
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(stream), service.clone());
            let mut connection = std::pin::pin!(connection);
            drive(connection.as_mut(), &conn, |c| c.graceful_shutdown()).await;
            let accepted = conn.h2c.lock().unwrap_or_else(|e| e.into_inner()).take();
            let Some((upgrade, frames)) = accepted else {
                return;
            };
            let Ok(io) = upgrade.await else {
                return;
            };
            let io = h2c::Injector::new(TokioIo::new(io), frames);
            let connection = upgraded.serve_connection(TokioIo::new(io), service);
            let mut connection = std::pin::pin!(connection);
            drive(connection.as_mut(), &conn, |c| c.graceful_shutdown()).await;
            drop(registered);
        });
    }
}

/// Answers one request: an `Upgrade: h2c` with `101` (the connection loop
/// goes on in HTTP/2), anything else with `handler`; the request is in
/// flight until its answer is sent.
async fn answer<S, F>(
    conn: Arc<Conn>,
    handler: S,
    ip: IpAddr,
    mut request: Request<Incoming>,
) -> Result<Response<Body>, Dropped>
where
    S: Fn(IpAddr, Request<Incoming>) -> F,
    F: std::future::Future<Output = Result<Response<Body>, Dropped>>,
{
    let busy = conn.busy();
    if h2c::asks(&request) && conn.h2c.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
        let upgrade = hyper::upgrade::on(&mut request);
        let (parts, body) = request.into_parts();
        let limited = http_body_util::Limited::new(body, h2c::MAX_BODY as usize);
        let Ok(body) = limited.collect().await else {
            return Err(Dropped);
        };
        let frames = h2c::request_frames(&parts, &body.to_bytes());
        *conn.h2c.lock().unwrap_or_else(|e| e.into_inner()) = Some((upgrade, frames));
        return Ok(h2c::switching::<Body>());
    }
    let response = handler(ip, request).await?;
    if response.body().is_end_stream() {
        return Ok(response);
    }
    Ok(response.map(|body| Tracked { body, _busy: busy }.boxed_unsync()))
}

/// Drives `connection` to its end, asking it to close when it has been
/// idle too long or its port is over its cap; one that does not finish
/// within [`GRACE`] after that is dropped.
async fn drive<C>(mut connection: Pin<&mut C>, conn: &Conn, shutdown: impl Fn(Pin<&mut C>))
where
    C: std::future::Future,
{
    loop {
        let wake = conn.deadline().map_or(IDLE_TIMEOUT, |deadline| {
            Duration::from_millis(deadline.saturating_sub(now_ms()))
        });
        tokio::select! {
            _ = connection.as_mut() => return,
            () = conn.close.notified() => break,
            () = tokio::time::sleep(wake) => {
                if conn.deadline().is_some_and(|deadline| deadline <= now_ms()) {
                    break;
                }
            }
        }
    }
    shutdown(connection.as_mut());
    let _ = tokio::time::timeout(GRACE, connection).await;
}
