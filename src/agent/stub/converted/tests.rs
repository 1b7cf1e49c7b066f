//! Converted routes answer as WireMock would: every matcher, the precedence
//! rules, the answers (bodies, body files, headers, delays, reason phrases)
//! and the unmatched diagnosis, from real mapping files (WireMock's own
//! test resources and documentation examples, `tests/fixtures/wiremock`) and
//! small mappings written here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use http_body_util::BodyExt;

use super::super::{RequestView, Stub};
use crate::agent::body;
use crate::manifest::wiremock;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wiremock")
}

/// The stub a folder of mappings makes (it must load without problems).
fn stub_of(folder: &Path) -> Stub {
    let folder = folder.canonicalize().unwrap();
    let base = folder.parent().unwrap().to_path_buf();
    let read = wiremock::read(&base, &folder, Path::new("wiremock"));
    assert!(read.problems.is_empty(), "{:#?}", read.problems);
    Stub::compile(&read.routes).unwrap()
}

/// A stub of some of the documentation's examples (each alone, so that no
/// other example answers first).
fn docs(files: &[&str]) -> Stub {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mappings");
    std::fs::create_dir(&folder).unwrap();
    for file in files {
        std::fs::copy(
            fixtures().join("docs/mappings").join(file),
            folder.join(file),
        )
        .unwrap();
    }
    stub_of(&folder)
}

/// A stub of mappings written here: `(file name, JSON)`.
fn mappings(files: &[(&str, &str)]) -> Stub {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mappings");
    std::fs::create_dir(&folder).unwrap();
    for (name, text) in files {
        std::fs::write(folder.join(name), text).unwrap();
    }
    stub_of(&folder)
}

struct Req {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn req(method: &str, target: &str) -> Req {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    };
    Req {
        method: method.parse().unwrap(),
        path,
        query,
        headers: HeaderMap::new(),
        body: Vec::new(),
    }
}

impl Req {
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers
            .append(name, HeaderValue::from_str(value).unwrap());
        self
    }

    fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = body.as_ref().to_vec();
        self
    }

    fn view(&self) -> RequestView<'_> {
        RequestView {
            method: &self.method,
            path: &self.path,
            query: body::query_pairs(self.query.as_deref()),
            raw_query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        }
    }
}

struct Got {
    label: String,
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    delay: Option<Duration>,
    reason: Option<String>,
}

impl Got {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

fn answer(stub: &Stub, request: &Req) -> Result<Got, String> {
    let answer = stub.answer(&request.view())?;
    let (parts, body) = answer.response.into_parts();
    let bytes = futures_util::FutureExt::now_or_never(body.collect())
        .expect("a fixed body is ready")
        .unwrap()
        .to_bytes();
    Ok(Got {
        label: answer.label.to_owned(),
        status: parts.status.as_u16(),
        reason: parts
            .extensions
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned()),
        headers: parts.headers,
        body: bytes.to_vec(),
        delay: answer.delay,
    })
}

/// The body a request gets, or `None` when nothing matches.
fn body_of(stub: &Stub, request: &Req) -> Option<String> {
    answer(stub, request).ok().map(|got| got.text().to_owned())
}

#[test]
fn url_matchers_as_documented() {
    let stub = docs(&["url-equal-path-and-query.json"]);
    assert!(body_of(&stub, &req("GET", "/your/url?and=query")).is_some());
    assert!(body_of(&stub, &req("GET", "/your/url")).is_none());
    assert!(body_of(&stub, &req("GET", "/your/url?and=query&more=1")).is_none());
    let stub = docs(&["url-regex-path-and-query.json"]);
    assert!(body_of(&stub, &req("GET", "/your/abc?and=query")).is_some());
    assert!(body_of(&stub, &req("GET", "/your/ABC?and=query")).is_none());
    assert!(
        body_of(&stub, &req("GET", "/your/abc?and=query&x")).is_none(),
        "the pattern matches the whole URL"
    );
    let stub = docs(&["url-equal-path.json"]);
    assert!(body_of(&stub, &req("GET", "/your/url?any=thing")).is_some());
    assert!(body_of(&stub, &req("GET", "/your/url/")).is_none());
    let stub = docs(&["url-regex-path.json"]);
    assert!(body_of(&stub, &req("DELETE", "/your/things?x=1")).is_some());
    assert!(body_of(&stub, &req("GET", "/your/th1ngs")).is_none());
    assert!(body_of(&stub, &req("GET", "/prefix/your/things")).is_none());
}

#[test]
fn header_equality_and_case_insensitive_equality() {
    let stub = docs(&["equality.json", "case-insensitive-equality.json"]);
    let json = |path: &str, value: &str| req("GET", path).header("content-type", value);
    assert!(body_of(&stub, &json("/docs/equality", "application/json")).is_some());
    assert!(body_of(&stub, &json("/docs/equality", "Application/JSON")).is_none());
    assert!(body_of(&stub, &req("GET", "/docs/equality")).is_none());
    assert!(body_of(&stub, &json("/docs/case-insensitive", "Application/JSON")).is_some());
    assert!(body_of(&stub, &json("/docs/case-insensitive", "application/xml")).is_none());
}

#[test]
fn binary_equality_compares_bytes() {
    let stub = docs(&["binary-equality.json"]);
    assert!(body_of(&stub, &req("POST", "/docs/binary").body([1u8, 2, 3])).is_some());
    assert!(body_of(&stub, &req("POST", "/docs/binary").body([1u8, 2])).is_none());
}

#[test]
fn regular_expressions_and_their_negation_on_query_parameters() {
    let stub = docs(&[
        "regular-expression.json",
        "negative-regular-expression.json",
    ]);
    let regex = |query: &str| body_of(&stub, &req("GET", &format!("/docs/regex{query}")));
    assert!(
        regex("?search_term=try%20wiremockNow").is_some(),
        "values are decoded"
    );
    assert!(regex("?search_term=wiremock").is_none());
    assert!(
        regex("").is_none(),
        "an absent parameter does not match `matches`"
    );
    assert!(
        regex("?search_term=nope&search_term=awiremockB").is_some(),
        "any of several values"
    );
    let not = |query: &str| body_of(&stub, &req("GET", &format!("/docs/not-regex{query}")));
    assert!(not("?search_term=plain").is_some());
    assert!(not("?search_term=awiremockB").is_none());
    assert!(
        not("").is_some(),
        "an absent parameter passes `doesNotMatch`"
    );
}

#[test]
fn json_equality_as_documented() {
    let stub = docs(&[
        "json-equality.json",
        "json-equality-string-literal.json",
        "json-less-strict.json",
        "json-placeholders.json",
    ]);
    let post = |path: &str, body: &str| body_of(&stub, &req("POST", path).body(body));
    for path in ["/docs/json", "/docs/json-string"] {
        assert!(post(path, r#"{"total_results": 4}"#).is_some(), "{path}");
        assert!(
            post(path, r#"{ "total_results" : 4.0 }"#).is_some(),
            "numbers by value"
        );
        assert!(
            post(path, r#"{"total_results": 4, "more": 1}"#).is_none(),
            "{path}"
        );
        assert!(post(path, r#"{"total_results": "4"}"#).is_none(), "{path}");
        assert!(post(path, "not json").is_none(), "{path}");
    }
    assert!(
        post(
            "/docs/json-less-strict",
            r#"{"total_results": 4, "more": [1]}"#
        )
        .is_some()
    );
    assert!(post("/docs/json-less-strict", r#"{"total_results": 5}"#).is_none());
    assert!(post("/docs/json-placeholders", r#"{"id": "abc123"}"#).is_some());
    assert!(post("/docs/json-placeholders", r#"{"id": 123}"#).is_none());
    assert!(post("/docs/json-placeholders", r#"{}"#).is_none());
}

#[test]
fn json_equality_options_and_placeholders() {
    let rule = |json: &str, order: bool, extra: bool| {
        mappings(&[(
            "m.json",
            &format!(
                r#"{{"request": {{"bodyPatterns": [{{"equalToJson": {json}, "ignoreArrayOrder": {order}, "ignoreExtraElements": {extra}}}]}}}}"#
            ),
        )])
    };
    let matches = |stub: &Stub, body: &str| body_of(stub, &req("POST", "/").body(body)).is_some();
    let strict = rule(r#"{"a": [1, {"b": 2}]}"#, false, false);
    assert!(matches(&strict, r#"{"a": [1, {"b": 2}]}"#));
    assert!(!matches(&strict, r#"{"a": [{"b": 2}, 1]}"#));
    assert!(!matches(&strict, r#"{"a": [1, {"b": 2}, 3]}"#));
    let any_order = rule(r#"{"a": [1, {"b": 2}]}"#, true, false);
    assert!(matches(&any_order, r#"{"a": [{"b": 2}, 1]}"#));
    assert!(!matches(&any_order, r#"{"a": [{"b": 2}, 1, 1]}"#));
    let extra = rule(r#"{"a": [1, {"b": 2}]}"#, false, true);
    assert!(matches(
        &extra,
        r#"{"a": [1, {"b": 2, "c": 3}, 4], "d": 5}"#
    ));
    assert!(
        !matches(&extra, r#"{"a": [{"b": 2}, 1]}"#),
        "order still counts"
    );
    let both = rule(r#"[{"k": 1}, {"k": 1}, {"k": 2}]"#, true, true);
    assert!(matches(
        &both,
        r#"[{"k": 2}, {"k": 0}, {"k": 1}, {"k": 1}]"#
    ));
    assert!(
        !matches(&both, r#"[{"k": 2}, {"k": 1}]"#),
        "each expected item pairs with its own"
    );
    let placeholders = rule(
        r#"{"id": "${json-unit.regex}[a-z]+", "n": "${json-unit.any-number}", "b": "${json-unit.any-boolean}", "x": "${json-unit.ignore}", "y": "${json-unit.ignore-element}"}"#,
        false,
        false,
    );
    assert!(matches(
        &placeholders,
        r#"{"id": "abc", "n": 1.5, "b": false, "x": null}"#
    ));
    assert!(matches(
        &placeholders,
        r#"{"id": "abc", "n": 1, "b": true, "x": [1], "y": 2}"#
    ));
    assert!(!matches(
        &placeholders,
        r#"{"id": "ABC", "n": 1, "b": true, "x": 1}"#
    ));
    assert!(
        !matches(&placeholders, r#"{"id": "abc", "n": 1, "b": true}"#),
        "`ignore` still needs the member"
    );
}

#[test]
fn json_path_as_documented() {
    let stub = docs(&[
        "json-path-presence.json",
        "json-path-equality.json",
        "json-path-regex.json",
        "json-path-size.json",
        "json-path-nested-contains.json",
        "json-path-nested-json.json",
    ]);
    let post = |what: &str, body: &str| {
        body_of(
            &stub,
            &req("POST", &format!("/docs/json-path/{what}")).body(body),
        )
        .is_some()
    };
    // "Request body example: matching / not matching", section by section.
    assert!(post("presence", r#"{ "name": "Wiremock" }"#));
    assert!(!post("presence", r#"{ "price": 15 }"#));
    assert!(post(
        "equality",
        r#"{ "things": { "name": "RequiredThing" } }"#
    ));
    assert!(post(
        "equality",
        r#"{ "things": [ { "name": "RequiredThing" }, { "name": "Wiremock" } ] }"#
    ));
    assert!(!post("equality", r#"{ "price": 15 }"#));
    assert!(!post("equality", r#"{ "things": { "name": "Wiremock" } }"#));
    assert!(post(
        "regex",
        r#"{ "things": { "name": "RequiredThing" } }"#
    ));
    assert!(post(
        "regex",
        r#"{ "things": [ { "name": "Required" }, { "name": "Wiremock" } ] }"#
    ));
    assert!(!post("regex", r#"{ "price": 15 }"#));
    assert!(!post("regex", r#"{ "things": { "name": "Wiremock" } }"#));
    assert!(!post(
        "regex",
        r#"{ "things": [ { "name": "Thing" }, { "name": "Wiremock" } ] }"#
    ));
    assert!(post(
        "size",
        r#"{ "things": [ { "name": "RequiredThing" }, { "name": "Wiremock" } ] }"#
    ));
    assert!(!post(
        "size",
        r#"{ "things": [ { "name": "RequiredThing" } ] }"#
    ));
    assert!(post(
        "nested",
        r#"{"list": [{"todoItem": "dry"}, {"todoItem": "wash up"}]}"#
    ));
    assert!(!post("nested", r#"{"list": [{"todoItem": "dry"}]}"#));
    assert!(post("nested-json", r#"{ "outer": { "inner": 42 } }"#));
    assert!(!post("nested-json", r#"{ "outer": { "inner": 43 } }"#));
    assert!(!post("presence", "not json"));
}

#[test]
fn json_path_nested_absent_and_equal_to() {
    let stub = mappings(&[
        (
            "a.json",
            r#"{"request": {"urlPath": "/absent", "bodyPatterns": [{"matchesJsonPath": {"expression": "$.gone", "absent": true}}]}}"#,
        ),
        (
            "b.json",
            r#"{"request": {"urlPath": "/equal", "bodyPatterns": [{"matchesJsonPath": {"expression": "$.n", "equalTo": "7"}}]}}"#,
        ),
    ]);
    let post = |path: &str, body: &str| body_of(&stub, &req("POST", path).body(body)).is_some();
    assert!(post("/absent", r#"{"here": 1}"#));
    assert!(!post("/absent", r#"{"gone": 1}"#));
    assert!(
        post("/equal", r#"{"n": 7}"#),
        "a number is matched as its text"
    );
    assert!(!post("/equal", r#"{"n": 8}"#));
    assert!(!post("/equal", r#"{}"#));
}

#[test]
fn absence_contains_and_anything_on_headers() {
    let stub = docs(&["absence.json"]);
    assert!(body_of(&stub, &req("GET", "/docs/absence")).is_some());
    assert!(body_of(&stub, &req("GET", "/docs/absence").header("x-absent", "1")).is_none());
    assert!(body_of(&stub, &req("GET", "/docs/absence?search_term=x")).is_none());
    let stub = mappings(&[(
        "h.json",
        r#"{"request": {"headers": {
            "Accept": {"contains": "text/plain"},
            "X-Not": {"doesNotContain": "bad"},
            "X-Any": {"anything": true}
        }}}"#,
    )]);
    let good = req("GET", "/").header("accept", "application/json, text/plain");
    assert!(body_of(&stub, &good).is_some());
    assert!(body_of(&stub, &req("GET", "/").header("accept", "text/html")).is_none());
    let bad = req("GET", "/")
        .header("accept", "text/plain")
        .header("x-not", "so bad");
    assert!(body_of(&stub, &bad).is_none());
    let several = req("GET", "/")
        .header("accept", "text/html")
        .header("accept", "text/plain");
    assert!(body_of(&stub, &several).is_some(), "any value of a header");
}

#[test]
fn methods_match_exactly_and_basic_auth_is_a_header() {
    let stub = mappings(&[(
        "m.json",
        r#"{"request": {"method": "PUT", "basicAuth": {"username": "ann", "password": "pw"}}, "response": {"status": 204}}"#,
    )]);
    // base64("ann:pw") = "YW5uOnB3"
    let put = req("PUT", "/x").header("authorization", "Basic YW5uOnB3");
    assert_eq!(answer(&stub, &put).unwrap().status, 204);
    assert!(
        answer(
            &stub,
            &req("PUT", "/x").header("authorization", "Basic eA==")
        )
        .is_err()
    );
    assert!(
        answer(
            &stub,
            &req("POST", "/x").header("authorization", "Basic YW5uOnB3")
        )
        .is_err()
    );
    let any = mappings(&[("m.json", r#"{"request": {"method": "ANY"}}"#)]);
    assert_eq!(answer(&any, &req("PATCH", "/")).unwrap().status, 200);
}

#[test]
fn precedence_is_priority_then_the_mapping_added_last() {
    // The admin API's two examples: both GET /some/thing; the one with
    // priority 3 also wants `Accept: text/plain`.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mappings");
    std::fs::create_dir(&folder).unwrap();
    for file in ["stub-mapping-with-id.json", "stub-mapping-no-id.json"] {
        std::fs::copy(
            fixtures().join("admin-api-examples/mappings").join(file),
            folder.join(file),
        )
        .unwrap();
    }
    let stub = stub_of(&folder);
    let got = answer(
        &stub,
        &req("GET", "/some/thing").header("accept", "text/plain"),
    )
    .unwrap();
    assert!(
        got.label.contains("stub-mapping-with-id.json"),
        "{}",
        got.label
    );
    assert_eq!(got.text(), "Hello world!");
    assert_eq!(got.headers["content-type"], "text/plain");
    let got = answer(&stub, &req("GET", "/some/thing")).unwrap();
    assert!(
        got.label.contains("stub-mapping-no-id.json"),
        "{}",
        got.label
    );

    // Equal priorities: the file later in name order, and in a file the
    // later mapping, was added last and answers first.
    let stub = mappings(&[
        ("a.json", r#"{"response": {"body": "a"}}"#),
        (
            "b.json",
            r#"{"mappings": [{"response": {"body": "b1"}}, {"response": {"body": "b2"}}]}"#,
        ),
        ("c.json", r#"{"priority": 6, "response": {"body": "c"}}"#),
    ]);
    assert_eq!(body_of(&stub, &req("GET", "/")).unwrap(), "b2");
    let stub = mappings(&[
        ("a.json", r#"{"priority": 1, "response": {"body": "a"}}"#),
        ("b.json", r#"{"response": {"body": "b"}}"#),
    ]);
    assert_eq!(
        body_of(&stub, &req("GET", "/")).unwrap(),
        "a",
        "lower first"
    );
}

#[test]
fn wiremock_test_resources_answer_with_their_files_and_headers() {
    let stub = stub_of(&fixtures().join("remoteloader"));
    let got = answer(&stub, &req("GET", "/remote-load/1")).unwrap();
    assert_eq!((got.status, got.text()), (200, "Remote load 1"));
    assert!(
        got.headers.get("content-type").is_none(),
        "like WireMock, no content type the mapping does not give"
    );
    let got = answer(
        &stub,
        &req("GET", "/remote-load/2").header("accept", "text/plain"),
    )
    .unwrap();
    assert_eq!(got.text(), "Remote load 2");
    assert_eq!(got.headers["content-type"], "text/plain");
    assert!(answer(&stub, &req("GET", "/remote-load/2")).is_err());
    let got = answer(&stub, &req("GET", "/text-file")).unwrap();
    assert_eq!(
        got.body,
        std::fs::read(fixtures().join("remoteloader/__files/body.txt")).unwrap()
    );
    let got = answer(&stub, &req("GET", "/image-file")).unwrap();
    assert_eq!(
        got.body,
        std::fs::read(fixtures().join("remoteloader/__files/favicon3.png")).unwrap(),
        "binary files byte for byte"
    );
    let got = answer(&stub, &req("GET", "/binary-file-from-header")).unwrap();
    assert_eq!(
        (got.headers["content-type"].to_str().unwrap(), got.text()),
        ("image/jpg", "{}")
    );

    let stub = stub_of(&fixtures().join("classpath-filesource"));
    let got = answer(&stub, &req("GET", "/slow-response")).unwrap();
    assert_eq!(got.delay, Some(Duration::from_millis(500)));
    assert_eq!(got.text(), "THINGS!");
    assert_eq!(
        body_of(&stub, &req("GET", "/second_test")).unwrap(),
        "testing"
    );
    assert_eq!(answer(&stub, &req("GET", "/test")).unwrap().delay, None);

    let stub = stub_of(&fixtures().join("test-file-root"));
    let got = answer(&stub, &req("GET", "/testjsonmapping")).unwrap();
    assert_eq!(
        got.text(),
        r#"{"bignumber":1234567890.12,"integer_as_float":2.0,"array":[1,2,3],"integer":2,"key":"value"}"#,
        "jsonBody as written, members in their order"
    );
    assert_eq!(
        body_of(&stub, &req("GET", "/testmapping")).unwrap(),
        "default test mapping"
    );
    let stub = docs(&["fixed-delay.json"]);
    assert_eq!(
        answer(&stub, &req("GET", "/delayed")).unwrap().delay,
        Some(Duration::from_secs(2))
    );
}

#[test]
fn answers_carry_repeated_headers_a_reason_phrase_and_base64_bodies() {
    let stub = mappings(&[(
        "m.json",
        r#"{"response": {"status": 418, "statusMessage": "Short and stout",
            "headers": {"Set-Cookie": ["a=1", "b=2"], "X-One": "1"},
            "base64Body": "AAEC/w=="}}"#,
    )]);
    let got = answer(&stub, &req("GET", "/")).unwrap();
    assert_eq!(got.status, 418);
    assert_eq!(got.reason.as_deref(), Some("Short and stout"));
    let cookies: Vec<_> = got.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(got.headers["x-one"], "1");
    assert_eq!(got.body, [0u8, 1, 2, 255]);
    let stub = mappings(&[("m.json", r#"{"response": {"body": "{{request.path}}"}}"#)]);
    assert_eq!(
        body_of(&stub, &req("GET", "/")).unwrap(),
        "{{request.path}}",
        "no templating: answered as written"
    );
}

#[test]
fn unmatched_requests_name_the_closest_mapping_and_why() {
    let stub = stub_of(&fixtures().join("remoteloader"));
    let message = answer(
        &stub,
        &req("GET", "/remote-load/2").header("accept", "text/html"),
    )
    .err()
    .unwrap();
    assert!(
        message.starts_with("no stub route matched GET /remote-load/2\nclosest: route "),
        "{message}"
    );
    assert!(
        message.contains("(GET /remote-load/2 from remoteloader/mappings/two.json): header `accept` is `text/html`, mapping wants contains \"text/plain\""),
        "{message}"
    );
    let stub = docs(&["json-path-size.json", "url-regex-path.json"]);
    let message = answer(
        &stub,
        &req("POST", "/docs/json-path/size").body(r#"{"things": []}"#),
    )
    .err()
    .unwrap();
    assert!(
        message.contains("json-path-size.json): body does not match bodyPatterns[0]: matchesJsonPath \"$[?(@.things.size() == 2)]\""),
        "{message}"
    );
    let message = answer(&stub, &req("GET", "/your/1")).err().unwrap();
    assert!(
        message.contains(
            "path is `/your/1`, mapping wants it to match `urlPathPattern /your/([a-z]*)`"
        ),
        "{message}"
    );
}

#[test]
fn manifest_routes_and_converted_routes_share_a_stub_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mappings");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("m.json"),
        r#"{"response": {"body": "mapping"}}"#,
    )
    .unwrap();
    let base = dir.path().canonicalize().unwrap();
    let read = wiremock::read(&base, &folder.canonicalize().unwrap(), Path::new("w"));
    let mut routes: Vec<crate::manifest::Route> =
        serde_yaml::from_str("- match: { path: /own }\n  respond: { body: own }\n").unwrap();
    routes.extend(read.routes);
    // Through the agent's configuration, as the CLI hands it over.
    let config = crate::agent::config::Mode::Stub {
        routes,
        contract: None,
        grpc: None,
    };
    let json = serde_json::to_string(&config).unwrap();
    let crate::agent::config::Mode::Stub { routes, .. } = serde_json::from_str(&json).unwrap()
    else {
        panic!("not a stub: {json}");
    };
    let stub = Stub::compile(&routes).unwrap();
    assert_eq!(body_of(&stub, &req("GET", "/own")).unwrap(), "own");
    assert_eq!(body_of(&stub, &req("GET", "/other")).unwrap(), "mapping");
}
