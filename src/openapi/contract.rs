//! What a document says a call must look like, and checking calls against it
//! with a JSON Schema validator (the `boon` crate: draft 2020-12, formats
//! asserted; chosen over `jsonschema`, which made the agent's binary 4.5 MB
//! larger).
//!
//! [`Contract`] is made by the CLI from a bundled document and travels to
//! the agent in its configuration: each operation's parameters, request
//! body and responses, their schemas as pointers into the document (which
//! is rewritten from OpenAPI 3.0's schema dialect into JSON Schema 2020-12,
//! the dialect of 3.1). [`Compiled`] turns it into validators once; the
//! agent checks requests with it ([`Compiled::check_request`]), and
//! `sandbox check --contract` checks answers ([`Compiled::check_response`]).

use std::borrow::Cow;

use boon::{Compiler, ErrorKind, SchemaIndex, Schemas, ValidationError};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::bundle::{Bundle, escape};
use super::generate::type_of;
use super::operations::{self, is_json};
use super::resolve;
use super::stubs::base_path;

/// The URI the document is known under in the validators' registry.
const DOCUMENT_URI: &str = "urn:sandbox:openapi";

/// How much of a value a violation quotes.
const QUOTE: usize = 80;

/// The operations of a document, as the agent and `check --contract` need them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    /// The bundled document, schemas in JSON Schema 2020-12.
    pub document: Value,
    /// Path prefixes the operations are also served under (`/api/v3`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
    pub operations: Vec<OperationContract>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationContract {
    /// Upper case.
    pub method: String,
    /// As written: `/pets/{petId}`.
    pub path: String,
    /// `operationId`, else `GET /pets/{petId}`.
    pub label: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterContract>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyContract>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<ResponseContract>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterContract {
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    #[serde(rename = "in")]
    pub location: String,
    #[serde(default)]
    pub required: bool,
    /// Pointer to the schema in [`Contract::document`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The schema's type, for reading the text of the value: `integer`,
    /// `array`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// For an array: its items' type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<String>,
    /// A query array as repeated keys (`?a=1&a=2`, the default) rather
    /// than one comma-separated value.
    #[serde(default)]
    pub explode: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodyContract {
    #[serde(default)]
    pub required: bool,
    pub media: Vec<MediaContract>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaContract {
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseContract {
    /// `200`, `2XX` or `default`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaContract>,
}

/// One way a call breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Where, as a JSON pointer into the call: `/path/petId`,
    /// `/query/status`, `/header/x-id`, `/body/name`, `/status`.
    pub pointer: String,
    pub expected: String,
    pub found: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.pointer, self.expected, self.found
        )
    }
}

impl Contract {
    /// The contract of a bundled document.
    pub fn new(bundle: &Bundle) -> Contract {
        let mut document = bundle.document.clone();
        let version = document
            .get("openapi")
            .and_then(Value::as_str)
            .unwrap_or("3.0");
        if version.starts_with("3.0") || version.starts_with('2') {
            dialect_30(&mut document);
        }
        let mut operations = Vec::new();
        for operation in operations::operations(bundle) {
            let parameters = operation
                .parameters
                .iter()
                .map(|p| {
                    let schema = p.schema();
                    let resolved = schema
                        .as_ref()
                        .map(|(_, s)| resolve::schema(&bundle.document, s));
                    let kind = resolved.and_then(|s| s.as_object()).and_then(type_of);
                    let items = resolved
                        .and_then(|s| s.get("items"))
                        .map(|i| resolve::schema(&bundle.document, i))
                        .and_then(Value::as_object)
                        .and_then(type_of);
                    let style = p
                        .object
                        .get("style")
                        .and_then(Value::as_str)
                        .unwrap_or("form");
                    ParameterContract {
                        name: p.name.clone(),
                        location: p.location.clone(),
                        required: p.required(),
                        schema: schema.map(|(at, _)| at),
                        kind,
                        items,
                        explode: p
                            .object
                            .get("explode")
                            .and_then(Value::as_bool)
                            .unwrap_or(style == "form"),
                    }
                })
                .collect();
            let body = operation.body.as_ref().map(|(pointer, body)| BodyContract {
                required: body.get("required") == Some(&Value::Bool(true)),
                media: media(bundle, pointer, body),
            });
            let responses = operation
                .responses
                .iter()
                .map(|(status, pointer, response)| ResponseContract {
                    status: status.clone(),
                    media: media(bundle, pointer, response),
                })
                .collect();
            operations.push(OperationContract {
                method: operation.method.clone(),
                path: operation.path.clone(),
                label: operation.label.clone(),
                parameters,
                body,
                responses,
            });
        }
        Contract {
            document,
            prefixes: base_path(&bundle.document).into_iter().collect(),
            operations,
        }
    }
}

/// The media types of a request body or response, with their schemas.
fn media(bundle: &Bundle, pointer: &str, object: &Map<String, Value>) -> Vec<MediaContract> {
    let Some(content) = object.get("content").and_then(Value::as_object) else {
        return Vec::new();
    };
    let here = format!("{pointer}/content");
    bundle
        .keys(&here, content)
        .into_iter()
        .filter_map(|media| {
            let object = content.get(&media)?;
            let schema = object
                .get("schema")
                .map(|_| format!("{here}/{}/schema", escape(&media)));
            Some(MediaContract {
                media_type: media,
                schema,
            })
        })
        .collect()
}

/// Rewrites OpenAPI 3.0's schema dialect into JSON Schema 2020-12:
/// `nullable: true` adds `null` to `type` (and `enum`), and a boolean
/// `exclusiveMinimum`/`exclusiveMaximum` takes its bound's number.
fn dialect_30(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                match map.get_mut("type") {
                    Some(Value::String(kind)) => {
                        let kind = kind.clone();
                        map.insert("type".into(), serde_json::json!([kind, "null"]));
                    }
                    Some(Value::Array(kinds)) if !kinds.contains(&Value::from("null")) => {
                        kinds.push(Value::from("null"));
                    }
                    _ => {}
                }
                if let Some(Value::Array(options)) = map.get_mut("enum")
                    && !options.contains(&Value::Null)
                {
                    options.push(Value::Null);
                }
            }
            for (flag, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                match map.get(flag) {
                    Some(Value::Bool(true)) => {
                        if let Some(limit) = map.remove(bound) {
                            map.insert(flag.into(), limit);
                        } else {
                            map.remove(flag);
                        }
                    }
                    Some(Value::Bool(false)) => {
                        map.remove(flag);
                    }
                    _ => {}
                }
            }
            for (key, child) in map.iter_mut() {
                // Examples are data; leave them as written.
                if key != "example" && key != "examples" {
                    dialect_30(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(dialect_30),
        _ => {}
    }
}

/// A schema of the contract, compiled (or why it cannot be).
struct Slot {
    pointer: Option<String>,
    index: Option<SchemaIndex>,
}

/// What a URI fragment cannot hold as it is (a pointer has `{` and `}`
/// from path templates).
const FRAGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

struct CompiledOperation {
    method: String,
    segments: Vec<Segment>,
    literals: usize,
    label: String,
    parameters: Vec<(ParameterContract, Slot)>,
    body: Option<(bool, Vec<(String, Slot)>)>,
    responses: Vec<(String, Vec<(String, Slot)>)>,
}

enum Segment {
    Literal(String),
    Param(String),
}

/// A contract with its validators, compiled once and shared.
pub struct Compiled {
    schemas: Schemas,
    /// Schemas that cannot be compiled, with why (they check nothing).
    unusable: Vec<String>,
    prefixes: Vec<String>,
    operations: Vec<CompiledOperation>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("operations", &self.operations.len())
            .finish()
    }
}

/// A request the contract refuses: the operation and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// `operationId` or `GET /pets/{petId}`.
    pub operation: String,
    pub violations: Vec<Violation>,
}

/// A request as the contract reads it.
pub struct CallView<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(Cow<'a, str>, Cow<'a, str>)],
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl Compiled {
    /// Compiles every schema of a contract, once: the agent's hot path
    /// never compiles.
    pub fn new(contract: &Contract) -> Result<Compiled, String> {
        let mut compiler = Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.enable_format_assertions();
        compiler
            .add_resource(DOCUMENT_URI, contract.document.clone())
            .map_err(|e| format!("cannot read the OpenAPI document's schemas: {e}"))?;
        let mut schemas = Schemas::new();
        let mut unusable = Vec::new();
        let mut slot = |pointer: &Option<String>| {
            let index = pointer.as_ref().and_then(|pointer| {
                let fragment = percent_encoding::utf8_percent_encode(pointer, FRAGMENT);
                compiler
                    .compile(&format!("{DOCUMENT_URI}#{fragment}"), &mut schemas)
                    .map_err(|e| {
                        unusable.push(format!("the schema at `#{pointer}` cannot be used: {e}"))
                    })
                    .ok()
            });
            Slot {
                pointer: pointer.clone(),
                index,
            }
        };
        let operations = contract
            .operations
            .iter()
            .map(|op| {
                let segments: Vec<Segment> = op
                    .path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        if s.contains('{') {
                            Segment::Param(s.trim_matches(['{', '}']).to_owned())
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                CompiledOperation {
                    method: op.method.clone(),
                    literals: segments
                        .iter()
                        .filter(|s| matches!(s, Segment::Literal(_)))
                        .count(),
                    segments,
                    label: op.label.clone(),
                    parameters: op
                        .parameters
                        .iter()
                        .map(|p| (p.clone(), slot(&p.schema)))
                        .collect(),
                    body: op.body.as_ref().map(|b| {
                        (
                            b.required,
                            b.media
                                .iter()
                                .map(|m| (m.media_type.clone(), slot(&m.schema)))
                                .collect(),
                        )
                    }),
                    responses: op
                        .responses
                        .iter()
                        .map(|r| {
                            (
                                r.status.clone(),
                                r.media
                                    .iter()
                                    .map(|m| (m.media_type.clone(), slot(&m.schema)))
                                    .collect(),
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(Compiled {
            schemas,
            unusable,
            prefixes: contract.prefixes.clone(),
            operations,
        })
    }

    /// Every schema of the contract that cannot be compiled, with why.
    pub fn unusable(&self) -> Vec<String> {
        self.unusable.clone()
    }

    /// The operation a call is for: method, then path (its segments, with
    /// or without a base path); the one with most literal segments wins.
    /// With `template`, a `{name}` segment of `path` matches only a
    /// parameter segment (a stub route's path).
    fn find<'s, 'p>(
        &'s self,
        method: &str,
        path: &'p str,
        template: bool,
    ) -> Option<(&'s CompiledOperation, Vec<(&'s str, &'p str)>)> {
        let mut prefixes = vec![""];
        prefixes.extend(self.prefixes.iter().map(String::as_str));
        let method = if method.eq_ignore_ascii_case("HEAD") {
            "GET"
        } else {
            method
        };
        for prefix in prefixes {
            let Some(rest) = path.strip_prefix(prefix) else {
                continue;
            };
            if !prefix.is_empty() && !rest.is_empty() && !rest.starts_with('/') {
                continue;
            }
            let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
            let mut best: Option<(&CompiledOperation, Vec<(&str, &str)>)> = None;
            for op in &self.operations {
                if !op.method.eq_ignore_ascii_case(method) || op.segments.len() != segments.len() {
                    continue;
                }
                let mut captures = Vec::new();
                let matches = op.segments.iter().zip(&segments).all(|(s, actual)| {
                    let is_param = template && actual.starts_with('{') && actual.ends_with('}');
                    match s {
                        Segment::Literal(text) => !is_param && text == actual,
                        Segment::Param(name) => {
                            captures.push((name.as_str(), *actual));
                            true
                        }
                    }
                });
                if matches && best.as_ref().is_none_or(|(b, _)| op.literals > b.literals) {
                    best = Some((op, captures));
                }
            }
            if best.is_some() {
                return best;
            }
        }
        None
    }

    /// Whether the document has an operation for this method and path.
    pub fn operation(&self, method: &str, path: &str, template: bool) -> Option<&str> {
        self.find(method, path, template)
            .map(|(op, _)| op.label.as_str())
    }

    /// Checks a request against its operation's parameters and body:
    /// `None` when it passes or no operation is for it.
    pub fn check_request(&self, call: &CallView<'_>) -> Option<Refused> {
        let (op, captures) = self.find(call.method, call.path, false)?;
        let mut violations = Vec::new();
        for (param, slot) in &op.parameters {
            let pointer = format!("/{}/{}", param.location, param.name);
            let raw: Vec<String> = match param.location.as_str() {
                "path" => captures
                    .iter()
                    .filter(|(name, _)| *name == param.name)
                    .map(|(_, v)| {
                        percent_encoding::percent_decode_str(v)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .collect(),
                "query" => call
                    .query
                    .iter()
                    .filter(|(k, _)| *k == param.name)
                    .map(|(_, v)| v.to_string())
                    .collect(),
                "header" => call
                    .headers
                    .get_all(param.name.as_str())
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect(),
                "cookie" => call
                    .headers
                    .get_all(http::header::COOKIE)
                    .iter()
                    .flat_map(|v| {
                        String::from_utf8_lossy(v.as_bytes())
                            .split(';')
                            .filter_map(|pair| {
                                let (k, v) = pair.trim().split_once('=')?;
                                (k == param.name).then(|| v.to_owned())
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect(),
                _ => continue,
            };
            if raw.is_empty() {
                if param.required {
                    violations.push(Violation {
                        pointer,
                        expected: format!(
                            "the required {} parameter `{}`",
                            param.location, param.name
                        ),
                        found: "nothing".into(),
                    });
                }
                continue;
            }
            let value = read_parameter(param, &raw);
            self.collect(slot, &value, &pointer, &mut violations);
        }
        if let Some((required, media)) = &op.body {
            self.check_body(
                *required,
                media,
                content_type(call.headers),
                call.body,
                &mut violations,
            );
        }
        (!violations.is_empty()).then(|| Refused {
            operation: op.label.clone(),
            violations,
        })
    }

    fn check_body(
        &self,
        required: bool,
        media: &[(String, Slot)],
        content_type: Option<&str>,
        body: &[u8],
        violations: &mut Vec<Violation>,
    ) {
        if body.is_empty() {
            if required {
                violations.push(Violation {
                    pointer: "/body".into(),
                    expected: "a request body (it is required)".into(),
                    found: "none".into(),
                });
            }
            return;
        }
        if media.is_empty() {
            return;
        }
        let Some((_, slot)) = choose(media, content_type, body) else {
            violations.push(Violation {
                pointer: "/header/content-type".into(),
                expected: format!("one of {}", types(media)),
                found: content_type.map_or("none".into(), |c| format!("`{c}`")),
            });
            return;
        };
        self.check_json(slot, body, "/body", violations);
    }

    fn check_json(&self, slot: &Slot, body: &[u8], at: &str, violations: &mut Vec<Violation>) {
        if slot.index.is_none() {
            return;
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => self.collect(slot, &value, at, violations),
            Err(error) => violations.push(Violation {
                pointer: at.into(),
                expected: "a JSON document".into(),
                found: format!("text that is not JSON ({error})"),
            }),
        }
    }

    /// Checks an answer (a stub route's, a recording's, a live one's)
    /// against its operation: is the status declared, does the body fit
    /// its schema. `Err` when no operation is for the call.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        template: bool,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(String, Vec<Violation>), Violation> {
        let Some((op, _)) = self.find(method, path, template) else {
            return Err(Violation {
                pointer: "".into(),
                expected: "an operation of the document".into(),
                found: format!(
                    "{} {path}, which the document does not declare",
                    method.to_ascii_uppercase()
                ),
            });
        };
        let code = status.to_string();
        let class = format!("{}XX", status / 100);
        let declared = op
            .responses
            .iter()
            .find(|(s, _)| *s == code)
            .or_else(|| {
                op.responses
                    .iter()
                    .find(|(s, _)| s.eq_ignore_ascii_case(&class))
            })
            .or_else(|| op.responses.iter().find(|(s, _)| s == "default"));
        let mut violations = Vec::new();
        match declared {
            None => violations.push(Violation {
                pointer: "/status".into(),
                expected: format!(
                    "a declared status ({})",
                    op.responses
                        .iter()
                        .map(|(s, _)| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                found: code,
            }),
            Some((_, media)) if !media.is_empty() => {
                if body.is_empty() {
                    // Without a schema, nothing says a body must be there.
                    let described = media.iter().any(|(_, slot)| slot.pointer.is_some());
                    if described
                        && status != 204
                        && status != 304
                        && !method.eq_ignore_ascii_case("HEAD")
                    {
                        violations.push(Violation {
                            pointer: "/body".into(),
                            expected: format!("a body ({})", types(media)),
                            found: "none".into(),
                        });
                    }
                } else {
                    match choose(media, content_type, body) {
                        None => violations.push(Violation {
                            pointer: "/header/content-type".into(),
                            expected: format!("one of {}", types(media)),
                            found: content_type.map_or("none".into(), |c| format!("`{c}`")),
                        }),
                        Some((_, slot)) => self.check_json(slot, body, "/body", &mut violations),
                    }
                }
            }
            Some(_) => {}
        }
        Ok((op.label.clone(), violations))
    }
}

fn types(media: &[(String, Slot)]) -> String {
    media
        .iter()
        .map(|(m, _)| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The request's content type, without parameters.
fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// The declared media type a body is checked against: the one its content
/// type names (or a wildcard that covers it); without a content type, a
/// JSON one when the body is JSON. Only JSON media types are checked; for
/// others the slot is empty.
fn choose<'m>(
    media: &'m [(String, Slot)],
    content_type: Option<&str>,
    body: &[u8],
) -> Option<(&'m str, &'m Slot)> {
    let essence = |m: &str| {
        m.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    static EMPTY: Slot = Slot {
        pointer: None,
        index: None,
    };
    let empty = &EMPTY;
    let pick = |(m, slot): &'m (String, Slot)| -> (&'m str, &'m Slot) {
        (m.as_str(), if is_json(m) { slot } else { empty })
    };
    match content_type {
        Some(given) => {
            let given = essence(given);
            let (kind, _) = given.split_once('/').unwrap_or((given.as_str(), ""));
            media
                .iter()
                .find(|(m, _)| essence(m) == given)
                .or_else(|| {
                    media
                        .iter()
                        .find(|(m, _)| essence(m) == format!("{kind}/*"))
                })
                .or_else(|| media.iter().find(|(m, _)| essence(m) == "*/*"))
                .map(pick)
        }
        None => {
            let json = serde_json::from_slice::<Value>(body).is_ok();
            media
                .iter()
                .find(|(m, _)| is_json(m) == json)
                .or_else(|| media.first())
                .map(pick)
        }
    }
}

/// A parameter's text read as its schema's type, so `?limit=abc` fails as
/// "not an integer" rather than passing as text.
fn read_parameter(param: &ParameterContract, raw: &[String]) -> Value {
    match param.kind.as_deref() {
        Some("array") => {
            let parts: Vec<&str> = if param.location == "query" && param.explode {
                raw.iter().map(String::as_str).collect()
            } else {
                raw.iter().flat_map(|r| r.split(',')).collect()
            };
            Value::Array(
                parts
                    .into_iter()
                    .map(|p| scalar(p, param.items.as_deref()))
                    .collect(),
            )
        }
        kind => scalar(&raw[0], kind),
    }
}

fn scalar(text: &str, kind: Option<&str>) -> Value {
    let text_value = || Value::String(text.to_owned());
    match kind {
        Some("integer") => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| text_value()),
        Some("number") => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(text_value, Value::Number),
        Some("boolean") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => text_value(),
        },
        Some("object") => serde_json::from_str(text).unwrap_or_else(|_| text_value()),
        _ => text_value(),
    }
}

impl Compiled {
    /// Every violation of `value` against the slot's schema, under `at`.
    fn collect(&self, slot: &Slot, value: &Value, at: &str, out: &mut Vec<Violation>) {
        let Some(index) = slot.index else {
            return;
        };
        if let Err(error) = self.schemas.validate(value, index) {
            leaves(&error, value, at, out);
        }
    }
}

/// The errors that say what is wrong (a group's causes, down to the
/// leaves); `anyOf` and `oneOf` are one violation each, not one per branch.
fn leaves(error: &ValidationError<'_, '_>, value: &Value, at: &str, out: &mut Vec<Violation>) {
    let stop = matches!(
        error.kind,
        ErrorKind::AnyOf | ErrorKind::OneOf(_) | ErrorKind::Not
    );
    if error.causes.is_empty() || stop {
        if !matches!(error.kind, ErrorKind::Group | ErrorKind::AllOf) || error.causes.is_empty() {
            out.push(violation(error, value, at));
        }
        return;
    }
    for cause in &error.causes {
        leaves(cause, value, at, out);
    }
}

fn violation(error: &ValidationError<'_, '_>, value: &Value, at: &str) -> Violation {
    let location = error.instance_location.to_string();
    let instance = value.pointer(&location).unwrap_or(&Value::Null);
    let pointer = format!("{at}{location}");
    let found = quote(instance);
    let (pointer, expected, found) = match &error.kind {
        ErrorKind::Type { want, .. } => {
            let want: Vec<String> = want.iter().map(|t| t.to_string()).collect();
            (
                pointer,
                format!("type {}", want.join(" or ")),
                format!("{found} ({})", json_type(instance)),
            )
        }
        ErrorKind::Required { want } => {
            let name = want.first().copied().unwrap_or("");
            let expected = if want.len() == 1 {
                format!("the required property `{name}`")
            } else {
                format!(
                    "the required properties {}",
                    want.iter()
                        .map(|w| format!("`{w}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let pointer = if want.len() == 1 {
                format!("{pointer}/{}", escape(name))
            } else {
                pointer
            };
            (pointer, expected, "nothing".into())
        }
        ErrorKind::Enum { want } => (
            pointer,
            format!("one of {}", quote(&Value::Array((*want).clone()))),
            found,
        ),
        ErrorKind::Const { want } => (pointer, quote(want), found),
        ErrorKind::Format { want, .. } => (pointer, format!("a `{want}`"), found),
        ErrorKind::Minimum { want, .. } => (pointer, format!("a number >= {want}"), found),
        ErrorKind::Maximum { want, .. } => (pointer, format!("a number <= {want}"), found),
        ErrorKind::ExclusiveMinimum { want, .. } => (pointer, format!("a number > {want}"), found),
        ErrorKind::ExclusiveMaximum { want, .. } => (pointer, format!("a number < {want}"), found),
        ErrorKind::MultipleOf { want, .. } => (pointer, format!("a multiple of {want}"), found),
        ErrorKind::MinLength { got, want } => (
            pointer,
            format!("at least {want} characters"),
            format!("{found} ({got} characters)"),
        ),
        ErrorKind::MaxLength { got, want } => (
            pointer,
            format!("at most {want} characters"),
            format!("{found} ({got} characters)"),
        ),
        ErrorKind::Pattern { want, .. } => (pointer, format!("text matching `{want}`"), found),
        ErrorKind::MinItems { got, want } => (
            pointer,
            format!("at least {want} items"),
            format!("{got} items"),
        ),
        ErrorKind::MaxItems { got, want } => (
            pointer,
            format!("at most {want} items"),
            format!("{got} items"),
        ),
        ErrorKind::AdditionalProperties { got } => (
            pointer,
            "no properties besides those declared".into(),
            got.iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ErrorKind::OneOf(None) => (pointer, "a value that fits one of `oneOf`".into(), found),
        ErrorKind::OneOf(Some((i, j))) => (
            pointer,
            "a value that fits exactly one of `oneOf`".into(),
            format!("a value that fits branches {i} and {j}"),
        ),
        ErrorKind::AnyOf => (pointer, "a value that fits one of `anyOf`".into(), found),
        other => (pointer, other.to_string(), found),
    };
    Violation {
        pointer,
        expected,
        found,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value quoted briefly.
fn quote(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(QUOTE) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::bundle::{self, Read};
    use serde_json::json;

    const DOC: &str = r#"
openapi: 3.0.3
servers: [{ url: /api/v3 }]
paths:
  /pet/{petId}:
    get:
      operationId: getPetById
      parameters:
        - { name: petId, in: path, required: true, schema: { type: integer, format: int64 } }
        - { name: verbose, in: query, schema: { type: boolean } }
        - { name: tags, in: query, schema: { type: array, items: { type: string, enum: [a, b] } } }
        - { name: x-trace, in: header, required: true, schema: { type: string, pattern: '^[0-9a-f]+$' } }
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Pet' }
        "404": { description: none }
  /pet/mine:
    get:
      operationId: getMine
      responses:
        "200": { description: ok }
  /pet:
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: '#/components/schemas/Pet' }
          application/xml:
            schema: { $ref: '#/components/schemas/Pet' }
      responses:
        "201": { description: made, content: { application/json: { schema: { $ref: '#/components/schemas/Pet' } } } }
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        id: { type: integer, minimum: 1 }
        name: { type: string, minLength: 1 }
        status: { type: string, enum: [available, sold], nullable: true }
        born: { type: string, format: date-time }
"#;

    fn compiled() -> Compiled {
        let bundle = bundle::load(
            Read {
                key: "a.yaml".into(),
                shown: "a.yaml".into(),
                text: DOC.into(),
            },
            &mut |_| None,
        )
        .unwrap();
        let contract = Contract::new(&bundle);
        // It travels as JSON in the agent's configuration.
        let contract: Contract =
            serde_json::from_str(&serde_json::to_string(&contract).unwrap()).unwrap();
        let compiled = Compiled::new(&contract).unwrap();
        assert_eq!(compiled.unusable(), Vec::<String>::new());
        compiled
    }

    fn request(
        compiled: &Compiled,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<Refused> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query: Vec<(Cow<'_, str>, Cow<'_, str>)> =
            form_urlencoded::parse(query.as_bytes()).collect();
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        compiled.check_request(&CallView {
            method,
            path,
            query: &query,
            headers: &map,
            body: body.as_bytes(),
        })
    }

    fn lines(refused: Option<Refused>) -> Vec<String> {
        refused
            .map(|r| r.violations.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    #[test]
    fn parameters_are_read_as_their_types() {
        let c = compiled();
        let trace = [("x-trace", "ab12")];
        assert_eq!(
            request(&c, "GET", "/pet/7?verbose=true&tags=a&tags=b", &trace, ""),
            None
        );
        assert_eq!(request(&c, "GET", "/api/v3/pet/7", &trace, ""), None);
        // A literal path wins over a template.
        assert_eq!(c.operation("GET", "/pet/mine", false), Some("getMine"));
        assert_eq!(c.operation("GET", "/pet/{id}", true), Some("getPetById"));
        assert_eq!(c.operation("DELETE", "/pet/7", false), None);
        let refused = request(
            &c,
            "GET",
            "/pet/seven?verbose=yes&tags=c",
            &[("x-trace", "XYZ")],
            "",
        );
        assert_eq!(refused.as_ref().unwrap().operation, "getPetById");
        assert_eq!(
            lines(refused),
            [
                r#"/path/petId: expected type integer, found "seven" (string)"#,
                r#"/query/verbose: expected type boolean, found "yes" (string)"#,
                r#"/query/tags/0: expected one of ["a","b"], found "c""#,
                r#"/header/x-trace: expected text matching `^[0-9a-f]+$`, found "XYZ""#,
            ]
        );
        assert_eq!(
            lines(request(&c, "GET", "/pet/7", &[], "")),
            ["/header/x-trace: expected the required header parameter `x-trace`, found nothing"]
        );
    }

    #[test]
    fn bodies_are_checked_against_their_media_type() {
        let c = compiled();
        let json = [("content-type", "application/json")];
        assert_eq!(
            request(
                &c,
                "POST",
                "/pet",
                &json,
                r#"{"name": "Rex", "status": null}"#
            ),
            None
        );
        assert_eq!(
            lines(request(
                &c,
                "POST",
                "/pet",
                &json,
                r#"{"id": 0, "status": "lost", "born": "yesterday"}"#
            )),
            [
                "/body/name: expected the required property `name`, found nothing",
                r#"/body/born: expected a `date-time`, found "yesterday""#,
                "/body/id: expected a number >= 1, found 0",
                r#"/body/status: expected one of ["available","sold",null], found "lost""#,
            ]
        );
        assert_eq!(
            lines(request(&c, "POST", "/pet", &json, "")),
            ["/body: expected a request body (it is required), found none"]
        );
        assert_eq!(
            lines(request(
                &c,
                "POST",
                "/pet",
                &[("content-type", "text/plain")],
                "Rex"
            )),
            [
                "/header/content-type: expected one of `application/json`, `application/xml`, found `text/plain`"
            ]
        );
        // XML is declared but not checked.
        assert_eq!(
            request(
                &c,
                "POST",
                "/pet",
                &[("content-type", "application/xml")],
                "<pet/>"
            ),
            None
        );
        assert_eq!(
            lines(request(&c, "POST", "/pet", &json, "{oops")),
            [
                "/body: expected a JSON document, found text that is not JSON (key must be a string at line 1 column 2)"
            ]
        );
    }

    #[test]
    fn answers_are_checked_for_status_and_body() {
        let c = compiled();
        let check = |path: &str, status: u16, body: &str| {
            c.check_response(
                "GET",
                path,
                false,
                status,
                Some("application/json"),
                body.as_bytes(),
            )
            .map(|(_, v)| v.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|v| v.to_string())
        };
        assert_eq!(
            check("/pet/1", 200, r#"{"id": 1, "name": "Rex"}"#),
            Ok(vec![])
        );
        assert_eq!(check("/pet/1", 404, ""), Ok(vec![]));
        assert_eq!(
            check("/pet/1", 200, r#"{"id": "1", "name": "Rex"}"#),
            Ok(vec![
                r#"/body/id: expected type integer, found "1" (string)"#.to_owned()
            ])
        );
        assert_eq!(
            check("/pet/1", 500, ""),
            Ok(vec![
                "/status: expected a declared status (200, 404), found 500".to_owned()
            ])
        );
        assert_eq!(
            check("/pet/1", 200, ""),
            Ok(vec![
                "/body: expected a body (`application/json`), found none".to_owned()
            ])
        );
        assert_eq!(
            check("/owners", 200, "{}"),
            Err(": expected an operation of the document, found GET /owners, which the document does not declare".to_owned())
        );
        let _ = json!({});
    }
}
