//! Limits and faults on dependencies in a real sandbox, set in the manifest
//! and changed at run time.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::common::*;

const MANIFEST: &str = web_with!(
    r#"  limited:
    stub:
      routes:
        - match: { path: /fast }
          respond: { body: ok }
        - match: { path: /slow }
          respond: { body: ok, delay: 400ms }
    limits: { rate: 5/s, burst: 5, per_caller: false }
  capped:
    stub:
      routes:
        - match: { path: /slow }
          respond: { body: ok, delay: 500ms }
    limits: { concurrency: 2 }
  broken:
    stub:
      routes:
        - match: { path: /x }
          respond: { body: ok }
    faults: { error_rate: 1, error_status: 503, latency: 150ms, seed: 7 }
  origin:
    build: ./app
    command: ["/shopd", "fixture", "--port", "9000"]
    ports: { http: 9000 }
    health: { http: /healthz }
    faults: {}
  echo:
    build: ./app
    command: ["/shopd", "tcp-echo", "--port", "7000"]
    ports: { tcp: 7000 }
    faults: { latency: 300ms }
"#
);

fn timed_get(url: &str) -> (u16, Duration) {
    let started = Instant::now();
    let (status, _) = get(url);
    (status, started.elapsed())
}

fn limits_and_faults_shape_what_callers_see() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("faults", MANIFEST);
    sandbox.ok(&["up"]);

    // A burst at a rate-limited stub: the bucket's 5, then 429s with Retry-After.
    let limited = sandbox.url("limited");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answers: Vec<(u16, Option<String>, Option<String>)> = runtime.block_on(async {
        let mut answers = Vec::new();
        for _ in 0..15 {
            let answer = sandbox::health::http::request(
                "GET",
                &format!("{limited}/fast"),
                &[],
                None,
                Duration::from_secs(5),
            )
            .await
            .unwrap();
            answers.push((
                answer.status,
                answer.header("retry-after").map(str::to_owned),
                answer.header("x-sandbox-limited").map(str::to_owned),
            ));
        }
        answers
    });
    let accepted = answers.iter().filter(|a| a.0 == 200).count();
    assert!((5..=6).contains(&accepted), "{answers:?}");
    let refused: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    assert_eq!(accepted + refused.len(), 15);
    for (_, retry, limited) in refused {
        assert!(
            retry
                .as_deref()
                .is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)),
            "{retry:?}"
        );
        assert_eq!(limited.as_deref(), Some("rate"));
    }

    // A concurrency cap under parallel load: some 503s marked `concurrency`.
    let capped = sandbox.url("capped");
    let statuses: Vec<u16> = runtime.block_on(async {
        let calls = (0..6).map(|_| {
            let url = format!("{capped}/slow");
            async move {
                sandbox::health::http::request("GET", &url, &[], None, Duration::from_secs(5))
                    .await
                    .unwrap()
                    .status
            }
        });
        futures_util::future::join_all(calls).await
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        4,
        "{statuses:?}"
    );

    // error_rate 1: every answer is the error status, after the latency.
    let broken = sandbox.url("broken");
    for _ in 0..3 {
        let (status, took) = timed_get(&format!("{broken}/x"));
        assert_eq!(status, 503);
        assert!(took >= Duration::from_millis(150), "{took:?}");
    }
    let journal: serde_json::Value =
        serde_json::from_str(&sandbox.ok(&["calls", "--json"])).unwrap();
    let calls = journal["calls"].as_array().unwrap();
    assert!(calls.iter().any(|c| c["limited"] == "rate"));
    assert!(calls.iter().any(|c| c["limited"] == "concurrency"));
    assert!(
        calls
            .iter()
            .any(|c| c["dependency"] == "broken" && c["fault"] == "error")
    );

    // Changed at run time, on the next request; --clear removes them.
    sandbox.ok(&["faults", "broken", "--clear"]);
    let (status, took) = timed_get(&format!("{broken}/x"));
    assert_eq!(status, 200);
    assert!(took < Duration::from_millis(150), "{took:?}");
    sandbox.ok(&["faults", "broken", "--latency", "250ms"]);
    let (status, took) = timed_get(&format!("{broken}/x"));
    assert_eq!(status, 200);
    assert!(took >= Duration::from_millis(250), "{took:?}");
    // `status` shows what is in force.
    let status = sandbox.status();
    let entry = |name: &str| {
        status["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("broken")["faults"]["latency"], "250ms", "{status}");
    assert_eq!(entry("limited")["limits"]["rate"], "5/s", "{status}");
    assert!(entry("web")["faults"].is_null());
    let table = sandbox.ok(&["status"]);
    assert!(table.contains("broken: faults latency: 250ms"), "{table}");
    sandbox.ok(&["limits", "limited", "--clear"]);
    for _ in 0..10 {
        assert_eq!(get(&format!("{limited}/fast")).0, 200);
    }

    // A real HTTP container behind a proxy: faults per request.
    let origin = sandbox.url("origin");
    let (status, base) = timed_get(&format!("{origin}/healthz"));
    assert_eq!(status, 200);
    sandbox.ok(&["faults", "origin", "--latency", "300ms"]);
    let (status, took) = timed_get(&format!("{origin}/healthz"));
    assert_eq!(status, 200);
    assert!(
        took >= Duration::from_millis(300) && took > base,
        "{took:?}"
    );
    sandbox.ok(&[
        "faults",
        "origin",
        "--error-rate",
        "1",
        "--error-status",
        "500",
    ]);
    assert_eq!(get(&format!("{origin}/healthz")).0, 500);
    // The service still reaches it under its own name, through the proxy.
    let web = sandbox.url("web");
    let (_, body) = get(&format!(
        "{web}/call?url={}",
        encode("http://origin:9000/healthz")
    ));
    assert!(body.contains("\"status\":500"), "{body}");
    sandbox.ok(&["faults", "origin", "--clear"]);
    assert_eq!(get(&format!("{origin}/healthz")).0, 200);

    // A port that does not speak HTTP: TCP latency, then resets.
    let status = sandbox.status();
    let echo = status["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "echo")
        .unwrap()["ports"]["tcp"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(&echo).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"hi").unwrap();
    let mut buffer = [0u8; 2];
    stream.read_exact(&mut buffer).unwrap();
    assert_eq!(&buffer, b"hi");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    // An error rate answers with an HTTP status: refused on TCP ports.
    let out = sandbox.run(&["faults", "echo", "--error-rate", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("only TCP ports"), "{}", stderr(&out));
    sandbox.ok(&["faults", "echo", "--clear", "--reset-rate", "1"]);
    let mut stream = std::net::TcpStream::connect(&echo).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(b"hi");
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    assert!(
        read.is_err() || rest.is_empty(),
        "a reset connection answers nothing: {rest:?}"
    );
}

fn bad_limits_and_faults_are_usage_errors() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("badfaults", MANIFEST);
    for args in [
        vec!["faults", "broken", "--error-rate", "1.5"],
        vec!["faults", "broken", "--error-status", "200"],
        vec!["faults", "broken", "--latency", "-5ms"],
        vec!["limits", "limited", "--rate", "ten/s"],
    ] {
        let out = sandbox.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

fn faults_on_the_service_put_a_proxy_in_front_of_it() {
    if !docker_or_skip() {
        return;
    }
    let manifest = r#"
version: 1
service:
  name: web
  build: ./app
  command: ["/shopd", "fixture", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /healthz }
  faults: { latency: 200ms }
"#;
    let sandbox = Sandbox::new("svcfaults", manifest);
    sandbox.ok(&["up"]);
    let (status, took) = timed_get(&format!("{}/healthz", sandbox.url("web")));
    assert_eq!(status, 200);
    assert!(took >= Duration::from_millis(200), "{took:?}");
    let doc = sandbox.status();
    assert_eq!(doc["entries"][0]["faults"]["latency"], "200ms", "{doc}");
    sandbox.ok(&["faults", "web", "--clear"]);
    let (_, took) = timed_get(&format!("{}/healthz", sandbox.url("web")));
    assert!(took < Duration::from_millis(200), "{took:?}");
}

cases! {
    docker: [
        limits_and_faults_shape_what_callers_see,
        bad_limits_and_faults_are_usage_errors,
        faults_on_the_service_put_a_proxy_in_front_of_it,
    ],
    plain: [],
}
