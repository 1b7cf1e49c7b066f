//! CI and debugging workflows: `run`, `debug`, completions, and `--json`
//! on every command that prints data.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;

const SHELLS: [(&str, &str); 5] = [
    ("bash", "sandbox.bash"),
    ("zsh", "_sandbox"),
    ("fish", "sandbox.fish"),
    ("elvish", "sandbox.elv"),
    ("powershell", "_sandbox.ps1"),
];

fn committed_completions_match_the_binary() {
    for (shell, file) in SHELLS {
        let out = std::process::Command::new(BIN)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let committed = std::fs::read(root().join("completions").join(file)).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "completions/{file} is out of date; regenerate every shell's with:\n  \
             for s in bash:sandbox.bash zsh:_sandbox fish:sandbox.fish elvish:sandbox.elv powershell:_sandbox.ps1; \
             do cargo run -q -- completions ${{s%%:*}} > completions/${{s#*:}}; done"
        );
    }
}

fn manifest(name: &str) -> String {
    format!(
        r#"
version: 1
name: {name}
service:
  name: web
  build: ./app
  command: ["/shopd", "fixture", "--port", "8080"]
  ports: {{ http: 8080 }}
  health: {{ http: /healthz }}
  debug:
    port: 2345
    command: ["/shopd", "tcp-echo", "--port", "2345"]
    env: {{ DEBUGGING: "1" }}
dependencies:
  payments:
    stub:
      routes:
        - match: {{ path: /ok }}
          respond: {{ body: fine }}
"#
    )
}

/// Sandboxes of the engine whose name starts with `prefix`.
fn sandboxes_named(prefix: &str) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = sandbox::engine::Engine::connect().await.unwrap();
        engine
            .containers_with_label(sandbox::engine::labels::NAME)
            .await
            .unwrap()
            .iter()
            .filter(|c| {
                c.label(sandbox::engine::labels::NAME)
                    .is_some_and(|n| n.starts_with(prefix))
            })
            .count()
    })
}

fn run_passes_the_commands_status_and_cleans_up() {
    if !docker_or_skip() {
        return;
    }
    let base = format!("wf{}", std::process::id());
    let sandbox = Sandbox::new("run", &manifest(&base));
    let shopd = shopd();
    let script = format!(
        r#"set -e
"{shopd}" probe "$WEB_URL/healthz"
"{shopd}" probe "$PAYMENTS_URL/ok"
"{shopd}" probe "$SANDBOX_REGISTRY_URL/services"
test -n "$SANDBOX_NAME"
exit "$WANTED""#,
        shopd = shopd.display()
    );
    // Two runs of the same manifest at once, without --name: no collision.
    let spawn = |code: &str| {
        std::process::Command::new(BIN)
            .current_dir(sandbox.dir.path())
            .args(["run", "--", "sh", "-c", &script])
            .env("WANTED", code)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut ok = spawn("0");
    let mut failing = spawn("3");
    let ok_status = ok.wait().unwrap();
    let failing_status = failing.wait().unwrap();
    let mut err = String::new();
    ok.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(ok_status.code(), Some(0), "{err}");
    let mut err = String::new();
    failing
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(failing_status.code(), Some(3), "{err}");
    assert_eq!(sandboxes_named(&base), 0, "run leaves nothing behind");

    // A failing command: the calls nothing matched are shown before teardown.
    let out = sandbox.run(&[
        "run",
        "--",
        "sh",
        "-c",
        &format!(
            "\"{}\" probe \"$PAYMENTS_URL/missing-route\"; exit 4",
            shopd.display()
        ),
    ]);
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(
        err.contains("calls that no stub or recording matched"),
        "{err}"
    );
    assert!(err.contains("/missing-route"), "{err}");
    assert_eq!(sandbox.leftovers(), 0);

    // --keep leaves it up under the given name.
    let out = sandbox.run(&["run", "--keep", "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sandbox.leftovers() > 0);
    sandbox.ok(&["down"]);
}

fn debug_publishes_the_debug_port_and_stop_restores_the_entry() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("debug", &manifest("debugged"));
    sandbox.ok(&["up"]);
    let out = sandbox.ok(&["debug", "--json"]);
    let attach: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(attach["entry"], "web");
    assert_eq!(attach["host"], "127.0.0.1");
    assert_eq!(attach["container_port"], 2345);
    let port = attach["port"].as_u64().unwrap() as u16;
    // The debug port accepts a connection (the stand-in debugger echoes).
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"ping").unwrap();
    let mut buffer = [0u8; 4];
    stream.read_exact(&mut buffer).unwrap();
    assert_eq!(&buffer, b"ping");
    let status = sandbox.status();
    assert_eq!(status["entries"][0]["debug"], format!("127.0.0.1:{port}"));

    sandbox.ok(&["debug", "--stop"]);
    let status = sandbox.status();
    assert!(status["entries"][0]["debug"].is_null(), "{status}");
    let (code, _) = get(&format!("{}/healthz", sandbox.url("web")));
    assert_eq!(code, 200);

    // `up --debug` starts the service the same way and says how to attach.
    let out = sandbox.ok(&["up", "--debug"]);
    assert!(
        out.contains("web is waiting for a debugger at 127.0.0.1:"),
        "{out}"
    );
    assert!(sandbox.status()["entries"][0]["debug"].is_string());
}

fn every_json_output_parses() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("json", &manifest("jsonout"));
    let parse = |args: &[&str]| -> serde_json::Value {
        let out = sandbox.run(args);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "`sandbox {}` printed no JSON document ({e}):\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout)
            )
        })
    };
    assert_eq!(parse(&["validate", "--json"])["valid"], true);
    assert!(parse(&["up", "--json"])["entries"].is_array());
    assert!(parse(&["status", "--json"])["entries"].is_array());
    assert!(parse(&["registry", "--json"])["services"].is_array());
    let (status, _) = get(&format!("{}/ok", sandbox.url("payments")));
    assert_eq!(status, 200);
    assert_eq!(
        parse(&["calls", "--json"])["calls"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(parse(&["faults", "payments", "--latency", "5ms", "--json"]).is_object());
    assert!(parse(&["limits", "payments", "--rate", "100/s", "--json"]).is_object());
    assert!(parse(&["debug", "--json"])["port"].is_number());
    assert!(parse(&["down", "--json"])["containers"].is_number());
    let schema = std::process::Command::new(BIN)
        .arg("schema")
        .output()
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&schema.stdout).expect("schema is JSON");
}

fn an_interrupted_run_stops_the_command_and_still_tears_down() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("runsig", &manifest("runsig"));
    let mut child = sandbox
        .command(&["run", "--", "sleep", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the command runs (the sandbox is up), then interrupt `run`.
    assert!(
        eventually(Duration::from_secs(60), || {
            let out = sandbox.run(&["status", "--json"]);
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            doc["entries"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["name"] == "web" && e["health"] == "up"))
        }),
        "the sandbox never came up"
    );
    let started = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the command was stopped, not waited for"
    );
    assert_eq!(sandbox.leftovers(), 0);
}

cases! {
    docker: [
        run_passes_the_commands_status_and_cleans_up,
        debug_publishes_the_debug_port_and_stop_restores_the_entry,
        every_json_output_parses,
        an_interrupted_run_stops_the_command_and_still_tears_down,
    ],
    plain: [
        committed_completions_match_the_binary,
    ],
}
