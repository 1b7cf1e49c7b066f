//! The README's examples are real: each block marked `<!-- example: NAME -->`
//! is run and its output compared word for word.

use std::process::Command;

use crate::common::*;

/// The fenced block that follows the marker `<!-- example: NAME -->`.
pub fn example(name: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let marker = format!("<!-- example: {name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("README.md has no `{marker}`"))
        .1;
    let fence = after.find("```").expect("a fenced block after the marker");
    let body = &after[fence + 3..];
    let body = &body[body.find('\n').expect("a fence line") + 1..];
    body[..body.find("```").expect("a closing fence")].to_owned()
}

fn the_validate_example_prints_what_the_readme_shows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        example("validate manifest"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("validate")
        .current_dir(dir.path())
        .env_remove("SANDBOX_FILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), example("validate output"));
}

/// The README's recording example is a recording `replay` accepts, and
/// `schema --recording` describes every field it uses.
fn the_recording_example_is_a_valid_recording() {
    let dir = tempfile::tempdir().unwrap();
    let recording = example("recording");
    std::fs::write(dir.path().join("example.yaml"), &recording).unwrap();
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        "version: 1\nservice:\n  name: web\n  image: web:dev\ndependencies:\n  items:\n    replay: example.yaml\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("validate")
        .current_dir(dir.path())
        .env_remove("SANDBOX_FILE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let out = Command::new(BIN)
        .args(["schema", "--recording"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fields = |def: &str| -> Vec<String> {
        let properties = if def.is_empty() {
            &schema["properties"]
        } else {
            &schema["$defs"][def]["properties"]
        };
        properties
            .as_object()
            .unwrap_or_else(|| panic!("no properties for {def:?} in {schema}"))
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(fields(""), ["interactions", "proto", "version"]);
    for key in ["method", "path", "query", "headers", "body", "body_base64"] {
        assert!(fields("RecordedRequest").contains(&key.to_owned()), "{key}");
        assert!(
            recording.contains(&format!("{key}:")),
            "the example shows {key}"
        );
    }
    for key in ["status", "headers", "body", "body_base64"] {
        assert!(
            fields("RecordedResponse").contains(&key.to_owned()),
            "{key}"
        );
    }
}

/// The README's stub, up for real: a call that nothing matches gets the
/// 502 and the body the README shows.
fn the_stub_example_explains_a_miss_as_the_readme_shows() {
    if !docker_or_skip() {
        return;
    }
    let manifest = format!(
        "version: 1\nservice:\n  name: web\n  build: ./app\n  command: [\"/shopd\", \"fixture\", \"--port\", \"8080\"]\n  ports: {{ http: 8080 }}\n  health: {{ http: /healthz }}\ndependencies:\n{}",
        example("stub")
    );
    let sandbox = Sandbox::new("readmestub", &manifest);
    std::fs::create_dir_all(sandbox.path("stubs")).unwrap();
    std::fs::copy(
        root().join("sandboxes/shop/stubs/payments-extra.yaml"),
        sandbox.path("stubs/payments-extra.yaml"),
    )
    .unwrap();
    sandbox.ok(&["up"]);
    let answer = request(
        "GET",
        &format!("{}/payments/42/refund", sandbox.url("payments")),
        &[],
        None,
    );
    assert_eq!(answer.status, 502);
    assert_eq!(answer.text(), example("unmatched"));
    sandbox.ok(&["down"]);
}

cases! {
    docker: [the_stub_example_explains_a_miss_as_the_readme_shows],
    plain: [
        the_validate_example_prints_what_the_readme_shows,
        the_recording_example_is_a_valid_recording,
    ],
}
