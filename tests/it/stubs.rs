//! Stub, record and replay dependencies served by the agent in a real
//! sandbox, and the call journal.

use crate::common::*;

const STUBBED: &str = web_with!(
    r#"  payments:
    stub:
      routes:
        - match: { method: GET, path: "/payments/{id}" }
          respond: { status: 200, json: { id: "{{path.id}}", state: settled } }
        - match: { method: GET, path: /greet, query: { lang: en } }
          respond: { status: 200, body: "hello {{query.name}} from {{header.x-team}}", headers: { x-echo: "{{query.name}}" } }
        - match: { method: POST, path: /payments, json: { currency: EUR } }
          respond: { status: 201, headers: { location: /payments/7 } }
      files: [stubs/more.yaml]
"#
);

fn a_service_calls_a_stub_through_its_url() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("stub", STUBBED);
    sandbox.write(
        "stubs/more.yaml",
        "routes:\n  - match: { path: /refunds }\n    respond: { status: 202, json: { refunded: true } }\n",
    );
    sandbox.ok(&["up"]);
    let web = sandbox.url("web");
    let call = |url: &str| {
        let (status, body) = get(&format!("{web}/call?url={}", encode(url)));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    let env: serde_json::Value = serde_json::from_str(&get(&format!("{web}/env")).1).unwrap();
    let base = env["PAYMENTS_URL"].as_str().unwrap().to_owned();
    assert_eq!(base, "http://payments:80");

    let answer = call(&format!("{base}/payments/42"));
    assert_eq!(answer["status"], 200);
    let body: serde_json::Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"id": "42", "state": "settled"}));

    // Routes from `files` come after the manifest's own.
    let answer = call(&format!("{base}/refunds"));
    assert_eq!(answer["status"], 202);

    // Unmatched: 502, the header, and the closest route with the difference.
    let answer = call(&format!("{base}/payments/42/refund"));
    assert_eq!(answer["status"], 502);
    assert_eq!(answer["headers"]["x-sandbox-unmatched"], "true", "{answer}");
    let text = answer["body"].as_str().unwrap();
    assert!(text.contains("closest"), "{text}");
    assert!(text.contains("/payments/{id}"), "{text}");

    // From the host, on the stub's own published port, with templating of
    // query and headers.
    let payments = sandbox.url("payments");
    let answer = request(
        "GET",
        &format!("{payments}/greet?lang=en&name=ann"),
        &[("x-team", "blue")],
        None,
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text(), "hello ann from blue");
    assert_eq!(answer.header("x-echo"), Some("ann"));
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let (status, _) = get(&format!("{payments}/greet?lang=fr&name=ann"));
    assert_eq!(status, 502, "a query that differs does not match");
    let (status, _) = http(
        "POST",
        &format!("{payments}/payments"),
        Some(r#"{"currency":"EUR","amount":3}"#),
    );
    assert_eq!(status, 201);
    let (status, _) = http(
        "POST",
        &format!("{payments}/payments"),
        Some(r#"{"currency":"USD"}"#),
    );
    assert_eq!(status, 502);

    // The journal: every call, with a traceparent, unmatched ones marked.
    let journal: serde_json::Value =
        serde_json::from_str(&sandbox.ok(&["calls", "payments", "--json"])).unwrap();
    let calls = journal["calls"].as_array().unwrap();
    assert!(calls.len() >= 7, "{journal}");
    for call in calls {
        let trace = call["traceparent"].as_str().unwrap();
        assert!(trace.starts_with("00-") && trace.len() == 55, "{trace}");
        assert_eq!(call["dependency"], "payments");
        assert!(call["duration_ms"].is_number());
        assert!(call["time"].as_str().unwrap().ends_with('Z'));
    }
    assert!(calls.iter().any(|c| c["path"] == "/payments/42/refund"
        && c["matched"].is_null()
        && c["status"] == 502));
    assert!(calls.iter().any(|c| c["path"] == "/payments/42"
        && c["matched"].as_str().unwrap().contains("/payments/{id}")
        && c["caller"] == "web"));
    assert!(calls.iter().any(|c| c["caller"] == "host"));
    let text = sandbox.ok(&["calls"]);
    assert!(text.contains("UNMATCHED"), "{text}");
}

fn a_recording_is_redacted_complete_after_down_and_replays_without_its_upstream() {
    if !docker_or_skip() {
        return;
    }
    let recording = web_with!(
        r#"  origin:
    build: ./app
    command: ["/shopd", "fixture", "--port", "9000"]
    ports: { http: 9000 }
    health: { http: /healthz }
  catalog:
    record:
      upstream: http://origin:9000
      to: recordings/catalog.yaml
      redact: [x-api-key]
"#
    );
    let sandbox = Sandbox::new("record", recording);
    std::fs::create_dir(sandbox.path("recordings")).unwrap();
    sandbox.ok(&["up"]);
    let catalog = sandbox.url("catalog");
    let send = |path: &str, headers: &[(&str, &str)]| {
        request("GET", &format!("{catalog}{path}"), headers, None)
    };
    let first = send(
        "/echo/items?page=1",
        &[("authorization", "Bearer secret"), ("x-api-key", "k-123")],
    );
    assert_eq!(first.status, 200);
    assert!(
        first.text().contains("Bearer secret"),
        "the upstream sees the real header"
    );
    let first_body = first.text();
    let binary = send("/bytes?n=300", &[]);
    assert_eq!(binary.body.len(), 300);
    // Through the service too: the recorder is reachable on the network.
    let web = sandbox.url("web");
    let (status, _) = get(&format!(
        "{web}/call?url={}",
        encode("http://catalog:80/status/404")
    ));
    assert_eq!(status, 200);

    sandbox.ok(&["down"]);
    let text = std::fs::read_to_string(sandbox.path("recordings/catalog.yaml"))
        .expect("the recording is on the host after down");
    // Headers are redacted (the echoed body, being the upstream's answer, is kept).
    assert_eq!(
        text.matches("Bearer secret").count(),
        1,
        "only in the echoed body: {text}"
    );
    let parsed: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let interactions = parsed["interactions"].as_sequence().unwrap();
    assert_eq!(interactions.len(), 3, "{text}");
    assert_eq!(
        interactions[0]["request"]["headers"]["authorization"],
        "<redacted>"
    );
    assert_eq!(
        interactions[0]["request"]["headers"]["x-api-key"],
        "<redacted>"
    );
    assert_eq!(interactions[0]["request"]["query"]["page"], "1");
    assert!(
        interactions[1]["response"]["body_base64"].is_string(),
        "{text}"
    );
    assert_eq!(interactions[2]["response"]["status"], 404);
    let names: Vec<_> = std::fs::read_dir(sandbox.path("recordings"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");

    // Replay the recording with the upstream gone.
    let replay = web_with!(
        r#"  catalog:
    replay: recordings/catalog.yaml
"#
    );
    sandbox.write("sandbox.yaml", replay);
    sandbox.ok(&["up"]);
    let catalog = sandbox.url("catalog");
    let (status, body) = get(&format!("{catalog}/echo/items?page=1"));
    assert_eq!(status, 200);
    assert_eq!(body, first_body, "the recorded answer, byte for byte");
    let (status, _) = get(&format!("{catalog}/echo/items?page=2"));
    assert_eq!(status, 502, "a different query is not in the recording");
    let replayed = request("GET", &format!("{catalog}/bytes?n=300"), &[], None);
    assert_eq!(
        replayed.body, binary.body,
        "binary bodies replay byte for byte"
    );
}

fn a_malformed_recording_stops_up_before_anything_starts() {
    if !docker_or_skip() {
        return;
    }
    let manifest = r#"
version: 1
service:
  name: web
  build: ./app
dependencies:
  inventory:
    replay: recordings/inventory.yaml
"#;
    let sandbox = Sandbox::new("badrec", manifest);
    sandbox.write("recordings/inventory.yaml", "version: 1\ninteractions:\n  - request: { method: GET, path: /a }\n    response: { status: fine }\n");
    let out = sandbox.run(&["up"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("recordings/inventory.yaml:4"), "{err}");
    assert_eq!(sandbox.leftovers(), 0);
}

fn up_record_switches_a_replay_to_recording_into_its_file() {
    if !docker_or_skip() {
        return;
    }
    let manifest = web_with!(
        r#"  origin:
    build: ./app
    command: ["/shopd", "fixture", "--port", "9000"]
    ports: { http: 9000 }
    health: { http: /healthz }
  inventory:
    replay: recordings/inventory.yaml
"#
    );
    let sandbox = Sandbox::new("rerecord", manifest);
    sandbox.write(
        "recordings/inventory.yaml",
        "version: 1\ninteractions: []\n",
    );
    let out = sandbox.run(&["up", "--record", "inventory"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a replay needs an upstream to record from"
    );
    assert!(
        stderr(&out).contains("--record inventory=http://"),
        "{}",
        stderr(&out)
    );
    sandbox.ok(&["up", "--record", "inventory=http://origin:9000"]);
    let status = sandbox.status();
    let kind = status["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "inventory")
        .unwrap()["kind"]
        .clone();
    assert_eq!(kind, "record");
    let (code, _) = get(&format!("{}/status/201", sandbox.url("inventory")));
    assert_eq!(code, 201);
    sandbox.ok(&["down"]);
    let text = std::fs::read_to_string(sandbox.path("recordings/inventory.yaml")).unwrap();
    assert!(text.contains("/status/201"), "{text}");
    // Replayed again by a plain `up`.
    sandbox.ok(&["up"]);
    assert_eq!(
        get(&format!("{}/status/201", sandbox.url("inventory"))).0,
        201
    );
}

cases! {
    docker: [
        a_service_calls_a_stub_through_its_url,
        a_recording_is_redacted_complete_after_down_and_replays_without_its_upstream,
        a_malformed_recording_stops_up_before_anything_starts,
        up_record_switches_a_replay_to_recording_into_its_file,
    ],
    plain: [],
}
