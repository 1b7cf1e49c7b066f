//! Trust on a shared engine (PRODUCT.md 6.1), in a real sandbox: the
//! agents' control interface needs the sandbox's token, from the host and
//! from inside the network; recordings get the folder's owner and mode 0644,
//! and one that cannot be written is named by `calls`, `status` and `down`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

const MANIFEST: &str = web_with!(
    r#"  pay:
    stub:
      routes:
        - match: { path: /p }
          respond: { body: ok }
  origin:
    build: ./app
    command: ["/shopd", "fixture", "--port", "9000"]
    ports: { http: 9000 }
    health: { http: /healthz }
  shelf:
    record:
      upstream: http://origin:9000
      to: recordings/shelf.yaml
  client:
    build: ./client
    command: ["/shopd", "sleep"]
"#
);

/// A build context with the host's curl and the libraries it loads (at the
/// same paths, as a FROM scratch image needs them) and shopd, so that the
/// test can make any HTTP call from inside the sandbox network.
fn client_context(sandbox: &Sandbox) {
    let context = sandbox.path("client");
    std::fs::create_dir_all(&context).unwrap();
    let curl = Path::new("/usr/bin/curl");
    assert!(
        curl.exists(),
        "this test needs /usr/bin/curl on the host, to call the agent from a container on the sandbox network"
    );
    let ldd = Command::new("ldd").arg(curl).output().expect("run ldd");
    let mut files = vec![curl.to_path_buf()];
    files.extend(
        String::from_utf8_lossy(&ldd.stdout)
            .split_whitespace()
            .filter(|word| word.starts_with('/'))
            .map(Into::into),
    );
    for file in files {
        let target = context.join(file.strip_prefix("/").unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
    std::fs::copy(shopd(), context.join("shopd")).unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM scratch\nCOPY . /\n").unwrap();
}

/// What the engine says about the sandbox's agent: its id, token and the
/// control API's URL on the host.
fn agent_of(name: &str) -> (String, Option<String>, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = sandbox::engine::Engine::connect().await.unwrap();
        let found = sandbox::runner::status::Found::load(&engine, name)
            .await
            .unwrap();
        let agent = found.agent().expect("the agent runs");
        (
            agent.id.clone(),
            found.token().map(str::to_owned),
            found.admin_url(None).expect("the control API is published"),
        )
    })
}

/// `curl` in the client container: the HTTP status it got.
fn curl_in_network(sandbox: &Sandbox, args: &[&str]) -> String {
    let mut command = vec![
        "exec",
        "client",
        "--",
        "/usr/bin/curl",
        "-s",
        "-o",
        "/dev/null",
    ];
    command.extend(["-w", "%{http_code}", "-m", "10"]);
    command.extend(args);
    sandbox.ok(&command).trim().to_owned()
}

fn pay_faults(sandbox: &Sandbox) -> serde_json::Value {
    let status = sandbox.status();
    status["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "pay")
        .map(|e| e["faults"].clone())
        .unwrap_or_else(|| panic!("no pay in {status}"))
}

fn the_control_interface_needs_the_token_and_recordings_are_never_silent() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("trust", MANIFEST);
    client_context(&sandbox);
    let recordings = sandbox.path("recordings");
    std::fs::create_dir_all(&recordings).unwrap();
    std::os::unix::fs::chown(&recordings, Some(1234), Some(1234)).unwrap();
    let up = sandbox.run(&["up"]);
    assert!(up.status.success(), "{}", stderr(&up));
    assert!(!stderr(&up).contains("refused"), "{}", stderr(&up));

    // The agent carries a token; the control API refuses changes without it.
    let (agent_id, token, admin) = agent_of(&sandbox.name);
    let token = token.expect("the agent has a dev.sandbox.token label");
    assert_eq!(token.len(), 64, "{token}");
    let (status, body) = http(
        "PUT",
        &format!("{admin}/_sandbox/faults/pay"),
        Some(r#"{"latency": "2s"}"#),
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("token"), "{body}");
    let answer = request(
        "POST",
        &format!("{admin}/_sandbox/flush"),
        &[("authorization", "Bearer not-the-token")],
        None,
    );
    assert_eq!(answer.status, 401);
    assert_eq!(pay_faults(&sandbox), serde_json::Value::Null);

    // The CLI knows the token.
    let changed = sandbox.ok(&["faults", "pay", "--latency", "100ms"]);
    assert!(changed.contains("latency"), "{changed}");
    assert_eq!(pay_faults(&sandbox)["latency"], "100ms");

    // From a container on the sandbox network: reads open, changes refused.
    assert_eq!(
        curl_in_network(&sandbox, &["http://registry:7701/_sandbox/state"]),
        "200"
    );
    assert_eq!(
        curl_in_network(&sandbox, &["http://registry:7700/services"]),
        "200"
    );
    let json = "content-type: application/json";
    for (url, body) in [
        ("http://registry:7701/_sandbox/faults/pay", r#"{}"#),
        (
            "http://registry:7701/_sandbox/limits/pay",
            r#"{"rate": "1/s"}"#,
        ),
        (
            "http://registry:7700/_sandbox/hosts",
            r#"{"pay": "http://evil:1"}"#,
        ),
    ] {
        for auth in ["x-none: 1", "authorization: Bearer 0000"] {
            let status = curl_in_network(
                &sandbox,
                &["-X", "PUT", "-H", json, "-H", auth, "-d", body, url],
            );
            assert_eq!(status, "401", "PUT {url} with {auth}");
        }
    }
    assert_eq!(
        curl_in_network(
            &sandbox,
            &["-X", "POST", "http://registry:7701/_sandbox/flush"]
        ),
        "401"
    );
    assert_eq!(pay_faults(&sandbox)["latency"], "100ms");
    let (_, services) = get(&format!(
        "{}/services/pay",
        sandbox.status()["registry_url"].as_str().unwrap()
    ));
    assert!(!services.contains("evil"), "{services}");

    // A second `up` keeps the agent and its token.
    let again = sandbox.run(&["up"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!stderr(&again).contains("refused"), "{}", stderr(&again));
    let (same_id, same_token, _) = agent_of(&sandbox.name);
    assert_eq!(same_id, agent_id, "the agent was replaced");
    assert_eq!(same_token.as_deref(), Some(token.as_str()));

    // A recording has the folder's owner and mode 0644.
    let shelf = sandbox.url("shelf");
    let (status, _) = get(&format!("{shelf}/echo/a"));
    assert_eq!(status, 200);
    let file = recordings.join("shelf.yaml");
    assert!(
        eventually(Duration::from_secs(10), || file.exists()),
        "the recording was not written"
    );
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    assert_eq!((meta.uid(), meta.gid()), (1234, 1234));

    // A directory where the file goes: no write can succeed, even as root.
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    let (status, _) = get(&format!("{shelf}/echo/b"));
    assert_eq!(status, 200);
    let warning = "warning: recording recordings/shelf.yaml cannot be written: ";
    assert!(
        eventually(Duration::from_secs(10), || stderr(&sandbox.run(&["calls"]))
            .contains(warning)),
        "calls does not warn: {}",
        stderr(&sandbox.run(&["calls"]))
    );
    let calls: serde_json::Value = serde_json::from_str(&sandbox.ok(&["calls", "--json"])).unwrap();
    assert_eq!(
        calls["recording_errors"][0]["file"],
        "recordings/shelf.yaml"
    );
    assert_eq!(calls["recording_errors"][0]["dependency"], "shelf");
    assert!(calls["recording_errors"][0]["error"].is_string(), "{calls}");
    let table = sandbox.ok(&["status"]);
    assert!(
        table.contains("recording recordings/shelf.yaml of shelf cannot be written: "),
        "{table}"
    );
    assert_eq!(
        sandbox.status()["recording_errors"][0]["file"],
        "recordings/shelf.yaml"
    );

    // `down` removes everything, names the file, and exits 1.
    let down = sandbox.run(&["down"]);
    assert_eq!(down.status.code(), Some(1), "{}", stderr(&down));
    assert!(
        stderr(&down).contains("error: recording recordings/shelf.yaml was not written: "),
        "{}",
        stderr(&down)
    );
    assert_eq!(sandbox.leftovers(), 0);
}

cases! {
    docker: [
        the_control_interface_needs_the_token_and_recordings_are_never_silent,
    ],
    plain: [],
}
