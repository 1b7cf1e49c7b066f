use super::*;

const PAYMENTS: &str = r#"syntax = "proto3";
package payments.v1;
import "common/money.proto";

service Payments {
  rpc Get(GetRequest) returns (Payment);
  rpc List(ListRequest) returns (stream Payment);
}
message GetRequest { string id = 1; }
message ListRequest { string customer_id = 1; int32 limit = 2; }
message Payment { string id = 1; common.Money amount = 2; string status = 3; }
"#;

const MONEY: &str = r#"syntax = "proto3";
package common;
message Money { int64 cents = 1; string currency = 2; }
"#;

fn compiled(
    files: &[(&str, &str)],
    listed: &[&str],
) -> (tempfile::TempDir, Result<Protos, ProtoProblem>) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    for (name, text) in files {
        let path = base.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let reals: Vec<PathBuf> = listed.iter().map(|l| base.join(l)).collect();
    let sources: Vec<Source<'_>> = reals
        .iter()
        .zip(listed)
        .map(|(real, l)| Source {
            real,
            shown: PathBuf::from(l),
        })
        .collect();
    let result = Protos::compile(&base, Path::new(""), &sources);
    (dir, result)
}

fn payments() -> Protos {
    let (_dir, protos) = compiled(
        &[("payments.proto", PAYMENTS), ("common/money.proto", MONEY)],
        &["payments.proto"],
    );
    protos.unwrap()
}

#[test]
fn methods_are_found_by_service_and_name() {
    let protos = payments();
    let get = protos.method("payments.v1.Payments/Get").unwrap();
    assert_eq!(get.input().full_name(), "payments.v1.GetRequest");
    assert!(
        protos
            .method("/payments.v1.Payments/List")
            .unwrap()
            .is_server_streaming()
    );
    let (message, help) = protos.method("payments.v1.Payments/Gte").unwrap_err();
    assert!(
        message.contains("no method `payments.v1.Payments/Gte`"),
        "{message}"
    );
    assert_eq!(help.unwrap(), "did you mean `payments.v1.Payments/Get`?");
    let (message, _) = protos.method("Get").unwrap_err();
    assert!(message.contains("not a gRPC method name"), "{message}");
}

#[test]
fn json_round_trips_through_the_binary_encoding() {
    let protos = payments();
    let payment = protos.method("payments.v1.Payments/Get").unwrap().output();
    let json = serde_json::json!({"id": "7", "amount": {"cents": 1250, "currency": "EUR"}});
    let bytes = encode_json(&payment, &json).unwrap();
    let back = decode_to_json(&payment, &bytes).unwrap();
    assert_eq!(back["id"], "7");
    // 64-bit integers are strings in protobuf's JSON mapping.
    assert_eq!(back["amount"]["cents"], "1250");
    assert_eq!(back["status"], "", "defaults are shown for matchers");
}

#[test]
fn json_that_does_not_fit_the_message_is_refused() {
    let protos = payments();
    let request = protos.method("payments.v1.Payments/Get").unwrap().input();
    let error = encode_json(&request, &serde_json::json!({"idd": "7"})).unwrap_err();
    assert!(
        error.contains("payments.v1.GetRequest") && error.contains("idd"),
        "{error}"
    );
    let error = encode_json(&request, &serde_json::json!({"id": 7.5})).unwrap_err();
    assert!(error.contains("payments.v1.GetRequest"), "{error}");
}

#[test]
fn matchers_are_compared_in_camel_case() {
    let protos = payments();
    let list = protos.method("payments.v1.Payments/List").unwrap().input();
    let matcher = normalize(&list, &serde_json::json!({"customer_id": "c1"})).unwrap();
    assert_eq!(matcher, serde_json::json!({"customerId": "c1"}));
    let bytes = encode_json(&list, &serde_json::json!({"customerId": "c1", "limit": 3})).unwrap();
    let request = decode_to_json(&list, &bytes).unwrap();
    assert!(crate::agent::stub::json_contains(&request, &matcher));
}

#[test]
fn descriptors_survive_the_trip_to_the_agent() {
    let protos = Protos::decode(&payments().encoded()).unwrap();
    assert!(protos.method("payments.v1.Payments/Get").is_ok());
    assert!(Protos::decode(b"\xff\xff").is_err());
}

#[test]
fn a_syntax_error_names_its_file_and_line() {
    let broken = "syntax = \"proto3\";\nmessage A {\n  string id = ;\n}\n";
    let (_dir, result) = compiled(&[("a.proto", broken)], &["a.proto"]);
    let problem = result.unwrap_err();
    assert_eq!(problem.file, PathBuf::from("a.proto"));
    assert_eq!(problem.at.map(|(line, _)| line), Some(3), "{problem:?}");
}

#[test]
fn an_error_in_an_import_names_the_imported_file() {
    let main = "syntax = \"proto3\";\nimport \"lib/b.proto\";\n";
    let broken = "syntax = \"proto3\";\nmessage B { int32 x = 1; int32 y = 1; }\n";
    let (_dir, result) = compiled(&[("a.proto", main), ("lib/b.proto", broken)], &["a.proto"]);
    let problem = result.unwrap_err();
    assert_eq!(problem.file, PathBuf::from("lib/b.proto"), "{problem:?}");
    assert_eq!(problem.at.map(|(line, _)| line), Some(2), "{problem:?}");
}

#[test]
fn a_missing_import_is_named() {
    let main = "syntax = \"proto3\";\nimport \"nowhere.proto\";\n";
    let (_dir, result) = compiled(&[("a.proto", main)], &["a.proto"]);
    let problem = result.unwrap_err();
    assert!(problem.message.contains("nowhere.proto"), "{problem:?}");
    assert_eq!(problem.at.map(|(line, _)| line), Some(2), "{problem:?}");
}

#[test]
fn imports_never_leave_the_manifest_folder() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().canonicalize().unwrap();
    std::fs::write(outside.join("secret.proto"), "syntax = \"proto3\";\n").unwrap();
    let base = outside.join("project");
    std::fs::create_dir(&base).unwrap();
    // `..` in an import is refused by the parser; a link is the way out.
    std::os::unix::fs::symlink(outside.join("secret.proto"), base.join("link.proto")).unwrap();
    std::fs::write(
        base.join("a.proto"),
        "syntax = \"proto3\";\nimport \"link.proto\";\n",
    )
    .unwrap();
    let real = base.join("a.proto");
    let result = Protos::compile(
        &base,
        Path::new(""),
        &[Source {
            real: &real,
            shown: "a.proto".into(),
        }],
    );
    let problem = result.unwrap_err();
    assert!(
        problem.message.contains("outside the manifest's folder"),
        "{problem:?}"
    );
}

#[test]
fn well_known_types_are_built_in() {
    let main = "syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\nmessage A { google.protobuf.Timestamp at = 1; }\n";
    let (_dir, result) = compiled(&[("a.proto", main)], &["a.proto"]);
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn status_codes_by_name_or_number() {
    assert_eq!(status::parse("NOT_FOUND"), Some(5));
    assert_eq!(status::parse("not_found"), Some(5));
    assert_eq!(status::parse("14"), Some(14));
    assert_eq!(status::parse("17"), None);
    assert_eq!(status::parse("NOPE"), None);
    assert_eq!(status::name(12), "UNIMPLEMENTED");
    assert_eq!(status::name(99), "CODE_99");
}
