//! Remote engines (PRODUCT.md 6.6): a second Docker engine in its own
//! network namespace on this machine, whose published ports are not on our
//! loopback, as with any remote engine. Each test makes its own engine
//! (a `dockerd` under `nsenter --net`, with its own config, data-root,
//! exec-root, pidfile and socket, no default bridge and no iptables, so it
//! never touches the main engine) and removes it when it ends, also on
//! failure. Selected through a docker context in a temporary
//! `DOCKER_CONFIG`, and over `ssh://` to an sshd in the namespace.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A Docker engine in a network namespace of its own.
struct NsEngine {
    netns: String,
    dir: tempfile::TempDir,
    dockerd: Child,
    sshd: Option<Child>,
    veth: Option<String>,
}

impl NsEngine {
    /// Starts the engine; None (skipped, with a message) where namespaces
    /// cannot be made, except under `CI=true` where that fails the test.
    fn start(tag: &str) -> Option<NsEngine> {
        NsEngine::start_with(tag, false)
    }

    /// Starts the engine; with `tls`, it also listens on TCP port 2376 of
    /// the namespace (the address [`NsEngine::link`] gives it) with
    /// `--tlsverify`, on certificates made here as Docker's guide makes
    /// them (see [`make_certificates`]).
    fn start_with(tag: &str, tls: bool) -> Option<NsEngine> {
        let netns = format!("sbx-{tag}-{}", std::process::id());
        let made = Command::new("ip")
            .args(["netns", "add", &netns])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            assert!(
                !in_ci(),
                "`ip netns add` failed and CI=true: the remote-engine tests need root and iproute2"
            );
            eprintln!("skipping: cannot make a network namespace (needs root and iproute2)");
            return None;
        }
        // Published ports listen on the namespace's own loopback.
        let _ = Command::new("ip")
            .args(["-n", &netns, "link", "set", "lo", "up"])
            .status();
        // Published ports bind the namespace's loopback, down until raised.
        let _ = Command::new("ip")
            .args(["-n", &netns, "link", "set", "lo", "up"])
            .status();
        let dir = tempfile::Builder::new()
            .prefix("sbx-engine-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        std::fs::write(d.join("daemon.json"), "{}").unwrap();
        let log = std::fs::File::create(d.join("dockerd.log")).unwrap();
        let mut tcp: Vec<String> = Vec::new();
        if tls {
            make_certificates(d, &link_addresses().1);
            let server = d.join("server");
            tcp = vec![
                "-H".into(),
                "tcp://0.0.0.0:2376".into(),
                "--tlsverify".into(),
                format!("--tlscacert={}", server.join("ca.pem").display()),
                format!("--tlscert={}", server.join("server-cert.pem").display()),
                format!("--tlskey={}", server.join("server-key.pem").display()),
            ];
        }
        let dockerd = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{netns}"))
            .arg("dockerd")
            .arg("--config-file")
            .arg(d.join("daemon.json"))
            .arg("-H")
            .arg(format!("unix://{}", d.join("docker.sock").display()))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .args(&tcp)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let engine = NsEngine {
            netns,
            dir,
            dockerd,
            sshd: None,
            veth: None,
        };
        let answers = eventually(Duration::from_secs(30), || {
            engine.api("/_ping").is_some_and(|b| b == "OK")
        });
        assert!(
            answers,
            "the namespace engine did not answer: {}",
            std::fs::read_to_string(engine.dir.path().join("dockerd.log")).unwrap_or_default()
        );
        Some(engine)
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// GET `path` of the engine's API over its socket; the body.
    fn api(&self, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut stream = std::os::unix::net::UnixStream::connect(self.socket()).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: engine\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
    }

    /// Containers and networks of sandbox `name` on this engine.
    fn leftovers(&self, name: &str) -> usize {
        let filter = encode(&format!(
            r#"{{"label":["{}={name}"]}}"#,
            sandbox::engine::labels::NAME
        ));
        let count = |kind: &str| {
            let body = self
                .api(&format!("/{kind}?all=1&filters={filter}"))
                .unwrap_or_default();
            serde_json::from_str::<Vec<serde_json::Value>>(&body)
                .map(|v| v.len())
                .unwrap_or(usize::MAX / 4)
        };
        count("containers/json") + count("networks")
    }

    /// The peers of sshd's TCP connections in the namespace while a
    /// keep-alive HTTP connection to `url` is open (after its first answer).
    fn sshd_peers_while_connected(&self, url: &str) -> Vec<String> {
        use std::io::{Read, Write};
        let address = url.trim_start_matches("http://");
        let Ok(mut stream) = std::net::TcpStream::connect(address) else {
            return Vec::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: orders\r\n\r\n");
        let mut head = [0u8; 12];
        if stream.read_exact(&mut head).is_err() {
            return Vec::new();
        }
        let out = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{}", self.netns))
            .args(["ss", "-Htnp", "state", "established"])
            .output()
            .expect("nsenter ss");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("\"sshd"))
            .filter_map(|l| l.split_whitespace().nth(3).map(str::to_owned))
            .collect()
    }

    /// A veth pair into the namespace (made once); the namespace's address
    /// on it.
    fn link(&mut self) -> String {
        let (ours, theirs) = link_addresses();
        if self.veth.is_some() {
            return theirs;
        }
        let veth = format!("sbxh{}", std::process::id() % 100_000);
        let peer = format!("sbxn{}", std::process::id() % 100_000);
        let ns = self.netns.clone();
        let ip = |args: &[&str]| {
            let out = Command::new("ip").args(args).output().unwrap();
            assert!(
                out.status.success(),
                "ip {}: {}",
                args.join(" "),
                stderr(&out)
            );
        };
        ip(&["link", "add", &veth, "type", "veth", "peer", "name", &peer]);
        self.veth = Some(veth.clone());
        ip(&["link", "set", &peer, "netns", &ns]);
        ip(&["addr", "add", &format!("{ours}/30"), "dev", &veth]);
        ip(&["link", "set", &veth, "up"]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{theirs}/30"),
            "dev",
            &peer,
        ]);
        ip(&["-n", &ns, "link", "set", &peer, "up"]);
        theirs
    }

    /// A veth pair into the namespace and an sshd there, on a key made
    /// here; returns (`ssh://root@ADDRESS`, `SANDBOX_SSH_ARGS`).
    fn start_sshd(&mut self) -> (String, String) {
        let d = self.dir.path().to_owned();
        let theirs = self.link();
        let ns = self.netns.clone();
        for key in ["host", "client"] {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .output()
                .expect("ssh-keygen (openssh-client)");
            assert!(out.status.success(), "{}", stderr(&out));
        }
        std::fs::copy(d.join("client.pub"), d.join("authorized_keys")).unwrap();
        // What `docker system dial-stdio` does on a real host: splice the
        // session with the engine's socket.
        std::fs::write(
            d.join("dial-stdio.py"),
            format!(
                r#"import os, socket, sys, threading
s = socket.socket(socket.AF_UNIX)
s.connect({socket:?})
def up():
    while True:
        b = os.read(0, 65536)
        if not b: break
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while True:
    b = s.recv(65536)
    if not b: break
    os.write(1, b)
"#,
                socket = self.socket().display().to_string()
            ),
        )
        .unwrap();
        let python = if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3".to_owned()
        } else {
            which("python3")
        };
        std::fs::create_dir_all("/run/sshd").unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress {theirs}\nPort 22\nHostKey {dir}/host\nPidFile {dir}/sshd.pid\n\
                 AuthorizedKeysFile {dir}/authorized_keys\nStrictModes no\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nUsePAM no\nForceCommand {python} {dir}/dial-stdio.py\n",
                dir = d.display(),
            ),
        )
        .unwrap();
        let sshd = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{ns}"))
            .args(["/usr/sbin/sshd", "-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .expect("start sshd (openssh-server)");
        self.sshd = Some(sshd);
        let listening = eventually(Duration::from_secs(10), || {
            std::net::TcpStream::connect_timeout(
                &format!("{theirs}:22").parse().unwrap(),
                Duration::from_millis(200),
            )
            .is_ok()
        });
        assert!(
            listening,
            "sshd did not listen: {}",
            std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
        );
        (
            format!("ssh://root@{theirs}"),
            format!(
                "-i {} -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no",
                d.join("client").display()
            ),
        )
    }
}

/// `status --json` of `sandbox` on `host`, after checking that the
/// engine is named and that orders and the payments stub answer at their
/// host URLs on this machine's 127.0.0.1; (the status, orders' URL).
fn reached_here(
    sandbox: &Sandbox,
    env: &[(&str, &str)],
    host: &str,
) -> (serde_json::Value, String) {
    let doc: serde_json::Value =
        serde_json::from_str(&ok_on(sandbox, env, &["status", "--json"])).unwrap();
    assert_eq!(doc["engine"]["host"], host, "{doc}");
    let orders = host_url(&doc, "orders");
    assert!(orders.starts_with("http://127.0.0.1:"), "{orders}");
    assert_eq!(get(&format!("{orders}/healthz")).0, 200);
    let (status, body) = http(
        "POST",
        &format!("{}/payments", host_url(&doc, "payments")),
        Some("{}"),
    );
    assert_eq!((status, body.contains("settled")), (201, true), "{body}");
    (doc, orders)
}

/// The pid of the process listening on `url`'s port, and `ss`'s line.
fn listener_of(url: &str) -> (u32, String) {
    let port = url.rsplit(':').next().unwrap();
    let out = Command::new("ss")
        .args(["-Hltnp", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2)");
    let listening = String::from_utf8_lossy(&out.stdout).into_owned();
    let owner = listening
        .split("pid=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("nothing listens on {url}: {listening}"));
    (owner, listening)
}

/// This process's addresses of the veth pair: (ours, the namespace's).
fn link_addresses() -> (String, String) {
    let n = std::process::id() % 250 + 2;
    (format!("10.213.{n}.1"), format!("10.213.{n}.2"))
}

/// A CA, an engine certificate for `address` and a client certificate,
/// made with the openssl CLI as Docker's guide to protecting the daemon
/// socket makes them: `dir/server/{ca,server-cert,server-key}.pem` for
/// dockerd, `dir/client/{ca,cert,key}.pem` for `DOCKER_CERT_PATH`.
fn make_certificates(dir: &Path, address: &str) {
    let server = dir.join("server");
    let client = dir.join("client");
    std::fs::create_dir_all(&server).unwrap();
    std::fs::create_dir_all(&client).unwrap();
    std::fs::write(
        dir.join("server.cnf"),
        format!("subjectAltName = IP:{address}\nextendedKeyUsage = serverAuth\n"),
    )
    .unwrap();
    std::fs::write(dir.join("client.cnf"), "extendedKeyUsage = clientAuth\n").unwrap();
    let openssl = |args: String| {
        let out = Command::new("openssl")
            .args(args.split_whitespace())
            .current_dir(dir)
            .output()
            .expect("openssl (Debian's openssl)");
        assert!(out.status.success(), "openssl {args}: {}", stderr(&out));
    };
    // A key, a request for `name`, and its certificate signed by the CA.
    let issue = |key: &str, name: &str, cert: &str, extensions: &str| {
        openssl(format!("genrsa -out {key} 2048"));
        openssl(format!(
            "req -subj /CN={name} -sha256 -new -key {key} -out {name}.csr"
        ));
        openssl(format!(
            "x509 -req -days 2 -sha256 -in {name}.csr -CA server/ca.pem -CAkey server/ca-key.pem \
             -CAcreateserial -out {cert} -extfile {extensions}"
        ));
    };
    openssl("genrsa -out server/ca-key.pem 2048".into());
    openssl(
        "req -new -x509 -days 2 -key server/ca-key.pem -sha256 -subj /CN=sandbox-test-CA \
         -out server/ca.pem"
            .into(),
    );
    issue(
        "server/server-key.pem",
        "engine",
        "server/server-cert.pem",
        "server.cnf",
    );
    issue("client/key.pem", "client", "client/cert.pem", "client.cnf");
    std::fs::copy(server.join("ca.pem"), client.join("ca.pem")).unwrap();
}

fn which(program: &str) -> String {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(program))
                .find(|p| p.is_file())
        })
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| panic!("{program} is not installed"))
}

/// The pids whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

impl Drop for NsEngine {
    fn drop(&mut self) {
        if let Some(mut sshd) = self.sshd.take() {
            // Its sessions first: they outlive the listener.
            for session in children_of(sshd.id()) {
                let _ = Command::new("kill").arg(session.to_string()).status();
            }
            let _ = sshd.kill();
            let _ = sshd.wait();
        }
        // SIGTERM: the engine stops its containers and unmounts.
        let _ = Command::new("kill")
            .arg(self.dockerd.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.dockerd.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.dockerd.kill();
        let _ = self.dockerd.wait();
        if let Some(veth) = &self.veth {
            let _ = Command::new("ip").args(["link", "del", veth]).status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

/// A service (`shopd orders`) with a check, and a stub it calls.
const MANIFEST: &str = r#"version: 1
service:
  name: orders
  build: ./app
  command: ["/shopd", "fixture", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /healthz, contains: ok, timeout: 30s }
  checks:
    - name: echo answers
      request: { method: POST, path: /echo/x, json: { a: 1 } }
      expect: { status: 200, contains: '"method":"POST"' }
dependencies:
  payments:
    stub:
      routes:
        - match: { method: POST, path: /payments }
          respond: { status: 201, json: { id: "p-1", state: settled } }
"#;

/// `sandbox` on `sandbox`, with only `env` choosing the engine.
fn on(sandbox: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut command = sandbox.command(args);
    command
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run sandbox")
}

fn ok_on(sandbox: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = on(sandbox, env, args);
    assert!(
        out.status.success(),
        "`sandbox {}` failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn host_url(doc: &serde_json::Value, entry: &str) -> String {
    doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == entry)
        .and_then(|e| e["host_url"].as_str())
        .unwrap_or_else(|| panic!("no host_url for {entry} in {doc}"))
        .to_owned()
}

fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// A docker config folder whose current context is `name` at `host`.
fn context_store(dir: &Path, name: &str, host: &str) {
    let digest = sandbox::engine::select::context_digest(name);
    let meta = dir.join("contexts/meta").join(digest);
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        format!(
            r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"currentContext":"{name}"}}"#),
    )
    .unwrap();
}

fn a_sandbox_on_an_engine_chosen_by_context_is_reached_on_our_loopback() {
    if !docker_or_skip() {
        return;
    }
    let Some(engine) = NsEngine::start("ctx") else {
        return;
    };
    let config = tempfile::tempdir().unwrap();
    context_store(config.path(), "nsengine", &engine.host());
    let config_dir = config.path().display().to_string();
    let env = [("DOCKER_CONFIG", config_dir.as_str())];
    let sandbox = Sandbox::new("remote-ctx", MANIFEST);
    // Drop order: the sandbox (on the main engine: nothing) before the engine.
    ok_on(&sandbox, &env, &["up"]);
    let doc: serde_json::Value =
        serde_json::from_str(&ok_on(&sandbox, &env, &["status", "--json"])).unwrap();
    assert_eq!(doc["engine"]["context"], "nsengine", "{doc}");
    assert_eq!(doc["engine"]["host"], engine.host().as_str(), "{doc}");
    let forwarder = doc["engine"]["forwarder"]["pid"]
        .as_u64()
        .expect("a forwarder");
    assert!(alive(forwarder));
    let human = ok_on(&sandbox, &env, &["status"]);
    assert!(human.contains("engine: nsengine"), "{human}");
    assert!(human.contains("forwarder: pid"), "{human}");
    assert_eq!(sandbox.leftovers(), 0, "the main engine got containers");
    // Host URLs are on our loopback, and carried to the other namespace.
    let orders = host_url(&doc, "orders");
    let payments = host_url(&doc, "payments");
    assert!(orders.starts_with("http://127.0.0.1:"), "{orders}");
    assert_eq!(get(&format!("{orders}/healthz")).0, 200);
    let (status, body) = http("POST", &format!("{payments}/payments"), Some("{}"));
    assert_eq!((status, body.contains("settled")), (201, true), "{body}");
    let calls = ok_on(&sandbox, &env, &["calls", "payments"]);
    assert!(calls.contains("/payments"), "{calls}");
    ok_on(&sandbox, &env, &["check"]);
    // A dead forwarder is repaired by the next `status`.
    let _ = Command::new("kill").arg(forwarder.to_string()).status();
    assert!(eventually(Duration::from_secs(5), || !alive(forwarder)));
    let doc: serde_json::Value =
        serde_json::from_str(&ok_on(&sandbox, &env, &["status", "--json"])).unwrap();
    let repaired = doc["engine"]["forwarder"]["pid"]
        .as_u64()
        .expect("a forwarder");
    assert_ne!(repaired, forwarder);
    assert_eq!(get(&format!("{}/healthz", host_url(&doc, "orders"))).0, 200);
    // `run` reaches the dependencies through the same link.
    let out = ok_on(
        &sandbox,
        &env,
        &[
            "run",
            "--",
            "sh",
            "-c",
            "curl -sf -X POST $PAYMENTS_URL/payments",
        ],
    );
    assert!(out.contains("settled"), "{out}");
    ok_on(&sandbox, &env, &["down"]);
    assert_eq!(engine.leftovers(&sandbox.name), 0);
    assert!(eventually(Duration::from_secs(5), || !alive(repaired)));
}

fn up_host_runs_the_service_here_against_a_remote_engine() {
    if !docker_or_skip() {
        return;
    }
    let Some(engine) = NsEngine::start("host") else {
        return;
    };
    let host = engine.host();
    let env = [("DOCKER_HOST", host.as_str())];
    let port = crate::agent::free_port();
    let manifest = MANIFEST.replace(
        "  checks:",
        &format!(
            "  host: {{ command: [\"{}\", fixture, --port, \"{port}\", --bind, 127.0.0.1], port: {port} }}\n  checks:",
            shopd().display()
        ),
    );
    let sandbox = Sandbox::new("remote-host", &manifest);
    let mut child = sandbox.command(&["up", "--host"]);
    child
        .env_remove("DOCKER_CONTEXT")
        .env("DOCKER_HOST", &host)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = child.spawn().unwrap();
    let healthy = eventually(Duration::from_secs(40), || {
        on(&sandbox, &env, &["status", "--json"])
            .stdout
            .windows(4)
            .any(|w| w == b"host")
            && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && get(&format!("http://127.0.0.1:{port}/healthz")).0 == 200
    });
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(healthy, "the host process did not come up");
    ok_on(&sandbox, &env, &["down"]);
    assert_eq!(engine.leftovers(&sandbox.name), 0);
}

fn an_engine_over_ssh_runs_a_sandbox() {
    if !docker_or_skip() {
        return;
    }
    let Some(mut engine) = NsEngine::start("ssh") else {
        return;
    };
    let (host, ssh_args) = engine.start_sshd();
    let env = [
        ("DOCKER_HOST", host.as_str()),
        ("SANDBOX_SSH_ARGS", ssh_args.as_str()),
    ];
    // An exec health check: `up` runs it through its own engine connection
    // (the agent has no socket of a remote engine, and says so).
    let manifest = MANIFEST.replace(
        "health: { http: /healthz, contains: ok, timeout: 30s }",
        r#"health: { exec: ["/shopd", "probe", "http://127.0.0.1:8080/healthz"], timeout: 30s }"#,
    );
    assert_ne!(manifest, MANIFEST);
    let sandbox = Sandbox::new("remote-ssh", &manifest);
    ok_on(&sandbox, &env, &["up"]);
    let logs = ok_on(&sandbox, &env, &["logs"]);
    assert!(
        logs.contains("exec health checks are not run by the registry: the engine is remote"),
        "{logs}"
    );
    let (doc, orders) = reached_here(&sandbox, &env, &host);
    // The ports are carried by an ssh connection of the forwarder (`-L`),
    // not by execs through the engine: ssh listens on the host URL's port.
    let forwarder = doc["engine"]["forwarder"]["pid"]
        .as_u64()
        .expect("a forwarder") as u32;
    let (owner, listening) = listener_of(&orders);
    assert!(listening.contains("\"ssh\""), "{listening}");
    assert!(children_of(forwarder).contains(&owner), "{listening}");
    // sshd on the engine's host carries them to the container's own
    // address on the sandbox network, not through the engine's proxy on
    // its loopback.
    let direct = eventually(Duration::from_secs(20), || {
        engine
            .sshd_peers_while_connected(&orders)
            .iter()
            .any(|peer| {
                peer.ends_with(":8080") && !peer.starts_with("127.") && !peer.starts_with("10.213.")
            })
    });
    assert!(
        direct,
        "sshd never connected to the container's address: {:?}",
        engine.sshd_peers_while_connected(&orders)
    );
    assert_eq!(get(&format!("{orders}/healthz")).0, 200);
    ok_on(&sandbox, &env, &["down"]);
    assert_eq!(engine.leftovers(&sandbox.name), 0);
    assert!(eventually(Duration::from_secs(5), || {
        !alive(forwarder.into()) && !alive(owner.into())
    }));
}

fn an_engine_over_tcp_with_tls_runs_a_sandbox() {
    if !docker_or_skip() {
        return;
    }
    let Some(mut engine) = NsEngine::start_with("tls", true) else {
        return;
    };
    let address = engine.link();
    let host = format!("tcp://{address}:2376");
    let listening = eventually(Duration::from_secs(20), || {
        std::net::TcpStream::connect_timeout(
            &format!("{address}:2376").parse().unwrap(),
            Duration::from_millis(200),
        )
        .is_ok()
    });
    assert!(listening, "the engine does not listen on {host}");
    let certs = engine.dir.path().join("client").display().to_string();
    let env = [
        ("DOCKER_HOST", host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", certs.as_str()),
    ];
    let sandbox = Sandbox::new("remote-tls", MANIFEST);
    // Without TLS the engine is not spoken to, and the error names it.
    let plain = on(&sandbox, &[("DOCKER_HOST", host.as_str())], &["up"]);
    assert!(!plain.status.success());
    assert!(stderr(&plain).contains(&host), "{}", stderr(&plain));
    assert_eq!(engine.leftovers(&sandbox.name), 0);
    ok_on(&sandbox, &env, &["up"]);
    let (doc, orders) = reached_here(&sandbox, &env, &host);
    ok_on(&sandbox, &env, &["check"]);
    // The forwarder itself listens on the host URL's port: its connections
    // go through the engine's API, over TLS.
    let forwarder = doc["engine"]["forwarder"]["pid"]
        .as_u64()
        .expect("a forwarder") as u32;
    let (owner, listening) = listener_of(&orders);
    assert_eq!(owner, forwarder, "{listening}");
    // Contexts made as `docker context create` makes them, with the client
    // files but not the CA: with `SkipTLSVerify` the engine is reached
    // without checking its certificate; without it, the system's roots do
    // not know the engine's CA and the handshake fails.
    let config = tempfile::tempdir().unwrap();
    for (name, skip) in [("unchecked", true), ("checked", false)] {
        context_store(config.path(), name, &host);
        let meta = config
            .path()
            .join("contexts/meta")
            .join(sandbox::engine::select::context_digest(name))
            .join("meta.json");
        let text = std::fs::read_to_string(&meta).unwrap();
        std::fs::write(&meta, text.replace("false", &skip.to_string())).unwrap();
        let files = config
            .path()
            .join("contexts/tls")
            .join(sandbox::engine::select::context_digest(name))
            .join("docker");
        std::fs::create_dir_all(&files).unwrap();
        for file in ["cert.pem", "key.pem"] {
            std::fs::copy(Path::new(&certs).join(file), files.join(file)).unwrap();
        }
    }
    let with_config = |context: &str| {
        on(
            &sandbox,
            &[("DOCKER_CONFIG", config.path().to_str().unwrap())],
            &["--context", context, "status", "--json"],
        )
    };
    let unchecked = with_config("unchecked");
    assert!(unchecked.status.success(), "{}", stderr(&unchecked));
    let doc: serde_json::Value = serde_json::from_slice(&unchecked.stdout).unwrap();
    assert_eq!(doc["engine"]["context"], "unchecked", "{doc}");
    assert_eq!(host_url(&doc, "orders"), orders);
    let checked = with_config("checked");
    assert!(!checked.status.success());
    assert!(stderr(&checked).contains(&host), "{}", stderr(&checked));
    ok_on(&sandbox, &env, &["down"]);
    assert_eq!(engine.leftovers(&sandbox.name), 0);
    assert!(eventually(Duration::from_secs(5), || !alive(
        forwarder.into()
    )));
}

cases! {
    docker: [
        a_sandbox_on_an_engine_chosen_by_context_is_reached_on_our_loopback,
        up_host_runs_the_service_here_against_a_remote_engine,
        an_engine_over_ssh_runs_a_sandbox,
        an_engine_over_tcp_with_tls_runs_a_sandbox,
    ],
    plain: [],
}
