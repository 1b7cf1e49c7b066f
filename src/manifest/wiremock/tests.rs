//! Reading a mappings folder: the layouts, the order of routes, and every
//! problem named with its file, line, column, JSON path and fix.

use std::path::Path;

use super::*;
use crate::manifest::{self, ManifestError};

/// A manifest folder with files; returns its path (kept alive by the dir).
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    dir
}

/// Reads `name` inside `dir` as the manifest's `wiremock: name` would.
fn read_in(dir: &Path, name: &str) -> Mappings {
    let base = dir.canonicalize().unwrap();
    read(&base, &base.join(name), Path::new(name))
}

/// Each problem as `file:line:col: message`.
fn problems(read: &Mappings) -> Vec<String> {
    read.problems.iter().map(|p| p.to_string()).collect()
}

/// The one problem of a mapping file `m.json` with this text.
fn only(text: &str) -> String {
    let dir = folder(&[("w/m.json", text)]);
    let read = read_in(dir.path(), "w");
    assert_eq!(read.problems.len(), 1, "{:#?}", read.problems);
    assert!(read.routes.is_empty());
    read.problems[0].to_string()
}

fn sources(read: &Mappings) -> Vec<String> {
    read.routes
        .iter()
        .map(|r| r.converted.as_ref().unwrap().source.clone())
        .collect()
}

#[test]
fn a_root_with_mappings_and_files_is_wiremocks_layout() {
    let dir = folder(&[
        (
            "wm/mappings/a.json",
            r#"{"response": {"bodyFileName": "b.txt"}}"#,
        ),
        ("wm/__files/b.txt", "bee"),
    ]);
    let base = dir.path().canonicalize().unwrap();
    assert_eq!(
        layout(&base, &base.join("wm")),
        Layout {
            mappings: base.join("wm/mappings"),
            files: Some(base.join("wm/__files")),
        }
    );
    let read = read_in(dir.path(), "wm");
    assert!(read.problems.is_empty(), "{:#?}", read.problems);
    assert_eq!(sources(&read), ["wm/mappings/a.json"]);
    let answer = &read.routes[0].converted.as_ref().unwrap().answer;
    assert_eq!(answer.body_base64.as_deref(), Some("YmVl"));
}

#[test]
fn a_mappings_folder_finds_its_files_inside_or_beside_it() {
    // Inside: its `.json` bodies are not mappings.
    let dir = folder(&[
        ("m/a.json", r#"{"response": {"bodyFileName": "body.json"}}"#),
        ("m/__files/body.json", r#"{"not": "a mapping"}"#),
        ("m/notes.md", "not JSON, skipped as WireMock skips it"),
    ]);
    let read = read_in(dir.path(), "m");
    assert!(read.problems.is_empty(), "{:#?}", read.problems);
    assert_eq!(sources(&read), ["m/a.json"]);
    // Beside: `mappings` named directly, `__files` next to it.
    let dir = folder(&[
        (
            "stubs/mappings/a.json",
            r#"{"response": {"bodyFileName": "x/b.txt"}}"#,
        ),
        ("stubs/__files/x/b.txt", "b"),
    ]);
    let read = read_in(dir.path(), "stubs/mappings");
    assert!(read.problems.is_empty(), "{:#?}", read.problems);
    // No `__files` at all.
    let dir = folder(&[("m/a.json", r#"{"response": {"bodyFileName": "b.txt"}}"#)]);
    let text = problems(&read_in(dir.path(), "m")).join("\n");
    assert!(
        text.contains("m/a.json:1:15: `$.response.bodyFileName`: there is no `__files` folder to read `b.txt` from"),
        "{text}"
    );
    assert!(text.contains("put the file in `m/__files/`"), "{text}");
}

#[test]
fn routes_come_in_wiremocks_precedence() {
    let dir = folder(&[
        ("w/a.json", r#"{"request": {"url": "/a"}}"#),
        ("w/b/c.json", r#"{"request": {"url": "/c"}, "priority": 1}"#),
        (
            "w/b/d.json",
            r#"{"mappings": [{"request": {"url": "/d0"}}, {"request": {"url": "/d1"}, "priority": 9}, {"request": {"url": "/d2"}}]}"#,
        ),
        ("w/e.json", r#"{"request": {"url": "/e"}, "priority": 5}"#),
    ]);
    let read = read_in(dir.path(), "w");
    assert!(read.problems.is_empty(), "{:#?}", read.problems);
    assert_eq!(
        sources(&read),
        [
            "w/b/c.json",
            "w/e.json",
            "w/b/d.json $.mappings[2]",
            "w/b/d.json $.mappings[0]",
            "w/a.json",
            "w/b/d.json $.mappings[1]",
        ]
    );
}

#[test]
fn the_manifests_routes_and_files_come_before_the_mappings() {
    let dir = folder(&[
        (
            "sandbox.yaml",
            "version: 1\nservice:\n  name: web\n  image: web:dev\ndependencies:\n  api:\n    stub:\n      routes:\n        - match: { path: /own }\n          respond: { body: own }\n      files: [more.yaml]\n      wiremock: ./wm\n",
        ),
        ("more.yaml", "- match: { path: /file }\n  respond: {}\n"),
        (
            "wm/mappings/a.json",
            r#"{"request": {"urlPath": "/mapped"}}"#,
        ),
    ]);
    let loaded = manifest::load(&dir.path().join("sandbox.yaml")).unwrap();
    let routes = &loaded.stub_routes["api"];
    let paths: Vec<_> = routes.iter().map(|r| r.matcher.path.clone()).collect();
    assert_eq!(
        paths,
        [
            Some("/own".into()),
            Some("/file".into()),
            Some("/mapped".into())
        ]
    );
    assert!(routes[2].converted.is_some() && routes[0].converted.is_none());
    assert!(
        loaded.manifest.dependencies["api"]
            .stub
            .as_ref()
            .unwrap()
            .wiremock
            .is_some()
    );
}

#[test]
fn the_folder_must_exist_be_a_folder_and_stay_inside() {
    let manifest = |wiremock: &str| {
        format!(
            "version: 1\nservice:\n  name: web\n  image: web:dev\ndependencies:\n  api:\n    stub:\n      wiremock: {wiremock}\n"
        )
    };
    let cases = [
        (
            "./missing",
            "the WireMock folder `./missing` does not exist",
        ),
        (
            "file.json",
            "`dependencies.api.stub.wiremock` must be a folder; `file.json` is a file",
        ),
        (
            "../elsewhere",
            "`../elsewhere` leaves the manifest's folder",
        ),
    ];
    for (value, expected) in cases {
        let dir = folder(&[("sandbox.yaml", &manifest(value)), ("file.json", "{}")]);
        match manifest::load(&dir.path().join("sandbox.yaml")) {
            Err(ManifestError::Invalid { problems }) => {
                assert_eq!(problems.len(), 1, "{problems:#?}");
                assert_eq!(problems[0].at, Some((8, 17)));
                assert_eq!(problems[0].message, expected);
            }
            other => panic!("{value}: {other:?}"),
        }
    }
}

#[test]
fn unsupported_features_are_named_with_their_json_path_and_fix() {
    let cases = [
        (
            r#"{"request": {"bodyPatterns": [{"matchesXml": "<a/>"}]}}"#,
            "w/m.json:1:32: `$.request.bodyPatterns[0].matchesXml`: XML matchers are not supported",
            "match the XML as text",
        ),
        (
            r#"{"request": {"bodyPatterns": [{"equalToXml": "<a/>"}]}}"#,
            "`$.request.bodyPatterns[0].equalToXml`: XML matchers are not supported",
            "with `contains` or `matches`",
        ),
        (
            r#"{"scenarioName": "s", "requiredScenarioState": "Started"}"#,
            "`$.requiredScenarioState`: scenarios (stateful stubs) are not supported",
            "a mapping of its own",
        ),
        (
            r#"{"response": {"proxyBaseUrl": "http://example.test"}}"#,
            "`$.response.proxyBaseUrl`: proxying is not supported",
            "`record:`",
        ),
        (
            r#"{"response": {"fault": "EMPTY_RESPONSE"}}"#,
            "`$.response.fault`: faults are not supported in mappings",
            "`faults:`",
        ),
        (
            r#"{"response": {"delayDistribution": {"type": "uniform", "lower": 1, "upper": 2}}}"#,
            "`$.response.delayDistribution`: random and dribbled delays are not supported",
            "fixedDelayMilliseconds",
        ),
        (
            r#"{"postServeActions": [{"name": "webhook", "parameters": {}}]}"#,
            "`$.postServeActions`: webhooks and serve-event listeners are not supported",
            "calls nothing back",
        ),
        (
            r#"{"serveEventListeners": [{"name": "webhook"}]}"#,
            "`$.serveEventListeners`: webhooks",
            "",
        ),
        (
            r#"{"response": {"body": "{{request.path}}", "transformers": ["response-template"]}}"#,
            "`$.response.transformers`: response templating",
            "fixed bodies",
        ),
        (
            r#"{"request": {"urlPathTemplate": "/a/{id}"}}"#,
            "`$.request.urlPathTemplate`: path templates are not supported",
            "urlPathPattern",
        ),
        (
            r#"{"request": {"headers": {"Accept": {"and": [{"contains": "a"}]}}}}"#,
            "`$.request.headers.Accept.and`: logical matchers",
            "",
        ),
        (
            r#"{"request": {"headers": {"X-N": {"greaterThanNumber": 5}}}}"#,
            "`$.request.headers['X-N'].greaterThanNumber`: number matchers are not supported",
            "",
        ),
        (
            r#"{"request": {"cookies": {"s": {"absent": true}}}}"#,
            "`$.request.cookies`: cookie matchers are not supported",
            "`Cookie` header",
        ),
        (
            r#"{"request": {"urlPattern": "/(?=a)"}}"#,
            "`$.request.urlPattern`: `/(?=a)` is not a regular expression the agent can run: look-around",
            "no look-around",
        ),
        (
            r#"{"request": {"queryParameters": {"q": {"matches": "("}}}}"#,
            "`$.request.queryParameters.q.matches`: `(` is not a regular expression the agent can run",
            "",
        ),
        (
            r#"{"request": {"bodyPatterns": [{"matchesJsonPath": "$.a[?(@.b in ['x'])]"}]}}"#,
            "`$.request.bodyPatterns[0].matchesJsonPath`: `$.a[?(@.b in ['x'])]`: not a JSONPath expression",
            "RFC 9535",
        ),
        (
            r#"{"request": {"bodyPatterns": [{"equalToJson": {"id": "${json-unit.any-date}"}}]}}"#,
            "`$.request.bodyPatterns[0].equalToJson`: the JsonUnit placeholder `${json-unit.any-date}` is not supported",
            "",
        ),
        (
            r#"{"request": {"bodyPatterns": [{"equalToJson": "{nope"}]}}"#,
            "`$.request.bodyPatterns[0].equalToJson`: the string is not JSON",
            "",
        ),
        (
            r#"{"request": {"url": "/a", "urlPath": "/a"}}"#,
            "`$.request.urlPath`: the request has both `url` and `urlPath`",
            "keep one",
        ),
        (
            r#"{"request": {"headers": {"A": {"equalTo": "x", "contains": "y"}}}}"#,
            "`$.request.headers.A.equalTo`: the matcher has both `contains` and `equalTo`",
            "",
        ),
        (
            r#"{"request": {"headers": {"A": {"contains": "x", "caseInsensitive": true}}}}"#,
            "`$.request.headers.A.caseInsensitive`: `caseInsensitive` does not apply to `contains`",
            "",
        ),
        (
            r#"{"request": {"headers": {"A": "text/plain"}}}"#,
            "`$.request.headers.A`: a matcher must be an object, found a string",
            "{\"equalTo\": \"text/plain\"}",
        ),
        (
            r#"{"request": {"headers": {"A": {"absent": false}}}}"#,
            "`$.request.headers.A.absent`: `absent` must be `true`",
            "",
        ),
        (
            r#"{"response": {"body": "a", "jsonBody": {}}}"#,
            "`$.response.jsonBody`: the response has both `body` and `jsonBody`",
            "",
        ),
        (
            r#"{"response": {"status": 42}}"#,
            "`$.response.status`: must be an HTTP status (100 to 999), found 42",
            "",
        ),
        (
            r#"{"response": {"base64Body": "!!"}}"#,
            "`$.response.base64Body`: is not base64",
            "",
        ),
        (
            r#"{"response": {"headers": {"X-A": ["ok", 1]}}}"#,
            "`$.response.headers['X-A'][1]`: must be a string, found a number",
            "",
        ),
        (
            r#"{"request": {"bodyPatterns": [{"equalsTo": "a"}]}}"#,
            "`$.request.bodyPatterns[0].equalsTo`: `equalsTo` is not a key of a matcher that sandbox knows",
            "did you mean `equalTo`?",
        ),
        (
            r#"{"reqest": {}}"#,
            "`$.reqest`: `reqest` is not a key of a mapping that sandbox knows",
            "did you mean `request`?",
        ),
        (
            r#"[{"request": {}}]"#,
            "`$`: a mapping file must be an object, found a list",
            "",
        ),
    ];
    for (text, message, help) in cases {
        let dir = folder(&[("w/m.json", text)]);
        let read = read_in(dir.path(), "w");
        let shown = problems(&read).join("\n");
        assert_eq!(read.problems.len(), 1, "{text}:\n{shown}");
        assert!(
            shown.contains(message),
            "{text}:\n{shown}\nwants: {message}"
        );
        assert!(shown.contains(help), "{text}:\n{shown}\nwants help: {help}");
        assert!(read.problems[0].at.is_some(), "{shown}");
    }
}

#[test]
fn problems_point_at_the_line_and_column_of_the_key() {
    let text = "{\n  \"request\": {\n    \"method\": \"GET\",\n    \"bodyPatterns\": [\n      { \"matchesXml\": \"<a/>\" }\n    ]\n  }\n}\n";
    assert_eq!(
        only(text),
        "w/m.json:5:9: `$.request.bodyPatterns[0].matchesXml`: XML matchers are not supported\n  help: match the XML as text with `contains` or `matches`"
    );
    // Not JSON: serde_json's position.
    let problem = only("{\n  \"request\": {,\n}");
    assert!(
        problem.starts_with(
            "w/m.json:2:15: not JSON: key must be a string\n  help: a mapping file is"
        ),
        "{problem}"
    );
}

#[test]
fn body_files_are_read_from_files_and_must_be_there() {
    let dir = folder(&[
        (
            "w/mappings/a.json",
            r#"{"response": {"bodyFileName": "nope.txt"}}"#,
        ),
        (
            "w/mappings/b.json",
            r#"{"response": {"bodyFileName": "../mappings/a.json"}}"#,
        ),
        (
            "w/mappings/c.json",
            r#"{"response": {"bodyFileName": "{{request.path}}.json"}}"#,
        ),
        ("w/__files/here.txt", "x"),
    ]);
    let text = problems(&read_in(dir.path(), "w")).join("\n");
    assert!(
        text.contains("w/mappings/a.json:1:15: `$.response.bodyFileName`: the body file `w/__files/nope.txt` does not exist"),
        "{text}"
    );
    assert!(
        text.contains("w/mappings/b.json:1:15: `$.response.bodyFileName`: `../mappings/a.json` leaves the `__files` folder"),
        "{text}"
    );
    assert!(text.contains("is a templated file name"), "{text}");
}

#[cfg(unix)]
#[test]
fn symbolic_links_may_not_leave_the_manifests_folder() {
    let outside = folder(&[("secret.txt", "s"), ("m.json", "{}")]);
    let dir = folder(&[(
        "w/mappings/a.json",
        r#"{"response": {"bodyFileName": "link.txt"}}"#,
    )]);
    std::fs::create_dir(dir.path().join("w/__files")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("w/__files/link.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("m.json"),
        dir.path().join("w/mappings/z.json"),
    )
    .unwrap();
    let text = problems(&read_in(dir.path(), "w")).join("\n");
    assert!(
        text.contains("`w/__files/link.txt` leaves the `__files` folder through a symbolic link"),
        "{text}"
    );
    assert!(
        text.contains("w/mappings/z.json: leaves the manifest's folder through a symbolic link"),
        "{text}"
    );
}

#[test]
fn files_past_the_size_bound_are_refused_unread() {
    let dir = folder(&[(
        "w/mappings/a.json",
        r#"{"response": {"bodyFileName": "big.bin"}}"#,
    )]);
    std::fs::create_dir(dir.path().join("w/__files")).unwrap();
    let big = std::fs::File::create(dir.path().join("w/__files/big.bin")).unwrap();
    big.set_len(MAX_NAMED_BYTES + 1).unwrap();
    let text = problems(&read_in(dir.path(), "w")).join("\n");
    assert!(
        text.contains("the body file `w/__files/big.bin` takes the mappings past 64 MiB"),
        "{text}"
    );
}

#[test]
fn warnings_for_what_is_legal_but_likely_a_mistake() {
    let dir = folder(&[(
        "w/a.json",
        r#"{"request": {"method": "get"}, "response": {"body": "Hi {{request.query.name}}"}}"#,
    )]);
    let read = read_in(dir.path(), "w");
    assert!(read.problems.is_empty());
    let warnings: Vec<String> = read.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings[0].contains(
        "`$.request.method`: WireMock matches methods exactly: `get` matches no `GET` request"
    ));
    assert!(warnings[1].contains("`$.response.body`: has `{{`"));
    let dir = folder(&[("w/readme.txt", "")]);
    let read = read_in(dir.path(), "w");
    assert!(read.problems.is_empty());
    assert!(read.warnings[0].message.contains("has no mapping files"));
}

#[test]
fn every_fixture_reads_as_expected() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wiremock");
    for (name, routes) in [
        ("remoteloader", 6),
        ("classpath-filesource", 3),
        ("test-file-root", 2),
        ("docs", 21),
    ] {
        let read = read_in(&fixtures, name);
        assert!(read.problems.is_empty(), "{name}: {:#?}", read.problems);
        assert_eq!(read.routes.len(), routes, "{name}");
    }
    for (name, count) in [
        ("admin-api-examples", 1),
        ("scenarios", 3),
        ("docs-unsupported", 4),
    ] {
        let read = read_in(&fixtures, name);
        assert_eq!(read.problems.len(), count, "{name}: {:#?}", read.problems);
        assert!(read.routes.is_empty(), "{name}");
    }
}

#[test]
fn json_bodies_keep_their_members_order_and_lose_only_blanks() {
    assert_eq!(
        minify("{ \"b\" : [1, 2],\n \"a\": \"x y\\\" z\" }"),
        r#"{"b":[1,2],"a":"x y\" z"}"#
    );
    let raw = raw_json_bodies(
        r#"{"mappings": [{"response": {"jsonBody": {"z": 1, "a": 2}}}, {"response": {}}]}"#,
    );
    assert_eq!(raw, [Some(r#"{"z":1,"a":2}"#.to_owned()), None]);
}
