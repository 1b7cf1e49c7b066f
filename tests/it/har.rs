//! HAR 1.2 files (PRODUCT.md 6.5): a `replay:` of a HAR answered by the real
//! agent, and `sandbox convert` driven through the real binary.

use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::common::*;

/// A fixture of tests/fixtures/har.
fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/har").join(name)).unwrap()
}

/// The decoded response body of the fixture entry whose URL ends with `end`.
fn recorded_body(har: &str, end: &str) -> Vec<u8> {
    let har: serde_json::Value = serde_json::from_str(har.trim_start_matches('\u{feff}')).unwrap();
    let entry = har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"]["url"].as_str().unwrap().ends_with(end))
        .unwrap_or_else(|| panic!("no entry for {end}"));
    let content = &entry["response"]["content"];
    let text = content["text"].as_str().unwrap();
    if content["encoding"] == "base64" {
        BASE64.decode(text).unwrap()
    } else {
        text.as_bytes().to_vec()
    }
}

fn a_har_replays_its_recorded_answers_through_the_agent() {
    if !docker_or_skip() {
        return;
    }
    let manifest = web_with!(
        r#"  api:
    replay: traffic/chromium.har
  google:
    replay: traffic/chrome.har
"#
    );
    let sandbox = Sandbox::new("har", manifest);
    let chromium = fixture("chromium.har");
    let chrome = fixture("mitmproxy-chrome.har");
    sandbox.write("traffic/chromium.har", &chromium);
    sandbox.write("traffic/chrome.har", &chrome);
    let out = sandbox.run(&["up"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The HAR from Chrome holds two hosts and an entry without an answer.
    let warnings = stderr(&out);
    assert!(
        warnings.contains("/traffic/chrome.har:196:7: 1 entry is left out")
            && warnings
                .contains("the HAR holds requests to 2 hosts (mitmproxy.org, www.google.com)")
            && warnings.contains("got no answer (status 0"),
        "{warnings}"
    );

    let api = sandbox.url("api");
    // A repeated query name matches with every value, in order.
    let listed = request(
        "GET",
        &format!("{api}/api/items?tag=a&tag=b&q=red%20shoes"),
        &[],
        None,
    );
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.body, recorded_body(&chromium, "q=red%20shoes"));
    let reordered = request(
        "GET",
        &format!("{api}/api/items?tag=b&tag=a&q=red%20shoes"),
        &[],
        None,
    );
    assert_eq!(reordered.status, 502);
    assert_eq!(reordered.header("x-sandbox-unmatched"), Some("true"));
    assert!(
        reordered
            .text()
            .contains("query parameter `tag` is `[b, a]`, recorded `[a, b]`"),
        "{}",
        reordered.text()
    );

    // The POST's body is part of the match; its answer comes back whole.
    let made = request(
        "POST",
        &format!("{api}/api/items"),
        &[("content-type", "application/json")],
        Some(r#"{"sku":"A1","qty":2}"#),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    assert_eq!(made.header("location"), Some("/api/items/7"));
    assert_eq!(made.text(), r#"{"sku": "A1", "qty": 2, "id": 7}"#);

    // The browser saved the gzip answer decoded: it is replayed decoded,
    // without a content-encoding that would claim otherwise.
    let compressed = request("GET", &format!("{api}/compressed"), &[], None);
    assert_eq!(compressed.status, 200);
    assert_eq!(compressed.text(), "compressed ".repeat(40));
    assert_eq!(compressed.header("content-encoding"), None);

    // Binary bodies byte for byte; a redacted set-cookie is left out.
    let logo = request("GET", &format!("{api}/logo.png"), &[], None);
    assert_eq!(logo.body, recorded_body(&chromium, "/logo.png"));
    assert_eq!(logo.header("content-type"), Some("image/png"));
    let login = request("POST", &format!("{api}/login"), &[], None);
    assert_eq!((login.status, login.text().as_str()), (200, "welcome\n"));
    assert_eq!(login.header("set-cookie"), None);

    // Not in the HAR: the 502 that names the closest recorded request.
    let missing = request("GET", &format!("{api}/api/orders"), &[], None);
    assert_eq!(missing.status, 502);
    assert_eq!(missing.header("x-sandbox-unmatched"), Some("true"));
    assert!(
        missing
            .text()
            .starts_with("no recorded request matched GET /api/orders\nclosest: interaction"),
        "{}",
        missing.text()
    );

    // From the service, inside the network, by the dependency's name.
    let web = sandbox.url("web");
    let (status, body) = get(&format!(
        "{web}/call?url={}",
        encode(
            "http://google:80/images/branding/googlelogo/2x/googlelogo_light_color_272x92dp.png"
        )
    ));
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["status"], 200, "{answer}");
    let logo = request(
        "GET",
        &format!(
            "{}/images/branding/googlelogo/2x/googlelogo_light_color_272x92dp.png",
            sandbox.url("google")
        ),
        &[],
        None,
    );
    assert_eq!(logo.body, recorded_body(&chrome, "272x92dp.png"));

    // The journal says which interaction answered.
    let calls: serde_json::Value =
        serde_json::from_str(&sandbox.ok(&["calls", "api", "--json"])).unwrap();
    let calls = calls["calls"].as_array().unwrap();
    assert!(
        calls.iter().any(|c| c["path"] == "/compressed"
            && c["matched"].as_str().unwrap().starts_with("interaction")),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c["path"] == "/api/orders" && c["status"] == 502 && c["matched"].is_null())
    );
}

fn a_broken_har_stops_up_before_anything_starts() {
    if !docker_or_skip() {
        return;
    }
    let manifest = web_with!("  api:\n    replay: traffic/api.har\n");
    let sandbox = Sandbox::new("badhar", manifest);
    sandbox.write(
        "traffic/api.har",
        "{\"log\": {\"entries\": [\n  {\"request\": {\"method\": \"GET\", \"url\": \"/a\"},\n   \"response\": {\"status\": \"ok\"}}\n]}}\n",
    );
    let out = sandbox.run(&["up"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("/traffic/api.har:3:30: invalid HAR: entry 1 (`log.entries[0]`): invalid type: string \"ok\""),
        "{err}"
    );
    assert_eq!(sandbox.leftovers(), 0);
}

/// `up --record` on a dependency that replays a HAR writes a HAR, which a
/// plain `up` then replays.
fn recording_a_har_replay_writes_a_har() {
    if !docker_or_skip() {
        return;
    }
    let manifest = web_with!(
        r#"  origin:
    build: ./app
    command: ["/shopd", "fixture", "--port", "9000"]
    ports: { http: 9000 }
    health: { http: /healthz }
  api:
    replay: traffic/api.har
"#
    );
    let sandbox = Sandbox::new("harrec", manifest);
    sandbox.write("traffic/api.har", &fixture("mitmproxy-insomnia.har"));
    sandbox.ok(&["up", "--record", "api=http://origin:9000"]);
    let api = sandbox.url("api");
    let first = request("GET", &format!("{api}/status/201?x=1&x=2"), &[], None);
    assert_eq!(first.status, 201);
    let binary = request("GET", &format!("{api}/bytes?n=300"), &[], None);
    assert_eq!(binary.status, 200);
    sandbox.ok(&["down"]);
    let text = std::fs::read_to_string(sandbox.path("traffic/api.har")).unwrap();
    let har: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(har["log"]["creator"]["name"], "sandbox");
    assert_eq!(har["log"]["entries"].as_array().unwrap().len(), 2, "{text}");
    let names: Vec<_> = std::fs::read_dir(sandbox.path("traffic"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");

    // Replayed without its upstream, byte for byte.
    sandbox.ok(&["up"]);
    let api = sandbox.url("api");
    assert_eq!(
        request("GET", &format!("{api}/status/201?x=1&x=2"), &[], None).status,
        201
    );
    assert_eq!(
        request("GET", &format!("{api}/status/201?x=2&x=1"), &[], None).status,
        502
    );
    assert_eq!(
        request("GET", &format!("{api}/bytes?n=300"), &[], None).body,
        binary.body
    );
}

/// `sandbox convert` in a temporary folder.
fn convert(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("convert")
        .args(args)
        .current_dir(dir)
        .env_remove("SANDBOX_FILE")
        .output()
        .unwrap()
}

fn convert_turns_a_har_into_a_recording_and_back() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.har"), fixture("chromium.har")).unwrap();
    let out = convert(dir.path(), &["in.har", "api.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "wrote api.yaml (7 interactions) from in.har\n"
    );
    assert!(out.stdout.is_empty());
    let yaml = std::fs::read_to_string(dir.path().join("api.yaml")).unwrap();
    let recording = sandbox::manifest::Recording::parse(&yaml).unwrap();
    let listed = recording
        .interactions
        .iter()
        .find(|i| i.request.path == "/api/items" && i.request.method == "GET")
        .unwrap();
    assert_eq!(listed.request.query["tag"].values(), ["a", "b"]);
    let made = recording
        .interactions
        .iter()
        .find(|i| i.request.path == "/api/items" && i.request.method == "POST")
        .unwrap();
    assert_eq!(made.request.headers["authorization"], "<redacted>");
    // (The page's own script, a recorded body, still shows what it sent.)
    assert!(!yaml.contains("authorization: Bearer"), "{yaml}");
    assert!(!yaml.contains("session=abc123"), "{yaml}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("api.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);

    // The recording validates as a replay, and so does the HAR made from it.
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        "version: 1\nservice: { name: web, image: web:dev }\ndependencies:\n  a: { replay: api.yaml }\n  b: { replay: back.har }\n",
    )
    .unwrap();
    let out = convert(dir.path(), &["api.yaml", "back.har"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let validate = Command::new(BIN)
        .args(["validate"])
        .current_dir(dir.path())
        .env_remove("SANDBOX_FILE")
        .output()
        .unwrap();
    assert!(validate.status.success(), "{}", stderr(&validate));
    assert!(
        !stderr(&validate).contains("warning"),
        "{}",
        stderr(&validate)
    );

    // YAML -> HAR -> YAML is the same file, byte for byte.
    let out = convert(dir.path(), &["back.har", "again.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("again.yaml")).unwrap(),
        yaml.as_bytes()
    );
    let har: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("back.har")).unwrap()).unwrap();
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(har["log"]["creator"]["name"], "sandbox");
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 7);
    let logo = entries
        .iter()
        .find(|e| e["request"]["url"].as_str().unwrap().ends_with("/logo.png"))
        .unwrap();
    assert_eq!(logo["response"]["content"]["encoding"], "base64");
    assert_eq!(
        BASE64
            .decode(logo["response"]["content"]["text"].as_str().unwrap())
            .unwrap(),
        recorded_body(&fixture("chromium.har"), "/logo.png")
    );
}

fn convert_refuses_to_overwrite_and_names_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("in.har"), fixture("mitmproxy-insomnia.har")).unwrap();
    std::fs::write(path("out.yaml"), "keep me\n").unwrap();

    let out = convert(dir.path(), &["in.har", "out.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: out.yaml already exists; pass --force to replace it\n"
    );
    assert_eq!(
        std::fs::read_to_string(path("out.yaml")).unwrap(),
        "keep me\n"
    );
    let out = convert(dir.path(), &["--force", "in.har", "out.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(path("out.yaml"))
            .unwrap()
            .starts_with("version: 1\n")
    );

    // Bad input: exit 2 with the file, line and column; nothing written.
    std::fs::write(path("bad.har"), "{\"log\": {\"entries\": [\n  {\"request\": {\"url\": \"/\"}, \"response\": {\"status\": 200}}\n]}}\n").unwrap();
    let out = convert(dir.path(), &["bad.har", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: bad.har:2:26: invalid HAR: entry 1 (`log.entries[0]`): missing field `method`\n  help: a HAR file is"),
        "{}",
        stderr(&out)
    );
    assert!(!path("bad.yaml").exists());
    std::fs::write(path("bad.yaml"), "version: 1\ninteractions:\n  - request: { method: GET, path: /a }\n    response: { status: fine }\n").unwrap();
    let out = convert(dir.path(), &["bad.yaml", "other.har"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: bad.yaml:4:25: invalid recording: interactions[0].response.status: invalid type: string \"fine\", expected u16"),
        "{}",
        stderr(&out)
    );
    std::fs::write(path("torn.har"), "{\"log\": {\"entries\": [").unwrap();
    let out = convert(dir.path(), &["torn.har", "torn.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: torn.har:1:21: invalid HAR: EOF while parsing a list"),
        "{}",
        stderr(&out)
    );

    // Formats come from the extensions.
    for (args, expected) in [
        (
            ["in.har", "out.txt"],
            "error: cannot tell the format of out.txt from its name",
        ),
        (
            ["in.har", "copy.har"],
            "error: in.har and copy.har are both HAR files",
        ),
        (
            ["missing.yaml", "x.har"],
            "error: missing.yaml does not exist",
        ),
        (
            ["in.har", "no/such/dir.yaml"],
            "error: cannot write no/such/dir.yaml: the folder no/such does not exist",
        ),
    ] {
        let out = convert(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).starts_with(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "no temporary file is left: {names:?}");
}

cases! {
    docker: [
        a_har_replays_its_recorded_answers_through_the_agent,
        a_broken_har_stops_up_before_anything_starts,
        recording_a_har_replay_writes_a_har,
    ],
    plain: [
        convert_turns_a_har_into_a_recording_and_back,
        convert_refuses_to_overwrite_and_names_bad_input,
    ],
}
