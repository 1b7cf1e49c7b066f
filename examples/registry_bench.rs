//! Serves a registry of `N` entries (default 50), each probed over HTTP
//! against its own tiny local target, for `benches/registry.sh` to load with
//! `wrk`. Prints `registry http://127.0.0.1:P` once serving, then runs until
//! killed.
//!
//! Usage: `registry_bench [ENTRIES]`

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use sandbox::health::ProbeSpec;
use sandbox::manifest::Kind;
use sandbox::registry::{self, ApiInfo, RegistryConfig, RegistryEntry};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let mut entries = Vec::with_capacity(count);
    for n in 0..count {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(target(listener));
        entries.push(RegistryEntry {
            name: format!("entry-{n:02}"),
            role: if n == 0 { "service" } else { "dependency" }.to_owned(),
            kind: if n == 0 { Kind::Build } else { Kind::Stub },
            owner: Some(format!("team-{}", n % 5)),
            internal_url: Some(format!("http://127.0.0.1:{port}")),
            host_url: None,
            api: Some(ApiInfo {
                description: Some(format!("API number {n}")),
                openapi: Some(
                    serde_json::json!({"openapi": "3.0.0", "info": {"title": n.to_string()}}),
                ),
            }),
            probe: Some(ProbeSpec::Http {
                host: "127.0.0.1".into(),
                port,
                path: "/healthz".into(),
                status: Some(200),
                contains: Some("ok".into()),
            }),
        });
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("registry http://{}", listener.local_addr()?);
    let config = RegistryConfig {
        sandbox: "bench".into(),
        entries,
    };
    registry::serve(config, listener).await
}

/// Answers `200 ok` to everything.
async fn target(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|_| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
