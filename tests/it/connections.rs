//! Connections to the agent's HTTP ports: `Upgrade: h2c` from curl on stub
//! and record ports, slow clients cut off by the header read timeout, and
//! idle keep-alive connections kept under a cap.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::agent::{Agent, free_port, get, hello_stub, send, stub, upstream};
use crate::protocols::{curl_parts, tool};

/// The agent's header read timeout (src/agent/serve/connection.rs).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

fn journal_paths(journal: &Value) -> Vec<(String, u64)> {
    journal["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|call| {
            (
                call["path"].as_str().unwrap_or_default().to_owned(),
                call["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

fn upgrade_h2c_is_answered_in_http2_on_stub_and_record_ports() {
    crate::common::block_on_threads(2, async move {
        if tool("curl").is_none() {
            return;
        }
        let upstream = upstream().await;
        let (stub_port, record_port) = (free_port(), free_port());
        let dir = tempfile::tempdir().unwrap();
        let agent = Agent::start(json!([
            stub(
                "api",
                stub_port,
                free_port(),
                json!([
                    {"match": {"path": "/hello"}, "respond": {"body": "hi"}},
                    {"match": {"path": "/two"}, "respond": {"body": "two"}},
                ])
            ),
            {"name": "rec", "port": record_port, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://{upstream}"),
                      "to": dir.path().join("rec.yaml"), "redact": []}},
        ]))
        .await;

        // Two requests on one connection: the first upgraded, answered on
        // stream 1, the second on stream 3.
        let base = format!("http://127.0.0.1:{stub_port}");
        let (ok, out, err) = curl_parts(&[
            "-v",
            "--http2",
            &format!("{base}/hello"),
            &format!("{base}/two"),
        ]);
        assert!(ok, "{err}");
        assert_eq!(out, "hitwo");
        assert!(err.contains("< HTTP/1.1 101"), "{err}");
        assert_eq!(err.matches("< HTTP/2 200").count(), 2, "{err}");
        assert_eq!(err.matches("Connected to").count(), 1, "{err}");
        assert_eq!(
            journal_paths(&agent.calls("?dependency=api").await),
            [("/hello".to_owned(), 200), ("/two".to_owned(), 200)]
        );

        // Through record, with a small body carried over the upgrade.
        let url = format!("http://127.0.0.1:{record_port}/orders?id=7");
        let (ok, out, err) = curl_parts(&["-v", "--http2", "-d", "{\"qty\":2}", &url]);
        assert!(ok, "{err}");
        assert!(err.contains("< HTTP/1.1 101"), "{err}");
        assert!(err.contains("< HTTP/2 200"), "{err}");
        let echoed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(echoed["method"], "POST", "{echoed}");
        assert_eq!(echoed["body"], "{\"qty\":2}", "{echoed}");
        assert!(echoed["uri"].as_str().unwrap().ends_with("/orders?id=7"));
        assert!(echoed["headers"].get("upgrade").is_none(), "{echoed}");
        assert!(
            echoed["headers"].get("http2-settings").is_none(),
            "{echoed}"
        );
        assert_eq!(
            journal_paths(&agent.calls("?dependency=rec").await),
            [("/orders?id=7".to_owned(), 200)]
        );
    })
}

/// Whether the agent closes `stream` (end of stream or a reset) before
/// `deadline`.
async fn closed_by(mut stream: TcpStream, deadline: tokio::time::Instant) -> bool {
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

fn slow_clients_are_cut_off_by_the_header_read_timeout() {
    crate::common::block_on_threads(2, async move {
        let port = free_port();
        let _agent = Agent::start(json!([hello_stub(port)])).await;
        // Slowloris: part of a request's headers, part of the HTTP/2
        // preface, or nothing at all, then silence.
        let started = tokio::time::Instant::now();
        let mut slow = Vec::new();
        for index in 0..800 {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let partial: &[u8] = match index % 4 {
                0 | 1 => b"GET /hello HTTP/1.1\r\nHost: api\r\nX-Slow: ",
                2 => b"PRI * HTTP/2",
                _ => b"",
            };
            stream.write_all(partial).await.unwrap();
            slow.push(stream);
        }
        // The agent still answers meanwhile.
        assert_eq!(get(port, "/hello").await.body, "hi");
        let deadline = started + HEADER_READ_TIMEOUT + Duration::from_secs(5);
        let closed = futures_util::future::join_all(
            slow.into_iter().map(|stream| closed_by(stream, deadline)),
        )
        .await;
        let open = closed.iter().filter(|closed| !**closed).count();
        assert_eq!(open, 0, "{open} slow connections still open");
        assert_eq!(get(port, "/hello").await.body, "hi");
    })
}

/// The agent's open file descriptors.
fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// Opens a connection, sends one request and reads its answer, leaving the
/// connection open (keep-alive).
async fn kept_alive(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: api\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.ends_with(b"\r\n\r\nhi") {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "closed before answering: {answer:?}");
        answer.extend_from_slice(&buffer[..read]);
    }
    stream
}

fn idle_keep_alive_connections_above_the_cap_are_closed_longest_idle_first() {
    crate::common::block_on_threads(4, async move {
        let port = free_port();
        let cap = 100;
        let agent = Agent::start_with_env(
            json!([hello_stub(port)]),
            json!({}),
            &[("SANDBOX_AGENT_MAX_CONNECTIONS", &cap.to_string())],
        )
        .await;
        let before = descriptors(agent.pid());
        assert!(before > 0, "cannot read the agent's descriptors");
        let mut kept = Vec::new();
        for _ in 0..20 {
            let batch = (0..100).map(|_| kept_alive(port));
            kept.extend(futures_util::future::join_all(batch).await);
        }
        assert_eq!(kept.len(), 2000);
        // Every request was answered; the agent holds at most the cap (and
        // the ones it is closing).
        let deadline = Instant::now() + Duration::from_secs(5);
        while descriptors(agent.pid()) > before + cap + 10 {
            assert!(
                Instant::now() < deadline,
                "the agent holds {} descriptors ({before} before)",
                descriptors(agent.pid())
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(get(port, "/hello").await.body, "hi");
        // The first connections were closed, the last ones kept.
        let soon = tokio::time::Instant::now() + Duration::from_millis(500);
        let first = kept.remove(0);
        let last = kept.pop().unwrap();
        assert!(closed_by(first, soon).await, "the longest idle is open");
        assert!(!closed_by(last, soon).await, "the newest was closed");
    })
}

fn an_error_rate_is_refused_on_a_proxy_whose_ports_are_all_tcp() {
    crate::common::block_on_threads(2, async move {
        let (tcp, http) = (free_port(), free_port());
        let agent = Agent::start(json!([
            {"name": "cache", "port": tcp, "private_port": free_port(),
             "mode": {"mode": "proxy", "target": "127.0.0.1", "ports": [
                 {"listen": tcp, "target": free_port(), "http": false}]}},
            {"name": "web", "port": http, "private_port": free_port(),
             "mode": {"mode": "proxy", "target": "127.0.0.1", "ports": [
                 {"listen": http, "target": free_port(), "http": true}]}},
        ]))
        .await;
        let put = |name: &'static str, faults: &'static str| {
            let url = agent.admin_url(&format!("/_sandbox/faults/{name}"));
            async move {
                send("PUT", &url, &[("content-type", "application/json")], faults)
                    .await
                    .unwrap()
            }
        };
        let refused = put("cache", r#"{"error_rate": 0.5}"#).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.body.contains("only TCP ports"), "{}", refused.body);
        assert_eq!(put("cache", r#"{"latency": "5ms"}"#).await.status, 200);
        assert_eq!(put("web", r#"{"error_rate": 0.5}"#).await.status, 200);
        let state = send("GET", &agent.admin_url("/_sandbox/state"), &[], "")
            .await
            .unwrap()
            .json();
        assert_eq!(state["served"][0]["tcp_only"], true, "{state}");
        assert_eq!(state["served"][0]["faults"]["error_rate"], Value::Null);
        assert_eq!(state["served"][1]["tcp_only"], false, "{state}");
    })
}

cases! {
    docker: [],
    plain: [
        upgrade_h2c_is_answered_in_http2_on_stub_and_record_ports,
        slow_clients_are_cut_off_by_the_header_read_timeout,
        idle_keep_alive_connections_above_the_cap_are_closed_longest_idle_first,
        an_error_rate_is_refused_on_a_proxy_whose_ports_are_all_tcp,
    ],
}
