//! gRPC client streaming and bidirectional streaming through `record`, then
//! replayed: a real server and client (Python grpcio) on the host, the
//! agent between them.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::agent::{Agent, free_port, send};
use crate::protocols::{Running, listening};

const PROTO: &str = r#"syntax = "proto3";
package chat.v1;
message Num { int32 value = 1; }
service Chat {
  rpc Sum(stream Num) returns (Num);
  rpc Echo(stream Num) returns (stream Num);
}
"#;

/// Sums a client stream; answers each message of a bidirectional stream as
/// it comes (value × 10).
const SERVER: &str = r#"
import sys
from concurrent import futures
import grpc
sys.path.insert(0, sys.argv[1])
import chat_pb2 as pb, chat_pb2_grpc as rpc

class Chat(rpc.ChatServicer):
    def Sum(self, requests, context):
        return pb.Num(value=sum(n.value for n in requests))
    def Echo(self, requests, context):
        for n in requests:
            yield pb.Num(value=n.value * 10)

server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
rpc.add_ChatServicer_to_server(Chat(), server)
server.add_insecure_port("127.0.0.1:" + sys.argv[2])
server.start()
server.wait_for_termination()
"#;

/// A client stream, then a ping-pong bidirectional stream: each message is
/// sent only once the answer to the one before has come back.
const CLIENT: &str = r#"
import sys, json, queue
import grpc
sys.path.insert(0, sys.argv[1])
import chat_pb2 as pb, chat_pb2_grpc as rpc

stub = rpc.ChatStub(grpc.insecure_channel(sys.argv[2]))
out = {}
try:
    out["sum"] = stub.Sum(iter([pb.Num(value=v) for v in (1, 2, 3)]), timeout=5).value
except grpc.RpcError as e:
    out["sum"] = e.code().name
sending = queue.Queue()
def requests():
    while True:
        value = sending.get()
        if value is None:
            return
        yield pb.Num(value=value)
try:
    answers = stub.Echo(requests(), timeout=5)
    echo = []
    for value in (1, 2, 3):
        sending.put(value)
        echo.append(next(answers).value)
    sending.put(None)
    echo.extend(answer.value for answer in answers)
    out["echo"] = echo
except grpc.RpcError as e:
    sending.put(None)
    out["echo"] = e.code().name
print(json.dumps(out))
"#;

fn client(python: &Path, generated: &Path, port: u16) -> Value {
    let out = Command::new(python)
        .args(["-c", CLIENT])
        .arg(generated)
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn client_and_bidirectional_streams_are_recorded_and_replayed() {
    crate::common::block_on_threads(2, async move {
        let Some(python) = crate::grpc::grpc_python() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("chat.proto"), PROTO).unwrap();
        let generated = dir.path().join("py");
        std::fs::create_dir(&generated).unwrap();
        let status = Command::new(&python)
            .current_dir(dir.path())
            .args(["-m", "grpc_tools.protoc", "-I.", "--python_out"])
            .arg(&generated)
            .arg("--grpc_python_out")
            .arg(&generated)
            .arg("chat.proto")
            .status()
            .unwrap();
        assert!(status.success(), "grpc_tools.protoc failed");

        let server_port = free_port();
        let server = Running(
            Command::new(&python)
                .args(["-c", SERVER])
                .arg(&generated)
                .arg(server_port.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        listening(server_port, Duration::from_secs(20)).await;
        let direct = {
            let (python, generated) = (python.clone(), generated.clone());
            tokio::task::spawn_blocking(move || client(&python, &generated, server_port))
                .await
                .unwrap()
        };
        assert_eq!(direct, json!({"sum": 6, "echo": [10, 20, 30]}));

        let record = free_port();
        let recording = dir.path().join("chat.yaml");
        let agent = Agent::start(json!([
            {"name": "chat", "port": record, "private_port": free_port(),
             "mode": {"mode": "record", "upstream": format!("http://127.0.0.1:{server_port}"),
                      "to": recording, "redact": []}},
        ]))
        .await;
        let recorded = {
            let (python, generated) = (python.clone(), generated.clone());
            tokio::task::spawn_blocking(move || client(&python, &generated, record))
                .await
                .unwrap()
        };
        assert_eq!(recorded, direct, "through record, as from the server");
        let journal = agent.calls("?dependency=chat").await;
        let calls: Vec<(&str, &Value)> = journal["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["path"].as_str().unwrap(), &c["grpc_status"]))
            .collect();
        assert_eq!(calls.len(), 2, "{journal}");
        assert_eq!(calls[0].0, "/chat.v1.Chat/Sum", "{journal}");
        assert_eq!(calls[1].0, "/chat.v1.Chat/Echo", "{journal}");
        assert!(
            calls
                .iter()
                .all(|(_, status)| *status == "OK" || *status == 0),
            "{journal}"
        );
        let flushed = send("POST", &agent.admin_url("/_sandbox/flush"), &[], "")
            .await
            .unwrap();
        assert_eq!(flushed.status, 200, "{}", flushed.body);
        drop(agent);
        drop(server);

        // Replayed with the server gone.
        let text = std::fs::read_to_string(&recording).unwrap();
        let saved: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(saved["interactions"].as_array().unwrap().len(), 2, "{text}");
        let replay = free_port();
        let _agent = Agent::start(json!([
            {"name": "chat", "port": replay, "private_port": free_port(),
             "mode": {"mode": "replay", "recording": saved}},
        ]))
        .await;
        let replayed = tokio::task::spawn_blocking(move || client(&python, &generated, replay))
            .await
            .unwrap();
        assert_eq!(replayed, direct, "replayed as recorded");
    })
}

cases! {
    docker: [],
    plain: [client_and_bidirectional_streams_are_recorded_and_replayed],
}
