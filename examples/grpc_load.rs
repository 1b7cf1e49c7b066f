//! A gRPC unary load loop for benches/grpc.sh: calls one method with one
//! message over HTTP/2 (cleartext, prior knowledge) for a while and prints
//! the calls per second that ended with `grpc-status: 0`.
//!
//!   grpc_load HOST:PORT /pkg.Service/Method MESSAGE_HEX [SECONDS] [CONNECTIONS] [STREAMS]
//!
//! MESSAGE_HEX is the request message's protobuf encoding (without the
//! 5-byte prefix); STREAMS calls run at once on each connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!(
            "usage: grpc_load HOST:PORT /pkg.Service/Method MESSAGE_HEX [SECONDS] [CONNECTIONS] [STREAMS]"
        );
        std::process::exit(2);
    }
    let target = args[1].clone();
    let path = args[2].clone();
    let message = hex(&args[3]);
    let seconds: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5);
    let connections: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(4);
    let streams: usize = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(8);

    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(message.len() as u32);
    framed.put_slice(&message);
    let body = framed.freeze();

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(&target)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {target}: {e}"));
        stream.set_nodelay(true).unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .expect("HTTP/2 handshake");
        tokio::spawn(connection);
        for _ in 0..streams {
            let mut sender = sender.clone();
            let (ok, failed, stop) = (ok.clone(), failed.clone(), stop.clone());
            let (target, path, body) = (target.clone(), path.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let request = http::Request::post(format!("http://{target}{path}"))
                        .header("content-type", "application/grpc")
                        .header("te", "trailers")
                        .body(Full::new(body.clone()))
                        .unwrap();
                    let good = match sender.send_request(request).await {
                        Ok(response) => match response.into_body().collect().await {
                            Ok(collected) => collected
                                .trailers()
                                .and_then(|t| t.get("grpc-status"))
                                .is_some_and(|s| s == "0"),
                            Err(_) => false,
                        },
                        Err(_) => false,
                    };
                    if good { &ok } else { &failed }.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
    }
    // A second of warm-up, then the measured span.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (start_ok, started) = (ok.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let done = ok.load(Ordering::Relaxed) - start_ok;
    let rate = done as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("grpc_load: {failed} calls failed");
    }
    println!("{rate:.0}");
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("MESSAGE_HEX is hex"))
        .collect()
}
