//! Protocols on the agent's ports, driven by real clients and servers: curl
//! (HTTP/1.0, HTTP/2 cleartext), nginx as an upstream, redis-server and
//! redis-cli through a TCP proxy, Python `websockets`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::agent::{Agent, free_port, get, hello_stub, stub};

/// A program the test needs: its path, or `None` to skip; under `CI=true` a
/// missing program fails the test.
pub(crate) fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("`{name}` is not installed and CI=true (.ci/run installs it)");
        }
        eprintln!("skipped: `{name}` is not installed");
    }
    found
}

/// A child process killed when dropped.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something accepts connections on 127.0.0.1:`port`, for at
/// most `limit`.
pub(crate) async fn listening(port: u16, limit: Duration) {
    let deadline = Instant::now() + limit;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// nginx on the host with `servers` (server blocks) in its http block.
async fn nginx(dir: &std::path::Path, servers: &str, ports: &[u16]) -> Option<Running> {
    let nginx = tool("nginx")?;
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {dir}/body;\n proxy_temp_path {dir}/proxy;\n\
             fastcgi_temp_path {dir}/fastcgi;\n uwsgi_temp_path {dir}/uwsgi;\n scgi_temp_path {dir}/scgi;\n\
             {servers}\n}}\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    let child = Command::new(nginx)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let running = Running(child);
    for port in ports {
        listening(*port, Duration::from_secs(10)).await;
    }
    Some(running)
}

/// curl's status, stdout and stderr for `args`.
pub(crate) fn curl_parts(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// curl's status and output (stdout, then stderr) for `args`.
fn curl(args: &[&str]) -> (bool, String) {
    let (ok, out, err) = curl_parts(args);
    (ok, format!("{out}{err}"))
}

fn http_ports_answer_http10_http11_and_h2c_prior_knowledge() {
    crate::common::block_on_threads(2, async move {
        if tool("curl").is_none() {
            return;
        }
        let port = free_port();
        let _agent = Agent::start(json!([hello_stub(port)])).await;
        let url = format!("http://127.0.0.1:{port}/hello");
        for (flag, status_line) in [
            ("--http1.0", "HTTP/1.0 200"),
            ("--http1.1", "HTTP/1.1 200"),
            ("--http2-prior-knowledge", "HTTP/2 200"),
        ] {
            let (ok, out) = curl(&[flag, "-i", &url]);
            assert!(ok, "{flag}: {out}");
            assert!(out.starts_with(status_line), "{flag}: {out}");
            assert!(out.ends_with("\r\n\r\nhi"), "{flag}: {out}");
        }
        // `Upgrade: h2c` from a client that may fall back is answered.
        let (ok, out) = curl(&["--http2", "-w", " %{http_code}", &url]);
        assert!(ok, "{out}");
        assert!(out.ends_with("hi 200"), "{out}");
    })
}

fn record_and_proxy_reach_an_upstream_that_speaks_only_h2c() {
    crate::common::block_on_threads(2, async move {
        if tool("curl").is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let h2 = free_port();
        let Some(_nginx) = nginx(
            dir.path(),
            &format!(
                "server {{ listen 127.0.0.1:{h2} http2; location / {{ return 200 \"h2 $server_protocol\\n\"; }} }}"
            ),
            &[h2],
        )
        .await
        else {
            return;
        };
        let (record, proxy) = (free_port(), free_port());
        let recording = dir.path().join("rec.yaml");
        let agent = Agent::start(json!([
            {"name": "rec", "port": record, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://127.0.0.1:{h2}"),
                      "to": recording, "redact": []}},
            {"name": "prx", "port": proxy, "private_port": free_port(),
             "mode": {"mode": "proxy", "target": "127.0.0.1", "ports": [
                 {"listen": proxy, "target": h2, "http": true}]}},
        ]))
        .await;
        for port in [record, proxy] {
            let answer = get(port, "/x").await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_eq!(answer.body, "h2 HTTP/2.0\n");
            // And from an HTTP/2 client too.
            let (ok, out) = curl(&[
                "--http2-prior-knowledge",
                &format!("http://127.0.0.1:{port}/y"),
            ]);
            assert!(ok, "{out}");
            assert_eq!(out, "h2 HTTP/2.0\n");
        }
        let journal = agent.calls("?dependency=rec").await;
        let statuses: Vec<&Value> = journal["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|call| &call["status"])
            .collect();
        assert_eq!(statuses, [200, 200], "{journal}");
    })
}

/// redis-server on a free port, with nothing saved.
async fn redis(dir: &std::path::Path) -> Option<(Running, u16)> {
    let server = tool("redis-server")?;
    tool("redis-cli")?;
    let port = free_port();
    let child = Command::new(server)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    listening(port, Duration::from_secs(10)).await;
    Some((running, port))
}

/// `redis-cli` sending `commands` on one connection to `port`: the time it
/// took and what it printed.
fn redis_cli(port: u16, commands: &str) -> (Duration, String) {
    use std::io::Write;
    let started = Instant::now();
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(commands.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        started.elapsed(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn tcp_latency_delays_every_command_and_an_error_rate_is_no_tcp_fault() {
    crate::common::block_on_threads(2, async move {
        let dir = tempfile::tempdir().unwrap();
        let Some((_redis, redis)) = redis(dir.path()).await else {
            return;
        };
        let proxy = free_port();
        let agent = Agent::start(json!([
            {"name": "cache", "port": proxy, "private_port": free_port(),
             "faults": {"latency": "40ms", "error_rate": 1},
             "mode": {"mode": "proxy", "target": "127.0.0.1", "ports": [
                 {"listen": proxy, "target": redis, "http": false}]}},
        ]))
        .await;
        let commands = "SET k v\nGET k\nGET k\nGET k\nGET k\n";
        let (direct, _) = redis_cli(redis, commands);
        let (elapsed, out) = tokio::task::spawn_blocking(move || redis_cli(proxy, commands))
            .await
            .unwrap();
        assert_eq!(out, "OK\nv\nv\nv\nv\n");
        // Five round trips, each delayed both ways.
        assert!(
            elapsed >= Duration::from_millis(400) + direct.min(Duration::from_millis(10)),
            "{elapsed:?}"
        );
        // The connection is journaled once the agent saw it close.
        let deadline = Instant::now() + Duration::from_secs(5);
        let journal = loop {
            let journal = agent.calls("?dependency=cache").await;
            if journal["calls"][0].is_object() || Instant::now() > deadline {
                break journal;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let call = &journal["calls"][0];
        assert_eq!(call["status"], 200, "{journal}");
        assert_eq!(call["fault"], "latency", "{journal}");
    })
}

fn replay_honours_accept_encoding_head_repeated_keys_and_redaction() {
    crate::common::block_on_threads(2, async move {
        if tool("curl").is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let text = "a line nginx compresses well\n".repeat(200);
        std::fs::write(dir.path().join("data.txt"), &text).unwrap();
        let web = free_port();
        let Some(_nginx) = nginx(
            dir.path(),
            &format!(
                "server {{ listen 127.0.0.1:{web}; root {root}; gzip on; gzip_min_length 1; \
                 gzip_types text/plain; add_header Set-Cookie \"session=s3cret\"; \
                 location /tags {{ return 200 \"$args\\n\"; }} }}",
                root = dir.path().display()
            ),
            &[web],
        )
        .await
        else {
            return;
        };
        let record = free_port();
        let file = dir.path().join("rec.yaml");
        let mut agent = Agent::start(json!([
            {"name": "web", "port": record, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://127.0.0.1:{web}"),
                      "to": file, "redact": ["set-cookie"]}},
        ]))
        .await;
        // Recorded by a client that takes gzip.
        let (ok, out) = curl(&[
            "--compressed",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://127.0.0.1:{record}/data.txt"),
        ]);
        assert!(ok && out == "200", "{out}");
        let answer = get(record, "/tags?tag=a&tag=b").await;
        assert_eq!(answer.body, "tag=a&tag=b\n");
        assert!(agent.terminate().success());
        let saved = std::fs::read_to_string(&file).unwrap();
        let recording: Value = serde_yaml::from_str(&saved).unwrap();
        let interactions = recording["interactions"].as_array().unwrap();
        assert_eq!(
            interactions[0]["response"]["headers"]["content-encoding"], "gzip",
            "{saved}"
        );
        assert_eq!(
            interactions[1]["request"]["query"]["tag"],
            json!(["a", "b"])
        );

        let port = free_port();
        let _replay = Agent::start(json!([{
            "name": "web", "port": port, "private_port": free_port(),
            "mode": {"mode": "replay", "recording": recording},
        }]))
        .await;
        let url = format!("http://127.0.0.1:{port}/data.txt");
        // A client that asks for no encoding gets the plain body.
        let plain = get(port, "/data.txt").await;
        assert_eq!(plain.status, 200);
        assert_eq!(plain.header("content-encoding"), None);
        assert_eq!(plain.body, text);
        assert_eq!(
            plain.header("set-cookie"),
            None,
            "a redacted value is left out"
        );
        // One that takes gzip gets the recorded bytes.
        let (ok, out) = curl(&["--compressed", &url]);
        assert!(ok);
        assert_eq!(out, text);
        // HEAD: the GET's headers and length, no body.
        let (ok, out) = curl(&["-I", &url]);
        assert!(ok, "{out}");
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(
            out.to_ascii_lowercase()
                .contains(&format!("content-length: {}\r\n", text.len())),
            "{out}"
        );
        // Repeated keys match with all their values, in order.
        assert_eq!(get(port, "/tags?tag=a&tag=b").await.body, "tag=a&tag=b\n");
        assert_eq!(get(port, "/tags?tag=b&tag=a").await.status, 502);
        assert_eq!(get(port, "/tags?tag=b").await.status, 502);
    })
}

fn a_stub_answers_head_on_a_get_route() {
    crate::common::block_on_threads(2, async move {
        if tool("curl").is_none() {
            return;
        }
        let port = free_port();
        let _agent = Agent::start(json!([stub(
            "api",
            port,
            free_port(),
            json!([{"match": {"method": "GET", "path": "/hello"}, "respond": {"body": "hello"}}])
        )]))
        .await;
        let (ok, out) = curl(&["-I", &format!("http://127.0.0.1:{port}/hello")]);
        assert!(ok, "{out}");
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(
            out.to_ascii_lowercase().contains("content-length: 5\r\n"),
            "{out}"
        );
    })
}

const WS_ECHO: &str = "
import sys
from websockets.sync.server import serve
def echo(ws):
    for message in ws:
        ws.send(message)
with serve(echo, '127.0.0.1', int(sys.argv[1])) as server:
    server.serve_forever()
";

const WS_CLIENT: &str = "
import sys
from websockets.sync.client import connect
with connect(sys.argv[1]) as ws:
    for text in ['one', 'two', 'three']:
        ws.send(text)
        print(ws.recv())
";

fn websocket_passes_through_record_and_proxy_and_is_journaled_once() {
    crate::common::block_on_threads(2, async move {
        let Some(python) = crate::common::venv_python("websockets") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let ws = free_port();
        let _server = Running(
            Command::new(&python)
                .args(["-c", WS_ECHO, &ws.to_string()])
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        );
        listening(ws, Duration::from_secs(10)).await;
        let (record, proxy) = (free_port(), free_port());
        let file = dir.path().join("rec.yaml");
        let mut agent = Agent::start(json!([
            {"name": "rec", "port": record, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://127.0.0.1:{ws}"),
                      "to": file, "redact": []}},
            {"name": "prx", "port": proxy, "private_port": free_port(),
             "mode": {"mode": "proxy", "target": "127.0.0.1", "ports": [
                 {"listen": proxy, "target": ws, "http": true}]}},
        ]))
        .await;
        for (name, port) in [("rec", record), ("prx", proxy)] {
            let python = python.clone();
            let out = tokio::task::spawn_blocking(move || {
                Command::new(python)
                    .args(["-c", WS_CLIENT, &format!("ws://127.0.0.1:{port}/chat")])
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\nthree\n");
            // One entry, once the connection closed.
            let deadline = Instant::now() + Duration::from_secs(5);
            let journal = loop {
                let journal = agent.calls(&format!("?dependency={name}")).await;
                if journal["calls"][0].is_object() || Instant::now() > deadline {
                    break journal;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            let calls = journal["calls"].as_array().unwrap();
            assert_eq!(calls.len(), 1, "{journal}");
            assert_eq!(calls[0]["status"], 101, "{journal}");
            let upgrade = &calls[0]["upgrade"];
            // Three messages and the close frame each way.
            assert_eq!(upgrade["frames_sent"], 4, "{journal}");
            assert_eq!(upgrade["frames_received"], 4, "{journal}");
            assert!(upgrade["bytes_received"].as_u64().unwrap() >= 3 * 5);
        }
        assert!(agent.terminate().success());
        // Nothing a replay could answer with was recorded.
        let saved = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            !saved.contains("status: 101") && !saved.contains("status: 426"),
            "{saved}"
        );
    })
}

fn a_caller_that_leaves_mid_stream_leaves_an_incomplete_recording() {
    crate::common::block_on_threads(2, async move {
        if tool("curl").is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.txt"), "x".repeat(1 << 20)).unwrap();
        let web = free_port();
        let Some(_nginx) = nginx(
            dir.path(),
            &format!(
                "server {{ listen 127.0.0.1:{web}; root {root}; limit_rate 256k; }}",
                root = dir.path().display()
            ),
            &[web],
        )
        .await
        else {
            return;
        };
        let record = free_port();
        let file = dir.path().join("rec.yaml");
        let mut agent = Agent::start(json!([
            {"name": "web", "port": record, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://127.0.0.1:{web}"),
                      "to": file, "redact": []}},
        ]))
        .await;
        let url = format!("http://127.0.0.1:{record}/big.txt");
        let (ok, _) = tokio::task::spawn_blocking(move || {
            curl(&["--max-time", "0.5", "-o", "/dev/null", &url])
        })
        .await
        .unwrap();
        assert!(!ok, "the download was meant to be cut off");
        assert!(agent.terminate().success());
        let saved = std::fs::read_to_string(&file).unwrap();
        let recording: Value = serde_yaml::from_str(&saved).unwrap();
        let response = &recording["interactions"][0]["response"];
        assert_eq!(response["status"], 200);
        assert_eq!(
            response["incomplete"],
            true,
            "{}",
            &saved[..saved.len().min(600)]
        );
        // What arrived is kept (in a body file: it is over 64 KiB).
        let body_file = response["body_file"].as_str().unwrap();
        let kept = std::fs::metadata(dir.path().join(body_file)).unwrap().len();
        assert!(kept > 0 && kept < 1 << 20, "{kept}");

        // Replayed cut off as well: the caller sees the connection end early.
        let port = free_port();
        let _replay = Agent::start(json!([{
            "name": "web", "port": port, "private_port": free_port(),
            "mode": {"mode": "replay", "recording": recording, "bodies": dir.path()},
        }]))
        .await;
        let url = format!("http://127.0.0.1:{port}/big.txt");
        let (ok, out) = tokio::task::spawn_blocking(move || curl(&["-o", "/dev/null", &url]))
            .await
            .unwrap();
        assert!(!ok, "{out}");
    })
}

fn large_bodies_are_files_beside_the_recording_named_by_sha256() {
    crate::common::block_on_threads(2, async move {
        use sha2::Digest as _;
        let dir = tempfile::tempdir().unwrap();
        // 1 MiB that is not one repeated byte.
        let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("big.bin"), &big).unwrap();
        let web = free_port();
        let Some(_nginx) = nginx(
            dir.path(),
            &format!(
                "server {{ listen 127.0.0.1:{web}; root {root}; }}",
                root = dir.path().display()
            ),
            &[web],
        )
        .await
        else {
            return;
        };
        let record = free_port();
        let folder = dir.path().join("recordings");
        let file = folder.join("web.yaml");
        let mut agent = Agent::start(json!([
            {"name": "web", "port": record, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://127.0.0.1:{web}"),
                      "to": file, "redact": []}},
        ]))
        .await;
        let answer = crate::agent::send_bytes(&format!("http://127.0.0.1:{record}/big.bin")).await;
        assert_eq!(answer.len(), big.len());
        assert!(answer == big);
        assert!(agent.terminate().success());
        let saved = std::fs::read_to_string(&file).unwrap();
        assert!(saved.len() < 4096, "the recording stays small: {saved}");
        let sha: String = sha2::Sha256::digest(&big)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert!(
            saved.contains(&format!("body_file: bodies/{sha}")),
            "{saved}"
        );
        assert!(std::fs::read(folder.join("bodies").join(&sha)).unwrap() == big);
        let leftovers = std::fs::read_dir(folder.join("bodies")).unwrap().count();
        assert_eq!(leftovers, 1, "no partial files are left");

        let recording: Value = serde_yaml::from_str(&saved).unwrap();
        let port = free_port();
        let _replay = Agent::start(json!([{
            "name": "web", "port": port, "private_port": free_port(),
            "mode": {"mode": "replay", "recording": recording, "bodies": folder},
        }]))
        .await;
        let replayed = crate::agent::send_bytes(&format!("http://127.0.0.1:{port}/big.bin")).await;
        assert!(replayed == big, "{} bytes", replayed.len());
    })
}

cases! {
    docker: [],
    plain: [
        http_ports_answer_http10_http11_and_h2c_prior_knowledge,
        record_and_proxy_reach_an_upstream_that_speaks_only_h2c,
        tcp_latency_delays_every_command_and_an_error_rate_is_no_tcp_fault,
        replay_honours_accept_encoding_head_repeated_keys_and_redaction,
        a_stub_answers_head_on_a_get_route,
        websocket_passes_through_record_and_proxy_and_is_journaled_once,
        a_caller_that_leaves_mid_stream_leaves_an_incomplete_recording,
        large_bodies_are_files_beside_the_recording_named_by_sha256,
    ],
}
