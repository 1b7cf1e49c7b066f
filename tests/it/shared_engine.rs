//! Trust on a shared engine (PRODUCT.md 6.1): names that can never clash,
//! one `up` of a sandbox at a time with the lock on the engine, `status`
//! agreeing with what `up` printed, and a hung engine reported in time.

use std::collections::HashSet;
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;

/// A service `NAME` (a `shopd fixture`) and nothing else.
fn service_only(service: &str) -> String {
    format!(
        "version: 1\nservice:\n  name: {service}\n  build: ./app\n  command: [\"/shopd\", \"fixture\", \"--port\", \"8080\"]\n  ports: {{ http: 8080 }}\n  health: {{ http: /healthz }}\n"
    )
}

fn entry<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name} in {doc}"))
}

fn all_up(doc: &serde_json::Value) -> bool {
    doc["entries"].as_array().is_some_and(|entries| {
        entries
            .iter()
            .all(|e| e["health"] == "up" && e["state"] == "running")
    })
}

fn sandboxes_whose_names_run_together_keep_their_own_containers() {
    if !docker_or_skip() {
        return;
    }
    // `x` + `b-web` and `x-b` + `web` joined by `-` are the same name.
    let base = format!("nc{}", std::process::id());
    let first = Sandbox::named(&base, &service_only("b-web"));
    let second = Sandbox::named(&format!("{base}-b"), &service_only("web"));
    first.ok(&["up"]);
    second.ok(&["up"]);
    let first_status = first.status();
    assert!(
        all_up(&first_status),
        "the first sandbox lost its service: {first_status}"
    );
    let second_status = second.status();
    assert!(all_up(&second_status), "{second_status}");
    let (status, _) = get(&format!("{}/healthz", first.url("b-web")));
    assert_eq!(status, 200);
    first.ok(&["down"]);
    assert_eq!(first.leftovers(), 0);
    assert!(
        all_up(&second.status()),
        "down of one sandbox touched the other"
    );
}

fn entries_may_take_the_names_the_tool_uses_for_itself() {
    if !docker_or_skip() {
        return;
    }
    // A service named `agent`; a real `real` with faults (so a proxy fronts
    // it) beside a real `real-proxy` and a stub `real-origin`.
    let manifest = r#"
version: 1
service:
  name: agent
  build: ./app
  command: ["/shopd", "fixture", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /healthz }
dependencies:
  real:
    build: ./app
    command: ["/shopd", "fixture", "--port", "8080"]
    ports: { http: 8080 }
    health: { http: /healthz }
    faults: {}
  real-proxy:
    build: ./app
    command: ["/shopd", "fixture", "--port", "8081"]
    ports: { http: 8081 }
    health: { http: /healthz }
  real-origin:
    stub:
      routes:
        - match: { method: GET, path: /who }
          respond: { status: 200, body: "the stub real-origin" }
"#;
    let sandbox = Sandbox::new("toolnames", manifest);
    let out = sandbox.run(&["up", "--json"]);
    assert!(out.status.success(), "up failed: {}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["registry_url"].is_string(), "no registry: {doc}");
    for name in ["agent", "real", "real-proxy", "real-origin"] {
        assert_eq!(entry(&doc, name)["health"], "up", "{doc}");
    }
    let registry = doc["registry_url"].as_str().unwrap();
    let (status, body) = get(&format!("{registry}/services/agent"));
    assert_eq!(status, 200, "{body}");
    // Inside the network each name reaches its own entry.
    let agent = sandbox.url("agent");
    let call = |url: &str| get(&format!("{agent}/call?url={}", encode(url)));
    let (status, body) = call("http://real-origin/who");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("the stub real-origin"), "{body}");
    let (status, body) = call("http://real-proxy:8081/healthz");
    assert_eq!(status, 200, "{body}");
    let (status, body) = call("http://real:8080/healthz");
    assert_eq!(status, 200, "{body}");
    // The proxy in front of `real` is transparent: `real` sees the Host its
    // caller sent, not the alias the proxy reaches it by.
    let (status, body) = call("http://real:8080/echo");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("real:8080") && !body.contains("origin"),
        "{body}"
    );
    sandbox.ok(&["down"]);
    assert_eq!(sandbox.leftovers(), 0);
}

fn two_ups_of_one_sandbox_take_turns_and_both_succeed() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("twoups", &service_only("web"));
    let start = || {
        sandbox
            .command(&["up"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start up")
    };
    let (a, b) = (start(), start());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "first up: {}", stderr(&a));
    assert!(b.status.success(), "second up: {}", stderr(&b));
    let said = format!("{}{}", stderr(&a), stderr(&b));
    assert!(
        said.contains("another `sandbox up` of this sandbox is at work"),
        "neither up said it waited:\n{said}"
    );
    let status = sandbox.status();
    assert!(all_up(&status), "{status}");
    let networks = network_names(&sandbox.name);
    assert_eq!(networks.len(), 1, "networks: {networks:?}");
    sandbox.ok(&["down"]);
    assert_eq!(sandbox.leftovers(), 0);
}

fn status_and_the_registry_agree_with_up_at_once() {
    if !docker_or_skip() {
        return;
    }
    let manifest = web_with!(
        "  payments:\n    stub:\n      routes:\n        - match: { method: GET, path: /p }\n          respond: { status: 200 }\n"
    );
    let sandbox = Sandbox::new("agree", manifest);
    let up: serde_json::Value = serde_json::from_str(&sandbox.ok(&["up", "--json"])).unwrap();
    let status = sandbox.status();
    let registry = up["registry_url"].as_str().unwrap().to_owned();
    let (code, services) = get(&format!("{registry}/services"));
    assert_eq!(code, 200);
    let services: serde_json::Value = serde_json::from_str(&services).unwrap();
    for name in ["web", "payments"] {
        assert_eq!(entry(&up, name)["health"], "up", "{up}");
        assert_eq!(
            entry(&status, name)["health"],
            "up",
            "status right after up: {status}"
        );
        let listed = services["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap();
        assert_eq!(
            listed["health"]["status"], "up",
            "registry right after up: {listed}"
        );
    }
}

/// A socket that accepts connections and never answers.
fn an_engine_that_never_answers_is_reported_within_5s() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("hung.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => held.push(stream),
                Err(_) => break,
            }
            if held.len() >= 6 {
                break;
            }
        }
        // Keep them open until the test ends.
        std::thread::sleep(Duration::from_secs(8));
    });
    let manifest = dir.path().join("sandbox.yaml");
    std::fs::write(
        &manifest,
        "version: 1\nservice:\n  name: web\n  image: web:dev\n  ports: { http: 8080 }\n",
    )
    .unwrap();
    let endpoint = format!("unix://{}", socket.display());
    // The three commands at once: each must give up within 5 s.
    let started = Instant::now();
    let runs: Vec<_> = ["status", "up", "down"]
        .into_iter()
        .map(|command| {
            let child = std::process::Command::new(BIN)
                .args([
                    "-f",
                    manifest.to_str().unwrap(),
                    "--name",
                    "hung-engine",
                    command,
                ])
                .env("DOCKER_HOST", &endpoint)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (command, child)
        })
        .collect();
    for (command, child) in runs {
        let out = child.wait_with_output().unwrap();
        let took = started.elapsed();
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command}: {text}");
        assert!(took < Duration::from_secs(5), "{command} took {took:?}");
        assert!(
            text.contains(&endpoint),
            "{command} does not name the socket: {text}"
        );
        assert_eq!(
            text.trim().lines().count(),
            1,
            "{command}: one line: {text}"
        );
    }
    drop(holder);
}

/// Twenty sandboxes whose names are prefixes of each other, each with a
/// service whose name completes the shorter ones', come up at once beside
/// two `up` of one sandbox; every one is complete, and `down` leaves nothing.
fn twenty_adversarial_sandboxes_and_a_doubled_one_come_up_together() {
    if !docker_or_skip() {
        return;
    }
    let base = format!("p{}", std::process::id());
    let mut sandboxes = Vec::new();
    // `BASE-a-...-a` + `a-...-web` all join to the same `BASE-a-a-...-web`.
    for k in 0..10 {
        for suffix in ["", "-b"] {
            let name = format!("{base}{}{suffix}", "-a".repeat(k));
            let service = format!("{}web", "a-".repeat(9 - k));
            sandboxes.push((Sandbox::named(&name, &service_only(&service)), service));
        }
    }
    let doubled = Sandbox::named(&format!("{base}-dup"), &service_only("web"));
    let mut children = Vec::new();
    for (sandbox, _) in &sandboxes {
        children.push(
            sandbox
                .command(&["up"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for _ in 0..2 {
        children.push(
            doubled
                .command(&["up"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    // Every `up` ends before anything is judged, so none outlives the test.
    let outputs: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    for out in outputs {
        assert!(out.status.success(), "an up failed: {}", stderr(&out));
    }
    let mut names = HashSet::new();
    for (sandbox, service) in &sandboxes {
        let status = sandbox.status();
        assert!(all_up(&status), "{status}");
        assert_eq!(entry(&status, service)["role"], "service");
        names.insert(sandbox.url(service));
    }
    assert_eq!(names.len(), 20, "every sandbox has its own service");
    assert!(all_up(&doubled.status()));
    assert_eq!(network_names(&doubled.name).len(), 1);
    for (sandbox, _) in &sandboxes {
        sandbox.ok(&["down"]);
    }
    doubled.ok(&["down"]);
    for (sandbox, _) in &sandboxes {
        assert_eq!(
            sandbox.leftovers(),
            0,
            "{} left objects behind",
            sandbox.name
        );
    }
    assert_eq!(doubled.leftovers(), 0);
}

/// A lock left by an `up` that died (its process is gone) does not hold the
/// next `up` back; `down` removes such a lock too.
fn a_lock_whose_holder_died_is_taken_over() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("deadlock", &service_only("web"));
    let plant = || {
        let name = sandbox.name.clone();
        with_engine(|engine| async move {
            let image = sandbox::runner::ensure_agent_image(&engine).await.unwrap();
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let labels = std::collections::HashMap::from([
                (sandbox::engine::labels::NAME.to_owned(), name.clone()),
                (sandbox::engine::labels::ROLE.to_owned(), "lock".to_owned()),
                (
                    sandbox::engine::labels::LOCK.to_owned(),
                    // A process id beyond the kernel's limit: never running.
                    format!("{} 4194305 1 {now}", host.trim()),
                ),
            ]);
            engine
                .create_marker(&sandbox::plan::lock_container_name(&name), &image, labels)
                .await
                .unwrap();
        })
    };
    plant();
    let up = sandbox.run(&["up"]);
    assert!(up.status.success(), "{}", stderr(&up));
    assert!(all_up(&sandbox.status()));
    sandbox.ok(&["down"]);
    plant();
    assert!(sandbox.leftovers() > 0, "the planted lock is there");
    sandbox.ok(&["down"]);
    assert_eq!(sandbox.leftovers(), 0, "down removes a lock left behind");
}

/// Networks of the engine named exactly like the sandbox's network.
fn network_names(sandbox: &str) -> Vec<String> {
    let name = sandbox::plan::network_name(sandbox);
    with_engine(|engine| async move {
        engine
            .networks_with_label(sandbox::engine::labels::NAME)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| *n == name)
            .collect()
    })
}

/// Ctrl-C while an image builds ends `up` at once (a build may take
/// minutes): exit 130, nothing of the sandbox left.
fn an_interrupt_during_a_build_does_not_wait_for_it() {
    use std::io::{BufRead, BufReader};
    if !docker_or_skip() {
        return;
    }
    let manifest = "version: 1\nservice:\n  name: web\n  build: ./slow\n  ports: { http: 8080 }\n";
    let sandbox = Sandbox::new("buildint", manifest);
    // A build step that never ends: the fixture server, run by RUN.
    std::fs::create_dir_all(sandbox.path("slow")).unwrap();
    std::fs::copy(shopd(), sandbox.path("slow/shopd")).unwrap();
    sandbox.write(
        "slow/Dockerfile",
        "FROM scratch\nCOPY shopd /shopd\nRUN [\"/shopd\", \"fixture\", \"--port\", \"8080\"]\n",
    );
    let mut child = sandbox
        .command(&["up"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let building = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("building image"));
    assert!(building, "up never said it was building");
    let interrupted = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(
        interrupted.elapsed() < Duration::from_secs(5),
        "up took {:?} to stop",
        interrupted.elapsed()
    );
    assert_eq!(status.code(), Some(130));
    assert_eq!(sandbox.leftovers(), 0);
}

cases! {
    docker: [
        a_lock_whose_holder_died_is_taken_over,
        sandboxes_whose_names_run_together_keep_their_own_containers,
        entries_may_take_the_names_the_tool_uses_for_itself,
        two_ups_of_one_sandbox_take_turns_and_both_succeed,
        status_and_the_registry_agree_with_up_at_once,
        twenty_adversarial_sandboxes_and_a_doubled_one_come_up_together,
        an_interrupt_during_a_build_does_not_wait_for_it,
    ],
    plain: [
        an_engine_that_never_answers_is_reported_within_5s,
    ],
}
