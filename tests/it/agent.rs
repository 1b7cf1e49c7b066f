//! The agent as a process: `sandbox agent --config FILE` on free 127.0.0.1
//! ports, driven over HTTP, with a small upstream server inside the test for
//! record and proxy.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

/// A port free now, never handed out before in this test process, and
/// below the kernel's ephemeral range (32768 and up), where the engine's
/// published ports and outgoing connections take theirs: a port chosen
/// for a process the test starts later is not taken in the meantime.
pub(crate) fn free_port() -> u16 {
    use rand::Rng as _;
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut rng = rand::rng();
    loop {
        let port = rng.random_range(15_000..32_000);
        let mut given = GIVEN.lock().unwrap();
        if given.contains(&port) || StdListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        given.push(port);
        return port;
    }
}

/// A running agent, killed when dropped.
pub(crate) struct Agent {
    child: Child,
    admin: u16,
    _dir: tempfile::TempDir,
}

impl Agent {
    /// Starts an agent serving `served` and waits until it is ready.
    pub(crate) async fn start(served: Value) -> Agent {
        Agent::start_with(served, json!({})).await
    }

    /// Starts an agent serving `served`, with `extra` keys in its
    /// configuration, and waits until it is ready.
    pub(crate) async fn start_with(served: Value, extra: Value) -> Agent {
        Agent::start_with_env(served, extra, &[]).await
    }

    /// Starts an agent as [`Agent::start_with`] does, with `env` set.
    pub(crate) async fn start_with_env(served: Value, extra: Value, env: &[(&str, &str)]) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let admin = free_port();
        let mut config = json!({
            "version": 1,
            "sandbox": "test",
            "admin_port": admin,
            "listen": "127.0.0.1",
            "served": served,
            "callers": ["localhost"],
        });
        for (key, value) in extra.as_object().unwrap() {
            config[key] = value.clone();
        }
        let path = dir.path().join("agent.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sandbox"))
            .args(["agent", "--config"])
            .arg(&path)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut agent = Agent {
            child,
            admin,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = send("GET", &agent.admin_url("/_sandbox/ready"), &[], "").await
                && response.status == 200
            {
                return agent;
            }
            if let Some(status) = agent.child.try_wait().unwrap() {
                panic!("the agent exited before it was ready: {status}");
            }
            assert!(Instant::now() < deadline, "the agent did not become ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The agent's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin)
    }

    pub(crate) async fn calls(&self, query: &str) -> Value {
        let response = send(
            "GET",
            &self.admin_url(&format!("/_sandbox/calls{query}")),
            &[],
            "",
        )
        .await
        .unwrap();
        assert_eq!(response.status, 200);
        response.json()
    }

    /// SIGTERM, then the exit status.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the agent did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

pub(crate) async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Answer, hyper_util::client::legacy::Error> {
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = client().request(request).await?;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// The body of a GET of `url`, as bytes.
pub(crate) async fn send_bytes(url: &str) -> Vec<u8> {
    let request = http::Request::get(url)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client().request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    bytes.to_vec()
}

pub(crate) async fn get(port: u16, path: &str) -> Answer {
    send("GET", &format!("http://127.0.0.1:{port}{path}"), &[], "")
        .await
        .unwrap()
}

/// An upstream that answers every request with what it received and a
/// counter, so that identical requests get different answers.
pub(crate) async fn upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let counter = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        let counter = counter.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            let headers: BTreeMap<String, String> = parts
                                .headers
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                                .collect();
                            let answer = json!({
                                "count": counter.fetch_add(1, Ordering::SeqCst) + 1,
                                "method": parts.method.as_str(),
                                "uri": parts.uri.to_string(),
                                "headers": headers,
                                "body": String::from_utf8_lossy(&body),
                            });
                            let response = http::Response::builder()
                                .header("content-type", "application/json")
                                .header("set-cookie", "session=secret")
                                .body(Full::new(Bytes::from(answer.to_string())))
                                .unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

pub(crate) fn stub(name: &str, port: u16, private_port: u16, routes: Value) -> Value {
    json!({"name": name, "port": port, "private_port": private_port, "mode": {"mode": "stub", "routes": routes}})
}

/// A stub `api` on `port` whose one route answers `GET /hello` with `hi`.
pub(crate) fn hello_stub(port: u16) -> Value {
    stub(
        "api",
        port,
        free_port(),
        json!([{"match": {"path": "/hello"}, "respond": {"body": "hi"}}]),
    )
}

fn stubs_answer_with_templates_and_diagnose_misses_in_the_journal() {
    crate::common::block_on_threads(2, async move {
        let (shared, private) = (free_port(), free_port());
        let routes = json!([
            {"match": {"method": "GET", "path": "/payments/{id}"},
             "respond": {"status": 200, "json": {"id": "{{path.id}}", "state": "settled", "ask": "{{query.q}}"}}},
            {"match": {"method": "POST", "path": "/payments", "json": {"currency": "EUR"}},
             "respond": {"status": 201, "headers": {"location": "/payments/{{header.x-ref}}"}, "body": "made"}},
        ]);
        let agent = Agent::start(json!([stub("payments", shared, private, routes)])).await;

        let answer = get(private, "/payments/42?q=x").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(
            answer.json(),
            json!({"id": "42", "state": "settled", "ask": "x"})
        );
        // The only dependency on the shared port answers whatever the Host.
        assert_eq!(get(shared, "/payments/1").await.status, 200);

        let made = send(
            "POST",
            &format!("http://127.0.0.1:{private}/payments"),
            &[
                ("x-ref", "7"),
                (
                    "traceparent",
                    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                ),
            ],
            r#"{"currency": "EUR", "amount": 3}"#,
        )
        .await
        .unwrap();
        assert_eq!((made.status, made.body.as_str()), (201, "made"));
        assert_eq!(made.header("location"), Some("/payments/7"));

        let missed = get(private, "/payments/7/refund").await;
        assert_eq!(missed.status, 502);
        assert_eq!(missed.header("x-sandbox-unmatched"), Some("true"));
        assert!(
        missed.body.starts_with(
            "no stub route matched GET /payments/7/refund\nclosest: route 1 (GET /payments/{id}): path has 3 segments, route has 2"
        ),
        "{}",
        missed.body
    );

        let journal = agent.calls("?dependency=payments").await;
        let calls = journal["calls"].as_array().unwrap();
        assert_eq!(calls.len(), 4, "{journal}");
        assert_eq!(calls[0]["matched"], "route 1: GET /payments/{id}");
        assert_eq!(calls[0]["path"], "/payments/42?q=x");
        assert_eq!(calls[0]["caller"], "localhost");
        assert!(calls[0]["time"].as_str().unwrap().ends_with('Z'));
        let generated = calls[0]["traceparent"].as_str().unwrap();
        assert!(
            generated.starts_with("00-") && generated.len() == 55,
            "{generated}"
        );
        // The caller's trace, under the agent's own span for the call.
        let sent_on = calls[2]["traceparent"].as_str().unwrap();
        assert!(
            sent_on.starts_with("00-0af7651916cd43dd8448eb211c80319c-")
                && sent_on.ends_with("-01")
                && !sent_on.contains("b7ad6b7169203331"),
            "{sent_on}"
        );
        assert_eq!(calls[3]["status"], 502);
        assert_eq!(calls[3]["matched"], Value::Null);
        let next = journal["next"].as_u64().unwrap();
        let newer = agent.calls(&format!("?since={next}")).await;
        assert!(newer["calls"].as_array().unwrap().is_empty());
        assert_eq!(newer["next"], next);
    })
}

fn a_shared_port_answers_by_host_name() {
    crate::common::block_on_threads(2, async move {
        let shared = free_port();
        let agent = Agent::start(json!([
            stub(
                "payments",
                shared,
                free_port(),
                json!([{"match": {}, "respond": {"body": "payments"}}])
            ),
            stub(
                "users",
                shared,
                free_port(),
                json!([{"match": {}, "respond": {"body": "users"}}])
            ),
        ]))
        .await;
        let url = format!("http://127.0.0.1:{shared}/anything");
        for name in ["payments", "users"] {
            let host = format!("{name}:80");
            let answer = send("GET", &url, &[("host", &host)], "").await.unwrap();
            assert_eq!(answer.body, name);
        }
        let unknown = send("GET", &url, &[("host", "billing")], "").await.unwrap();
        assert_eq!(unknown.status, 502);
        assert_eq!(unknown.header("x-sandbox-unmatched"), Some("true"));
        assert!(unknown.body.contains("payments, users"), "{}", unknown.body);
        drop(agent);
    })
}

fn recordings_are_complete_and_redacted_after_sigterm_then_replay_in_order() {
    crate::common::block_on_threads(2, async move {
        let upstream = upstream().await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("recordings/catalog.yaml");
        let port = free_port();
        let mut agent = Agent::start(json!([{
            "name": "catalog", "port": free_port(), "private_port": port,
            "mode": {"mode": "record", "upstream": format!("http://{upstream}"),
                     "to": file, "redact": ["X-Api-Key"]},
        }]))
        .await;
        let url = format!("http://127.0.0.1:{port}/items/1?lang=en");
        let secrets = [
            ("authorization", "Bearer s3cret"),
            ("x-api-key", "k3y"),
            ("accept", "application/json"),
        ];
        for expected in 1..=2 {
            let answer = send("GET", &url, &secrets, "").await.unwrap();
            assert_eq!(answer.status, 200);
            let seen = answer.json();
            assert_eq!(seen["count"], expected);
            assert_eq!(seen["uri"], "/items/1?lang=en");
            assert_eq!(seen["headers"]["host"], upstream.to_string());
            assert_eq!(seen["headers"]["authorization"], "Bearer s3cret");
            assert!(
                seen["headers"]["traceparent"]
                    .as_str()
                    .unwrap()
                    .starts_with("00-")
            );
        }
        let posted = send(
            "POST",
            &format!("http://127.0.0.1:{port}/items"),
            &[],
            r#"{"name":"lamp"}"#,
        )
        .await
        .unwrap();
        assert_eq!(posted.json()["body"], r#"{"name":"lamp"}"#);
        let journal = agent.calls("").await;
        assert_eq!(
            journal["calls"][0]["matched"],
            format!("upstream http://{upstream}")
        );

        assert!(agent.terminate().success());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            // (The upstream echoes the request's headers in its body; only
            // the headers themselves are redacted.)
            !text.contains("session=secret") && !text.contains("authorization: Bearer"),
            "{text}"
        );
        let recording: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(recording["version"], 1);
        let interactions = recording["interactions"].as_array().unwrap();
        assert_eq!(interactions.len(), 3, "{text}");
        let first = &interactions[0];
        assert_eq!(first["request"]["method"], "GET");
        assert_eq!(first["request"]["path"], "/items/1");
        assert_eq!(first["request"]["query"]["lang"], "en");
        assert_eq!(first["request"]["headers"]["authorization"], "<redacted>");
        assert_eq!(first["request"]["headers"]["x-api-key"], "<redacted>");
        assert_eq!(first["request"]["headers"]["accept"], "application/json");
        assert_eq!(first["response"]["status"], 200);
        assert_eq!(first["response"]["headers"]["set-cookie"], "<redacted>");
        assert_eq!(interactions[2]["request"]["body"], r#"{"name":"lamp"}"#);

        // Replay answers identical requests in recorded order, the last repeating.
        let port = free_port();
        let _replay = Agent::start(json!([{
            "name": "catalog", "port": free_port(), "private_port": port,
            "mode": {"mode": "replay", "recording": recording},
        }]))
        .await;
        let url = format!("http://127.0.0.1:{port}/items/1?lang=en");
        let counts: Vec<Value> = futures_in_order(&url, 3).await;
        assert_eq!(counts, vec![json!(1), json!(2), json!(2)]);
        let posted = send(
            "POST",
            &format!("http://127.0.0.1:{port}/items"),
            &[],
            r#"{"name": "lamp"}"#,
        )
        .await
        .unwrap();
        assert_eq!(posted.json()["count"], 3);
        let missed = get(port, "/items/1?lang=de").await;
        assert_eq!(missed.status, 502);
        assert!(
            missed
                .body
                .contains("query parameter `lang` is `de`, recorded `en`"),
            "{}",
            missed.body
        );
    })
}

async fn futures_in_order(url: &str, times: usize) -> Vec<Value> {
    let mut counts = Vec::new();
    for _ in 0..times {
        let answer = send("GET", url, &[], "").await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        counts.push(answer.json()["count"].clone());
    }
    counts
}

fn rate_and_concurrency_limits_refuse_the_excess() {
    crate::common::block_on_threads(2, async move {
        let (rated, crowded) = (free_port(), free_port());
        let agent = Agent::start(json!([
        {"name": "rated", "port": free_port(), "private_port": rated,
         "mode": {"mode": "stub", "routes": [{"match": {}, "respond": {"body": "ok"}}]},
         "limits": {"rate": "1/m", "burst": 5}},
        {"name": "crowded", "port": free_port(), "private_port": crowded,
         "mode": {"mode": "stub", "routes": [{"match": {}, "respond": {"body": "ok", "delay": "300ms"}}]},
         "limits": {"concurrency": 2}},
    ]))
    .await;
        let mut statuses = BTreeMap::new();
        for _ in 0..10 {
            let answer = get(rated, "/").await;
            *statuses.entry(answer.status).or_insert(0) += 1;
            if answer.status == 429 {
                assert_eq!(answer.header("x-sandbox-limited"), Some("rate"));
                let retry: u64 = answer.header("retry-after").unwrap().parse().unwrap();
                assert!((1..=60).contains(&retry), "{retry}");
            }
        }
        assert_eq!(statuses, BTreeMap::from([(200, 5), (429, 5)]));

        let parallel: Vec<_> = (0..6)
            .map(|_| tokio::spawn(async move { get(crowded, "/").await }))
            .collect();
        let mut refused = 0;
        let mut served = 0;
        for task in parallel {
            let answer = task.await.unwrap();
            match answer.status {
                200 => served += 1,
                503 => {
                    assert_eq!(answer.header("x-sandbox-limited"), Some("concurrency"));
                    refused += 1;
                }
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!((served, refused), (2, 4));
        let journal = agent.calls("?dependency=rated").await;
        let limited = journal["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|call| call["limited"] == "rate")
            .count();
        assert_eq!(limited, 5);
    })
}

fn faults_inject_errors_and_latency_and_change_at_run_time() {
    crate::common::block_on_threads(2, async move {
        let (broken, slow) = (free_port(), free_port());
        let ok = json!([{"match": {}, "respond": {"body": "ok"}}]);
        let agent = Agent::start(json!([
        {"name": "broken", "port": free_port(), "private_port": broken, "mode": {"mode": "stub", "routes": ok},
         "faults": {"error_rate": 1.0, "error_status": 500}},
        stub("slow", free_port(), slow, ok.clone()),
    ]))
    .await;
        let answer = get(broken, "/").await;
        assert_eq!(answer.status, 500);
        assert_eq!(answer.header("x-sandbox-fault"), Some("error"));
        assert!(answer.body.contains("injected"), "{}", answer.body);

        let started = Instant::now();
        assert_eq!(get(slow, "/").await.body, "ok");
        assert!(started.elapsed() < Duration::from_millis(200));

        let put = send(
            "PUT",
            &agent.admin_url("/_sandbox/faults/slow"),
            &[],
            r#"{"latency": "300ms"}"#,
        )
        .await
        .unwrap();
        assert_eq!(put.status, 200, "{}", put.body);
        assert_eq!(put.json(), json!({"latency": "300ms"}));
        let started = Instant::now();
        assert_eq!(get(slow, "/").await.body, "ok");
        assert!(started.elapsed() >= Duration::from_millis(300));

        let state = send("GET", &agent.admin_url("/_sandbox/state"), &[], "")
            .await
            .unwrap()
            .json();
        let served = state["served"].as_array().unwrap();
        assert_eq!(served[1]["name"], "slow");
        assert_eq!(served[1]["mode"], "stub");
        assert_eq!(served[1]["private_port"], slow);
        assert_eq!(served[1]["faults"], json!({"latency": "300ms"}));
        assert_eq!(served[1]["limits"], Value::Null);

        let cleared = send("PUT", &agent.admin_url("/_sandbox/faults/slow"), &[], "{}")
            .await
            .unwrap();
        assert_eq!((cleared.status, cleared.json()), (200, json!({})));
        let started = Instant::now();
        get(slow, "/").await;
        assert!(started.elapsed() < Duration::from_millis(200));

        let limits = send(
            "PUT",
            &agent.admin_url("/_sandbox/limits/slow"),
            &[],
            r#"{"rate": "1/m"}"#,
        )
        .await
        .unwrap();
        assert_eq!(limits.status, 200, "{}", limits.body);
        assert_eq!(get(slow, "/").await.status, 200);
        assert_eq!(get(slow, "/").await.status, 429);

        let unknown = send(
            "PUT",
            &agent.admin_url("/_sandbox/faults/nobody"),
            &[],
            "{}",
        )
        .await
        .unwrap();
        assert_eq!(unknown.status, 404);
        let bad = send(
            "PUT",
            &agent.admin_url("/_sandbox/faults/slow"),
            &[],
            r#"{"latency": "soon"}"#,
        )
        .await
        .unwrap();
        assert_eq!(bad.status, 400);
        assert!(
            bad.json()["error"].as_str().unwrap().contains("soon"),
            "{}",
            bad.body
        );
        let bad = send(
            "PUT",
            &agent.admin_url("/_sandbox/faults/slow"),
            &[],
            r#"{"error_rate": 2}"#,
        )
        .await
        .unwrap();
        assert_eq!(bad.status, 400);

        let journal = agent.calls("?dependency=broken").await;
        assert_eq!(journal["calls"][0]["fault"], "error");
    })
}

fn proxies_forward_http_and_tcp_and_drop_connections_on_reset() {
    crate::common::block_on_threads(2, async move {
        let upstream = upstream().await;
        let (http_port, tcp_port) = (free_port(), free_port());
        let agent = Agent::start(json!([{
            "name": "real", "port": http_port, "private_port": free_port(),
            "mode": {"mode": "proxy", "target": "127.0.0.1", "ports": [
                {"listen": http_port, "target": upstream.port(), "http": true},
                {"listen": tcp_port, "target": upstream.port(), "http": false},
            ]},
        }]))
        .await;
        let answer = get(http_port, "/through?x=1").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["uri"], "/through?x=1");
        // Through the TCP port, the request reaches the upstream byte for byte.
        let answer = get(tcp_port, "/raw").await;
        assert_eq!(answer.json()["uri"], "/raw");

        let put = send(
            "PUT",
            &agent.admin_url("/_sandbox/faults/real"),
            &[],
            r#"{"reset_rate": 1}"#,
        )
        .await
        .unwrap();
        assert_eq!(put.status, 200);
        assert!(
            send("GET", &format!("http://127.0.0.1:{http_port}/"), &[], "")
                .await
                .is_err()
        );
        assert!(
            send("GET", &format!("http://127.0.0.1:{tcp_port}/"), &[], "")
                .await
                .is_err()
        );
        let journal = agent.calls("").await;
        let faults: Vec<&Value> = journal["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["fault"])
            .collect();
        assert_eq!(
            faults.iter().filter(|f| **f == "reset").count(),
            2,
            "{journal}"
        );
    })
}

fn garbage_gets_a_400_and_the_agent_keeps_serving() {
    crate::common::block_on_threads(2, async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let port = free_port();
        let _agent = Agent::start(json!([stub(
            "s",
            free_port(),
            port,
            json!([{"match": {}, "respond": {"body": "ok"}}])
        )]))
        .await;
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
        let mut reply = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
        assert!(
            String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert_eq!(get(port, "/").await.body, "ok");
    })
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn changes_need_the_token_and_reads_stay_open() {
    crate::common::block_on_threads(2, async move {
        let (shared, private, registry) = (free_port(), free_port(), free_port());
        let agent = Agent::start_with(
            json!([stub(
                "pay",
                shared,
                private,
                json!([{"match": {"path": "/p"}, "respond": {"body": "ok"}}])
            )]),
            json!({
                "token": TOKEN,
                "registry_port": registry,
                "registry": {"sandbox": "test", "entries": [
                    {"name": "pay", "role": "dependency", "kind": "stub"}]},
            }),
        )
        .await;
        let faults = agent.admin_url("/_sandbox/faults/pay");
        let limits = agent.admin_url("/_sandbox/limits/pay");
        let json_type = ("content-type", "application/json");
        let wrong = format!("Bearer {}", TOKEN.replace('0', "1"));
        let right = format!("Bearer {TOKEN}");
        for headers in [
            vec![json_type],
            vec![json_type, ("authorization", wrong.as_str())],
            vec![json_type, ("authorization", TOKEN)],
        ] {
            for url in [&faults, &limits] {
                let refused = send("PUT", url, &headers, r#"{"latency": "2s", "rate": "1/s"}"#)
                    .await
                    .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
                let body = refused.json();
                assert_eq!(refused.status, 401, "{headers:?} {url}: {body}");
                assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
                assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
            }
            let flush = send("POST", &agent.admin_url("/_sandbox/flush"), &headers, "")
                .await
                .unwrap();
            assert_eq!(flush.status, 401, "{}", flush.body);
            // Unknown dependencies are not revealed before the token either.
            let unknown = send(
                "PUT",
                &agent.admin_url("/_sandbox/faults/nobody"),
                &headers,
                "{}",
            )
            .await
            .unwrap();
            assert_eq!(unknown.status, 401);
        }
        // Nothing changed, and reads need no token.
        let state = send("GET", &agent.admin_url("/_sandbox/state"), &[], "")
            .await
            .unwrap();
        assert_eq!(state.status, 200);
        let state = state.json();
        assert_eq!(state["served"][0]["faults"], Value::Null, "{state}");
        assert_eq!(state["served"][0]["limits"], Value::Null, "{state}");
        assert_eq!(get(private, "/p").await.status, 200);
        assert_eq!(agent.calls("").await["calls"].as_array().unwrap().len(), 1);

        // With the token, the change is made.
        let changed = send(
            "PUT",
            &faults,
            &[json_type, ("authorization", right.as_str())],
            r#"{"error_rate": 1, "error_status": 503}"#,
        )
        .await
        .unwrap();
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_eq!(get(private, "/p").await.status, 503);

        // The registry: reads open, the host push needs the token.
        let hosts = format!("http://127.0.0.1:{registry}/_sandbox/hosts");
        let push = r#"{"pay": "http://127.0.0.1:1"}"#;
        let refused = send("PUT", &hosts, &[json_type], push).await.unwrap();
        assert_eq!(refused.status, 401, "{}", refused.body);
        let services = get(registry, "/services/pay").await;
        assert_eq!(services.status, 200);
        assert_eq!(services.json()["host_url"], Value::Null);
        let err = sandbox::registry::put_hosts(
            &format!("http://127.0.0.1:{registry}"),
            None,
            &[("pay".to_owned(), "http://127.0.0.1:1".to_owned())],
        )
        .await
        .unwrap_err();
        assert!(err.contains("401") && err.contains("token"), "{err}");
        sandbox::registry::put_hosts(
            &format!("http://127.0.0.1:{registry}"),
            Some(TOKEN),
            &[("pay".to_owned(), "http://127.0.0.1:1".to_owned())],
        )
        .await
        .unwrap();
        assert_eq!(
            get(registry, "/services/pay").await.json()["host_url"],
            "http://127.0.0.1:1"
        );
    })
}

fn a_recording_that_cannot_be_written_is_reported_and_kept_until_it_can() {
    crate::common::block_on_threads(2, async move {
        use std::os::unix::fs::PermissionsExt;

        let upstream = upstream().await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("catalog.yaml");
        let port = free_port();
        let agent = Agent::start_with(
            json!([{
                "name": "catalog", "port": free_port(), "private_port": port,
                "mode": {"mode": "record", "upstream": format!("http://{upstream}"),
                         "to": file, "redact": [], "file": "recordings/catalog.yaml"},
            }]),
            json!({"token": TOKEN}),
        )
        .await;
        let state_url = agent.admin_url("/_sandbox/state");
        let flush_url = agent.admin_url("/_sandbox/flush");
        let bearer = format!("Bearer {TOKEN}");
        let auth = [("authorization", bearer.as_str())];
        let state = send("GET", &state_url, &[], "").await.unwrap().json();
        assert_eq!(
            state["served"][0]["recording"],
            json!({"file": "recordings/catalog.yaml", "error": null})
        );

        // A directory where the file goes: no write can put the file there,
        // whoever the agent runs as.
        std::fs::create_dir(&file).unwrap();
        assert_eq!(get(port, "/items/1").await.status, 200);
        let flushed = send("POST", &flush_url, &auth, "").await.unwrap();
        assert_eq!(flushed.status, 200, "{}", flushed.body);
        let flushed = flushed.json();
        let recording = &flushed["recordings"][0];
        assert_eq!(recording["dependency"], "catalog");
        assert_eq!(recording["file"], "recordings/catalog.yaml");
        let reason = recording["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{flushed}"));
        assert!(reason.contains("directory"), "{reason}");
        let state = send("GET", &state_url, &[], "").await.unwrap().json();
        assert_eq!(state["served"][0]["recording"]["error"], reason, "{state}");
        let failed = sandbox::agent::client::recording_errors(&[agent.admin_url("")]).await;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].file, "recordings/catalog.yaml");

        // Once the way is clear, the next write has every interaction.
        std::fs::remove_dir(&file).unwrap();
        assert_eq!(get(port, "/items/2").await.status, 200);
        let flushed = send("POST", &flush_url, &auth, "").await.unwrap().json();
        assert_eq!(flushed["recordings"][0]["error"], Value::Null, "{flushed}");
        let text = std::fs::read_to_string(&file).unwrap();
        let saved: Value = serde_yaml::from_str(&text).unwrap();
        let paths: Vec<&str> = saved["interactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["request"]["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["/items/1", "/items/2"], "{text}");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{mode:o}");
        let state = send("GET", &state_url, &[], "").await.unwrap().json();
        assert_eq!(state["served"][0]["recording"]["error"], Value::Null);
    })
}

cases! {
    docker: [],
    plain: [
        stubs_answer_with_templates_and_diagnose_misses_in_the_journal,
        a_shared_port_answers_by_host_name,
        recordings_are_complete_and_redacted_after_sigterm_then_replay_in_order,
        rate_and_concurrency_limits_refuse_the_excess,
        faults_inject_errors_and_latency_and_change_at_run_time,
        proxies_forward_http_and_tcp_and_drop_connections_on_reset,
        garbage_gets_a_400_and_the_agent_keeps_serving,
        changes_need_the_token_and_reads_stay_open,
        a_recording_that_cannot_be_written_is_reported_and_kept_until_it_can,
    ],
}
