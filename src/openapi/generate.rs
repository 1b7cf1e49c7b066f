//! Values made from a schema when a document gives no example: the same
//! schema always gives the same value (no randomness), and the value
//! respects what the schema says (type, format, enum, bounds, required
//! properties), so that it validates against the schema it came from.

use serde_json::{Map, Number, Value, json};

use super::bundle::Bundle;
use super::resolve;

/// How deep a generated value nests before only what is required is made.
const MAX_DEPTH: usize = 8;
/// How often one `$ref` may repeat on the way down (recursive schemas).
const MAX_REPEATS: usize = 2;

/// Which side of a call the value is for: a response leaves out
/// `writeOnly` properties, a request `readOnly` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

/// Makes values from the schemas of one document.
pub struct Generator<'a> {
    bundle: &'a Bundle,
    side: Side,
    /// Path parameters of the operation: a string property of the same name
    /// (at the top level) echoes the request's value (`{{path.name}}`).
    echo: &'a [String],
}

impl<'a> Generator<'a> {
    pub fn new(bundle: &'a Bundle, side: Side, echo: &'a [String]) -> Self {
        Generator { bundle, side, echo }
    }

    /// A value for the schema at `pointer`.
    pub fn value(&self, pointer: &str, schema: &Value) -> Value {
        self.make(pointer, schema, 0, &mut Vec::new())
    }

    fn make(&self, pointer: &str, schema: &Value, depth: usize, seen: &mut Vec<String>) -> Value {
        let (pointer, schema, pushed) = match self.follow(pointer, schema, seen) {
            Some(found) => found,
            None => return Value::Null,
        };
        let value = self.make_resolved(&pointer, schema, depth, seen);
        seen.truncate(seen.len() - pushed);
        value
    }

    /// Follows `$ref`s, noting each on `seen`; `None` when a reference has
    /// repeated too often on this branch.
    fn follow<'s>(
        &'s self,
        pointer: &str,
        schema: &'s Value,
        seen: &mut Vec<String>,
    ) -> Option<(String, &'s Value, usize)> {
        let mut pointer = pointer.to_owned();
        let mut schema = schema;
        let mut pushed = 0;
        for _ in 0..32 {
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
                return Some((pointer, schema, pushed));
            };
            if seen.iter().filter(|s| *s == target).count() >= MAX_REPEATS {
                seen.truncate(seen.len() - pushed);
                return None;
            }
            seen.push(target.to_owned());
            pushed += 1;
            let Some(found) = resolve::target(&self.bundle.document, target) else {
                seen.truncate(seen.len() - pushed);
                return None;
            };
            pointer = target.trim_start_matches('#').to_owned();
            schema = found;
        }
        seen.truncate(seen.len() - pushed);
        None
    }

    fn make_resolved(
        &self,
        pointer: &str,
        schema: &Value,
        depth: usize,
        seen: &mut Vec<String>,
    ) -> Value {
        let Some(object) = schema.as_object() else {
            // `true` or `{}`: anything goes.
            return json!("string");
        };
        if let Some(example) = object.get("example") {
            return example.clone();
        }
        if let Some(Value::Array(examples)) = object.get("examples")
            && let Some(first) = examples.first()
        {
            return first.clone();
        }
        if let Some(value) = object.get("const") {
            return value.clone();
        }
        if let Some(value) = object.get("default") {
            return value.clone();
        }
        if let Some(Value::Array(options)) = object.get("enum")
            && let Some(first) = options.iter().find(|o| !o.is_null()).or(options.first())
        {
            return first.clone();
        }
        if let Some(Value::Array(all)) = object.get("allOf") {
            let mut merged: Option<Value> = None;
            for (i, branch) in all.iter().enumerate() {
                let value = self.make(&format!("{pointer}/allOf/{i}"), branch, depth, seen);
                merged = Some(match (merged, value) {
                    (Some(Value::Object(mut into)), Value::Object(from)) => {
                        into.extend(from);
                        Value::Object(into)
                    }
                    (None, value) => value,
                    (Some(Value::Null), value) => value,
                    (Some(kept), _) => kept,
                });
            }
            // Properties beside `allOf` belong to the same object.
            let own = self.object(pointer, object, depth, seen);
            return match (merged, own) {
                (Some(Value::Object(mut into)), Some(Value::Object(from))) => {
                    into.extend(from);
                    Value::Object(into)
                }
                (Some(value), _) => value,
                (None, own) => own.unwrap_or(Value::Null),
            };
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = object.get(key) {
                let chosen = branches
                    .iter()
                    .enumerate()
                    .find(|(_, b)| !is_null_type(b))
                    .or_else(|| branches.iter().enumerate().next());
                if let Some((i, branch)) = chosen {
                    let value = self.make(&format!("{pointer}/{key}/{i}"), branch, depth, seen);
                    if let (Value::Object(mut value), Some(Value::Object(own))) =
                        (value.clone(), self.object(pointer, object, depth, seen))
                    {
                        value.extend(own);
                        return Value::Object(value);
                    }
                    return value;
                }
            }
        }
        match type_of(object).as_deref() {
            Some("object") => self
                .object(pointer, object, depth, seen)
                .unwrap_or_else(|| json!({})),
            Some("array") => self.array(pointer, object, depth, seen),
            Some("integer") => integer(object),
            Some("number") => number(object),
            Some("boolean") => Value::Bool(true),
            Some("null") => Value::Null,
            _ => string(object),
        }
    }

    /// The object an object schema describes, `None` when it names no
    /// properties.
    fn object(
        &self,
        pointer: &str,
        object: &Map<String, Value>,
        depth: usize,
        seen: &mut Vec<String>,
    ) -> Option<Value> {
        let properties = object.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        if let Some(properties) = properties {
            let here = format!("{pointer}/properties");
            for name in self.bundle.keys(&here, properties) {
                let Some(property) = properties.get(&name) else {
                    continue;
                };
                let needed = required.contains(&name.as_str());
                if depth >= MAX_DEPTH && !needed {
                    continue;
                }
                let resolved = resolve::schema(&self.bundle.document, property);
                let skip = match self.side {
                    Side::Response => flag(resolved, "writeOnly"),
                    Side::Request => flag(resolved, "readOnly"),
                };
                if skip && !needed {
                    continue;
                }
                let at = format!("{here}/{}", super::bundle::escape(&name));
                if depth == 0
                    && self.echo.contains(&name)
                    && type_of(resolved.as_object().unwrap_or(&Map::new())).as_deref()
                        == Some("string")
                    && resolved.get("enum").is_none()
                    && resolved.get("format").is_none()
                {
                    out.insert(name.clone(), Value::String(format!("{{{{path.{name}}}}}")));
                    continue;
                }
                let value = self.make(&at, property, depth + 1, seen);
                if value.is_null() && needed {
                    // A required property that recursion cut off: the
                    // smallest value of its type.
                    out.insert(name.clone(), smallest(resolved));
                } else if !value.is_null() || !needed {
                    out.insert(name.clone(), value);
                }
            }
            // Required but not described (a typo in `required`, say): any
            // value fits.
            for name in &required {
                if !out.contains_key(*name) && !properties.contains_key(*name) {
                    out.insert((*name).to_owned(), json!("string"));
                }
            }
        } else if let Some(extra) = object.get("additionalProperties").filter(|e| e.is_object())
            && object
                .get("minProperties")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                > 0
        {
            let value = self.make(
                &format!("{pointer}/additionalProperties"),
                extra,
                depth + 1,
                seen,
            );
            out.insert("key".into(), value);
        }
        if properties.is_none() && out.is_empty() {
            return None;
        }
        Some(Value::Object(out))
    }

    fn array(
        &self,
        pointer: &str,
        object: &Map<String, Value>,
        depth: usize,
        seen: &mut Vec<String>,
    ) -> Value {
        let min = object.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let max = object.get("maxItems").and_then(Value::as_u64);
        let mut count = if depth >= MAX_DEPTH { min } else { min.max(1) };
        if let Some(max) = max {
            count = count.min(max);
        }
        let Some(items) = object.get("items") else {
            return Value::Array(vec![json!("string"); count as usize]);
        };
        let item = self.make(&format!("{pointer}/items"), items, depth + 1, seen);
        if item.is_null() && !is_null_type(resolve::schema(&self.bundle.document, items)) {
            // Recursion cut the item off: an empty list, when allowed.
            return Value::Array(Vec::new());
        }
        Value::Array(vec![item; count as usize])
    }
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn is_null_type(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// The schema's type: `type` (the first that is not `null` when a list),
/// else what its keywords imply.
pub fn type_of(object: &Map<String, Value>) -> Option<String> {
    match object.get("type") {
        Some(Value::String(kind)) => return Some(kind.clone()),
        Some(Value::Array(kinds)) => {
            return kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|k| *k != "null")
                .or_else(|| kinds.first().and_then(Value::as_str))
                .map(str::to_owned);
        }
        _ => {}
    }
    if object.contains_key("properties") || object.contains_key("additionalProperties") {
        Some("object".into())
    } else if object.contains_key("items") {
        Some("array".into())
    } else {
        None
    }
}

/// The smallest value of a schema's type.
fn smallest(schema: &Value) -> Value {
    match schema.as_object().and_then(type_of).as_deref() {
        Some("object") => json!({}),
        Some("array") => json!([]),
        Some("integer") | Some("number") => json!(0),
        Some("boolean") => json!(false),
        Some("null") => Value::Null,
        _ => json!(""),
    }
}

fn bound(object: &Map<String, Value>, key: &str, exclusive: &str) -> Option<(f64, bool)> {
    // 3.1: `exclusiveMinimum: 5`; 3.0: `minimum: 5, exclusiveMinimum: true`.
    if let Some(limit) = object.get(exclusive).and_then(Value::as_f64) {
        return Some((limit, true));
    }
    let limit = object.get(key).and_then(Value::as_f64)?;
    Some((limit, flag(&Value::Object(object.clone()), exclusive)))
}

fn integer(object: &Map<String, Value>) -> Value {
    let min = bound(object, "minimum", "exclusiveMinimum")
        .map(|(l, ex)| if ex { l.floor() + 1.0 } else { l.ceil() });
    let max = bound(object, "maximum", "exclusiveMaximum")
        .map(|(l, ex)| if ex { l.ceil() - 1.0 } else { l.floor() });
    let mut value = match (min, max) {
        (Some(min), _) => min,
        (None, Some(max)) if max < 1.0 => max,
        _ => 1.0,
    };
    if let Some(step) = object.get("multipleOf").and_then(Value::as_f64)
        && step > 0.0
    {
        value = (value / step).ceil() * step;
    }
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::Number(Number::from(value as i64))
    } else {
        Number::from_f64(value).map_or(json!(1), Value::Number)
    }
}

fn number(object: &Map<String, Value>) -> Value {
    let min = bound(object, "minimum", "exclusiveMinimum").map(|(l, ex)| {
        if ex {
            l + (object
                .get("multipleOf")
                .and_then(Value::as_f64)
                .unwrap_or(0.5))
        } else {
            l
        }
    });
    let max = bound(object, "maximum", "exclusiveMaximum").map(|(l, ex)| {
        if ex {
            l - (object
                .get("multipleOf")
                .and_then(Value::as_f64)
                .unwrap_or(0.5))
        } else {
            l
        }
    });
    let mut value = match (min, max) {
        (Some(min), _) => min,
        (None, Some(max)) if max < 1.5 => max,
        _ => 1.5,
    };
    if let Some(step) = object.get("multipleOf").and_then(Value::as_f64)
        && step > 0.0
    {
        value = (value / step).ceil() * step;
    }
    Number::from_f64(value).map_or(json!(1.5), Value::Number)
}

fn string(object: &Map<String, Value>) -> Value {
    let format = object.get("format").and_then(Value::as_str).unwrap_or("");
    let base = match format {
        "date-time" => "2024-01-01T00:00:00Z",
        "date" => "2024-01-01",
        "time" => "00:00:00Z",
        "duration" => "P1D",
        "uuid" => "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "email" | "idn-email" => "user@example.com",
        "uri" | "url" | "iri" => "https://example.com/",
        "uri-reference" | "iri-reference" => "/example",
        "hostname" | "idn-hostname" => "example.com",
        "ipv4" => "192.0.2.1",
        "ipv6" => "2001:db8::1",
        "byte" => "c3RyaW5n",
        "password" => "password",
        "json-pointer" => "/example",
        "regex" => ".*",
        _ => "string",
    };
    let min = object.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = object
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    let mut text = base.to_owned();
    while text.chars().count() < min {
        text.push('x');
    }
    if let Some(max) = max
        && text.chars().count() > max
    {
        text = text.chars().take(max).collect();
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::bundle::{self, Read};

    fn bundle(text: &str) -> Bundle {
        bundle::load(
            Read {
                key: "a.yaml".into(),
                shown: "a.yaml".into(),
                text: text.into(),
            },
            &mut |_| None,
        )
        .unwrap()
    }

    fn generate(doc: &Bundle, name: &str, side: Side) -> Value {
        let pointer = format!("/components/schemas/{name}");
        let schema = doc.document.pointer(&pointer).unwrap();
        Generator::new(doc, side, &[]).value(&pointer, schema)
    }

    const DOC: &str = r#"
openapi: 3.0.3
components:
  schemas:
    Pet:
      type: object
      required: [name, photoUrls]
      properties:
        id: { type: integer, format: int64, readOnly: true }
        name: { type: string, minLength: 8, maxLength: 10 }
        photoUrls: { type: array, items: { type: string, format: uri } }
        status: { type: string, enum: [available, pending, sold] }
        born: { type: string, format: date-time }
        ref: { type: string, format: uuid }
        email: { type: string, format: email }
        weight: { type: number, minimum: 0, exclusiveMinimum: true, multipleOf: 0.25 }
        age: { type: integer, minimum: 3, maximum: 20 }
        secret: { type: string, writeOnly: true }
        tag: { $ref: '#/components/schemas/Tag' }
    Tag:
      allOf:
        - { $ref: '#/components/schemas/Named' }
        - type: object
          properties: { color: { type: string, example: red } }
    Named:
      type: object
      properties: { label: { type: string, default: x } }
    Tree:
      type: object
      required: [children]
      properties:
        value: { type: integer, nullable: true }
        children: { type: array, items: { $ref: '#/components/schemas/Tree' } }
    Choice:
      oneOf:
        - { type: 'null' }
        - { type: boolean }
"#;

    #[test]
    fn values_follow_the_schema_and_never_change() {
        let doc = bundle(DOC);
        let pet = generate(&doc, "Pet", Side::Response);
        assert_eq!(
            pet,
            json!({
                "id": 1, "name": "stringxx", "photoUrls": ["https://example.com/"],
                "status": "available", "born": "2024-01-01T00:00:00Z",
                "ref": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "email": "user@example.com",
                "weight": 0.25, "age": 3, "tag": {"label": "x", "color": "red"}
            })
        );
        // The same schema always gives the same value.
        for _ in 0..3 {
            assert_eq!(generate(&doc, "Pet", Side::Response), pet);
        }
        // A request leaves out read-only properties and keeps write-only ones.
        let request = generate(&doc, "Pet", Side::Request);
        assert!(request.get("id").is_none());
        assert_eq!(request["secret"], "string");
        assert_eq!(generate(&doc, "Choice", Side::Response), json!(true));
    }

    #[test]
    fn recursive_schemas_stop() {
        let doc = bundle(DOC);
        let tree = generate(&doc, "Tree", Side::Response);
        // Two levels of the recursion, then an empty list.
        assert_eq!(
            tree,
            json!({"value": 1, "children": [{"value": 1, "children": [{"value": 1, "children": []}]}]})
        );
    }
}
