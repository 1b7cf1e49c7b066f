use std::path::Path;

use super::*;

const PROTO: &str = r#"syntax = "proto3";
package payments.v1;
service Payments {
  rpc Get(GetRequest) returns (Payment);
  rpc List(GetRequest) returns (stream Payment);
}
message GetRequest { string id = 1; }
message Payment { string id = 1; int64 cents = 2; }
"#;

/// Validates `stub` (the YAML of a stub's body, indented by 4) beside
/// `payments.proto` holding `proto`: the problems as `file:line:col: message`.
fn check(proto: &str, stub: &str) -> Result<Loaded, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("payments.proto"), proto).unwrap();
    let text = format!(
        "version: 1\nservice:\n  name: orders\n  image: orders:dev\ndependencies:\n  payments:\n    stub:\n{stub}"
    );
    let file = dir.path().join("sandbox.yaml");
    load_text(Path::new("sandbox.yaml"), &file, &text).map_err(|error| match error {
        ManifestError::Invalid { problems } => problems
            .iter()
            .map(|p| {
                let (line, column) = p.at.unwrap_or((0, 0));
                format!("{}:{line}:{column}: {}", p.file.display(), p.message)
            })
            .collect(),
        other => panic!("unexpected error: {other}"),
    })
}

fn only(proto: &str, stub: &str) -> String {
    let problems = check(proto, stub).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    problems[0].clone()
}

#[test]
fn a_grpc_stub_loads_with_its_compiled_protos() {
    let loaded = check(
        PROTO,
        "      proto: [payments.proto]
      routes:
        - match: { grpc: payments.v1.Payments/Get, json: { id: \"7\" } }
          respond: { json: { id: \"7\", cents: 1250 } }
        - match: { grpc: payments.v1.Payments/Get }
          respond: { grpc_status: NOT_FOUND, message: no such payment }
        - match: { grpc: payments.v1.Payments/List }
          respond: { stream: [ { id: a }, { id: b } ] }
",
    )
    .unwrap();
    assert!(
        loaded.protos["payments"]
            .method("payments.v1.Payments/Get")
            .is_ok()
    );
}

#[test]
fn a_proto_that_does_not_compile_names_its_line() {
    let broken = "syntax = \"proto3\";\nmessage A {\n  string id = ;\n}\n";
    let problem = only(broken, "      proto: [payments.proto]\n");
    assert!(problem.starts_with("payments.proto:3:"), "{problem}");
    assert!(problem.contains("does not compile"), "{problem}");
}

#[test]
fn an_unknown_method_is_named_with_the_closest() {
    let problems = check(
        PROTO,
        "      proto: [payments.proto]
      routes:
        - match: { grpc: payments.v1.Payments/Gte }
          respond: { json: {} }
",
    )
    .unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("sandbox.yaml:10:26: `dependencies.payments.stub.routes[0].match.grpc`: the `.proto` files define no method"),
        "{}",
        problems[0]
    );
}

#[test]
fn json_that_does_not_fit_the_messages_is_refused() {
    let problems = check(
        PROTO,
        "      proto: [payments.proto]
      routes:
        - match: { grpc: payments.v1.Payments/Get, json: { idd: \"7\" } }
          respond: { json: { id: 7, cents: many } }
        - match: { grpc: payments.v1.Payments/Get }
          respond: { stream: [ { id: a } ] }
        - match: { grpc: payments.v1.Payments/List }
          respond: { stream: [ { id: a }, { nope: 1 } ] }
",
    )
    .unwrap_err();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems[0].starts_with("sandbox.yaml:10:58: ")
            && problems[0].contains("payments.v1.GetRequest"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].starts_with("sandbox.yaml:11:28: ")
            && problems[1].contains("payments.v1.Payment"),
        "{}",
        problems[1]
    );
    assert!(
        problems[2].contains("answers one message, not a stream"),
        "{}",
        problems[2]
    );
    assert!(
        problems[3].starts_with("sandbox.yaml:15:43: "),
        "{}",
        problems[3]
    );
}

#[test]
fn grpc_routes_need_a_proto_and_a_known_status() {
    let problems = check(
        PROTO,
        "      routes:
        - match: { grpc: payments.v1.Payments/Get }
          respond: { json: {} }
",
    )
    .unwrap_err();
    assert!(
        problems[0].contains("names no `.proto` file"),
        "{problems:#?}"
    );
    let problem = only(
        PROTO,
        "      proto: [payments.proto]
      routes:
        - match: { grpc: payments.v1.Payments/Get }
          respond: { grpc_status: NOT_FUND }
",
    );
    assert!(problem.contains("expected a gRPC status"), "{problem}");
    let problem = only(PROTO, "      proto: [missing.proto]\n");
    assert!(
        problem.contains("`missing.proto` does not exist"),
        "{problem}"
    );
}

#[test]
fn grpc_routes_of_stub_files_are_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("payments.proto"), PROTO).unwrap();
    std::fs::write(
        dir.path().join("more.yaml"),
        "- match: { grpc: payments.v1.Payments/Get, json: { nope: 1 } }\n  respond: { json: {} }\n",
    )
    .unwrap();
    let text = "version: 1\nservice:\n  name: orders\n  image: orders:dev\ndependencies:\n  payments:\n    stub:\n      proto: [payments.proto]\n      files: [more.yaml]\n";
    let file = dir.path().join("sandbox.yaml");
    let Err(ManifestError::Invalid { problems }) =
        load_text(Path::new("sandbox.yaml"), &file, text)
    else {
        panic!("a bad gRPC route in a file passed");
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].at, Some((9, 7)));
    assert!(
        problems[0].message.contains("route 1") && problems[0].message.contains("GetRequest"),
        "{}",
        problems[0].message
    );
}
