//! Both ends of the tunnel on loopback with real sockets: a hub on
//! 127.0.0.1 ports, a session, and echo and HTTP servers standing for the
//! process on the host.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

const TOKEN: &str = "the-sandbox-token";

/// A hub for `orders` on 127.0.0.1: its tunnel address and entry port.
struct Rig {
    hub: Arc<Hub>,
    tunnel: SocketAddr,
    entry: u16,
}

async fn rig() -> Rig {
    let tunnel = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let entry = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = tunnel.local_addr().unwrap();
    let port = entry.local_addr().unwrap().port();
    let hub = Hub::new("orders", Some(TOKEN.to_owned()), vec![port]);
    hub.start(tunnel, vec![(port, entry)]);
    Rig {
        hub,
        tunnel: address,
        entry: port,
    }
}

fn holder(pid: u32) -> Holder {
    Holder {
        host: "devbox".into(),
        pid,
        started: 77,
        entry: "orders".into(),
    }
}

impl Rig {
    async fn session(&self, host_port: u16) -> Session {
        Session::connect(
            self.tunnel,
            TOKEN,
            "orders",
            vec![(self.entry, host_port)],
            Some(holder(1)),
        )
        .await
        .expect("a session")
    }

    async fn inbound(&self) -> TcpStream {
        TcpStream::connect(("127.0.0.1", self.entry)).await.unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.entry)
    }

    /// Waits (polling the hub's state) until `connected` is as expected.
    async fn connected_becomes(&self, expected: bool, limit: Duration) -> Duration {
        let start = Instant::now();
        while self.hub.state().connected != expected {
            assert!(
                start.elapsed() < limit,
                "connected stayed {} for {limit:?}",
                !expected
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        start.elapsed()
    }
}

/// An echo server on 127.0.0.1 (it half-closes after the client does).
async fn echo() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
                let _ = write.shutdown().await;
            });
        }
    });
    port
}

/// A server that reads until the client stops sending, then answers how
/// much it got and closes.
async fn reads_to_end() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut received = Vec::new();
                stream.read_to_end(&mut received).await.unwrap();
                let answer = format!(
                    "got {} bytes: {}",
                    received.len(),
                    String::from_utf8_lossy(&received)
                );
                stream.write_all(answer.as_bytes()).await.unwrap();
            });
        }
    });
    port
}

/// A hyper HTTP/1.1 server on 127.0.0.1 answering `hello from the host
/// PATH`; with a barrier, each request waits for it first.
async fn http_host(barrier: Option<Arc<tokio::sync::Barrier>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |request: http::Request<hyper::body::Incoming>| {
                        let barrier = barrier.clone();
                        async move {
                            if let Some(barrier) = barrier {
                                barrier.wait().await;
                            }
                            let body = format!("hello from the host {}", request.uri().path());
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(body))))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    port
}

/// A port on 127.0.0.1 where nothing listens.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// Reads until the peer closes; how long that took.
async fn closed_after(stream: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut buffer = [0u8; 1024];
    match tokio::time::timeout(limit, stream.read(&mut buffer)).await {
        Err(_) => panic!("the connection stayed open for {limit:?}"),
        Ok(Ok(0)) | Ok(Err(_)) => start.elapsed(),
        Ok(Ok(_)) => panic!("bytes arrived on a connection that should close"),
    }
}

async fn get(url: &str) -> Result<crate::health::http::HttpAnswer, String> {
    crate::health::http::request("GET", url, &[], None, Duration::from_secs(10)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_round_trip_both_ways() {
    let rig = rig().await;
    let _session = rig.session(echo().await).await;
    let mut inbound = rig.inbound().await;
    for round in 0..5 {
        let message = format!("round {round} from a container");
        inbound.write_all(message.as_bytes()).await.unwrap();
        let mut back = vec![0u8; message.len()];
        inbound.read_exact(&mut back).await.unwrap();
        assert_eq!(back, message.as_bytes());
    }
    inbound.shutdown().await.unwrap();
    closed_after(&mut inbound, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_arrive_intact() {
    let rig = rig().await;
    let _session = rig.session(echo().await).await;
    let inbound = rig.inbound().await;
    let sent: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (mut read, mut write) = inbound.into_split();
    let outgoing = sent.clone();
    let writer = tokio::spawn(async move {
        write.write_all(&outgoing).await.unwrap();
        write.shutdown().await.unwrap();
    });
    let mut received = Vec::with_capacity(sent.len());
    tokio::time::timeout(Duration::from_secs(20), read.read_to_end(&mut received))
        .await
        .expect("the echo ends")
        .unwrap();
    writer.await.unwrap();
    assert_eq!(received.len(), sent.len());
    assert!(received == sent, "the bytes came back changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_sending_still_gets_the_answer() {
    let rig = rig().await;
    let _session = rig.session(reads_to_end().await).await;
    let mut inbound = rig.inbound().await;
    inbound.write_all(b"the whole request").await.unwrap();
    inbound.shutdown().await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), inbound.read_to_string(&mut answer))
        .await
        .expect("an answer after the half-close")
        .unwrap();
    assert_eq!(answer, "got 17 bytes: the whole request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_server_on_the_host_answers_through_the_hub() {
    let rig = rig().await;
    let session = rig.session(http_host(None).await).await;
    for path in ["/orders/1", "/healthz"] {
        let answer = get(&rig.url(path)).await.unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.text(), format!("hello from the host {path}"));
    }
    // Keep-alive: several requests over one inbound connection.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    for _ in 0..3 {
        let response = client
            .get(rig.url("/again").parse().unwrap())
            .await
            .unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello from the host /again");
    }
    // Two calls, then one to three connections of the keep-alive client (it
    // may open another before the last is back in its pool).
    let stats = session.stats();
    assert!((3..=5).contains(&stats.carried), "{stats:?}");
    assert_eq!(stats.refused, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_connections_are_all_served() {
    // Every request waits until all 64 reached the host process: they are
    // carried at the same time, not one after another.
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let rig = rig().await;
    let session = rig.session(http_host(Some(barrier)).await).await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..64 {
        let url = rig.url(&format!("/burst/{i}"));
        calls.spawn(async move { (i, get(&url).await) });
    }
    let mut served = 0;
    while let Some(done) = calls.join_next().await {
        let (i, answer) = done.unwrap();
        let answer = answer.unwrap_or_else(|e| panic!("call {i} failed: {e}"));
        assert_eq!(answer.text(), format!("hello from the host /burst/{i}"));
        served += 1;
    }
    assert_eq!(served, 64);
    assert_eq!(session.stats().carried, 64);
}

#[tokio::test]
async fn a_wrong_token_is_refused() {
    let rig = rig().await;
    let refused = Session::connect(rig.tunnel, "guess", "orders", vec![(rig.entry, 1)], None)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&refused, TunnelError::Refused { reason, .. } if reason.contains("wrong token")),
        "{refused}"
    );
    assert!(!rig.hub.state().connected);
    // A data connection with a wrong token is closed without a word.
    let mut data = TcpStream::connect(rig.tunnel).await.unwrap();
    let hello = wire::Hello::Data {
        token: Some("guess".into()),
        session: "whatever".into(),
    };
    wire::write_hello(&mut data, &hello).await.unwrap();
    closed_after(&mut data, Duration::from_secs(2)).await;
    // Something that is not the tunnel protocol at all is closed too.
    let mut other = TcpStream::connect(rig.tunnel).await.unwrap();
    other.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    closed_after(&mut other, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_session_for_another_entry_or_other_ports_is_refused() {
    let rig = rig().await;
    let other = Session::connect(rig.tunnel, TOKEN, "payments", vec![(rig.entry, 1)], None)
        .await
        .err()
        .expect("refused");
    assert!(
        other
            .to_string()
            .contains("carries `orders`, not `payments`"),
        "{other}"
    );
    let ports = Session::connect(rig.tunnel, TOKEN, "orders", vec![(9999, 1)], None)
        .await
        .err()
        .expect("refused");
    assert!(ports.to_string().contains("listens on ports"), "{ports}");
    let twice = Session::connect(rig.tunnel, TOKEN, "orders", vec![(1, 2), (1, 3)], None)
        .await
        .err()
        .expect("refused");
    assert!(matches!(twice, TunnelError::Ports(_)), "{twice}");
}

#[tokio::test]
async fn without_a_session_inbound_connections_close_at_once() {
    let rig = rig().await;
    let mut inbound = rig.inbound().await;
    let took = closed_after(&mut inbound, Duration::from_secs(2)).await;
    assert!(took < Duration::from_millis(500), "took {took:?}");
    let failed = get(&rig.url("/healthz")).await;
    assert!(failed.is_err(), "{failed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_session_ends_within_a_second_and_the_holder_stays() {
    let rig = rig().await;
    let session = rig.session(http_host(None).await).await;
    assert_eq!(get(&rig.url("/")).await.unwrap().status, 200);
    assert_eq!(
        rig.hub.state(),
        HostState {
            holder: Some(holder(1)),
            connected: true
        }
    );
    drop(session);
    let took = rig.connected_becomes(false, Duration::from_secs(1)).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(
        rig.hub.state().holder,
        Some(holder(1)),
        "the holder is remembered"
    );
    let mut inbound = rig.inbound().await;
    let took = closed_after(&mut inbound, Duration::from_secs(2)).await;
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_host_port_closes_the_inbound_connection_promptly() {
    let rig = rig().await;
    let session = rig.session(closed_port().await).await;
    let mut inbound = rig.inbound().await;
    inbound
        .write_all(b"GET / HTTP/1.1\r\nhost: orders\r\n\r\n")
        .await
        .unwrap();
    let took = closed_after(&mut inbound, Duration::from_secs(2)).await;
    assert!(took < Duration::from_millis(500), "took {took:?}");
    assert_eq!(session.stats().refused, 1);
    assert_eq!(session.stats().carried, 0);
    // The session itself goes on.
    assert!(session.ended().is_none());
    assert!(rig.hub.state().connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_session_wins() {
    let rig = rig().await;
    let first = rig.session(echo().await).await;
    let second = Session::connect(
        rig.tunnel,
        TOKEN,
        "orders",
        vec![(rig.entry, http_host(None).await)],
        Some(holder(2)),
    )
    .await
    .unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(2), first.closed())
        .await
        .expect("the first session ends");
    assert_eq!(reason, Ended::Replaced);
    assert_eq!(
        get(&rig.url("/new")).await.unwrap().text(),
        "hello from the host /new"
    );
    assert_eq!(rig.hub.state().holder, Some(holder(2)));
    assert!(second.ended().is_none());
    // The replaced session ending later does not end the newer one.
    drop(first);
    assert_eq!(get(&rig.url("/still")).await.unwrap().status, 200);
    assert!(rig.hub.state().connected);
}

#[tokio::test]
async fn holder_updates_reach_the_hub() {
    let rig = rig().await;
    let session = rig.session(closed_port().await).await;
    session.set_holder(Some(holder(42))).await.unwrap();
    wait_for_holder(&rig.hub, Some(holder(42))).await;
    session.set_holder(None).await.unwrap();
    wait_for_holder(&rig.hub, None).await;
    assert!(rig.hub.state().connected);
}

async fn wait_for_holder(hub: &Hub, expected: Option<Holder>) {
    let start = Instant::now();
    while hub.state().holder != expected {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "holder stayed {:?}",
            hub.state().holder
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_stopping_hub_tells_the_session_why() {
    let rig = rig().await;
    let session = rig.session(closed_port().await).await;
    rig.hub.stop().await;
    let reason = tokio::time::timeout(Duration::from_secs(2), session.closed())
        .await
        .expect("the session ends");
    assert_eq!(reason, Ended::AgentStopped);
    let error = session.set_holder(None).await.expect_err("ended");
    assert!(error.to_string().contains("agent is stopping"), "{error}");
    assert!(!rig.hub.state().connected);
}

#[tokio::test]
async fn a_session_learns_when_the_tunnel_goes_away() {
    // A bare listener that accepts a session and then closes it, as a
    // removed container would.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let _: wire::Hello = wire::read_hello(&mut stream).await.unwrap();
        let welcome = wire::Welcome::Accepted {
            session: "s".into(),
        };
        wire::write_frame(&mut stream, &welcome).await.unwrap();
    });
    let session = Session::connect(address, TOKEN, "orders", vec![(1, 2)], None)
        .await
        .unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(2), session.closed())
        .await
        .expect("the session ends");
    assert_eq!(reason, Ended::Disconnected);
}

#[tokio::test]
async fn nothing_listening_on_the_tunnel_port_is_a_clear_error() {
    let address: SocketAddr = format!("127.0.0.1:{}", closed_port().await)
        .parse()
        .unwrap();
    let error = Session::connect(address, TOKEN, "orders", vec![(1, 2)], None)
        .await
        .err()
        .expect("no tunnel");
    assert!(matches!(error, TunnelError::Connect { .. }), "{error}");
    assert!(error.to_string().contains(&address.to_string()));
}

#[test]
fn a_holder_names_a_running_process_until_it_ends() {
    let this = Holder::of_process(std::process::id(), "orders");
    assert!(this.started > 0);
    assert!(this.is_running_here());
    let recycled = Holder {
        started: this.started + 1,
        ..this.clone()
    };
    assert!(
        !recycled.is_running_here(),
        "another start time is another process"
    );
    // Beyond the kernel's largest process id: never running.
    assert!(!Holder::of_process(4_194_305, "orders").is_running_here());
    let json = serde_json::to_value(&this).unwrap();
    let mut keys: Vec<_> = json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["entry", "host", "pid", "started"]);
}
