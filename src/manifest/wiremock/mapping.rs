//! One mapping file's JSON turned into converted routes. Every key is
//! known: what is served becomes part of the route, what only describes the
//! mapping (`id`, `name`, `metadata`) is skipped, and everything else is an
//! issue at its JSON path, saying what is not supported and what to write
//! instead.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::super::converted::{
    self, ConvertedAnswer, ConvertedRoute, JsonQuery, Matcher, Named, UrlMatch, member,
};
use super::super::tree::{At, Node};
use super::super::validate::suggest;
use super::super::{Respond, Route, RouteMatch};
use super::{DEFAULT_PRIORITY, Reader};

/// A step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Key(String),
    Index(usize),
}

/// `$.request.headers['Content-Type']`.
pub(super) fn render(path: &[Segment]) -> String {
    let mut out = String::from("$");
    for segment in path {
        match segment {
            Segment::Key(key) => out.push_str(&member(key)),
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// Something wrong (or, as a warning, likely wrong) at a JSON path.
#[derive(Debug)]
pub(super) struct Issue {
    pub path: Vec<Segment>,
    pub message: String,
    pub help: Option<String>,
}

impl Issue {
    /// Where the path is written, or the nearest enclosing place that is.
    pub fn position(&self, root: &Node) -> Option<At> {
        (0..=self.path.len())
            .rev()
            .find_map(|length| super::find(root, &self.path[..length]))
            .map(|(at, _)| at)
    }
}

/// Where a matcher is: what it may test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A header or query parameter: text, maybe absent.
    Value,
    /// A body pattern: text or bytes, always there.
    Body,
    /// Under `matchesJsonPath`'s object form: the selected values.
    Selected,
}

/// The keys of a mapping: served, then only describing it.
const MAPPING: &[&str] = &["request", "response", "priority"];
const MAPPING_DESCRIPTIVE: &[&str] = &[
    "id",
    "uuid",
    "name",
    "persistent",
    "metadata",
    "insertionIndex",
];
const REQUEST: &[&str] = &[
    "method",
    "url",
    "urlPattern",
    "urlPath",
    "urlPathPattern",
    "queryParameters",
    "headers",
    "bodyPatterns",
    "basicAuth",
];
const URL_KEYS: &[&str] = &["url", "urlPattern", "urlPath", "urlPathPattern"];
const RESPONSE: &[&str] = &[
    "status",
    "statusMessage",
    "body",
    "jsonBody",
    "base64Body",
    "bodyFileName",
    "headers",
    "fixedDelayMilliseconds",
];
const BODY_KEYS: &[&str] = &["body", "jsonBody", "base64Body", "bodyFileName"];
/// Matcher operators, and the settings some of them take.
const OPERATORS: &[&str] = &[
    "equalTo",
    "contains",
    "doesNotContain",
    "matches",
    "doesNotMatch",
    "absent",
    "anything",
    "binaryEqualTo",
    "equalToJson",
    "matchesJsonPath",
];
const SETTINGS: &[&str] = &["caseInsensitive", "ignoreArrayOrder", "ignoreExtraElements"];

/// Keys WireMock has that the agent cannot serve: the message and the fix.
fn unsupported(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        // A mapping's.
        "scenarioName" | "requiredScenarioState" | "newScenarioState" => (
            "scenarios (stateful stubs) are not supported",
            "give each state's answer a mapping of its own whose request tells it apart, or remove the scenario keys to answer the same in every state",
        ),
        "postServeActions" | "serveEventListeners" => (
            "webhooks and serve-event listeners are not supported",
            "remove it: the stub answers requests but calls nothing back",
        ),
        // A request's.
        "urlPathTemplate" | "pathParameters" => (
            "path templates are not supported",
            "write `urlPathPattern` with `[^/]+` for each `{name}`, e.g. `/contacts/[^/]+`",
        ),
        "cookies" => (
            "cookie matchers are not supported",
            "match the `Cookie` header instead, e.g. `\"headers\": {\"Cookie\": {\"contains\": \"session=abc\"}}`",
        ),
        "formParameters" => (
            "form parameter matchers are not supported",
            "match the body instead, e.g. `\"bodyPatterns\": [{\"contains\": \"name=value\"}]`",
        ),
        "multipartPatterns" => (
            "multipart matchers are not supported",
            "match the body with `contains` or `matches` instead",
        ),
        "customMatcher" => (
            "custom matchers (Java extensions) are not supported",
            "express it with the built-in matchers, or remove it",
        ),
        "scheme" | "host" | "port" | "clientIp" => (
            "matching the scheme, host, port or client address is not supported",
            "remove it: the stub answers on its own host and port",
        ),
        // A response's.
        "transformers" | "transformerParameters" => (
            "response templating (`response-template` and other transformers) is not supported",
            "answer with fixed bodies: remove the transformer and `{{...}}`; for answers built from the request, use the manifest's own `routes`, which fill `{{path.x}}`, `{{query.x}}` and `{{header.x}}`",
        ),
        "proxyBaseUrl"
        | "proxyUrlPrefixToRemove"
        | "additionalProxyRequestHeaders"
        | "removeProxyRequestHeaders" => (
            "proxying is not supported",
            "make the dependency a `record:` of the upstream (and later a `replay:` of the recording)",
        ),
        "fault" => (
            "faults are not supported in mappings",
            "remove it and give the dependency `faults:` (error_rate, error_status, reset_rate)",
        ),
        "delayDistribution" | "chunkedDribbleDelay" => (
            "random and dribbled delays are not supported",
            "use `fixedDelayMilliseconds`, or the dependency's `faults: { latency, jitter }`",
        ),
        // Matchers.
        key if key.contains("Xml") || key.contains("XPath") => (
            "XML matchers are not supported",
            "match the XML as text with `contains` or `matches`",
        ),
        "matchesJsonSchema" => (
            "JSON Schema matchers are not supported",
            "use `matchesJsonPath`, or `equalToJson` with `ignoreExtraElements`",
        ),
        "equalToNumber"
        | "greaterThanNumber"
        | "greaterThanEqualNumber"
        | "lessThanNumber"
        | "lessThanEqualNumber" => (
            "number matchers are not supported",
            "use `equalTo`, or `matches` with a regular expression",
        ),
        "before" | "after" | "equalToDateTime" => (
            "date and time matchers are not supported",
            "use `matches` with a regular expression",
        ),
        "and" | "or" | "not" => (
            "logical matchers (and, or, not) are not supported",
            "write a mapping per alternative, or one regular expression with `matches` or `doesNotMatch`",
        ),
        "hasExactly" | "includes" => (
            "multi-value matchers are not supported",
            "use one matcher: a header or parameter matches when any of its values does",
        ),
        "matchesPathTemplate" => (
            "path template matchers are not supported",
            "use `matches` with `[^/]+` for each `{name}`",
        ),
        _ => return None,
    })
}

/// What reading one file needs.
pub(super) struct Context<'r> {
    pub reader: &'r mut Reader,
    pub issues: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

/// What a JSON value is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Whether a value says nothing: null, `[]` or `{}`.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.is_empty(),
        _ => false,
    }
}

fn join(path: &[Segment], key: &str) -> Vec<Segment> {
    let mut out = path.to_vec();
    out.push(Segment::Key(key.to_owned()));
    out
}

fn index(path: &[Segment], at: usize) -> Vec<Segment> {
    let mut out = path.to_vec();
    out.push(Segment::Index(at));
    out
}

impl Context<'_> {
    fn issue(&mut self, path: Vec<Segment>, message: impl Into<String>, help: Option<String>) {
        self.issues.push(Issue {
            path,
            message: message.into(),
            help,
        });
    }

    fn warn(&mut self, path: Vec<Segment>, message: impl Into<String>, help: Option<String>) {
        self.warnings.push(Issue {
            path,
            message: message.into(),
            help,
        });
    }

    /// An unknown key: what is close, or what is allowed.
    fn unknown(&mut self, path: &[Segment], key: &str, allowed: &[&str], what: &str) {
        if let Some((message, help)) = unsupported(key) {
            self.issue(join(path, key), message, Some(help.into()));
            return;
        }
        let help = match suggest(key, allowed) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "{what} takes {}",
                allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.issue(
            join(path, key),
            format!("`{key}` is not a key of {what} that sandbox knows"),
            Some(help),
        );
    }

    fn object<'v>(
        &mut self,
        path: &[Segment],
        value: &'v Value,
        what: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(members) => Some(members),
            other => {
                self.issue(
                    path.to_vec(),
                    format!("{what} must be an object, found {}", kind(other)),
                    None,
                );
                None
            }
        }
    }

    fn string<'v>(&mut self, path: &[Segment], value: &'v Value) -> Option<&'v str> {
        match value {
            Value::String(text) => Some(text),
            other => {
                self.issue(
                    path.to_vec(),
                    format!("must be a string, found {}", kind(other)),
                    None,
                );
                None
            }
        }
    }

    fn boolean(&mut self, path: &[Segment], value: &Value) -> Option<bool> {
        match value {
            Value::Bool(flag) => Some(*flag),
            other => {
                self.issue(
                    path.to_vec(),
                    format!("must be `true` or `false`, found {}", kind(other)),
                    None,
                );
                None
            }
        }
    }

    /// The routes of a file: one mapping, or `{"mappings": [...]}`, each
    /// with its priority.
    pub fn file(
        &mut self,
        value: &Value,
        source: &str,
        raw: &[Option<String>],
    ) -> Vec<(i64, Route)> {
        let Some(members) = self.object(&[], value, "a mapping file") else {
            return Vec::new();
        };
        let Some(list) = members.get("mappings") else {
            let raw = raw.first().cloned().flatten();
            return self.mapping(&[], value, source, raw).into_iter().collect();
        };
        for key in members.keys() {
            // `meta` is in what WireMock's admin API exports.
            if key != "mappings" && key != "meta" {
                self.unknown(
                    &[],
                    key,
                    &["mappings", "meta"],
                    "a file of several mappings",
                );
            }
        }
        let path = [Segment::Key("mappings".into())];
        let Value::Array(items) = list else {
            self.issue(
                path.to_vec(),
                format!(
                    "`mappings` must be a list of mappings, found {}",
                    kind(list)
                ),
                None,
            );
            return Vec::new();
        };
        let mut routes = Vec::new();
        for (at, item) in items.iter().enumerate() {
            let source = format!("{source} $.mappings[{at}]");
            let raw = raw.get(at).cloned().flatten();
            routes.extend(self.mapping(&index(&path, at), item, &source, raw));
        }
        routes
    }

    fn mapping(
        &mut self,
        path: &[Segment],
        value: &Value,
        source: &str,
        raw_body: Option<String>,
    ) -> Option<(i64, Route)> {
        let before = self.issues.len();
        let members = self.object(path, value, "a mapping")?;
        let mut priority = DEFAULT_PRIORITY;
        let mut scenario_told = false;
        for (key, item) in members {
            let here = join(path, key);
            match key.as_str() {
                "request" | "response" => {}
                "priority" => match item.as_i64() {
                    Some(number) => priority = number,
                    None if item.is_null() => {}
                    None => self.issue(
                        here,
                        format!("must be a whole number, found {}", kind(item)),
                        Some("lower numbers are tried first; the default is 5".into()),
                    ),
                },
                key if MAPPING_DESCRIPTIVE.contains(&key) => {}
                "scenarioName"
                | "requiredScenarioState"
                | "newScenarioState"
                | "postServeActions"
                | "serveEventListeners"
                    if is_empty(item) => {}
                // One problem for a mapping's scenario, not one per key.
                "scenarioName" | "requiredScenarioState" | "newScenarioState" => {
                    if !std::mem::replace(&mut scenario_told, true) {
                        self.unknown(path, key, &[], "a mapping");
                    }
                }
                _ => {
                    let allowed: Vec<&str> =
                        MAPPING.iter().chain(MAPPING_DESCRIPTIVE).copied().collect();
                    self.unknown(path, key, &allowed, "a mapping");
                }
            }
        }
        let request = match members.get("request").filter(|v| !v.is_null()) {
            Some(request) => self.request(&join(path, "request"), request),
            None => Some(Request::default()),
        };
        let answer = match members.get("response").filter(|v| !v.is_null()) {
            Some(response) => self.response(&join(path, "response"), response, raw_body),
            None => Some(ConvertedAnswer {
                status: 200,
                reason: None,
                headers: Vec::new(),
                body_base64: None,
                delay_ms: None,
            }),
        };
        if self.issues.len() != before {
            return None;
        }
        let (request, answer) = (request?, answer?);
        Some((priority, route(source, request, answer)))
    }

    fn request(&mut self, path: &[Segment], value: &Value) -> Option<Request> {
        let members = self.object(path, value, "`request`")?;
        let mut request = Request::default();
        let mut url_key: Option<&str> = None;
        for (key, item) in members {
            let here = join(path, key);
            if item.is_null() {
                continue;
            }
            match key.as_str() {
                "method" => {
                    let Some(method) = self.string(&here, item) else {
                        continue;
                    };
                    if method == "ANY" {
                        continue;
                    }
                    if method.is_empty()
                        || !method
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    {
                        self.issue(
                            here,
                            format!("`{method}` is not an HTTP method"),
                            Some("write e.g. `GET`, or `ANY`".into()),
                        );
                        continue;
                    }
                    if method != method.to_ascii_uppercase() {
                        self.warn(
                            here,
                            format!("WireMock matches methods exactly: `{method}` matches no `{}` request", method.to_ascii_uppercase()),
                            Some(format!("write `{}`", method.to_ascii_uppercase())),
                        );
                    }
                    request.method = Some(method.to_owned());
                }
                key if URL_KEYS.contains(&key) => {
                    if let Some(first) = url_key {
                        self.issue(
                            here,
                            format!("the request has both `{first}` and `{key}`"),
                            Some("keep one: a mapping matches its URL one way".into()),
                        );
                        continue;
                    }
                    url_key = Some(key);
                    let Some(text) = self.string(&here, item) else {
                        continue;
                    };
                    let url = match key {
                        "url" => UrlMatch::Url(text.to_owned()),
                        "urlPath" => UrlMatch::UrlPath(text.to_owned()),
                        "urlPattern" => UrlMatch::UrlPattern(text.to_owned()),
                        _ => UrlMatch::UrlPathPattern(text.to_owned()),
                    };
                    if matches!(url, UrlMatch::UrlPattern(_) | UrlMatch::UrlPathPattern(_)) {
                        self.regex(&here, text);
                    }
                    request.url = Some(url);
                }
                "queryParameters" | "headers" => {
                    let what = if key == "headers" {
                        "`headers`"
                    } else {
                        "`queryParameters`"
                    };
                    let Some(named) = self.object(&here, item, what) else {
                        continue;
                    };
                    for (name, matcher) in named {
                        if key == "headers"
                            && http::HeaderName::from_bytes(name.trim().as_bytes()).is_err()
                        {
                            self.issue(
                                join(&here, name),
                                format!("`{name}` is not a header name"),
                                None,
                            );
                            continue;
                        }
                        if let Some(matcher) =
                            self.matcher(&join(&here, name), matcher, Place::Value)
                        {
                            let named = Named {
                                name: name.clone(),
                                matcher,
                            };
                            if key == "headers" {
                                request.headers.push(named);
                            } else {
                                request.query.push(named);
                            }
                        }
                    }
                }
                "bodyPatterns" => {
                    let Value::Array(items) = item else {
                        self.issue(
                            here,
                            format!("must be a list of matchers, found {}", kind(item)),
                            None,
                        );
                        continue;
                    };
                    for (at, pattern) in items.iter().enumerate() {
                        if let Some(matcher) = self.matcher(&index(&here, at), pattern, Place::Body)
                        {
                            request.body.push(matcher);
                        }
                    }
                }
                "basicAuth" => {
                    if let Some(header) = self.basic_auth(&here, item) {
                        request.headers.push(header);
                    }
                }
                _ => self.unknown(path, key, REQUEST, "`request`"),
            }
        }
        Some(request)
    }

    /// `basicAuth` is an `Authorization` header, as WireMock matches it.
    fn basic_auth(&mut self, path: &[Segment], value: &Value) -> Option<Named> {
        let members = self.object(path, value, "`basicAuth`")?;
        let mut username = None;
        let mut password = None;
        for (key, item) in members {
            match key.as_str() {
                "username" => username = self.string(&join(path, key), item),
                "password" => password = self.string(&join(path, key), item),
                _ => self.unknown(path, key, &["username", "password"], "`basicAuth`"),
            }
        }
        let (Some(username), Some(password)) = (username, password) else {
            self.issue(
                path.to_vec(),
                "`basicAuth` needs `username` and `password`",
                None,
            );
            return None;
        };
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        Some(Named {
            name: "Authorization".into(),
            matcher: Matcher::EqualTo {
                value: format!("Basic {token}"),
                case_insensitive: false,
            },
        })
    }

    /// Checks a regular expression the agent will run.
    fn regex(&mut self, path: &[Segment], pattern: &str) -> bool {
        match converted::whole_match(pattern) {
            Ok(_) => true,
            Err(error) => {
                self.issue(
                    path.to_vec(),
                    format!("`{pattern}` is not a regular expression the agent can run: {error}"),
                    Some("the agent runs Rust `regex` syntax, which has no look-around or back-references; write the pattern without them".into()),
                );
                false
            }
        }
    }

    /// One matcher object: exactly one operator and the settings it takes.
    fn matcher(&mut self, path: &[Segment], value: &Value, place: Place) -> Option<Matcher> {
        let members = match value {
            Value::Object(members) => members,
            Value::String(text) => {
                self.issue(
                    path.to_vec(),
                    "a matcher must be an object, found a string".to_owned(),
                    Some(format!(
                        "write `{{\"equalTo\": {}}}`",
                        Value::String(text.clone())
                    )),
                );
                return None;
            }
            other => {
                self.issue(
                    path.to_vec(),
                    format!("a matcher must be an object, found {}", kind(other)),
                    Some("e.g. `{\"equalTo\": \"value\"}`".into()),
                );
                return None;
            }
        };
        let before = self.issues.len();
        let allowed: Vec<&str> = OPERATORS
            .iter()
            .copied()
            .filter(|op| match place {
                Place::Value => *op != "binaryEqualTo",
                Place::Body => *op != "absent",
                Place::Selected => !matches!(*op, "binaryEqualTo" | "matchesJsonPath"),
            })
            .collect();
        let mut operators: Vec<(&str, &Value)> = Vec::new();
        for (key, item) in members {
            let key = key.as_str();
            if allowed.contains(&key) {
                operators.push((key, item));
            } else if SETTINGS.contains(&key) || (place == Place::Selected && key == "expression") {
            } else if OPERATORS.contains(&key) {
                let (message, help) = match key {
                    "absent" => (
                        "a body is never absent",
                        "match an empty body with `{\"equalTo\": \"\"}`",
                    ),
                    "binaryEqualTo" => ("`binaryEqualTo` tests bodies only", "use `equalTo`"),
                    _ => (
                        "`matchesJsonPath` cannot be nested",
                        "select the value with one expression",
                    ),
                };
                self.issue(join(path, key), message, Some(help.into()));
            } else {
                let known: Vec<&str> = allowed.iter().chain(SETTINGS).copied().collect();
                self.unknown(path, key, &known, "a matcher");
            }
        }
        let (operator, operand) = match operators.as_slice() {
            [] => {
                if self.issues.len() == before {
                    self.issue(
                        path.to_vec(),
                        "the matcher has no operator",
                        Some(format!(
                            "give one of {}",
                            allowed
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                }
                return None;
            }
            [one] => *one,
            [first, second, ..] => {
                self.issue(
                    join(path, second.0),
                    format!("the matcher has both `{}` and `{}`", first.0, second.0),
                    Some("a matcher has one operator; list several body patterns, or write several mappings".into()),
                );
                return None;
            }
        };
        let here = join(path, operator);
        for setting in SETTINGS {
            let Some(item) = members.get(*setting) else {
                continue;
            };
            let fits = match *setting {
                "caseInsensitive" => operator == "equalTo",
                _ => operator == "equalToJson",
            };
            if !fits {
                self.issue(
                    join(path, setting),
                    format!("`{setting}` does not apply to `{operator}`"),
                    Some(if *setting == "caseInsensitive" {
                        "it goes with `equalTo`".into()
                    } else {
                        "it goes with `equalToJson`".into()
                    }),
                );
            } else if !item.is_null() {
                self.boolean(&join(path, setting), item);
            }
        }
        let flag = |name: &str| members.get(name).and_then(Value::as_bool).unwrap_or(false);
        let matcher = match operator {
            "equalTo" => Matcher::EqualTo {
                value: self.string(&here, operand)?.to_owned(),
                case_insensitive: flag("caseInsensitive"),
            },
            "contains" => Matcher::Contains(self.string(&here, operand)?.to_owned()),
            "doesNotContain" => Matcher::DoesNotContain(self.string(&here, operand)?.to_owned()),
            "matches" | "doesNotMatch" => {
                let pattern = self.string(&here, operand)?.to_owned();
                if !self.regex(&here, &pattern) {
                    return None;
                }
                if operator == "matches" {
                    Matcher::Matches(pattern)
                } else {
                    Matcher::DoesNotMatch(pattern)
                }
            }
            "absent" => {
                if operand != &Value::Bool(true) {
                    self.issue(
                        here,
                        format!("`absent` must be `true`, found {}", kind(operand)),
                        Some("remove the matcher to accept any value, or use `{\"matches\": \".*\"}` to require one".into()),
                    );
                    return None;
                }
                Matcher::Absent
            }
            "anything" => Matcher::Anything,
            "binaryEqualTo" => {
                let text = self.string(&here, operand)?;
                if let Err(error) = base64::engine::general_purpose::STANDARD.decode(text) {
                    self.issue(here, format!("is not base64: {error}"), None);
                    return None;
                }
                Matcher::BinaryEqualTo(text.to_owned())
            }
            "equalToJson" => {
                let json = match operand {
                    Value::String(text) => match serde_json::from_str::<Value>(text) {
                        Ok(json) => json,
                        Err(error) => {
                            self.issue(
                                here,
                                format!("the string is not JSON: {error}"),
                                Some("write the JSON itself as the value, or a string that holds JSON".into()),
                            );
                            return None;
                        }
                    },
                    other => other.clone(),
                };
                let broken = converted::placeholder_problems(&json);
                if !broken.is_empty() {
                    for (below, error) in broken {
                        self.issue(
                            here.clone(),
                            format!("{error} (at `{below}` in the expected JSON)"),
                            None,
                        );
                    }
                    return None;
                }
                Matcher::EqualToJson {
                    json,
                    ignore_array_order: flag("ignoreArrayOrder"),
                    ignore_extra_elements: flag("ignoreExtraElements"),
                }
            }
            _ => self.json_path(&here, operand)?,
        };
        (self.issues.len() == before).then_some(matcher)
    }

    /// `matchesJsonPath`: an expression, or `{expression, <matcher>}`.
    fn json_path(&mut self, path: &[Segment], value: &Value) -> Option<Matcher> {
        let (expression, then, expression_path) = match value {
            Value::String(expression) => (expression.clone(), None, path.to_vec()),
            Value::Object(members) => {
                let Some(expression) = members.get("expression") else {
                    self.issue(
                        path.to_vec(),
                        "the object form of `matchesJsonPath` needs `expression`",
                        Some("e.g. `{\"expression\": \"$.name\", \"equalTo\": \"Tom\"}`".into()),
                    );
                    return None;
                };
                let here = join(path, "expression");
                let expression = self.string(&here, expression)?.to_owned();
                let then = self.matcher(path, value, Place::Selected)?;
                (expression, Some(Box::new(then)), here)
            }
            other => {
                self.issue(
                    path.to_vec(),
                    format!(
                        "must be a JSONPath expression or an object with `expression`, found {}",
                        kind(other)
                    ),
                    None,
                );
                return None;
            }
        };
        if let Err(error) = JsonQuery::parse(&expression) {
            self.issue(
                expression_path,
                format!("`{expression}`: {error}"),
                Some("the agent runs RFC 9535 JSONPath (Jayway's `=~`, `.size()`, `.length()` and `.[` are read too)".into()),
            );
            return None;
        }
        Some(Matcher::MatchesJsonPath { expression, then })
    }

    fn response(
        &mut self,
        path: &[Segment],
        value: &Value,
        raw_body: Option<String>,
    ) -> Option<ConvertedAnswer> {
        let members = self.object(path, value, "`response`")?;
        let before = self.issues.len();
        let mut answer = ConvertedAnswer {
            status: 200,
            reason: None,
            headers: Vec::new(),
            body_base64: None,
            delay_ms: None,
        };
        let bodies: Vec<&String> = members
            .iter()
            .filter(|(key, item)| BODY_KEYS.contains(&key.as_str()) && !item.is_null())
            .map(|(key, _)| key)
            .collect();
        if let [first, second, ..] = bodies.as_slice() {
            self.issue(
                join(path, second),
                format!("the response has both `{first}` and `{second}`"),
                Some("keep one body".into()),
            );
        }
        for (key, item) in members {
            let here = join(path, key);
            if item.is_null() {
                continue;
            }
            match key.as_str() {
                "status" => match item.as_u64() {
                    Some(status @ 100..=999) => answer.status = status as u16,
                    _ => self.issue(
                        here,
                        format!("must be an HTTP status (100 to 999), found {item}"),
                        None,
                    ),
                },
                "statusMessage" => {
                    let Some(text) = self.string(&here, item) else {
                        continue;
                    };
                    if text
                        .bytes()
                        .any(|b| b == b'\r' || b == b'\n' || (b < b' ' && b != b'\t'))
                    {
                        self.issue(
                            here,
                            "a reason phrase cannot hold control characters or new lines",
                            None,
                        );
                    } else {
                        answer.reason = Some(text.to_owned());
                    }
                }
                "body" => match item {
                    Value::String(text) => {
                        if text.contains("{{") {
                            self.template_warning(&here);
                        }
                        answer.body_base64 = Some(encode(text.as_bytes()));
                    }
                    other => self.issue(
                        here,
                        format!("must be a string, found {}", kind(other)),
                        Some("answer with JSON through `jsonBody`".into()),
                    ),
                },
                "jsonBody" => {
                    let text = raw_body.clone().unwrap_or_else(|| item.to_string());
                    answer.body_base64 = Some(encode(text.as_bytes()));
                }
                "base64Body" => {
                    let Some(text) = self.string(&here, item) else {
                        continue;
                    };
                    match base64::engine::general_purpose::STANDARD.decode(text) {
                        Ok(_) => answer.body_base64 = Some(text.to_owned()),
                        Err(error) => self.issue(here, format!("is not base64: {error}"), None),
                    }
                }
                "bodyFileName" => {
                    let Some(name) = self.string(&here, item) else {
                        continue;
                    };
                    if let Some(bytes) = self.body_file(&here, name) {
                        answer.body_base64 = Some(encode(&bytes));
                    }
                }
                "headers" => {
                    let Some(headers) = self.object(&here, item, "`headers`") else {
                        continue;
                    };
                    for (name, values) in headers {
                        let there = join(&here, name);
                        if http::HeaderName::from_bytes(name.trim().as_bytes()).is_err() {
                            self.issue(there, format!("`{name}` is not a header name"), None);
                            continue;
                        }
                        let list: Vec<(Vec<Segment>, &Value)> = match values {
                            Value::Array(items) => items
                                .iter()
                                .enumerate()
                                .map(|(at, v)| (index(&there, at), v))
                                .collect(),
                            single => vec![(there.clone(), single)],
                        };
                        for (at, value) in list {
                            let Some(text) = self.string(&at, value) else {
                                continue;
                            };
                            if text.contains("{{") {
                                self.template_warning(&at);
                            }
                            if http::HeaderValue::from_str(text).is_err() {
                                self.issue(at, "cannot be sent as a header value (control characters or new lines)", None);
                                continue;
                            }
                            answer.headers.push((name.clone(), text.to_owned()));
                        }
                    }
                }
                "fixedDelayMilliseconds" => match item.as_u64() {
                    Some(delay) => answer.delay_ms = Some(delay),
                    None => self.issue(
                        here,
                        format!("must be a whole number of milliseconds, found {item}"),
                        None,
                    ),
                },
                "fromConfiguredStub" => {}
                "transformers" | "transformerParameters" if is_empty(item) => {}
                _ => self.unknown(path, key, RESPONSE, "`response`"),
            }
        }
        (self.issues.len() == before).then_some(answer)
    }

    fn template_warning(&mut self, path: &[Segment]) {
        self.warn(
            path.to_vec(),
            "has `{{`: WireMock fills `{{...}}` only with response templating, which sandbox does not do; it is answered as written",
            None,
        );
    }

    /// The bytes of a `bodyFileName`, from `__files`.
    fn body_file(&mut self, path: &[Segment], name: &str) -> Option<Vec<u8>> {
        if name.contains("{{") {
            self.issue(
                path.to_vec(),
                format!("`{name}` is a templated file name, which needs response templating"),
                Some("name one file; templating is not supported".into()),
            );
            return None;
        }
        let Some(files) = self.reader.files.clone() else {
            let folder = self.reader.shown.display().to_string();
            self.issue(
                path.to_vec(),
                format!("there is no `__files` folder to read `{name}` from"),
                Some(format!(
                    "put the file in `{folder}/__files/` (or in `__files/` beside `{folder}`), or give the body in the mapping"
                )),
            );
            return None;
        };
        let written = Path::new(name);
        let escapes = written.is_absolute()
            || written.has_root()
            || written
                .components()
                .try_fold(0usize, |depth, component| match component {
                    Component::Normal(_) => Some(depth + 1),
                    Component::ParentDir => depth.checked_sub(1),
                    _ => Some(depth),
                })
                .is_none();
        let shown = self.reader.show(&files.join(written));
        if escapes {
            self.issue(
                path.to_vec(),
                format!("`{name}` leaves the `__files` folder"),
                Some("name a file inside `__files`".into()),
            );
            return None;
        }
        let full = files.join(written);
        let real = match full.canonicalize() {
            Ok(real) => real,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                self.issue(
                    path.to_vec(),
                    format!("the body file `{}` does not exist", shown.display()),
                    Some("`bodyFileName` is read from the `__files` folder".into()),
                );
                return None;
            }
            Err(error) => {
                self.issue(
                    path.to_vec(),
                    format!("cannot read `{}`: {error}", shown.display()),
                    None,
                );
                return None;
            }
        };
        let root = files.canonicalize().unwrap_or(files);
        if !real.starts_with(&root) || !real.starts_with(&self.reader.base) {
            self.issue(
                path.to_vec(),
                format!(
                    "`{}` leaves the `__files` folder through a symbolic link",
                    shown.display()
                ),
                Some(format!("it resolves to {}", real.display())),
            );
            return None;
        }
        if !real.is_file() {
            self.issue(
                path.to_vec(),
                format!("`{}` is not a file", shown.display()),
                None,
            );
            return None;
        }
        match self
            .reader
            .bytes(&real, &format!("the body file `{}`", shown.display()))
        {
            Ok(bytes) => Some(bytes),
            Err((message, help)) => {
                self.issue(path.to_vec(), message, help);
                None
            }
        }
    }
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A mapping's request side, as read.
#[derive(Debug, Default)]
struct Request {
    method: Option<String>,
    url: Option<UrlMatch>,
    query: Vec<Named>,
    headers: Vec<Named>,
    body: Vec<Matcher>,
}

/// The stub route of a mapping. Its `match` and `respond` say what they
/// can of it, for readers of routes; the agent answers from `converted`.
fn route(source: &str, request: Request, answer: ConvertedAnswer) -> Route {
    let exact_path = match &request.url {
        Some(UrlMatch::UrlPath(path)) => Some(path.clone()),
        Some(UrlMatch::Url(url)) => Some(url.split('?').next().unwrap_or(url).to_owned()),
        _ => None,
    };
    let mut headers = BTreeMap::new();
    for (name, value) in &answer.headers {
        headers
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| value.clone());
    }
    Route {
        matcher: RouteMatch {
            method: request.method.clone(),
            path: exact_path.filter(|p| !p.contains('{')),
            ..RouteMatch::default()
        },
        respond: Respond {
            status: answer.status,
            headers,
            json: None,
            body: None,
            delay: None,
            grpc_status: None,
            message: None,
            stream: None,
        },
        converted: Some(Box::new(ConvertedRoute {
            source: source.to_owned(),
            method: request.method,
            url: request.url,
            query: request.query,
            headers: request.headers,
            body: request.body,
            answer,
        })),
    }
}
