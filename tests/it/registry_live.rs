//! The registry in a real sandbox: what it lists, live health, and
//! `sandbox check`.

use std::time::Duration;

use crate::common::*;

const MANIFEST: &str = r#"
version: 1
owner: team-shop
service:
  name: web
  build: ./app
  command: ["/shopd", "fixture", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /healthz, contains: ok }
  api: { openapi: ./api.yaml, description: "the web API" }
  checks:
    - name: echo answers
      request: { method: POST, path: /echo/x, json: { a: 1 } }
      expect: { status: 200, contains: '"method":"POST"' }
dependencies:
  db:
    owner: team-data
    build: ./app
    command: ["/shopd", "fixture", "--port", "9000"]
    ports: { http: 9000 }
    health: { http: /healthz }
  worker:
    build: ./app
    command: ["/shopd", "fixture", "--port", "9100"]
    health: { exec: ["/shopd", "probe", "http://127.0.0.1:9100/healthz"] }
  payments:
    stub:
      routes:
        - match: { path: "/payments/{id}" }
          respond: { json: { id: "{{path.id}}", state: settled } }
    checks:
      - name: payments speak the contract
        request: { path: /payments/3 }
        expect: { status: 200, json: { state: settled } }
"#;

fn registry(sandbox: &Sandbox) -> serde_json::Value {
    serde_json::from_str(&sandbox.ok(&["registry", "--json"])).unwrap()
}

fn health(doc: &serde_json::Value, name: &str) -> String {
    doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| e["health"]["status"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn the_registry_lists_entries_and_follows_their_health() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("registry", MANIFEST);
    sandbox.write(
        "api.yaml",
        "openapi: 3.0.3\ninfo: { title: web, version: '1' }\npaths: {}\n",
    );
    sandbox.ok(&["up"]);
    let doc = registry(&sandbox);
    assert_eq!(doc["sandbox"], sandbox.name.as_str());
    let entries = doc["services"].as_array().unwrap();
    let find = |name: &str| entries.iter().find(|e| e["name"] == name).unwrap().clone();
    let web = find("web");
    assert_eq!(
        (
            web["role"].as_str(),
            web["kind"].as_str(),
            web["owner"].as_str()
        ),
        (Some("service"), Some("build"), Some("team-shop"))
    );
    assert_eq!(web["internal_url"], "http://web:8080");
    assert!(
        web["host_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(web["api"]["openapi"], "/services/web/openapi");
    let db = find("db");
    assert_eq!(
        (
            db["role"].as_str(),
            db["kind"].as_str(),
            db["owner"].as_str()
        ),
        (Some("dependency"), Some("build"), Some("team-data"))
    );
    assert_eq!(find("payments")["kind"], "stub");
    // An exec probe runs through the engine, from the registry too.
    let worker_detail = || {
        registry(&sandbox)["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "worker")
            .map(|e| {
                e["health"]["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_default()
    };
    assert!(
        eventually(Duration::from_secs(5), || worker_detail()
            .contains("exited 0")),
        "{}",
        worker_detail()
    );

    // From the host: the OpenAPI document and a 404 for an unknown name.
    let url = doc_url(&sandbox);
    let (status, body) = get(&format!("{url}/services/web/openapi"));
    assert_eq!(status, 200);
    assert!(body.contains("3.0.3"), "{body}");
    assert_eq!(get(&format!("{url}/services/nobody")).0, 404);

    // A service reads SANDBOX_REGISTRY_URL and gets the list.
    let web_url = sandbox.url("web");
    let (_, env) = get(&format!("{web_url}/env"));
    let env: serde_json::Value = serde_json::from_str(&env).unwrap();
    let inside = format!("{}/services", env["SANDBOX_REGISTRY_URL"].as_str().unwrap());
    let (status, body) = get(&format!("{web_url}/call?url={}", encode(&inside)));
    assert_eq!(status, 200);
    assert!(body.contains("team-data"), "{body}");

    // A stopped dependency turns down within 5 s, and up when it is back.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let engine = runtime
        .block_on(sandbox::engine::Engine::connect())
        .unwrap();
    let container = sandbox::plan::container_name(&sandbox.name, "db");
    assert!(eventually(Duration::from_secs(5), || health(
        &registry(&sandbox),
        "db"
    ) == "up"));
    runtime
        .block_on(engine.stop_container(&container, Duration::from_secs(1)))
        .unwrap();
    let stopped = std::time::Instant::now();
    assert!(
        eventually(Duration::from_secs(5), || health(&registry(&sandbox), "db")
            == "down"),
        "db never turned down"
    );
    eprintln!("down after {:?}", stopped.elapsed());
    let status = sandbox.status();
    let db = status["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "db")
        .unwrap()
        .clone();
    assert_eq!(
        db["health"], "down",
        "status shows the registry's health: {status}"
    );
    runtime
        .block_on(engine.start_container(&container))
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || health(
            &registry(&sandbox),
            "db"
        ) == "up"),
        "db never came back up"
    );

    let table = sandbox.ok(&["registry"]);
    assert!(
        table.contains("NAME") && table.contains("team-data"),
        "{table}"
    );
}

fn doc_url(sandbox: &Sandbox) -> String {
    sandbox.status()["registry_url"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn check_passes_and_fails_with_the_right_exit_codes() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("check", MANIFEST);
    sandbox.write(
        "api.yaml",
        "openapi: 3.0.3\ninfo: { title: web, version: '1' }\npaths: {}\n",
    );
    sandbox.ok(&["up"]);
    let out = sandbox.ok(&["check"]);
    assert!(
        out.contains("PASS") && out.contains("payments speak the contract"),
        "{out}"
    );
    let doc: serde_json::Value = serde_json::from_str(&sandbox.ok(&["check", "--json"])).unwrap();
    assert_eq!(doc["passed"], true);

    // The stub drifts from the contract: the check names what differs.
    let drifted = MANIFEST.replacen(
        "respond: { json: { id: \"{{path.id}}\", state: settled } }",
        "respond: { json: { id: \"{{path.id}}\", state: pending } }",
        1,
    );
    sandbox.write("sandbox.yaml", &drifted);
    let out = sandbox.run(&["up"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sandbox.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL") && text.contains("payments speak the contract"),
        "{text}"
    );
    assert!(
        text.contains("state"),
        "the difference names the field: {text}"
    );
}

cases! {
    docker: [
        the_registry_lists_entries_and_follows_their_health,
        check_passes_and_fails_with_the_right_exit_codes,
    ],
    plain: [],
}
