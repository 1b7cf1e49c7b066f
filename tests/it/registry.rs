//! The registry served in-process against tiny local targets: listing,
//! health transitions (down within 5 s, back up), a hung target that must
//! not hold the others back, host URLs, and semantic checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sandbox::health::check::run_check;
use sandbox::health::http::request;
use sandbox::registry::{self, RegistryConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Answers `(status, body)` for `(method, path, request body)`.
type Handler = Arc<dyn Fn(&str, &str, &str) -> (u16, String) + Send + Sync>;

/// A tiny HTTP/1.1 server: one request per connection.
async fn target(listener: TcpListener, handler: Handler) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(answer(stream, handler));
    }
}

async fn answer(mut stream: TcpStream, handler: Handler) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let mut first = head.lines().next().unwrap_or("").split(' ');
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    let (status, text) = handler(method, path, &body);
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
}

/// A target answering `200 ok` on every path, on `port` (0: any).
async fn healthy(port: u16) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (
        port,
        tokio::spawn(target(listener, Arc::new(|_, _, _| (200, "ok".to_owned())))),
    )
}

/// A target that accepts connections and never answers.
async fn hung() -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (port, task)
}

/// A target answering `200 ok` until `hang` is set, then accepting and
/// never answering.
async fn hangs_on(hang: Arc<AtomicBool>) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let hang = hang.clone();
            tokio::spawn(async move {
                if hang.load(Ordering::SeqCst) {
                    let _held = stream;
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                } else {
                    answer(stream, Arc::new(|_, _, _| (200, "ok".to_owned()))).await;
                }
            });
        }
    });
    (port, task)
}

async fn start_registry(config: Value) -> (String, JoinHandle<std::io::Result<()>>) {
    let config: RegistryConfig = serde_json::from_value(config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (url, tokio::spawn(registry::serve(config, listener)))
}

async fn call(method: &str, url: &str, body: Option<&str>) -> (u16, Value) {
    let answer = request(
        method,
        url,
        &[],
        body.map(|b| b.as_bytes().to_vec()),
        Duration::from_secs(5),
    )
    .await
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let value = serde_json::from_slice(&answer.body)
        .unwrap_or_else(|e| panic!("{method} {url} answered non-JSON ({e}): {}", answer.text()));
    (answer.status, value)
}

async fn get(url: &str) -> Value {
    let (status, value) = call("GET", url, None).await;
    assert_eq!(status, 200, "GET {url}: {value}");
    value
}

/// Polls entry `name` until `status`, failing after `within`; returns how
/// long it took and the entry.
async fn await_status(
    registry: &str,
    name: &str,
    status: &str,
    within: Duration,
) -> (Duration, Value) {
    let started = Instant::now();
    loop {
        let entry = get(&format!("{registry}/services/{name}")).await;
        if entry["health"]["status"] == status {
            return (started.elapsed(), entry);
        }
        assert!(
            started.elapsed() < within,
            "{name} not {status} within {within:?}; last: {entry}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn http_probe(port: u16) -> Value {
    json!({"probe": "http", "host": "127.0.0.1", "port": port, "path": "/healthz", "status": 200, "contains": "ok"})
}

fn lists_entries_serves_openapi_and_takes_host_urls() {
    crate::common::block_on_threads(1, async move {
        let (orders_port, _orders) = healthy(0).await;
        let (payments_port, _payments) = healthy(0).await;
        let openapi = json!({"openapi": "3.0.0", "info": {"title": "Orders", "version": "1"}});
        let (registry, _server) = start_registry(json!({
            "sandbox": "shop",
            "entries": [
                {"name": "orders", "role": "service", "kind": "build", "owner": "team-orders",
                 "internal_url": format!("http://127.0.0.1:{orders_port}"),
                 "api": {"description": "Orders API", "openapi": openapi},
                 "probe": http_probe(orders_port)},
                {"name": "payments", "role": "dependency", "kind": "stub",
                 "internal_url": format!("http://127.0.0.1:{payments_port}"),
                 "probe": {"probe": "tcp", "host": "127.0.0.1", "port": payments_port}},
                {"name": "postgres", "role": "dependency", "kind": "image", "owner": "team-data"},
                {"name": "worker", "role": "dependency", "kind": "image",
                 "probe": {"probe": "exec", "container": "worker", "command": ["true"]}},
            ]
        }))
        .await;

        let doc = get(&format!("{registry}/services")).await;
        assert_eq!(doc["sandbox"], "shop");
        let names: Vec<&str> = doc["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["orders", "payments", "postgres", "worker"]);
        let orders = &doc["services"][0];
        assert_eq!(
            (orders["role"].as_str(), orders["kind"].as_str()),
            (Some("service"), Some("build"))
        );
        assert_eq!(orders["owner"], "team-orders");
        assert_eq!(orders["host_url"], Value::Null);
        assert_eq!(
            orders["api"],
            json!({"description": "Orders API", "openapi": "/services/orders/openapi"})
        );
        let payments = &doc["services"][1];
        assert_eq!(
            (payments["role"].as_str(), payments["kind"].as_str()),
            (Some("dependency"), Some("stub"))
        );
        assert_eq!(payments["owner"], Value::Null);
        assert_eq!(payments["api"], Value::Null);
        let postgres = &doc["services"][2];
        assert_eq!(postgres["health"]["status"], "up");
        assert_eq!(postgres["health"]["detail"], "no health check declared");
        assert_eq!(postgres["health"]["checked_at"], Value::Null);
        let worker = &doc["services"][3];
        assert_eq!(worker["health"]["status"], "up");
        assert_eq!(
            worker["health"]["detail"],
            "no probe from the registry: exec probes run through the engine"
        );

        let (_, orders) = await_status(&registry, "orders", "up", Duration::from_secs(5)).await;
        assert_eq!(orders["health"]["detail"], "GET /healthz answered 200");
        let checked_at = orders["health"]["checked_at"].as_str().unwrap();
        assert!(
            checked_at.ends_with('Z') && checked_at.len() == 24,
            "{checked_at}"
        );
        await_status(&registry, "payments", "up", Duration::from_secs(5)).await;

        // Unknown names, missing documents, wrong methods, unknown paths.
        let (status, body) = call("GET", &format!("{registry}/services/nope"), None).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"], "no entry named nope");
        assert_eq!(
            body["entries"],
            json!(["orders", "payments", "postgres", "worker"])
        );
        assert_eq!(
            get(&format!("{registry}/services/orders/openapi")).await,
            openapi
        );
        let (status, body) = call(
            "GET",
            &format!("{registry}/services/payments/openapi"),
            None,
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(body["error"], "entry payments declares no OpenAPI document");
        let (status, _) = call("POST", &format!("{registry}/services"), Some("{}")).await;
        assert_eq!(status, 405);
        let (status, _) = call("GET", &format!("{registry}/elsewhere"), None).await;
        assert_eq!(status, 404);
        assert_eq!(
            get(&format!("{registry}/_sandbox/health")).await,
            json!({"ok": true})
        );

        // Host URLs: all or nothing.
        let hosts = format!("{registry}/_sandbox/hosts");
        let (status, body) = call(
            "PUT",
            &hosts,
            Some(r#"{"orders": "http://127.0.0.1:1", "ghost": "http://127.0.0.1:2"}"#),
        )
        .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"], "no entry named ghost");
        let (status, _) = call("PUT", &hosts, Some("not json")).await;
        assert_eq!(status, 400);
        let (status, _) = call("PUT", &hosts, Some(r#"["orders"]"#)).await;
        assert_eq!(status, 400);
        let (status, _) = call("PUT", &hosts, Some(r#"{"orders": 7}"#)).await;
        assert_eq!(status, 400);
        assert_eq!(
            get(&format!("{registry}/services/orders")).await["host_url"],
            Value::Null
        );
        registry::put_hosts(
            &registry,
            None,
            &[
                ("orders".to_owned(), "http://127.0.0.1:40001".to_owned()),
                ("payments".to_owned(), "http://127.0.0.1:40002".to_owned()),
            ],
        )
        .await
        .unwrap();
        let doc = registry::services(&registry).await.unwrap();
        let urls: Vec<Option<&str>> = doc.services.iter().map(|e| e.host_url.as_deref()).collect();
        assert_eq!(
            urls,
            [
                Some("http://127.0.0.1:40001"),
                Some("http://127.0.0.1:40002"),
                None,
                None
            ]
        );
        let err = registry::put_hosts(
            &registry,
            None,
            &[("ghost".to_owned(), "http://x:1".to_owned())],
        )
        .await
        .unwrap_err();
        assert!(err.contains("no entry named ghost"), "{err}");

        let metrics = get(&format!("{registry}/_sandbox/metrics")).await;
        assert!(metrics["probes"].as_u64().unwrap() >= 2, "{metrics}");
        assert!(metrics["uptime_s"].as_f64().unwrap() > 0.0, "{metrics}");
    })
}

fn a_stopped_target_turns_down_within_5s_and_up_when_back() {
    crate::common::block_on_threads(1, async move {
        let (port, orders) = healthy(0).await;
        let (registry, _server) = start_registry(json!({
        "sandbox": "shop",
        "entries": [{"name": "orders", "role": "service", "kind": "build", "probe": http_probe(port)}]
    }))
    .await;
        await_status(&registry, "orders", "up", Duration::from_secs(5)).await;

        orders.abort();
        let _ = orders.await;
        let (took, entry) = await_status(&registry, "orders", "down", Duration::from_secs(5)).await;
        assert_eq!(
            entry["health"]["detail"],
            format!("connection refused to 127.0.0.1:{port}")
        );
        eprintln!("down after {took:?}");

        let (_, _back) = healthy(port).await;
        let (took, entry) = await_status(&registry, "orders", "up", Duration::from_secs(5)).await;
        assert_eq!(entry["health"]["detail"], "GET /healthz answered 200");
        eprintln!("up again after {took:?}");
    })
}

fn a_target_that_hangs_turns_down_within_5s() {
    crate::common::block_on_threads(1, async move {
        let hang = Arc::new(AtomicBool::new(false));
        let (port, _target) = hangs_on(hang.clone()).await;
        let (registry, _server) = start_registry(json!({
        "sandbox": "shop",
        "entries": [{"name": "orders", "role": "service", "kind": "build", "probe": http_probe(port)}]
    }))
    .await;
        await_status(&registry, "orders", "up", Duration::from_secs(5)).await;
        hang.store(true, Ordering::SeqCst);
        let (took, entry) = await_status(&registry, "orders", "down", Duration::from_secs(5)).await;
        assert_eq!(entry["health"]["detail"], "timed out after 1500ms");
        eprintln!("down after {took:?} of hanging");
        hang.store(false, Ordering::SeqCst);
        await_status(&registry, "orders", "up", Duration::from_secs(5)).await;
    })
}

fn a_hung_target_holds_back_neither_the_others_nor_the_server() {
    crate::common::block_on_threads(1, async move {
        let (ok_port, _ok) = healthy(0).await;
        let (hung_port, _hung) = hung().await;
        let (registry, _server) = start_registry(json!({
        "sandbox": "shop",
        "entries": [
            {"name": "stuck", "role": "dependency", "kind": "image", "probe": http_probe(hung_port)},
            {"name": "orders", "role": "service", "kind": "build", "probe": http_probe(ok_port)},
        ]
    }))
    .await;
        let (_, first) = await_status(&registry, "orders", "up", Duration::from_secs(3)).await;

        // Orders keeps being probed every second while stuck's probes hang.
        let started = Instant::now();
        let mut seen = vec![first["health"]["checked_at"].clone()];
        while seen.len() < 3 {
            assert!(
                started.elapsed() < Duration::from_secs(4),
                "orders probed only at {seen:?}"
            );
            let asked = Instant::now();
            let doc = get(&format!("{registry}/services")).await;
            assert!(
                asked.elapsed() < Duration::from_millis(500),
                "the server answered slowly"
            );
            let at = doc["services"][1]["health"]["checked_at"].clone();
            if !seen.contains(&at) {
                seen.push(at);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let started = Instant::now();
        loop {
            let stuck = get(&format!("{registry}/services/stuck")).await;
            assert_eq!(stuck["health"]["status"], "starting", "{stuck}");
            if stuck["health"]["detail"] == "timed out after 1500ms" {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "{stuck}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

fn keeps_connections_alive_and_survives_garbage() {
    crate::common::block_on_threads(1, async move {
        let (registry, _server) = start_registry(json!({"sandbox": "shop", "entries": []})).await;
        let address = registry.trim_start_matches("http://").to_owned();

        // Two requests on one connection, the second a HEAD.
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
        .write_all(b"GET /services HTTP/1.1\r\nhost: r\r\n\r\nHEAD /services HTTP/1.1\r\nhost: r\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
        assert_eq!(
            text.matches(r#"{"sandbox":"shop","services":[]}"#).count(),
            1,
            "{text}"
        );

        // Not HTTP at all: the connection is refused, the server lives on.
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream.write_all(b"\x00\x01 garbage\r\n\r\n").await.unwrap();
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text).await;
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 400"),
            "{text}"
        );
        assert_eq!(
            get(&format!("{registry}/_sandbox/health")).await,
            json!({"ok": true})
        );
    })
}

fn checks_pass_and_fail_with_the_difference() {
    crate::common::block_on_threads(1, async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(target(
            listener,
            Arc::new(|method, path, body| match (method, path) {
                ("POST", "/orders") if body.contains("\"sku\":\"A1\"") => (
                    201,
                    r#"{"id": 1, "state": "pending", "items": [{"sku": "A1"}]}"#.to_owned(),
                ),
                ("POST", "/orders") => (400, r#"{"error": "no sku"}"#.to_owned()),
                _ => (404, "{}".to_owned()),
            }),
        ));
        let check = |expect: Value| -> sandbox::manifest::Check {
            serde_json::from_value(json!({
                "name": "create an order",
                "request": {"method": "POST", "path": "/orders", "json": {"sku": "A1", "qty": 1}},
                "expect": expect,
            }))
            .unwrap()
        };
        let timeout = Duration::from_secs(2);

        let passed = run_check(
            &base,
            &check(json!({"status": 201, "contains": "\"id\"", "json": {"state": "pending"}})),
            timeout,
        )
        .await;
        assert!(passed.passed, "{passed:?}");
        assert_eq!(
            (passed.status, passed.difference.as_deref()),
            (Some(201), None)
        );

        let failed = run_check(
            &base,
            &check(json!({"json": {"state": "settled", "items": [{"sku": "B2"}]}})),
            timeout,
        )
        .await;
        assert!(!failed.passed);
        // Fields are compared in key order.
        assert_eq!(
            failed.difference.as_deref(),
            Some(
                "field `items[0].sku`: expected \"B2\", got \"A1\"; field `state`: expected \"settled\", got \"pending\""
            )
        );

        let mut no_sku = check(json!({"status": 201, "contains": "\"id\""}));
        no_sku.request.json = Some(json!({"qty": 1}));
        let failed = run_check(&base, &no_sku, timeout).await;
        assert_eq!(failed.status, Some(400));
        assert_eq!(
            failed.difference.as_deref(),
            Some(
                r#"expected status 201, got 400; body does not contain `"id"`; body was: {"error": "no sku"}"#
            )
        );

        let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gone_url = format!("http://{}", gone.local_addr().unwrap());
        drop(gone);
        let failed = run_check(&gone_url, &check(json!({})), timeout).await;
        assert_eq!(failed.status, None);
        let port = gone_url.rsplit(':').next().unwrap();
        assert_eq!(
            failed.difference.as_deref(),
            Some(format!("POST /orders: connection refused to 127.0.0.1:{port}").as_str())
        );
    })
}

cases! {
    docker: [],
    plain: [
        lists_entries_serves_openapi_and_takes_host_urls,
        a_stopped_target_turns_down_within_5s_and_up_when_back,
        a_target_that_hangs_turns_down_within_5s,
        a_hung_target_holds_back_neither_the_others_nor_the_server,
        keeps_connections_alive_and_survives_garbage,
        checks_pass_and_fail_with_the_difference,
    ],
}
