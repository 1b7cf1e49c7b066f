//! OpenAPI stubs and `check --contract` (PRODUCT.md 6.5), against a real
//! engine, and the documents other projects publish.
//!
//! Every operation of a document is called on the running stub with values
//! made from its parameter and body schemas, and every answer is checked
//! against the document with the same validator the agent uses.
//!
//! Real documents: the kin-openapi Go library's test documents (Debian's
//! `golang-github-getkin-kin-openapi-dev`, MIT), when installed (always
//! under CI), and any folder of documents under `$SANDBOX_OPENAPI_FIXTURES`
//! or `../shared/fixtures/openapi` (see tests/fixtures/openapi/README.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sandbox::openapi::generate::{Generator, Side};
use sandbox::openapi::operations::{self, is_json};
use sandbox::openapi::{Compiled, Contract};
use serde_json::Value;

use crate::common::*;

/// A document in the shape of the Swagger Petstore 3, written for this
/// test (the real one is exercised too when present, see the module doc).
const PETSTORE: &str = include_str!("../fixtures/openapi/petstore-like.yaml");

const PETSTORE_SANDBOX: &str = web_with!(
    r#"  petstore:
    stub: { openapi: ./petstore.yaml, validate: true }
    checks:
      - name: a pet
        request: { path: /pet/10 }
        expect: { status: 200, json: { name: doggie } }
"#
);

/// Calls every operation of `entry`'s document on the stub at `base` with
/// values made from its schemas; each answer must be a declared one that
/// fits the document. Returns how many operations were called.
fn call_every_operation(manifest: &Path, entry: &str, base: &str) -> usize {
    let loaded = sandbox::manifest::load(manifest).expect("the manifest loads");
    let spec = &loaded.specs[entry];
    let bundle = &spec.bundle;
    let compiled = Compiled::new(&Contract::new(bundle)).unwrap();
    assert_eq!(compiled.unusable(), Vec::<String>::new());
    let mut called = 0;
    for op in operations::operations(bundle) {
        let mut path = op.path.clone();
        let mut query = Vec::new();
        let mut headers: Vec<(String, String)> = Vec::new();
        for p in &op.parameters {
            if !p.required() && p.location != "path" {
                continue;
            }
            let value = p
                .schema()
                .map(|(at, schema)| Generator::new(bundle, Side::Request, &[]).value(&at, schema))
                .unwrap_or(Value::String("x".into()));
            let text = match &value {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or(i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            match p.location.as_str() {
                "path" => path = path.replace(&format!("{{{}}}", p.name), &encode(&text)),
                "query" => query.push(format!("{}={}", p.name, encode(&text))),
                "header" => headers.push((p.name.clone(), text)),
                _ => {}
            }
        }
        let mut body = None;
        if let Some((pointer, object)) = &op.body
            && let Some(content) = object.get("content").and_then(Value::as_object)
            && let Some((media, schema)) = content
                .iter()
                .find(|(m, o)| is_json(m) && o.get("schema").is_some())
                .map(|(m, o)| (m, &o["schema"]))
        {
            let at = format!(
                "{pointer}/content/{}/schema",
                sandbox::openapi::bundle::escape(media)
            );
            let value = Generator::new(bundle, Side::Request, &[]).value(&at, schema);
            body = Some(value.to_string());
            headers.push(("content-type".into(), media.clone()));
        }
        let target = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answer = request(
            &op.method,
            &format!("{base}{target}"),
            &header_refs,
            body.as_deref(),
        );
        assert!(
            answer.status != 400 && answer.status != 502,
            "{} {target} ({}): {} {}",
            op.method,
            op.label,
            answer.status,
            answer.text()
        );
        let (label, violations) = compiled
            .check_response(
                &op.method,
                &path,
                false,
                answer.status,
                answer.header("content-type"),
                &answer.body,
            )
            .unwrap_or_else(|v| panic!("{} {target}: {v}", op.method));
        assert_eq!(label, op.label, "{} {target}", op.method);
        assert!(
            violations.is_empty(),
            "{} {target} answered {} {}: {violations:?}",
            op.method,
            answer.status,
            answer.text()
        );
        called += 1;
    }
    called
}

fn a_stub_answers_every_operation_of_its_document() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("openapi", PETSTORE_SANDBOX);
    sandbox.write("petstore.yaml", PETSTORE);
    // The real Swagger Petstore 3 beside it, when it is at hand.
    let real = real_documents()
        .into_iter()
        .find(|d| d.ends_with("petstore"));
    let mut manifest = PETSTORE_SANDBOX.to_owned();
    if let Some(real) = &real {
        copy_folder(real, &sandbox.path("real-petstore"));
        manifest.push_str(
            "  real-petstore:\n    stub: { openapi: ./real-petstore/openapi.yaml, validate: true }\n",
        );
        sandbox.write("sandbox.yaml", &manifest);
    }
    sandbox.ok(&["up"]);
    let base = sandbox.url("petstore");
    let called = call_every_operation(&sandbox.path("sandbox.yaml"), "petstore", &base);
    assert_eq!(called, 6);
    if real.is_some() {
        let base = sandbox.url("real-petstore");
        let called = call_every_operation(&sandbox.path("sandbox.yaml"), "real-petstore", &base);
        assert_eq!(called, 19, "the Swagger Petstore 3 has 19 operations");
    }

    // Named examples pair: the request example `lost` answers the 404
    // example `lost`; other pets get the 200 example. Under the server's
    // path too.
    let answer = request("GET", &format!("{base}/pet/404"), &[], None);
    assert_eq!(answer.status, 404);
    assert_eq!(
        serde_json::from_slice::<Value>(&answer.body).unwrap(),
        serde_json::json!({"code": 404, "message": "no such pet"})
    );
    let (status, body) = get(&format!("{base}/api/v3/pet/10"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("doggie"), "{body}");
    // Declared response headers are answered.
    let answer = request("GET", &format!("{base}/user/login"), &[], None);
    assert_eq!(answer.header("x-rate-limit"), Some("1"));

    // A request that breaks its operation: 400, the header and the violations.
    let answer = request("GET", &format!("{base}/pet/abc"), &[], None);
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(answer.header("x-sandbox-invalid"), Some("true"));
    let refused: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(refused["operation"], "getPetById");
    assert_eq!(
        refused["violations"],
        serde_json::json!([{"pointer": "/path/petId", "expected": "type integer", "found": "\"abc\" (string)"}])
    );
    let (status, body) = http(
        "POST",
        &format!("{base}/pet"),
        Some(r#"{"name": 7, "status": "lost"}"#),
    );
    assert_eq!(status, 400);
    for pointer in ["/body/photoUrls", "/body/name", "/body/status"] {
        assert!(body.contains(pointer), "{pointer} in {body}");
    }
    let answer = request("DELETE", &format!("{base}/pet/1"), &[], None);
    assert_eq!(answer.status, 400);
    assert!(
        answer.text().contains("/header/api_key"),
        "{}",
        answer.text()
    );
    // The journal names the refusal.
    let calls = sandbox.ok(&["calls", "--json"]);
    assert!(calls.contains("contract: invalid request"), "{calls}");

    // check --contract: the stub, its generated routes and the check's live
    // answer keep the contract.
    let out = sandbox.run(&["check", "--contract"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", stderr(&out));
    assert!(stdout.contains("PASS"), "{stdout}");
    assert!(stdout.contains(", 0 violations"), "{stdout}");
    assert!(stdout.contains("1 check answer"), "{stdout}");

    // A route whose body breaks the document: exit 1, its line, the pointer.
    let broken = manifest.replace(
        "    stub: { openapi: ./petstore.yaml, validate: true }\n",
        "    stub:\n      openapi: ./petstore.yaml\n      routes:\n        - match: { method: GET, path: \"/pet/{id}\" }\n          respond: { json: { id: seven, photoUrls: [] } }\n",
    );
    sandbox.write("sandbox.yaml", &broken);
    let out = sandbox.run(&["check", "--contract"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", stderr(&out));
    let line = broken
        .lines()
        .position(|l| l.contains("match: { method: GET, path: \"/pet/{id}\" }"))
        .unwrap()
        + 1;
    let route =
        format!("sandbox.yaml:{line}:11: petstore: route 1 (GET /pet/{{id}}) (getPetById): ");
    assert!(
        stdout.contains(&format!(
            "{route}/body/id: expected type integer, found \"seven\" (string)"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{route}/body/name: expected the required property `name`, found nothing"
        )),
        "{stdout}"
    );
    assert!(stdout.contains(", 2 violations"), "{stdout}");
}

/// A `$ref` that leaves the manifest's folder is refused with its line;
/// `validate` without a document too.
fn refs_outside_the_folder_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("sub/api")).unwrap();
    std::fs::write(root.join("outside.yaml"), "Pet: { type: object }\n").unwrap();
    std::fs::write(
        root.join("sub/api/openapi.yaml"),
        "openapi: 3.1.0\ninfo: { title: t, version: '1' }\npaths:\n  /pets:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: { $ref: '../../outside.yaml#/Pet' }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("sub/sandbox.yaml"),
        "version: 1\nservice: { name: app, image: app:dev }\ndependencies:\n  pets:\n    stub: { openapi: api/openapi.yaml }\n  other:\n    stub: { validate: true }\n",
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .current_dir(root)
        .args(["validate", "-f", "sub/sandbox.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "sub/api/openapi.yaml:11:31: `api/../../outside.yaml` leaves the manifest's folder"
        ),
        "{err}"
    );
    assert!(
        err.contains("sub/sandbox.yaml:7:13: `dependencies.other.stub.validate` checks requests against an OpenAPI document, but the stub names none"),
        "{err}"
    );
}

/// A replay's recording is checked against the document its dependency
/// declares, answer and request, each finding at its interaction's line;
/// no engine is needed when the manifest has no checks.
fn recordings_are_checked_against_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("petstore.yaml"), PETSTORE).unwrap();
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        "version: 1\nservice: { name: app, image: app:dev }\ndependencies:\n  pets:\n    replay: pets.yaml\n    api: { openapi: ./petstore.yaml }\n",
    )
    .unwrap();
    let recording = r#"version: 1
interactions:
  - request: { method: GET, path: /pet/10 }
    response:
      status: 200
      headers: { content-type: application/json }
      body: '{"id": 10, "name": "doggie", "photoUrls": []}'
  - request: { method: GET, path: /pet/findByStatus, query: { status: lost } }
    response:
      status: 200
      headers: { content-type: application/json }
      body: '[{"id": 10, "photoUrls": []}]'
  - request: { method: GET, path: /pet/10 }
    response: { status: 500, body: boom }
  - request: { method: GET, path: /owners }
    response: { status: 200 }
"#;
    std::fs::write(dir.path().join("pets.yaml"), recording).unwrap();
    let out = std::process::Command::new(BIN)
        .current_dir(dir.path())
        .args(["check", "--contract"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", stderr(&out));
    let expected = [
        r#"pets.yaml:8:5: pets: interaction 2 (GET /pet/findByStatus) (findPetsByStatus): /body/0/name: expected the required property `name`, found nothing"#,
        r#"pets.yaml:8:5: pets: interaction 2 (GET /pet/findByStatus) (findPetsByStatus): /request/query/status: expected one of ["available","pending","sold"], found "lost""#,
        r#"pets.yaml:13:5: pets: interaction 3 (GET /pet/10) (getPetById): /status: expected a declared status (200, 404), found 500"#,
        r#"pets.yaml:15:5: pets: interaction 4 (GET /owners): expected an operation of the document, found GET /owners, which the document does not declare"#,
        "contract: 4 checked (4 recorded interactions), 4 violations",
    ];
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected, "{stdout}");
}

/// `check --contract` on a document of 200 operations: well under a second
/// in a release build (benches/openapi.sh), a few in this debug build.
fn a_200_operation_document_is_checked_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = String::from("openapi: 3.0.3\ninfo: { title: big, version: '1' }\npaths:\n");
    for i in 0..100 {
        doc.push_str(&format!(
            "  /items{i}/{{id}}:\n    parameters: [{{ name: id, in: path, required: true, schema: {{ type: integer }} }}]\n    get:\n      operationId: get{i}\n      parameters: [{{ name: q, in: query, schema: {{ type: string, enum: [a, b] }} }}]\n      responses:\n        '200': {{ description: ok, content: {{ application/json: {{ schema: {{ $ref: '#/components/schemas/Item' }} }} }} }}\n        '404': {{ description: none }}\n    put:\n      operationId: put{i}\n      requestBody: {{ required: true, content: {{ application/json: {{ schema: {{ $ref: '#/components/schemas/Item' }}, examples: {{ one: {{ value: {{ id: 1, name: a }} }} }} }} }} }}\n      responses:\n        '200': {{ description: ok, content: {{ application/json: {{ schema: {{ $ref: '#/components/schemas/Item' }}, examples: {{ one: {{ value: {{ id: 1, name: a }} }} }} }} }} }}\n"
        ));
    }
    doc.push_str("components:\n  schemas:\n    Item:\n      type: object\n      required: [id, name]\n      properties:\n        id: { type: integer, minimum: 1 }\n        name: { type: string, maxLength: 20 }\n        born: { type: string, format: date-time }\n        owner: { $ref: '#/components/schemas/Owner' }\n    Owner:\n      type: object\n      properties:\n        email: { type: string, format: email }\n        items: { type: array, items: { $ref: '#/components/schemas/Item' } }\n");
    std::fs::write(dir.path().join("openapi.yaml"), doc).unwrap();
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        "version: 1\nservice: { name: app, image: app:dev }\ndependencies:\n  big:\n    stub: { openapi: ./openapi.yaml, validate: true }\n",
    )
    .unwrap();
    let started = Instant::now();
    let out = std::process::Command::new(BIN)
        .current_dir(dir.path())
        .args(["check", "--contract"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", stderr(&out));
    assert!(
        stdout.contains("contract: 300 checked (300 stub routes), 0 violations"),
        "{stdout}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// Where the kin-openapi library's test documents are, when Debian's
/// package is installed.
const KIN_OPENAPI: &str = "/usr/share/gocode/src/github.com/getkin/kin-openapi/openapi3/testdata";

/// Real documents that load, whose `$ref`s resolve across files and whose
/// generated stub routes keep their own contract; and one with a broken
/// `$ref`, named with its line.
fn real_documents_load_and_their_stubs_keep_their_contract() {
    let kin = std::env::var_os("SANDBOX_KIN_OPENAPI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(KIN_OPENAPI));
    let kin = kin.as_path();
    if kin.is_dir() {
        let dir = tempfile::tempdir().unwrap();
        copy_folder(kin, dir.path());
        for (document, routes) in [
            // Paths, responses, parameters and schemas in other files,
            // relative to the file that names them.
            ("relativeDocsUseDocumentPath/openapi/openapi.yml", 2),
            // A schema that refers to itself across files.
            ("recursiveRef/openapi.yml", 2),
            ("refInRefInProperty/openapi.yaml", 1),
            ("refInLocalRefInParentsSubdir/spec/openapi.json", 1),
            ("circularref.openapi.yml", 1),
            ("link-example.yaml", 6),
            ("callbacks.yml", 2),
        ] {
            let stdout = check_document(dir.path(), document, Some(0));
            assert!(
                stdout.contains(&format!(
                    "contract: {routes} checked ({routes} stub route{}), 0 violations",
                    if routes == 1 { "" } else { "s" }
                )),
                "{document}: {stdout}"
            );
        }
        let out = run_check(dir.path(), "issue235.spec0-typo.yml");
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("issue235.spec0-typo.yml:24:17: `$ref` points at nothing: `#/components/schemas/ObjectD` is not in the document"),
            "{}",
            stderr(&out)
        );
    } else if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing: install golang-github-getkin-kin-openapi-dev (.ci/run unpacks it)",
            kin.display()
        );
    }
    // Other real documents, when a folder of them is at hand: each
    // `NAME/openapi.yaml` (or .json) must load and keep its contract.
    for folder in real_documents() {
        let dir = tempfile::tempdir().unwrap();
        copy_folder(&folder, dir.path());
        let document = ["openapi.yaml", "openapi.json", "openapi/openapi.yaml"]
            .into_iter()
            .find(|d| dir.path().join(d).exists())
            .unwrap_or_else(|| panic!("{} has no openapi.yaml", folder.display()));
        check_document(dir.path(), document, Some(0));
    }
}

fn run_check(dir: &Path, document: &str) -> std::process::Output {
    std::fs::write(
        dir.join("sandbox.yaml"),
        format!(
            "version: 1\nservice: {{ name: app, image: app:dev }}\ndependencies:\n  api:\n    stub: {{ openapi: {document}, validate: true }}\n"
        ),
    )
    .unwrap();
    std::process::Command::new(BIN)
        .current_dir(dir)
        .args(["check", "--contract"])
        .output()
        .unwrap()
}

fn check_document(dir: &Path, document: &str, code: Option<i32>) -> String {
    let out = run_check(dir, document);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        code,
        "{document}: {stdout}{}",
        stderr(&out)
    );
    stdout
}

/// The folders of real documents at hand: `$SANDBOX_OPENAPI_FIXTURES`,
/// else `shared/fixtures/openapi` beside the repository.
fn real_documents() -> Vec<PathBuf> {
    let root = std::env::var_os("SANDBOX_OPENAPI_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/fixtures/openapi"));
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut folders: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    folders
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

cases! {
    docker: [a_stub_answers_every_operation_of_its_document],
    plain: [
        refs_outside_the_folder_are_refused_with_their_line,
        recordings_are_checked_against_the_contract,
        a_200_operation_document_is_checked_quickly,
        real_documents_load_and_their_stubs_keep_their_contract,
    ],
}
