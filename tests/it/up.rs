//! `up`, `status`, `logs`, `exec`, `down` against the real engine.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;

const TWO_ENTRIES: &str = r#"
version: 1
service:
  name: web
  build: ./app
  command: ["/shopd", "fixture", "--port", "8080"]
  env: { GREETING: hello }
  ports: { http: 8080 }
  health: { http: /healthz, contains: ok, timeout: 30s }
dependencies:
  db-main:
    build: ./app
    command: ["/shopd", "fixture", "--port", "9000"]
    ports: { http: 9000 }
    health: { http: /healthz }
"#;

/// The two entries, with a service whose health check always fails.
fn failing_service(timeout: &str) -> String {
    TWO_ENTRIES
        .replace("GREETING: hello", "GREETING: hello, FAIL_HEALTH: \"1\"")
        .replace("timeout: 30s", &format!("timeout: {timeout}"))
}

fn up_wires_entries_and_down_leaves_nothing() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("wiring", TWO_ENTRIES);
    let out = sandbox.ok(&["up", "--json"]);
    let doc: serde_json::Value =
        serde_json::from_str(&out).expect("up --json prints one JSON document");
    assert_eq!(doc["sandbox"], sandbox.name.as_str());
    assert!(
        doc["registry_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let entries = doc["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{doc}");
    assert_eq!(entries[0]["name"], "web");
    assert_eq!(entries[0]["role"], "service");
    assert_eq!(entries[0]["kind"], "build");
    assert_eq!(entries[0]["state"], "running");
    assert_eq!(entries[0]["health"], "up");
    assert!(
        entries[0]["ports"]["http"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(entries[1]["name"], "db-main");

    // The service reaches its dependency through the injected URL.
    let web = sandbox.url("web");
    let (status, env) = get(&format!("{web}/env"));
    assert_eq!(status, 200);
    let env: serde_json::Value = serde_json::from_str(&env).unwrap();
    assert_eq!(env["DB_MAIN_URL"], "http://db-main:9000");
    assert_eq!(env["DB_MAIN_HOST"], "db-main");
    assert_eq!(env["DB_MAIN_PORT"], "9000");
    assert_eq!(env["SANDBOX_NAME"], sandbox.name.as_str());
    assert_eq!(env["SANDBOX_REGISTRY_URL"], "http://registry:7700");
    assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://registry:4318");
    assert_eq!(env["OTEL_EXPORTER_OTLP_PROTOCOL"], "http/protobuf");
    assert_eq!(env["OTEL_SERVICE_NAME"], "web");
    assert_eq!(env["GREETING"], "hello");
    let target = env["DB_MAIN_URL"].as_str().unwrap().to_owned() + "/echo/through";
    let (status, body) = get(&format!("{web}/call?url={}", encode(&target)));
    assert_eq!(status, 200, "{body}");
    let call: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(call["status"], 200, "{call}");
    assert!(
        call["body"].as_str().unwrap().contains("/echo/through"),
        "{call}"
    );

    // Logs, prefixed with the entry.
    let logs = sandbox.ok(&["logs", "web", "--tail", "50"]);
    assert!(
        logs.lines()
            .any(|l| l.starts_with("web | ") && l.contains("/env")),
        "{logs}"
    );
    let all = sandbox.ok(&["logs"]);
    assert!(all.lines().any(|l| l.starts_with("db-main ")), "{all}");

    // exec passes the command's exit code on.
    let out = sandbox.run(&[
        "exec",
        "web",
        "--",
        "/shopd",
        "probe",
        "http://db-main:9000/healthz",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = sandbox.run(&[
        "exec",
        "web",
        "--",
        "/shopd",
        "probe",
        "http://db-main:9000/status/500",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // A second `up` keeps what did not change.
    let before = sandbox.ok(&["status", "--json"]);
    let started = Instant::now();
    let out = sandbox.run(&["up"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let second = started.elapsed();
    assert!(stderr(&out).contains("unchanged"), "{}", stderr(&out));
    let after = sandbox.ok(&["status", "--json"]);
    let ports = |doc: &str| {
        let doc: serde_json::Value = serde_json::from_str(doc).unwrap();
        doc["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["ports"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ports(&before),
        ports(&after),
        "a second up must not restart anything"
    );
    eprintln!("second up took {second:?}");

    // A changed manifest replaces only the entry that changed.
    sandbox.write(
        "sandbox.yaml",
        &TWO_ENTRIES.replace("GREETING: hello", "GREETING: changed"),
    );
    let out = sandbox.run(&["up"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, env) = get(&format!("{}/env", sandbox.url("web")));
    assert!(env.contains("changed"), "{env}");
    assert_eq!(
        ports(&after)[1],
        ports(&sandbox.ok(&["status", "--json"]))[1],
        "db-main must be kept"
    );

    sandbox.ok(&["down"]);
    assert_eq!(sandbox.leftovers(), 0);
    // Idempotent.
    sandbox.ok(&["down"]);
}

fn two_copies_run_side_by_side() {
    if !docker_or_skip() {
        return;
    }
    let first = Sandbox::new("copy-a", TWO_ENTRIES);
    let second = Sandbox {
        dir: tempfile::tempdir().unwrap(),
        name: format!("t-copy-b-{}", std::process::id()),
    };
    let mut a = first
        .command(&["up"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut b = first
        .command(&["up", "--name", &second.name])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let (status, _) = get(&format!("{}/healthz", first.url("web")));
    assert_eq!(status, 200);
    let other = first.ok(&["status", "--json", "--name", &second.name]);
    assert!(other.contains(&second.name));
    assert_ne!(first.url("web"), {
        let doc: serde_json::Value = serde_json::from_str(&other).unwrap();
        doc["entries"][0]["host_url"].as_str().unwrap().to_owned()
    });
    second.cleanup();
    assert_eq!(second.leftovers(), 0);
}

fn an_unhealthy_entry_fails_up_and_leaves_nothing() {
    if !docker_or_skip() {
        return;
    }
    let manifest = failing_service("3s");
    let sandbox = Sandbox::new("unhealthy", &manifest);
    let out = sandbox.run(&["up"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("`web` did not become healthy"), "{err}");
    assert!(err.contains("status 500"), "the probe's reason: {err}");
    assert!(
        err.contains("health-probe lines left out"),
        "the entry's last log lines, without the probe's requests: {err}"
    );
    assert_eq!(sandbox.leftovers(), 0);
}

fn keep_leaves_a_failed_sandbox_for_inspection() {
    if !docker_or_skip() {
        return;
    }
    let manifest = failing_service("2s");
    let sandbox = Sandbox::new("keep", &manifest);
    let out = sandbox.run(&["up", "--keep"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(sandbox.leftovers() > 0);
    sandbox.ok(&["down"]);
    assert_eq!(sandbox.leftovers(), 0);
}

fn sigterm_during_up_removes_what_it_started() {
    if !docker_or_skip() {
        return;
    }
    let manifest = failing_service("120s");
    let sandbox = Sandbox::new("interrupt", &manifest);
    let mut child = sandbox
        .command(&["up"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until `up` has started the service, then interrupt it.
    assert!(
        eventually(Duration::from_secs(60), || {
            let out = sandbox.run(&["status", "--json"]);
            String::from_utf8_lossy(&out.stdout).contains("\"web\"")
        }),
        "up never started the service"
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(sandbox.leftovers(), 0, "an interrupted up leaves nothing");
}

fn an_unreachable_engine_is_one_line_naming_the_socket() {
    let started = Instant::now();
    let out = std::process::Command::new(BIN)
        .args(["status", "--name", "nowhere"])
        .env("DOCKER_HOST", "unix:///tmp/no-such-docker.sock")
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("unix:///tmp/no-such-docker.sock"), "{err}");
}

fn a_missing_image_that_cannot_be_pulled_is_a_clear_failure() {
    if !docker_or_skip() {
        return;
    }
    let manifest = r#"
version: 1
service:
  name: web
  image: sandbox-test-no-such-image:1
"#;
    let sandbox = Sandbox::new("noimage", manifest);
    let out = sandbox.run(&["up"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("sandbox-test-no-such-image:1"), "{err}");
    assert!(err.contains("build it locally"), "{err}");
    assert_eq!(sandbox.leftovers(), 0);
}

fn a_failing_build_names_its_step() {
    if !docker_or_skip() {
        return;
    }
    let manifest = r#"
version: 1
service:
  name: web
  build: ./broken
"#;
    let sandbox = Sandbox::new("badbuild", manifest);
    sandbox.write("broken/Dockerfile", "FROM scratch\nCOPY no-such-file /x\n");
    sandbox.write("broken/.dockerignore", "secret.txt\n");
    sandbox.write("broken/secret.txt", "not sent to the engine\n");
    let out = sandbox.run(&["up"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("failed to build the image of `web`"), "{err}");
    assert!(
        err.contains("COPY no-such-file /x"),
        "the failing step: {err}"
    );
    assert_eq!(sandbox.leftovers(), 0);
}

cases! {
    docker: [
        up_wires_entries_and_down_leaves_nothing,
        two_copies_run_side_by_side,
        an_unhealthy_entry_fails_up_and_leaves_nothing,
        keep_leaves_a_failed_sandbox_for_inspection,
        sigterm_during_up_removes_what_it_started,
        a_missing_image_that_cannot_be_pulled_is_a_clear_failure,
        a_failing_build_names_its_step,
    ],
    plain: [
        an_unreachable_engine_is_one_line_naming_the_socket,
    ],
}
