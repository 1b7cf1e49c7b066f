//! `sandbox up --host`: the service as a process on this machine, reached
//! by name inside the network through its forwarder (PRODUCT.md 6.2).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

/// A free port on 127.0.0.1 (the host process's own).
fn free_port() -> u16 {
    crate::agent::free_port()
}

/// A `sandbox` command in the foreground, its output collected line by
/// line; killed on drop.
pub struct Foreground {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Foreground {
    pub fn start(mut command: Command) -> Foreground {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sandbox");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Foreground { child, lines }
    }

    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits until a line contains `text`; panics with the output after `limit`.
    pub fn wait_for(&mut self, text: &str, limit: Duration) {
        let found = eventually(limit, || {
            self.lines.lock().unwrap().iter().any(|l| l.contains(text))
                || self.child.try_wait().ok().flatten().is_some()
        });
        assert!(
            found && self.output().contains(text),
            "no line with {text:?} within {limit:?}; output:\n{}",
            self.output()
        );
    }

    /// Sends SIGINT (Ctrl-C) and waits for the exit.
    pub fn interrupt(&mut self) -> ExitStatus {
        // SAFETY: a signal to our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        self.wait(Duration::from_secs(20))
    }

    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the readers take the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {limit:?}; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The manifest of the host tests: `orders` (shopd) with a stub, a replay
/// and a real catalog; `caller`, a real container that calls back into
/// `orders` by name. `host` is the service's `host:` block.
fn manifest(host: &str) -> String {
    format!(
        r#"version: 1
service:
  name: orders
  build: ./app
  command: ["/shopd", "orders", "--port", "8080"]
  ports: {{ http: 8080 }}
  health: {{ http: /healthz, contains: ok, timeout: 30s }}
  host: {host}
dependencies:
  payments:
    stub:
      routes:
        - match: {{ method: POST, path: /payments }}
          respond: {{ status: 201, json: {{ id: "p-1", state: settled }} }}
  inventory:
    stub:
      routes:
        - match: {{ method: GET, path: "/items/{{sku}}" }}
          respond: {{ status: 200, json: {{ sku: "{{{{path.sku}}}}", stock: 3 }} }}
  catalog:
    build: ./app
    command: ["/shopd", "catalog", "--port", "8080"]
    ports: {{ http: 8080 }}
    health: {{ http: /healthz }}
  caller:
    build: ./app
    command: ["/shopd", "fixture", "--port", "8080"]
    ports: {{ http: 8080 }}
    health: {{ http: /healthz }}
"#
    )
}

fn registry_health(sandbox: &Sandbox, entry: &str) -> String {
    let status = sandbox.status();
    let registry = status["registry_url"].as_str().unwrap().to_owned();
    let (_, body) = get(&format!("{registry}/services/{entry}"));
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    doc["health"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn a_host_process_reaches_its_dependencies_and_is_reached_by_name() {
    let port = free_port();
    let shopd = shopd();
    let host = format!(
        r#"{{ command: ["{}", orders, --port, "{port}", --bind, 127.0.0.1], port: {port} }}"#,
        shopd.display()
    );
    let sandbox = Sandbox::new("host-cmd", &manifest(&host));
    let mut up = Foreground::start(sandbox.command(&["up", "--host"]));
    up.wait_for("Ctrl-C stops it", Duration::from_secs(120));

    // status: kind host, at the process's own port.
    let status = sandbox.status();
    let orders = status["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "orders")
        .unwrap()
        .clone();
    assert_eq!(orders["kind"], "host", "{status}");
    assert_eq!(
        orders["host_url"],
        format!("http://127.0.0.1:{port}"),
        "{status}"
    );
    // From the host: an order goes through the stubs and the real catalog.
    let (code, body) = http(
        "POST",
        &format!("http://127.0.0.1:{port}/orders"),
        Some(r#"{"sku": "A1", "qty": 2}"#),
    );
    assert_eq!(code, 201, "{body}\n{}", up.output());
    // The process's output is shown, prefixed.
    up.wait_for("orders | ", Duration::from_secs(5));
    // The dashboard's logs have the process's output and a real container's.
    let registry = sandbox.status()["registry_url"]
        .as_str()
        .unwrap()
        .to_owned();
    for entry in ["orders", "catalog"] {
        assert!(
            eventually(Duration::from_secs(10), || get(&format!(
                "{registry}/logs/{entry}"
            ))
            .1
            .contains("POST /orders")
                || (entry == "catalog"
                    && get(&format!("{registry}/logs/{entry}"))
                        .1
                        .contains("listening"))),
            "no logs of {entry}: {}",
            get(&format!("{registry}/logs/{entry}")).1
        );
    }
    // From a real container, by name: `http://orders:8080` reaches the
    // process that listens on 127.0.0.1 only.
    let caller = sandbox.url("caller");
    let (code, body) = get(&format!(
        "{caller}/call?url={}",
        encode("http://orders:8080/healthz")
    ));
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("ok"), "{body}");
    // The registry probes it through the forwarder.
    assert!(
        eventually(Duration::from_secs(10), || registry_health(
            &sandbox, "orders"
        ) == "up"),
        "the registry does not report orders up"
    );

    // Ctrl-C stops the process only.
    let exit = up.interrupt();
    assert_eq!(exit.code(), Some(130), "{}", up.output());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the host process still listens after Ctrl-C"
    );
    let status = sandbox.status();
    for entry in ["catalog", "caller", "payments"] {
        let found = status["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == entry)
            .unwrap();
        assert_eq!(found["state"], "running", "{entry}: {status}");
    }
    assert!(
        eventually(Duration::from_secs(10), || registry_health(
            &sandbox, "orders"
        ) == "down"),
        "the registry still reports orders up after it stopped"
    );
    sandbox.ok(&["down"]);
    assert_eq!(sandbox.leftovers(), 0);
}

fn up_host_waits_for_a_process_started_from_the_ide() {
    let port = free_port();
    let sandbox = Sandbox::new("host-ide", &manifest(&format!("{{ port: {port} }}")));
    let mut up = Foreground::start(sandbox.command(&["up", "--host"]));
    up.wait_for("waiting for you to start it", Duration::from_secs(120));
    // The IDE's run settings come from `sandbox env --host`.
    let env = sandbox.ok(&["env", "--host", "--format", "json"]);
    let env: std::collections::BTreeMap<String, String> = serde_json::from_str(&env).unwrap();
    assert!(
        env["CATALOG_URL"].starts_with("http://127.0.0.1:"),
        "{env:?}"
    );
    assert!(
        env["OTEL_EXPORTER_OTLP_ENDPOINT"].starts_with("http://127.0.0.1:"),
        "{env:?}"
    );
    assert_eq!(env["OTEL_SERVICE_NAME"], "orders");
    let mut ide = Command::new(shopd())
        .args(["orders", "--port", &port.to_string(), "--bind", "127.0.0.1"])
        .envs(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    up.wait_for("healthy on the host", Duration::from_secs(30));
    let caller = sandbox.url("caller");
    let (code, body) = get(&format!(
        "{caller}/call?url={}",
        encode("http://orders:8080/healthz")
    ));
    let _ = ide.kill();
    let _ = ide.wait();
    assert_eq!(code, 200, "{body}");
    assert_eq!(up.interrupt().code(), Some(130));
}

fn a_command_that_cannot_start_fails_up_host_and_leaves_the_rest_up() {
    let port = free_port();
    let sandbox = Sandbox::new(
        "host-bad",
        &manifest(&format!(
            r#"{{ command: [sh, -c, "echo starting; echo cannot bind >&2; exit 4"], port: {port} }}"#
        )),
    );
    let out = sandbox.run(&["up", "--host"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("exited with code 4"), "{err}");
    assert!(err.contains("cannot bind"), "{err}");
    assert!(err.contains("stays up"), "{err}");
    assert!(!sandbox.url("catalog").is_empty());

    // A program that does not exist is named.
    sandbox.write(
        "sandbox.yaml",
        &manifest(&format!(
            r#"{{ command: [no-such-server-xyz], port: {port} }}"#
        )),
    );
    let out = sandbox.run(&["up", "--host"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`no-such-server-xyz` was not found on PATH"),
        "{err}"
    );

    // A port held by another process is refused, naming the holder.
    let holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    sandbox.write(
        "sandbox.yaml",
        &manifest(&format!(
            r#"{{ command: ["{}", orders, --port, "{port}"], port: {port} }}"#,
            shopd().display()
        )),
    );
    let out = sandbox.run(&["up", "--host"]);
    let err = stderr(&out);
    drop(holder);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "port {port} on 127.0.0.1 is already in use by process {}",
            std::process::id()
        )),
        "{err}"
    );
    sandbox.ok(&["down"]);
}

fn down_stops_a_host_process_left_behind() {
    let port = free_port();
    // A shell starts the server, as `cargo run` would: when `up --host` is
    // killed, the shell goes with it and the server is left behind.
    let host = format!(
        r#"{{ command: [sh, -c, '"$0" orders --port {port} --bind 127.0.0.1 & wait', "{}"], port: {port} }}"#,
        shopd().display()
    );
    let sandbox = Sandbox::new("host-left", &manifest(&host));
    let mut up = Foreground::start(sandbox.command(&["up", "--host"]));
    up.wait_for("Ctrl-C stops it", Duration::from_secs(120));
    // SIGKILL: `up --host` gets no chance to stop its process.
    unsafe {
        libc::kill(up.child.id() as i32, libc::SIGKILL);
    }
    up.wait(Duration::from_secs(5));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the server did not outlive its `up --host`"
    );
    let out = sandbox.run(&["down"]);
    assert!(
        stderr(&out).contains("stopped the host process of orders"),
        "{}",
        stderr(&out)
    );
    assert!(
        eventually(Duration::from_secs(10), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_err()),
        "the host process outlived `down`"
    );
}

fn a_change_in_the_host_dir_restarts_the_host_process() {
    let port = free_port();
    // The process reads its version from a file at start: a restart is
    // seen in its answer.
    let host = format!(
        r#"{{ command: [sh, -c, '. ./version.env; exec "$0" fixture --port {port} --bind 127.0.0.1', "{}"], dir: ./svc, port: {port} }}"#,
        shopd().display()
    );
    let sandbox = Sandbox::new("host-watch", &manifest(&host).replace("contains: ok, ", ""));
    sandbox.write("svc/version.env", "export VERSION=1\n");
    let mut up = Foreground::start(sandbox.command(&["up", "--host", "--watch"]));
    up.wait_for("Ctrl-C stops it", Duration::from_secs(120));
    // The watcher is armed once it says what it watches.
    up.wait_for("Ctrl-C stops watching", Duration::from_secs(30));
    let version = || {
        let (_, body) = get(&format!("http://127.0.0.1:{port}/env"));
        serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default()["VERSION"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(version(), "1");
    sandbox.write("svc/version.env", "export VERSION=2\n");
    up.wait_for("restarted in", Duration::from_secs(30));
    assert_eq!(version(), "2", "{}", up.output());
    // Still reached by name from a container after the restart.
    let caller = sandbox.url("caller");
    let (code, body) = get(&format!(
        "{caller}/call?url={}",
        encode("http://orders:8080/healthz")
    ));
    assert_eq!(code, 200, "{body}");
    assert_eq!(up.interrupt().code(), Some(130), "{}", up.output());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

fn env_prints_the_wiring_in_each_format() {
    let sandbox = Sandbox::new("host-env", &manifest("{ port: 9999 }"));
    let dotenv = sandbox.ok(&["env"]);
    assert!(
        dotenv.contains("CATALOG_URL=http://catalog:8080\n"),
        "{dotenv}"
    );
    assert!(
        dotenv.contains("SANDBOX_REGISTRY_URL=http://registry:7700\n"),
        "{dotenv}"
    );
    assert!(
        dotenv.contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://registry:4318\n"),
        "{dotenv}"
    );
    let shell = sandbox.ok(&["env", "caller", "--format", "shell"]);
    assert!(
        shell.contains("export CATALOG_URL='http://catalog:8080'\n"),
        "{shell}"
    );
    assert!(!shell.contains("CALLER_URL"), "{shell}");
    let out = sandbox.run(&["env", "payments"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("served by the sandbox's agent"));
    // With --host, the sandbox must be running.
    let out = sandbox.run(&["env", "--host"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not running"), "{}", stderr(&out));
}

cases! {
    docker: [
        a_host_process_reaches_its_dependencies_and_is_reached_by_name,
        up_host_waits_for_a_process_started_from_the_ide,
        a_command_that_cannot_start_fails_up_host_and_leaves_the_rest_up,
        down_stops_a_host_process_left_behind,
        a_change_in_the_host_dir_restarts_the_host_process,
        env_prints_the_wiring_in_each_format,
    ],
    plain: [],
}
