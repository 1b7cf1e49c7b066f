//! The connection loop of HTTP ports.

use std::net::IpAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::Dropped;
use crate::agent::body::Body;

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
