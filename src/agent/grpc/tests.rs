use http_body_util::BodyExt;

use super::*;
use crate::agent::config::GrpcStubConfig;
use crate::manifest::Route;
use crate::proto::{Protos, Source};

const PROTO: &str = r#"syntax = "proto3";
package payments.v1;
service Payments {
  rpc Get(GetRequest) returns (Payment);
  rpc List(ListRequest) returns (stream Payment);
  rpc Refund(GetRequest) returns (Payment);
}
message GetRequest { string id = 1; }
message ListRequest { string customer_id = 1; }
message Payment { string id = 1; int64 cents = 2; }
"#;

fn protos() -> Protos {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let real = base.join("payments.proto");
    std::fs::write(&real, PROTO).unwrap();
    Protos::compile(
        &base,
        std::path::Path::new(""),
        &[Source {
            real: &real,
            shown: "payments.proto".into(),
        }],
    )
    .unwrap()
}

fn stub(routes: &str) -> GrpcStub {
    let routes: Vec<Route> = serde_yaml::from_str(routes).unwrap();
    let config = GrpcStubConfig {
        descriptors: base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            protos().encoded(),
        ),
        routes,
    };
    // Through JSON, as the agent reads its configuration.
    let config: GrpcStubConfig =
        serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    GrpcStub::compile(&config).unwrap()
}

fn request(protos: &Protos, method: &str, json: serde_json::Value) -> Bytes {
    let input = protos.method(method).unwrap().input();
    frame(&crate::proto::encode_json(&input, &json).unwrap())
}

/// The messages (as JSON of the method's output) and trailers of an answer.
async fn read(
    protos: &Protos,
    method: &str,
    response: Response<Body>,
) -> (Vec<serde_json::Value>, HeaderMap) {
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/grpc");
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let bytes = collected.to_bytes();
    let output = protos.method(method).unwrap().output();
    let messages = messages(&bytes)
        .unwrap()
        .into_iter()
        .map(|m| crate::proto::decode_to_json(&output, m).unwrap())
        .collect();
    (messages, trailers)
}

const ROUTES: &str = r#"
- match: { grpc: payments.v1.Payments/Get, json: { id: "7" } }
  respond: { json: { id: "7", cents: 1250 } }
- match: { grpc: payments.v1.Payments/Get, json: { id: "8" } }
  respond: { grpc_status: NOT_FOUND, message: "no payment 8 (100%)" }
- match: { grpc: payments.v1.Payments/List, json: { customer_id: c1 } }
  respond: { stream: [ { id: a }, { id: b, cents: 5 } ] }
"#;

#[test]
fn frames_round_trip_and_bad_ones_are_refused() {
    let body = [frame(b"one"), frame(b""), frame(b"three")].concat();
    assert_eq!(messages(&body).unwrap(), vec![&b"one"[..], b"", b"three"]);
    assert!(
        messages(&body[..body.len() - 1])
            .unwrap_err()
            .contains("announces 5 bytes")
    );
    assert!(messages(&[0, 0, 0]).is_err());
    assert!(
        messages(&[1, 0, 0, 0, 0])
            .unwrap_err()
            .contains("compressed")
    );
}

#[test]
fn grpc_requests_are_told_by_their_content_type() {
    for (content_type, grpc) in [
        ("application/grpc", true),
        ("application/grpc+proto", true),
        ("Application/GRPC", true),
        ("application/json", false),
        ("application/grp", false),
    ] {
        let request = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(())
            .unwrap();
        assert_eq!(is_grpc(&request), grpc, "{content_type}");
    }
    assert!(!is_grpc(&Request::new(())));
}

#[tokio::test]
async fn a_unary_call_is_answered_by_the_matching_route() {
    let stub = stub(ROUTES);
    let protos = protos();
    let answer = stub.answer(
        "/payments.v1.Payments/Get",
        &request(
            &protos,
            "payments.v1.Payments/Get",
            serde_json::json!({"id": "7"}),
        ),
    );
    assert_eq!(answer.label, Some("grpc route 1: payments.v1.Payments/Get"));
    assert_eq!(status_of(&answer.response), Some(0));
    let (messages, trailers) = read(&protos, "payments.v1.Payments/Get", answer.response).await;
    assert_eq!(
        messages,
        vec![serde_json::json!({"id": "7", "cents": "1250"})]
    );
    assert_eq!(trailers["grpc-status"], "0");
}

#[tokio::test]
async fn an_error_status_is_answered_in_trailers() {
    let stub = stub(ROUTES);
    let protos = protos();
    let answer = stub.answer(
        "/payments.v1.Payments/Get",
        &request(
            &protos,
            "payments.v1.Payments/Get",
            serde_json::json!({"id": "8"}),
        ),
    );
    assert_eq!(status_of(&answer.response), Some(5));
    let (messages, trailers) = read(&protos, "payments.v1.Payments/Get", answer.response).await;
    assert!(messages.is_empty());
    assert_eq!(trailers["grpc-status"], "5");
    assert_eq!(trailers["grpc-message"], "no payment 8 (100%25)");
}

#[tokio::test]
async fn a_server_stream_answers_every_message() {
    let stub = stub(ROUTES);
    let protos = protos();
    let method = "payments.v1.Payments/List";
    let answer = stub.answer(
        "/payments.v1.Payments/List",
        &request(&protos, method, serde_json::json!({"customerId": "c1"})),
    );
    let (messages, _) = read(&protos, method, answer.response).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["cents"], "5");
}

#[tokio::test]
async fn a_miss_is_unimplemented_and_names_the_closest_route() {
    let stub = stub(ROUTES);
    let protos = protos();
    let method = "payments.v1.Payments/Get";
    let answer = stub.answer(
        "/payments.v1.Payments/Get",
        &request(&protos, method, serde_json::json!({"id": "9"})),
    );
    assert_eq!(answer.label, None);
    let (_, trailers) = read(&protos, method, answer.response).await;
    assert_eq!(trailers["grpc-status"], "12");
    let message = trailers["grpc-message"].to_str().unwrap();
    assert!(message.contains("closest: grpc route 1"), "{message}");

    let answer = stub.answer(
        "/payments.v1.Payments/Refund",
        &request(&protos, method, serde_json::json!({"id": "9"})),
    );
    let (_, trailers) = read(&protos, method, answer.response).await;
    assert_eq!(trailers["grpc-status"], "12");
    let message = trailers["grpc-message"].to_str().unwrap();
    assert!(
        message.contains(
            "no sandbox stub route answers the gRPC method `payments.v1.Payments/Refund`"
        ),
        "{message}"
    );

    let answer = stub.answer("/payments.v1.Payments/Gte", b"");
    let (_, trailers) = read(&protos, method, answer.response).await;
    let message = trailers["grpc-message"].to_str().unwrap();
    assert!(
        message.contains("define no gRPC method") && message.contains("closest: grpc route 1"),
        "{message}"
    );
}

#[tokio::test]
async fn a_request_that_is_not_the_input_message_is_invalid() {
    let stub = stub(ROUTES);
    let answer = stub.answer("/payments.v1.Payments/Get", &frame(b"\xff\xff\xff"));
    assert_eq!(status_of(&answer.response), Some(3));
}
