//! Stub routes converted from another tool's format (WireMock mappings, read
//! by [`super::wiremock`]): matchers and answers that the manifest's own
//! `routes` syntax has no words for (regular expressions, JSON equality,
//! JSONPath, header and query matchers, binary bodies, reason phrases).
//!
//! A [`Route`](super::Route) carries one in `converted`. No manifest can
//! write it: it is neither a key of a route nor in the schema, and serde
//! skips it when reading `sandbox.yaml`; the agent's configuration carries it
//! (see `agent::config`), and the agent's stub answers from it alone.
//!
//! The patterns are checked where they are read, with the same functions
//! the agent compiles them with ([`whole_match`], [`JsonQuery::parse`]), so
//! a pattern the agent cannot run is a validation error, never a route that
//! silently never matches.

mod jsonpath;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use jsonpath::JsonQuery;

/// A route converted from a WireMock mapping: the request it matches and
/// the answer it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertedRoute {
    /// Where it came from, for the journal and the unmatched diagnosis:
    /// `wiremock/mappings/get-user.json`, with the mapping's JSON path in a
    /// file of several (`wiremock/mappings/all.json $.mappings[2]`).
    pub source: String,
    /// Exact HTTP method; any when absent (WireMock's `ANY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<UrlMatch>,
    /// Query parameters by name (decoded), each with its matcher.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<Named>,
    /// Headers by name (case-insensitive), each with its matcher.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Named>,
    /// Every one must match the body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body: Vec<Matcher>,
    pub answer: ConvertedAnswer,
}

/// How the request's URL must look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum UrlMatch {
    /// `url`: path and query as sent, equal.
    Url(String),
    /// `urlPattern`: a regular expression matching path and query whole.
    UrlPattern(String),
    /// `urlPath`: the path as sent, equal.
    UrlPath(String),
    /// `urlPathPattern`: a regular expression matching the path whole.
    UrlPathPattern(String),
}

impl UrlMatch {
    /// `urlPath /users/1`, as WireMock's mapping names it.
    pub fn describe(&self) -> String {
        match self {
            UrlMatch::Url(url) => url.clone(),
            UrlMatch::UrlPath(path) => path.clone(),
            UrlMatch::UrlPattern(pattern) => format!("urlPattern {pattern}"),
            UrlMatch::UrlPathPattern(pattern) => format!("urlPathPattern {pattern}"),
        }
    }
}

/// A header or query parameter and its matcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    pub name: String,
    pub matcher: Matcher,
}

/// One of WireMock's value matchers. Header and query values use the text
/// ones; bodies may use every one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Matcher {
    EqualTo {
        value: String,
        #[serde(default)]
        case_insensitive: bool,
    },
    Contains(String),
    DoesNotContain(String),
    /// A regular expression that must match the whole value.
    Matches(String),
    /// A regular expression that must not match the whole value; an absent
    /// value does not match it, so it passes (as in WireMock).
    DoesNotMatch(String),
    /// The header or parameter is not there.
    Absent,
    /// Anything, present or not.
    Anything,
    /// The body's bytes, given in base64.
    BinaryEqualTo(String),
    EqualToJson {
        json: Value,
        #[serde(default)]
        ignore_array_order: bool,
        #[serde(default)]
        ignore_extra_elements: bool,
    },
    /// A JSONPath expression that must select something, or whose selection
    /// `then` must match.
    MatchesJsonPath {
        expression: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        then: Option<Box<Matcher>>,
    },
}

impl Matcher {
    /// `equalTo "x"`, as WireMock names the matcher, for messages.
    pub fn describe(&self) -> String {
        match self {
            Matcher::EqualTo {
                value,
                case_insensitive,
            } => format!(
                "equalTo {}{}",
                quoted(value),
                if *case_insensitive {
                    " (caseInsensitive)"
                } else {
                    ""
                }
            ),
            Matcher::Contains(text) => format!("contains {}", quoted(text)),
            Matcher::DoesNotContain(text) => format!("doesNotContain {}", quoted(text)),
            Matcher::Matches(pattern) => format!("matches {}", quoted(pattern)),
            Matcher::DoesNotMatch(pattern) => format!("doesNotMatch {}", quoted(pattern)),
            Matcher::Absent => "absent".into(),
            Matcher::Anything => "anything".into(),
            Matcher::BinaryEqualTo(base64) => format!("binaryEqualTo {}", quoted(base64)),
            Matcher::EqualToJson { json, .. } => {
                format!("equalToJson {}", short(&json.to_string()))
            }
            Matcher::MatchesJsonPath { expression, then } => match then {
                None => format!("matchesJsonPath {}", quoted(expression)),
                Some(then) => format!("matchesJsonPath {} {}", quoted(expression), then.describe()),
            },
        }
    }
}

/// `"text"`, shortened to 60 characters.
fn quoted(text: &str) -> String {
    format!("\"{}\"", short(text))
}

fn short(text: &str) -> String {
    if text.chars().count() > 60 {
        let head: String = text.chars().take(57).collect();
        format!("{head}...")
    } else {
        text.to_owned()
    }
}

/// What a converted route answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertedAnswer {
    pub status: u16,
    /// The HTTP/1 reason phrase (`statusMessage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// In order; a name may repeat. Nothing is added: like WireMock, no
    /// `content-type` unless the mapping gives one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The body's bytes in base64 (`body`, `jsonBody`, `base64Body` or a
    /// `bodyFileName`'s content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// A JsonUnit placeholder in an `equalToJson` value (WireMock compares JSON
/// with JsonUnit, which reads these by default).
#[derive(Debug, Clone)]
pub enum Placeholder {
    /// `${json-unit.ignore}`: any value, but the member must be there.
    Ignore,
    /// `${json-unit.ignore-element}`: any value, or none.
    IgnoreElement,
    AnyString,
    AnyNumber,
    AnyBoolean,
    /// `${json-unit.regex}EXPR`: a string the expression matches whole.
    Regex(regex::Regex),
}

/// The placeholder `text` is, if it is one; an error for one that is not
/// supported or whose regular expression is broken.
pub fn placeholder(text: &str) -> Option<Result<Placeholder, String>> {
    if text == "#{json-unit.ignore}" {
        return Some(Ok(Placeholder::Ignore));
    }
    let rest = text.strip_prefix("${json-unit.")?;
    Some(match rest {
        "ignore}" => Ok(Placeholder::Ignore),
        "ignore-element}" => Ok(Placeholder::IgnoreElement),
        "any-string}" => Ok(Placeholder::AnyString),
        "any-number}" => Ok(Placeholder::AnyNumber),
        "any-boolean}" => Ok(Placeholder::AnyBoolean),
        _ => match rest.strip_prefix("regex}") {
            Some(pattern) => whole_match(pattern)
                .map(Placeholder::Regex)
                .map_err(|error| format!("the regular expression of `{text}`: {error}")),
            None => Err(format!(
                "the JsonUnit placeholder `{text}` is not supported (ignore, ignore-element, any-string, any-number, any-boolean and regex are)"
            )),
        },
    })
}

/// Every placeholder's problem in `value`, with the JSON path below it
/// (`.a[0]`), so a broken one is refused when the mapping is read.
pub fn placeholder_problems(value: &Value) -> Vec<(String, String)> {
    fn walk(value: &Value, at: &mut String, out: &mut Vec<(String, String)>) {
        match value {
            Value::String(text) => {
                if let Some(Err(error)) = placeholder(text) {
                    out.push((at.clone(), error));
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let length = at.len();
                    at.push_str(&format!("[{index}]"));
                    walk(item, at, out);
                    at.truncate(length);
                }
            }
            Value::Object(members) => {
                for (key, item) in members {
                    let length = at.len();
                    at.push_str(&member(key));
                    walk(item, at, out);
                    at.truncate(length);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut String::new(), &mut out);
    out
}

/// A member of an object in a JSON path: `.name`, or `['content-type']`
/// for a name that is not an identifier.
pub fn member(key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!(".{key}")
    } else {
        format!("['{}']", key.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// A regular expression that matches a whole value, as Java's
/// `Matcher.matches()` does in WireMock (with `DOTALL`, as WireMock compiles
/// them). The error is one line, about the expression as written.
pub fn whole_match(pattern: &str) -> Result<regex::Regex, String> {
    if let Err(error) = regex::Regex::new(pattern) {
        return Err(regex_error(&error));
    }
    regex::Regex::new(&format!("^(?s:{pattern})$")).map_err(|error| regex_error(&error))
}

/// The regex crate's message without its drawing of the expression:
/// `look-around ... is not supported`.
fn regex_error(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|line| line.trim().strip_prefix("error: "))
            .unwrap_or(text.trim())
            .to_owned(),
        regex::Error::CompiledTooBig(limit) => {
            format!("it compiles to more than {limit} bytes")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_expressions_match_whole_values_across_lines() {
        let re = whole_match("a|b").unwrap();
        assert!(re.is_match("a") && re.is_match("b"));
        assert!(
            !re.is_match("ab"),
            "alternatives are grouped before anchoring"
        );
        let re = whole_match("x.*y").unwrap();
        assert!(re.is_match("x\n\ny"), "`.` matches new lines (DOTALL)");
        assert!(!re.is_match("zx y"));
        let re = whole_match("^(.*)wiremock([A-Za-z]+)$").unwrap();
        assert!(re.is_match("try wiremockNow"));
    }

    #[test]
    fn expressions_the_agent_cannot_run_say_why_in_one_line() {
        let error = whole_match("(?=x)abc").unwrap_err();
        assert!(error.contains("look-around"), "{error}");
        assert!(!error.contains('\n'), "{error}");
        assert!(whole_match("(unclosed").unwrap_err().contains("unclosed"));
    }

    #[test]
    fn json_unit_placeholders_are_read_and_broken_ones_named() {
        assert!(matches!(
            placeholder("${json-unit.any-string}"),
            Some(Ok(Placeholder::AnyString))
        ));
        assert!(matches!(
            placeholder("#{json-unit.ignore}"),
            Some(Ok(Placeholder::Ignore))
        ));
        match placeholder("${json-unit.regex}[A-Z]+") {
            Some(Ok(Placeholder::Regex(re))) => assert!(re.is_match("AB") && !re.is_match("ABc")),
            other => panic!("{other:?}"),
        }
        assert!(placeholder("plain").is_none());
        let problems = placeholder_problems(&serde_json::json!({
            "a": ["${json-unit.any-date}"],
            "b-c": "${json-unit.regex}(",
            "ok": "${json-unit.ignore}"
        }));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].0, ".a[0]");
        assert!(
            problems[0]
                .1
                .contains("`${json-unit.any-date}` is not supported")
        );
        assert_eq!(problems[1].0, "['b-c']");
        assert_eq!(member("it's"), "['it\\'s']");
    }

    #[test]
    fn matchers_describe_themselves_as_wiremock_names_them() {
        assert_eq!(
            Matcher::EqualTo {
                value: "a".into(),
                case_insensitive: true
            }
            .describe(),
            "equalTo \"a\" (caseInsensitive)"
        );
        let nested = Matcher::MatchesJsonPath {
            expression: "$.a".into(),
            then: Some(Box::new(Matcher::Contains("w".into()))),
        };
        assert_eq!(nested.describe(), "matchesJsonPath \"$.a\" contains \"w\"");
    }
}
