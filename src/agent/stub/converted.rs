//! Converted routes (WireMock mappings) in a stub: their matchers compiled
//! once at start (regular expressions, JSONPath queries, JSON placeholders,
//! header names, the answer's bytes), matched as WireMock matches them, and
//! how a request differs from one, for the unmatched diagnosis.
//!
//! WireMock's rules followed here: a header or query parameter with several
//! values matches when any value does, and one that is absent is matched as
//! a missing value (only `absent`, `anything`, `doesNotMatch` and
//! `doesNotContain` accept that); regular expressions match whole values;
//! `equalToJson` compares numbers by value and reads JsonUnit placeholders;
//! bodies are read as UTF-8 text, except by `binaryEqualTo`.

use std::borrow::Cow;
use std::time::Duration;

use base64::Engine as _;
use http::HeaderName;
use serde_json::Value;

use super::{BodyTemplate, CompiledRespond, CompiledRoute, Part, RequestView, Template};
use crate::agent::body;
use crate::agent::journal;
use crate::manifest::converted::{
    self, ConvertedAnswer, ConvertedRoute, JsonQuery, Matcher, Placeholder, UrlMatch,
};

/// A converted route's request side.
#[derive(Debug)]
pub(super) struct Converted {
    /// `GET /users/1 from wiremock/mappings/get-user.json`.
    description: String,
    method: Option<String>,
    url: Option<Url>,
    query: Vec<(String, Compiled)>,
    headers: Vec<(HeaderName, Compiled)>,
    body: Vec<Compiled>,
}

#[derive(Debug)]
struct Url {
    /// What it tests: the path alone, or path and query.
    with_query: bool,
    test: UrlTest,
    /// As the mapping wrote it, for messages.
    shown: String,
}

#[derive(Debug)]
enum UrlTest {
    Equal(String),
    Pattern(regex::Regex),
}

/// A matcher ready to run, with its description for messages.
#[derive(Debug)]
struct Compiled {
    test: Test,
    shown: String,
}

#[derive(Debug)]
enum Test {
    EqualTo(String),
    /// The expected value, lower-cased.
    EqualToIgnoringCase(String),
    Contains(String),
    DoesNotContain(String),
    Matches(regex::Regex),
    DoesNotMatch(regex::Regex),
    Absent,
    Anything,
    Binary(Vec<u8>),
    Json {
        expected: Expected,
        ignore_array_order: bool,
        ignore_extra_elements: bool,
    },
    JsonPath {
        query: JsonQuery,
        then: Option<Box<Test>>,
    },
}

/// An `equalToJson` value with its placeholders read.
#[derive(Debug)]
enum Expected {
    Scalar(Value),
    Placeholder(Placeholder),
    Array(Vec<Expected>),
    Object(Vec<(String, Expected)>),
}

/// Compiles a converted route; the error names what the agent cannot run
/// (validation checked it already, so this is a configuration written by
/// something else).
pub(super) fn compile(number: usize, route: &ConvertedRoute) -> Result<CompiledRoute, String> {
    let converted = Converted {
        description: format!(
            "{} {} from {}",
            route.method.as_deref().unwrap_or("ANY"),
            route
                .url
                .as_ref()
                .map_or_else(|| "*".to_owned(), UrlMatch::describe),
            route.source
        ),
        method: route.method.clone(),
        url: route.url.as_ref().map(compile_url).transpose()?,
        query: route
            .query
            .iter()
            .map(|named| Ok((named.name.clone(), compile_matcher(&named.matcher)?)))
            .collect::<Result<_, String>>()?,
        headers: route
            .headers
            .iter()
            .map(|named| {
                let name = HeaderName::from_bytes(named.name.trim().as_bytes())
                    .map_err(|_| format!("`{}` is not a header name", named.name))?;
                Ok((name, compile_matcher(&named.matcher)?))
            })
            .collect::<Result<_, String>>()?,
        body: route
            .body
            .iter()
            .map(compile_matcher)
            .collect::<Result<_, _>>()?,
    };
    let respond = compile_answer(&route.answer)?;
    let label = journal::lasting(format!("route {number}: {}", converted.description));
    Ok(CompiledRoute {
        label,
        number,
        method: None,
        path: None,
        path_text: None,
        query: Vec::new(),
        headers: Vec::new(),
        json: None,
        body: None,
        respond,
        converted: Some(Box::new(converted)),
    })
}

fn compile_url(url: &UrlMatch) -> Result<Url, String> {
    let pattern = |text: &str| {
        converted::whole_match(text)
            .map(UrlTest::Pattern)
            .map_err(|error| format!("`{text}`: {error}"))
    };
    let (with_query, test) = match url {
        UrlMatch::Url(text) => (true, UrlTest::Equal(text.clone())),
        UrlMatch::UrlPath(text) => (false, UrlTest::Equal(text.clone())),
        UrlMatch::UrlPattern(text) => (true, pattern(text)?),
        UrlMatch::UrlPathPattern(text) => (false, pattern(text)?),
    };
    Ok(Url {
        with_query,
        test,
        shown: url.describe(),
    })
}

fn compile_matcher(matcher: &Matcher) -> Result<Compiled, String> {
    Ok(Compiled {
        test: compile_test(matcher)?,
        shown: matcher.describe(),
    })
}

fn compile_test(matcher: &Matcher) -> Result<Test, String> {
    let regex =
        |text: &str| converted::whole_match(text).map_err(|error| format!("`{text}`: {error}"));
    Ok(match matcher {
        Matcher::EqualTo {
            value,
            case_insensitive: false,
        } => Test::EqualTo(value.clone()),
        Matcher::EqualTo {
            value,
            case_insensitive: true,
        } => Test::EqualToIgnoringCase(value.to_lowercase()),
        Matcher::Contains(text) => Test::Contains(text.clone()),
        Matcher::DoesNotContain(text) => Test::DoesNotContain(text.clone()),
        Matcher::Matches(text) => Test::Matches(regex(text)?),
        Matcher::DoesNotMatch(text) => Test::DoesNotMatch(regex(text)?),
        Matcher::Absent => Test::Absent,
        Matcher::Anything => Test::Anything,
        Matcher::BinaryEqualTo(text) => Test::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|error| format!("binaryEqualTo is not base64: {error}"))?,
        ),
        Matcher::EqualToJson {
            json,
            ignore_array_order,
            ignore_extra_elements,
        } => Test::Json {
            expected: compile_expected(json)?,
            ignore_array_order: *ignore_array_order,
            ignore_extra_elements: *ignore_extra_elements,
        },
        Matcher::MatchesJsonPath { expression, then } => Test::JsonPath {
            query: JsonQuery::parse(expression)
                .map_err(|error| format!("`{expression}`: {error}"))?,
            then: then.as_deref().map(compile_test).transpose()?.map(Box::new),
        },
    })
}

fn compile_expected(value: &Value) -> Result<Expected, String> {
    Ok(match value {
        Value::String(text) => match converted::placeholder(text) {
            Some(placeholder) => Expected::Placeholder(placeholder?),
            None => Expected::Scalar(value.clone()),
        },
        Value::Array(items) => Expected::Array(
            items
                .iter()
                .map(compile_expected)
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(members) => Expected::Object(
            members
                .iter()
                .map(|(key, item)| Ok((key.clone(), compile_expected(item)?)))
                .collect::<Result<_, String>>()?,
        ),
        scalar => Expected::Scalar(scalar.clone()),
    })
}

fn compile_answer(answer: &ConvertedAnswer) -> Result<CompiledRespond, String> {
    let status = http::StatusCode::from_u16(answer.status)
        .map_err(|_| format!("{} is not an HTTP status", answer.status))?;
    let reason = answer
        .reason
        .as_deref()
        .map(|text| {
            hyper::ext::ReasonPhrase::try_from(text.as_bytes().to_vec())
                .map_err(|_| format!("`{text}` cannot be an HTTP reason phrase"))
        })
        .transpose()?;
    let headers = answer
        .headers
        .iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| format!("`{name}` is not a header name"))?;
            let ready = body::lasting_header(value)
                .ok_or_else(|| format!("the value of header `{name}` cannot be sent in HTTP"))?;
            let template = Template {
                parts: vec![Part::Literal(value.clone())],
            };
            Ok((name, Some(ready), template))
        })
        .collect::<Result<_, String>>()?;
    let body = match &answer.body_base64 {
        None => BodyTemplate::Empty,
        Some(text) => BodyTemplate::Fixed(
            body::lasting_bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|error| format!("the body is not base64: {error}"))?,
            ),
            "",
        ),
    };
    Ok(CompiledRespond {
        status,
        reason,
        headers,
        body,
        delay: answer.delay_ms.map(Duration::from_millis),
    })
}

/// The request's URL: the path, and the query as sent.
fn url_of<'r>(request: &RequestView<'r>, with_query: bool) -> Cow<'r, str> {
    match request.raw_query {
        Some(query) if with_query => Cow::Owned(format!("{}?{query}", request.path)),
        _ => Cow::Borrowed(request.path),
    }
}

impl Converted {
    pub(super) fn describe(&self) -> String {
        self.description.clone()
    }

    /// Whether the request matches, as WireMock decides. `json` is the body
    /// parsed as JSON, shared by every route tried for one request.
    pub(super) fn matches(
        &self,
        request: &RequestView<'_>,
        json: &mut Option<Option<Value>>,
    ) -> bool {
        if let Some(method) = &self.method
            && request.method.as_str() != method
        {
            return false;
        }
        if let Some(url) = &self.url
            && !url.test(&url_of(request, url.with_query))
        {
            return false;
        }
        for (name, matcher) in &self.query {
            if !any_value(
                matcher,
                request
                    .query
                    .iter()
                    .filter(|(key, _)| key == name)
                    .map(|(_, value)| value.as_ref()),
            ) {
                return false;
            }
        }
        for (name, matcher) in &self.headers {
            if !any_value(matcher, header_values(request, name)) {
                return false;
            }
        }
        if self.body.is_empty() {
            return true;
        }
        let text = String::from_utf8_lossy(request.body);
        self.body.iter().all(|matcher| {
            let parsed = json.get_or_insert_with(|| serde_json::from_slice(request.body).ok());
            matcher.test.body(request.body, &text, parsed.as_ref())
        })
    }

    /// How the request differs, each reason with a weight (see
    /// `CompiledRoute::differences`).
    pub(super) fn differences(
        &self,
        request: &RequestView<'_>,
        json: Option<&Value>,
    ) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        if let Some(method) = &self.method
            && request.method.as_str() != method
        {
            out.push((
                4,
                format!("method is {}, mapping wants {method}", request.method),
            ));
        }
        if let Some(url) = &self.url {
            let actual = url_of(request, url.with_query);
            if !url.test(&actual) {
                let what = if url.with_query { "URL" } else { "path" };
                let wants = match url.test {
                    UrlTest::Equal(_) => "wants",
                    UrlTest::Pattern(_) => "wants it to match",
                };
                out.push((
                    6,
                    format!("{what} is `{actual}`, mapping {wants} `{}`", url.shown),
                ));
            }
        }
        for (name, matcher) in &self.query {
            let values: Vec<&str> = request
                .query
                .iter()
                .filter(|(key, _)| key == name)
                .map(|(_, value)| value.as_ref())
                .collect();
            if !any_value(matcher, values.iter().copied()) {
                out.push((
                    1,
                    value_difference("query parameter", name, &values, matcher),
                ));
            }
        }
        for (name, matcher) in &self.headers {
            let values: Vec<&str> = header_values(request, name).collect();
            if !any_value(matcher, values.iter().copied()) {
                out.push((
                    1,
                    value_difference("header", name.as_str(), &values, matcher),
                ));
            }
        }
        let text = String::from_utf8_lossy(request.body);
        for (index, matcher) in self.body.iter().enumerate() {
            if !matcher.test.body(request.body, &text, json) {
                let body = if request.body.is_empty() {
                    "the empty body"
                } else {
                    "body"
                };
                out.push((
                    1,
                    format!(
                        "{body} does not match bodyPatterns[{index}]: {}",
                        matcher.shown
                    ),
                ));
            }
        }
        out
    }
}

impl Url {
    fn test(&self, actual: &str) -> bool {
        match &self.test {
            UrlTest::Equal(expected) => actual == expected,
            UrlTest::Pattern(regex) => regex.is_match(actual),
        }
    }
}

fn header_values<'r>(
    request: &RequestView<'r>,
    name: &HeaderName,
) -> impl Iterator<Item = &'r str> {
    request
        .headers
        .get_all(name)
        .iter()
        .map(|value| std::str::from_utf8(value.as_bytes()).unwrap_or(""))
}

/// WireMock's multi-value rule: any value matches; no value is one missing
/// value.
fn any_value<'v>(matcher: &Compiled, values: impl Iterator<Item = &'v str>) -> bool {
    let mut any = false;
    for value in values {
        if matcher.test.text(Some(value)) {
            return true;
        }
        any = true;
    }
    !any && matcher.test.text(None)
}

fn value_difference(what: &str, name: &str, values: &[&str], matcher: &Compiled) -> String {
    match values {
        [] => format!(
            "{what} `{name}` is missing (mapping wants {})",
            matcher.shown
        ),
        [one] => format!(
            "{what} `{name}` is `{one}`, mapping wants {}",
            matcher.shown
        ),
        many => format!(
            "{what} `{name}` is {}, mapping wants {}",
            many.iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", "),
            matcher.shown
        ),
    }
}

impl Test {
    /// Tests a header or query value, or a missing one (`None`).
    fn text(&self, value: Option<&str>) -> bool {
        match self {
            Test::Absent => value.is_none(),
            Test::Anything => true,
            Test::DoesNotMatch(regex) => !value.is_some_and(|v| regex.is_match(v)),
            Test::DoesNotContain(text) => !value.is_some_and(|v| v.contains(text.as_str())),
            _ => match value {
                None => false,
                Some(value) => self.present(value, None),
            },
        }
    }

    /// Tests a body: its bytes, its text, and its JSON when it is JSON.
    fn body(&self, bytes: &[u8], text: &str, json: Option<&Value>) -> bool {
        match self {
            Test::Binary(expected) => bytes == expected.as_slice(),
            Test::Absent => false,
            _ => self.text_with_json(text, json),
        }
    }

    fn text_with_json(&self, text: &str, json: Option<&Value>) -> bool {
        match self {
            Test::Absent => false,
            Test::Anything => true,
            Test::DoesNotMatch(regex) => !regex.is_match(text),
            Test::DoesNotContain(needle) => !text.contains(needle.as_str()),
            _ => self.present(text, json),
        }
    }

    /// Tests a value that is there. `json` is `value` parsed, when known.
    fn present(&self, value: &str, json: Option<&Value>) -> bool {
        match self {
            Test::EqualTo(expected) => value == expected,
            Test::EqualToIgnoringCase(expected) => value
                .chars()
                .flat_map(char::to_lowercase)
                .eq(expected.chars()),
            Test::Contains(text) => value.contains(text.as_str()),
            Test::DoesNotContain(text) => !value.contains(text.as_str()),
            Test::Matches(regex) => regex.is_match(value),
            Test::DoesNotMatch(regex) => !regex.is_match(value),
            Test::Absent => false,
            Test::Anything => true,
            Test::Binary(expected) => value.as_bytes() == expected.as_slice(),
            Test::Json {
                expected,
                ignore_array_order,
                ignore_extra_elements,
            } => with_json(value, json, |actual| {
                expected.matches(actual, *ignore_array_order, *ignore_extra_elements)
            }),
            Test::JsonPath { query, then } => with_json(value, json, |document| match then {
                None => query.finds(document),
                Some(then) => {
                    let found = query.strings(document, matches!(**then, Test::Json { .. }));
                    if found.is_empty() {
                        // Only `absent` accepts an empty selection.
                        matches!(**then, Test::Absent)
                    } else {
                        found.iter().any(|value| then.text(Some(value)))
                    }
                }
            }),
        }
    }
}

/// Runs `test` on `value` as JSON (parsed already, or now); false when it
/// is not JSON.
fn with_json(value: &str, json: Option<&Value>, test: impl FnOnce(&Value) -> bool) -> bool {
    match json {
        Some(parsed) => test(parsed),
        None => match serde_json::from_str::<Value>(value) {
            Ok(parsed) => test(&parsed),
            Err(_) => false,
        },
    }
}

impl Expected {
    /// JsonUnit's comparison as WireMock configures it: numbers by value;
    /// `ignore_array_order` pairs array items in any order;
    /// `ignore_extra_elements` allows members and trailing (or, with any
    /// order, unpaired) items the expected value does not have.
    fn matches(&self, actual: &Value, any_order: bool, extra: bool) -> bool {
        match (self, actual) {
            (Expected::Placeholder(placeholder), _) => match placeholder {
                Placeholder::Ignore | Placeholder::IgnoreElement => true,
                Placeholder::AnyString => actual.is_string(),
                Placeholder::AnyNumber => actual.is_number(),
                Placeholder::AnyBoolean => actual.is_boolean(),
                Placeholder::Regex(regex) => {
                    actual.as_str().is_some_and(|text| regex.is_match(text))
                }
            },
            (Expected::Scalar(Value::Number(expected)), Value::Number(actual)) => {
                numbers_equal(expected, actual)
            }
            (Expected::Scalar(expected), actual) => expected == actual,
            (Expected::Object(members), Value::Object(actual)) => {
                let all_there = members.iter().all(|(key, expected)| match actual.get(key) {
                    Some(found) => expected.matches(found, any_order, extra),
                    None => matches!(expected, Expected::Placeholder(Placeholder::IgnoreElement)),
                });
                all_there
                    && (extra
                        || actual
                            .keys()
                            .all(|key| members.iter().any(|(k, _)| k == key)))
            }
            (Expected::Array(items), Value::Array(actual)) => {
                if items.len() > actual.len() || (!extra && items.len() != actual.len()) {
                    return false;
                }
                if any_order {
                    pair_all(items, actual, any_order, extra)
                } else {
                    items
                        .iter()
                        .zip(actual)
                        .all(|(expected, found)| expected.matches(found, any_order, extra))
                }
            }
            _ => false,
        }
    }
}

/// Whether every expected item pairs with its own actual item (a bipartite
/// matching, by augmenting paths).
fn pair_all(items: &[Expected], actual: &[Value], any_order: bool, extra: bool) -> bool {
    let fits: Vec<Vec<usize>> = items
        .iter()
        .map(|expected| {
            (0..actual.len())
                .filter(|&j| expected.matches(&actual[j], any_order, extra))
                .collect()
        })
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; actual.len()];
    fn place(
        i: usize,
        fits: &[Vec<usize>],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for &j in &fits[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            if owner[j].is_none_or(|k| place(k, fits, owner, seen)) {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    (0..items.len()).all(|i| place(i, &fits, &mut owner, &mut vec![false; actual.len()]))
}

/// Numbers by value, as WireMock's normalised comparison: `1` is `1.0`.
fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i128(), b.as_i128()) {
        (Some(a), Some(b)) => a == b,
        _ => a.as_f64() == b.as_f64(),
    }
}

#[cfg(test)]
mod tests;
