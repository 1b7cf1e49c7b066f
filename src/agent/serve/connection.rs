//! The connection loop of HTTP ports: HTTP/1.0, HTTP/1.1 and HTTP/2
//! cleartext (prior knowledge) on one port, upgrades (WebSocket) kept
//! possible, and a client that does not finish its headers in time cut off.

use std::net::IpAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use super::Dropped;
use crate::agent::body::Body;

/// How long a client has to send a request's headers (slowloris).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

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
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    }
}
