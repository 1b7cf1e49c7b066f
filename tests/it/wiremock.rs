//! `stub: { wiremock: ... }`: folders of real WireMock mappings (WireMock's
//! own test resources and documentation examples, `tests/fixtures/wiremock`)
//! answered by the real agent as WireMock answers them, and mappings it
//! cannot serve refused by `validate` with their file and JSON path.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

/// Copies a fixture folder (`tests/fixtures/wiremock/NAME`) to `to`.
fn copy_fixture(name: &str, to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    copy(&root().join("tests/fixtures/wiremock").join(name), to);
}

const MANIFEST: &str = web_with!(
    r#"  remote:
    stub:
      wiremock: ./remoteloader
  files:
    stub:
      port: 8081
      routes:
        - match: { path: /test }
          respond: { body: from the manifest }
      wiremock: ./classpath-filesource/mappings
"#
);

/// The status line of a raw HTTP/1.1 GET (the reason phrase is not in the
/// test client's answer).
fn status_line(url: &str, path: &str) -> String {
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.lines().next().unwrap_or_default().to_owned()
}

fn a_mappings_folder_answers_through_the_agent_as_wiremock_would() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("wiremock", MANIFEST);
    copy_fixture("remoteloader", &sandbox.path("remoteloader"));
    copy_fixture(
        "classpath-filesource",
        &sandbox.path("classpath-filesource"),
    );
    // One of the documentation's examples, and a reason phrase.
    sandbox.write(
        "remoteloader/mappings/teapot.json",
        r#"{"request": {"method": "GET", "url": "/teapot"},
            "response": {"status": 418, "statusMessage": "Short and stout",
                         "headers": {"Set-Cookie": ["a=1", "b=2"]}}}"#,
    );
    std::fs::copy(
        root().join("tests/fixtures/wiremock/docs/mappings/json-path-equality.json"),
        sandbox.path("remoteloader/mappings/json-path-equality.json"),
    )
    .unwrap();
    sandbox.ok(&["up"]);
    let remote = sandbox.url("remote");

    // Status, body and no content type the mapping does not give.
    let answer = request("GET", &format!("{remote}/remote-load/1"), &[], None);
    assert_eq!(
        (answer.status, answer.text().as_str()),
        (200, "Remote load 1")
    );
    assert_eq!(answer.header("content-type"), None);
    // A header matcher and the mapping's headers.
    let answer = request(
        "GET",
        &format!("{remote}/remote-load/2"),
        &[("accept", "text/plain, */*")],
        None,
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("text/plain"));
    // Body files, binary byte for byte, with the mapping's content type.
    let answer = request("GET", &format!("{remote}/image-file"), &[], None);
    assert_eq!(
        answer.body,
        std::fs::read(sandbox.path("remoteloader/__files/favicon3.png")).unwrap()
    );
    let answer = request("GET", &format!("{remote}/text-file-from-header"), &[], None);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.text(), "{}");
    // Repeated headers and the reason phrase on the wire.
    let answer = request("GET", &format!("{remote}/teapot"), &[], None);
    assert_eq!(answer.status, 418);
    let cookies: Vec<&str> = answer
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(
        status_line(&remote, "/teapot"),
        "HTTP/1.1 418 Short and stout"
    );
    // The documentation's JSONPath filter, Jayway semantics on an object.
    let post = |body: &str| {
        request(
            "POST",
            &format!("{remote}/docs/json-path/equality"),
            &[("content-type", "application/json")],
            Some(body),
        )
        .status
    };
    assert_eq!(post(r#"{ "things": { "name": "RequiredThing" } }"#), 200);
    assert_eq!(post(r#"{ "things": { "name": "Wiremock" } }"#), 502);

    // Unmatched: 502, the header, and the closest mapping with the reason.
    let answer = request("GET", &format!("{remote}/remote-load/2"), &[], None);
    assert_eq!(answer.status, 502);
    assert_eq!(answer.header("x-sandbox-unmatched"), Some("true"));
    let text = answer.text();
    assert!(
        text.contains("(GET /remote-load/2 from remoteloader/mappings/two.json): header `accept` is missing (mapping wants contains \"text/plain\")"),
        "{text}"
    );

    // The second stub: `mappings` named directly, `__files` beside it; the
    // manifest's routes first; a fixed delay.
    let files = sandbox.url("files");
    let (status, body) = get(&format!("{files}/test"));
    assert_eq!((status, body.as_str()), (200, "from the manifest"));
    let (status, body) = get(&format!("{files}/second_test"));
    assert_eq!((status, body.as_str()), (200, "testing"));
    let started = Instant::now();
    let (status, body) = get(&format!("{files}/slow-response"));
    let took = started.elapsed();
    assert_eq!((status, body.as_str()), (200, "THINGS!"));
    assert!(took >= Duration::from_millis(500), "answered in {took:?}");

    // From the service, over the sandbox's network.
    let web = sandbox.url("web");
    let (status, body) = get(&format!(
        "{web}/call?url={}",
        encode("http://remote:80/remote-load/1")
    ));
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["body"], "Remote load 1");

    // The journal names the mapping that answered.
    let journal: serde_json::Value =
        serde_json::from_str(&sandbox.ok(&["calls", "remote", "--json"])).unwrap();
    let calls = journal["calls"].as_array().unwrap();
    assert!(
        calls.iter().any(|c| {
            c["path"] == "/image-file"
                && c["matched"].as_str().is_some_and(|m| {
                    m.ends_with("from remoteloader/mappings/with-png-body-file.json")
                })
        }),
        "{journal}"
    );
}

/// `validate` (and `up`, before it starts anything) refuse documented
/// WireMock features the agent cannot serve, each named with its file, line,
/// column and JSON path, and exit 2.
fn unsupported_mappings_fail_validation_with_file_and_json_path() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture("docs-unsupported", &dir.path().join("wiremock"));
    copy_fixture("admin-api-examples", &dir.path().join("admin"));
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        "version: 1\nservice:\n  name: web\n  image: web:dev\ndependencies:\n  api:\n    stub:\n      wiremock: ./wiremock\n  admin:\n    stub:\n      wiremock: ./admin\n",
    )
    .unwrap();
    for command in ["validate", "up"] {
        let out = Command::new(BIN)
            .arg(command)
            .arg("--name")
            .arg(format!("t-wiremock-invalid-{}", std::process::id()))
            .current_dir(dir.path())
            .env_remove("SANDBOX_FILE")
            .output()
            .unwrap();
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {text}");
        for expected in [
            "error: invalid manifest: 5 problems",
            "admin/mappings/stub-mappings.json:35:13: `$.mappings[1].request.bodyPatterns[0].equalToXml`: XML matchers are not supported\n  help: match the XML as text with `contains` or `matches`",
            "wiremock/mappings/fault.json:7:9: `$.response.fault`: faults are not supported in mappings",
            "wiremock/mappings/random-delay.json:8:9: `$.response.delayDistribution`: random and dribbled delays are not supported",
            "wiremock/mappings/substring-cookie.json:4:9: `$.request.cookies`: cookie matchers are not supported",
            "wiremock/mappings/templated.json:7:9: `$.response.transformers`: response templating",
        ] {
            assert!(
                text.contains(expected),
                "{command}: wants {expected}\n{text}"
            );
        }
    }
}

cases! {
    docker: [a_mappings_folder_answers_through_the_agent_as_wiremock_would],
    plain: [unsupported_mappings_fail_validation_with_file_and_json_path],
}
