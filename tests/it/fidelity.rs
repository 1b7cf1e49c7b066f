//! Recording fidelity, driven by real software: a Python `http.server`
//! upstream that sends server-sent events 300 ms apart, recorded and then
//! replayed with and without `timing: recorded`; what `validate` says of a
//! recording whose body files are missing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::agent::{Agent, free_port};
use crate::protocols::{Running, listening};

/// Writes `source` to `dir`/`name`, runs it with Python 3 on
/// 127.0.0.1:`port` and waits until it listens; stopped when dropped. None
/// (skipped, as for the other tools) without a Python 3.
async fn python_server(dir: &Path, name: &str, source: &str, port: u16) -> Option<Running> {
    // The standard library is enough: any Python 3.
    let python = crate::protocols::tool("python3")?;
    let script = dir.join(name);
    std::fs::write(&script, source).unwrap();
    let child = Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let running = Running(child);
    listening(port, Duration::from_secs(10)).await;
    Some(running)
}

/// An SSE server (Python's `http.server`) on 127.0.0.1:`port`: `GET
/// /events` answers three events, 300 ms apart, then closes.
async fn sse_server(dir: &Path, port: u16) -> Option<Running> {
    python_server(
        dir,
        "sse.py",
        r#"
import http.server, sys, time

class Events(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        for number in range(3):
            if number:
                time.sleep(0.3)
            self.wfile.write(b"data: event %d\n\n" % number)
            self.wfile.flush()

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Events).serve_forever()
"#,
        port,
    )
    .await
}

/// `GET /events` on `port` over a plain socket: when (since the request)
/// each of the three events was first seen.
async fn event_times(port: u16) -> Vec<Duration> {
    event_times_at(&format!("127.0.0.1:{port}")).await
}

/// `GET /events` on `address` (`host:port`), as [`event_times`].
async fn event_times_at(address: &str) -> Vec<Duration> {
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let started = Instant::now();
    socket
        .write_all(b"GET /events HTTP/1.1\r\nHost: events\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut seen = String::new();
    let mut times = Vec::new();
    let mut buffer = vec![0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer))
            .await
            .expect("the events stop coming")
            .unwrap();
        if read == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
        while times.len() < 3 && seen.contains(&format!("data: event {}", times.len())) {
            times.push(started.elapsed());
        }
    }
    assert_eq!(times.len(), 3, "{seen}");
    times
}

fn spaced(times: &[Duration]) -> bool {
    times
        .windows(2)
        .all(|pair| pair[1] - pair[0] >= Duration::from_millis(200))
}

fn sse_recorded_replays_spaced_only_with_recorded_timing() {
    crate::common::block_on_threads(2, async move {
        let dir = tempfile::tempdir().unwrap();
        let upstream = free_port();
        let Some(_server) = sse_server(dir.path(), upstream).await else {
            return;
        };
        let record = free_port();
        let file = dir.path().join("events.yaml");
        let mut agent = Agent::start(json!([
            {"name": "events", "port": record, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://127.0.0.1:{upstream}"),
                      "to": file, "redact": []}},
        ]))
        .await;
        // Recording passes the stream through as it comes.
        let through = event_times(record).await;
        assert!(spaced(&through), "through record: {through:?}");
        assert!(agent.terminate().success());
        let saved = std::fs::read_to_string(&file).unwrap();
        let recording: Value = serde_yaml::from_str(&saved).unwrap();
        let timing = &recording["interactions"][0]["response"]["timing"];
        let chunks = timing["chunks"]
            .as_array()
            .unwrap_or_else(|| panic!("{saved}"));
        assert_eq!(chunks.len(), 3, "{saved}");
        for gap in &chunks[1..] {
            assert!(gap[1].as_u64().unwrap() >= 250, "{saved}");
        }
        assert!(
            saved.contains("    timing: { first_byte_ms: "),
            "one compact line: {saved}"
        );

        for (timing, paced) in [("recorded", true), ("none", false)] {
            let port = free_port();
            let _replay = Agent::start(json!([{
                "name": "events", "port": port, "private_port": free_port(),
                "mode": {"mode": "replay", "recording": recording, "timing": timing},
            }]))
            .await;
            let times = event_times(port).await;
            if paced {
                assert!(spaced(&times), "timing: recorded: {times:?}");
            } else {
                assert!(
                    times[2] - times[0] < Duration::from_millis(150),
                    "plain replay sends the events together: {times:?}"
                );
            }
        }
    })
}

/// SSE from the Python server, recorded by an agent on this machine, then
/// replayed in a sandbox from `replay: { file, timing: recorded }`: the
/// manifest's setting reaches the agent container; without it the events
/// come together.
fn a_sandbox_replays_recorded_sse_at_its_pace() {
    if !crate::common::docker_or_skip() {
        return;
    }
    let recording = crate::common::block_on_threads(2, async move {
        let dir = tempfile::tempdir().unwrap();
        let upstream = free_port();
        let _server = sse_server(dir.path(), upstream).await?;
        let record = free_port();
        let file = dir.path().join("events.yaml");
        let mut agent = Agent::start(json!([
            {"name": "events", "port": record, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://127.0.0.1:{upstream}"),
                      "to": file, "redact": []}},
        ]))
        .await;
        event_times(record).await;
        assert!(agent.terminate().success());
        Some(std::fs::read_to_string(&file).unwrap())
    });
    let Some(recording) = recording else {
        return;
    };
    let manifest = |timing: &str| {
        format!(
            "version: 1\nservice:\n  name: web\n  build: ./app\n  command: [\"/shopd\", \"fixture\", \"--port\", \"8080\"]\n  ports: {{ http: 8080 }}\n  health: {{ http: /healthz }}\ndependencies:\n  events:\n    replay: {{ file: recordings/events.yaml, timing: {timing} }}\n"
        )
    };
    let sandbox = crate::common::Sandbox::new("ssepace", &manifest("recorded"));
    sandbox.write("recordings/events.yaml", &recording);
    sandbox.ok(&["up"]);
    let address = sandbox.url("events");
    let address = address.trim_start_matches("http://").trim_end_matches('/');
    let times = crate::common::block_on_threads(1, event_times_at(address));
    assert!(spaced(&times), "timing: recorded in a sandbox: {times:?}");

    sandbox.write("sandbox.yaml", &manifest("none"));
    sandbox.ok(&["up"]);
    let address = sandbox.url("events");
    let address = address.trim_start_matches("http://").trim_end_matches('/');
    let times = crate::common::block_on_threads(1, event_times_at(address));
    assert!(
        times[2] - times[0] < Duration::from_millis(150),
        "timing: none in a sandbox: {times:?}"
    );
    sandbox.ok(&["down"]);
}

fn sandbox(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

const MANIFEST: &str = "version: 1\nname: fidelity-validate\nservice:\n  name: orders\n  image: orders:dev\ndependencies:\n  events:\n";

/// `validate` of the manifest replaying `rec/events.yaml` with `timing`,
/// which must exit 2; its stderr.
fn refused_by_validate(dir: &Path, timing: &str) -> String {
    std::fs::write(
        dir.join("sandbox.yaml"),
        format!("{MANIFEST}    replay: {{ file: rec/events.yaml, timing: {timing} }}\n"),
    )
    .unwrap();
    let out = sandbox(dir, &["validate"]);
    let stderr = crate::common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
}

fn validate_names_a_bad_timing_and_a_missing_body_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rec/bodies")).unwrap();
    std::fs::write(
        dir.path().join("rec/events.yaml"),
        "version: 1\ninteractions:\n  - request: { method: GET, path: /big }\n    response:\n      status: 200\n      body_file: bodies/0a1b\n",
    )
    .unwrap();
    let stderr = refused_by_validate(dir.path(), "real");
    assert!(
        stderr.contains("sandbox.yaml:8:46")
            && stderr.contains(
                "`dependencies.events.replay.timing` is `real`; expected recorded or none"
            ),
        "{stderr}"
    );

    let stderr = refused_by_validate(dir.path(), "recorded");
    assert!(
        stderr.contains("rec/events.yaml:6:18")
            && stderr.contains("interaction 1: `response.body_file` `bodies/0a1b` does not exist"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("rec/bodies/0a1b"), "body").unwrap();
    let out = sandbox(dir.path(), &["validate"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::stderr(&out)
    );
}

/// A Python upstream that reads each POST body whole, in 1 MiB reads,
/// and answers its length and sha256.
async fn digest_server(dir: &Path, port: u16) -> Option<Running> {
    python_server(
        dir,
        "digest.py",
        r#"
import hashlib, http.server, sys

class Digest(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        left = int(self.headers["content-length"])
        digest = hashlib.sha256()
        while left:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
        body = ("%s %s" % (int(self.headers["content-length"]) - left, digest.hexdigest())).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Digest).serve_forever()
"#,
        port,
    )
    .await
}

/// A line of /proc/PID/status, in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {status}"))
}

fn eight_parallel_60_mb_uploads_stream_through_record_in_bounded_memory() {
    crate::common::block_on_threads(2, async move {
        use sha2::Digest as _;
        if crate::protocols::tool("curl").is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let upstream = free_port();
        let Some(_server) = digest_server(dir.path(), upstream).await else {
            return;
        };
        // Two different 60 MB bodies, four uploads each.
        let mut uploads = Vec::new();
        for seed in 0..2u8 {
            let body: Vec<u8> = (0..60_000_000u32).map(|i| (i % 251) as u8 ^ seed).collect();
            let sha: String = sha2::Sha256::digest(&body)
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            let path = dir.path().join(format!("upload-{seed}.bin"));
            std::fs::write(&path, &body).unwrap();
            uploads.push((path, sha));
        }
        let record = free_port();
        let folder = dir.path().join("recordings");
        let file = folder.join("uploads.yaml");
        let mut agent = Agent::start(json!([
            {"name": "uploads", "port": record, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://127.0.0.1:{upstream}"),
                      "to": file, "redact": []}},
        ]))
        .await;
        let idle = status_kib(agent.pid(), "VmRSS");
        let url = format!("http://127.0.0.1:{record}/upload");
        let runs: Vec<_> = (0..8)
            .map(|index| {
                let (path, sha) = uploads[index % 2].clone();
                let url = url.clone();
                std::thread::spawn(move || {
                    let out = Command::new("curl")
                        .args(["-sS", "--max-time", "120", "-X", "POST", "-H"])
                        .arg("content-type: application/octet-stream")
                        .arg("--data-binary")
                        .arg(format!("@{}", path.display()))
                        .arg(&url)
                        .output()
                        .unwrap();
                    let answer = String::from_utf8_lossy(&out.stdout).into_owned();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    assert_eq!(answer, format!("60000000 {sha}"));
                })
            })
            .collect();
        for run in runs {
            run.join().unwrap();
        }
        let peak = status_kib(agent.pid(), "VmHWM");
        let after = status_kib(agent.pid(), "VmRSS");
        eprintln!(
            "agent memory: idle {} MiB, peak {} MiB, after {} MiB",
            idle / 1024,
            peak / 1024,
            after / 1024
        );
        assert!(agent.terminate().success());
        // 480 MB went through; the agent never held the bodies.
        assert!(peak < idle + 64 * 1024, "peak {peak} KiB, idle {idle} KiB");
        assert!(
            after < idle + 32 * 1024,
            "after {after} KiB, idle {idle} KiB"
        );

        let saved = std::fs::read_to_string(&file).unwrap();
        assert!(
            saved.len() < 16 * 1024,
            "the recording stays small: {saved}"
        );
        let recording: Value = serde_yaml::from_str(&saved).unwrap();
        let interactions = recording["interactions"].as_array().unwrap();
        assert_eq!(interactions.len(), 8, "{saved}");
        for interaction in interactions {
            let body_file = interaction["request"]["body_file"]
                .as_str()
                .unwrap_or_else(|| panic!("{saved}"));
            assert!(
                uploads
                    .iter()
                    .any(|(_, sha)| body_file == format!("bodies/{sha}")),
                "{body_file}"
            );
            assert_eq!(
                std::fs::metadata(folder.join(body_file)).unwrap().len(),
                60_000_000
            );
        }
        let names: Vec<String> = std::fs::read_dir(folder.join("bodies"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names.len(),
            2,
            "one file per body, no partial ones: {names:?}"
        );

        // The recording replays: a request body matches by its sha256.
        let port = free_port();
        let _replay = Agent::start(json!([{
            "name": "uploads", "port": port, "private_port": free_port(),
            "mode": {"mode": "replay", "recording": recording, "bodies": folder},
        }]))
        .await;
        let (path, sha) = uploads[1].clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("curl")
                .args(["-sS", "--max-time", "60", "-X", "POST", "--data-binary"])
                .arg(format!("@{}", path.display()))
                .arg(format!("http://127.0.0.1:{port}/upload"))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("60000000 {sha}")
        );
    })
}

cases! {
    docker: [a_sandbox_replays_recorded_sse_at_its_pace],
    plain: [
        sse_recorded_replays_spaced_only_with_recorded_timing,
        validate_names_a_bad_timing_and_a_missing_body_file,
        eight_parallel_60_mb_uploads_stream_through_record_in_bounded_memory,
    ],
}
