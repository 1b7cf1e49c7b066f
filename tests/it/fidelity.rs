//! Recording fidelity, driven by real software: a Python `http.server`
//! upstream that sends server-sent events 300 ms apart, recorded and then
//! replayed with and without `timing: recorded`; what `validate` says of a
//! recording whose body files are missing.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::agent::{Agent, free_port};

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An SSE server (Python's `http.server`) on 127.0.0.1:`port`: `GET
/// /events` answers three events, 300 ms apart, then closes.
async fn sse_server(dir: &Path, port: u16) -> Option<Running> {
    // The standard library is enough: any Python 3.
    let python = crate::protocols::tool("python3")?;
    let script = dir.join("sse.py");
    std::fs::write(
        &script,
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
    )
    .unwrap();
    let child = Command::new(python)
        .arg(&script)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the SSE server does not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Some(running)
}

/// `GET /events` on `port` over a plain socket: when (since the request)
/// each of the three events was first seen.
async fn event_times(port: u16) -> Vec<Duration> {
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
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

fn sandbox(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

const MANIFEST: &str = "version: 1\nname: fidelity-validate\nservice:\n  name: orders\n  image: orders:dev\ndependencies:\n  events:\n";

fn validate_names_a_bad_timing_and_a_missing_body_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rec/bodies")).unwrap();
    std::fs::write(
        dir.path().join("rec/events.yaml"),
        "version: 1\ninteractions:\n  - request: { method: GET, path: /big }\n    response:\n      status: 200\n      body_file: bodies/0a1b\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        format!("{MANIFEST}    replay: {{ file: rec/events.yaml, timing: real }}\n"),
    )
    .unwrap();
    let out = sandbox(dir.path(), &["validate"]);
    let stderr = crate::common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("sandbox.yaml:8:46")
            && stderr.contains(
                "`dependencies.events.replay.timing` is `real`; expected recorded or none"
            ),
        "{stderr}"
    );

    std::fs::write(
        dir.path().join("sandbox.yaml"),
        format!("{MANIFEST}    replay: {{ file: rec/events.yaml, timing: recorded }}\n"),
    )
    .unwrap();
    let out = sandbox(dir.path(), &["validate"]);
    let stderr = crate::common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
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

cases! {
    docker: [],
    plain: [
        sse_recorded_replays_spaced_only_with_recorded_timing,
        validate_names_a_bad_timing_and_a_missing_body_file,
    ],
}
