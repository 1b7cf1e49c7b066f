//! The operations of a bundled document, with their parameters (the path
//! item's and the operation's, the latter winning), request body and
//! responses, every `$ref` followed.

use serde_json::{Map, Value};

use super::bundle::{Bundle, escape};
use super::resolve;

/// The HTTP methods an OpenAPI path item may hold, in the order served.
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation.
pub struct Operation<'a> {
    /// Upper case: `GET`.
    pub method: String,
    /// As written under `paths`: `/pets/{petId}`.
    pub path: String,
    /// Where the operation object is in the bundle.
    pub pointer: String,
    pub object: &'a Map<String, Value>,
    /// `operationId`, else `GET /pets/{petId}`.
    pub label: String,
    pub parameters: Vec<Parameter<'a>>,
    /// The request body (pointer, object), when declared.
    pub body: Option<(String, &'a Map<String, Value>)>,
    /// The responses as written: (status key, pointer, object).
    pub responses: Vec<(String, String, &'a Map<String, Value>)>,
}

/// One parameter of an operation.
pub struct Parameter<'a> {
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    pub pointer: String,
    pub object: &'a Map<String, Value>,
}

impl Parameter<'_> {
    pub fn required(&self) -> bool {
        self.location == "path" || self.object.get("required") == Some(&Value::Bool(true))
    }

    /// The parameter's schema and where it is (from `schema`, or the first
    /// media type of `content`).
    pub fn schema(&self) -> Option<(String, &Value)> {
        if let Some(schema) = self.object.get("schema") {
            return Some((format!("{}/schema", self.pointer), schema));
        }
        let (media, content) = self
            .object
            .get("content")
            .and_then(Value::as_object)?
            .iter()
            .next()?;
        let schema = content.get("schema")?;
        Some((
            format!("{}/content/{}/schema", self.pointer, escape(media)),
            schema,
        ))
    }
}

/// Every operation of the document, path by path in written order.
pub fn operations(bundle: &Bundle) -> Vec<Operation<'_>> {
    let document = &bundle.document;
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for path in bundle.keys("/paths", paths) {
        let Some(item) = paths.get(&path) else {
            continue;
        };
        let (item_pointer, item) =
            resolve::follow(document, &format!("/paths/{}", escape(&path)), item);
        let Some(item) = item.as_object() else {
            continue;
        };
        let shared = parameters(document, &item_pointer, item);
        for method in METHODS {
            let Some(object) = item.get(*method) else {
                continue;
            };
            let pointer = format!("{item_pointer}/{method}");
            let (pointer, object) = resolve::follow(document, &pointer, object);
            let Some(object) = object.as_object() else {
                continue;
            };
            let mut params = parameters(document, &pointer, object);
            for p in &shared {
                if !params
                    .iter()
                    .any(|o| o.name == p.name && o.location == p.location)
                {
                    params.push(Parameter {
                        name: p.name.clone(),
                        location: p.location.clone(),
                        pointer: p.pointer.clone(),
                        object: p.object,
                    });
                }
            }
            let body = object.get("requestBody").and_then(|body| {
                let (at, body) = resolve::follow(document, &format!("{pointer}/requestBody"), body);
                Some((at, body.as_object()?))
            });
            let mut responses = Vec::new();
            if let Some(map) = object.get("responses").and_then(Value::as_object) {
                let here = format!("{pointer}/responses");
                for status in bundle.keys(&here, map) {
                    let Some(response) = map.get(&status) else {
                        continue;
                    };
                    let (at, response) =
                        resolve::follow(document, &format!("{here}/{}", escape(&status)), response);
                    if let Some(response) = response.as_object() {
                        responses.push((status, at, response));
                    }
                }
            }
            let method = method.to_ascii_uppercase();
            let label = object
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{method} {path}"));
            out.push(Operation {
                method,
                path: path.clone(),
                pointer,
                object,
                label,
                parameters: params,
                body,
                responses,
            });
        }
    }
    out
}

fn parameters<'a>(
    document: &'a Value,
    pointer: &str,
    object: &'a Map<String, Value>,
) -> Vec<Parameter<'a>> {
    let Some(list) = object.get("parameters").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let (at, p) = resolve::follow(document, &format!("{pointer}/parameters/{i}"), p);
            let p = p.as_object()?;
            Some(Parameter {
                name: p.get("name")?.as_str()?.to_owned(),
                location: p.get("in")?.as_str()?.to_owned(),
                pointer: at,
                object: p,
            })
        })
        .collect()
}

/// The example values of a parameter, a media type or a header, by name
/// (`examples`), in written order, each with where it is.
pub fn named_examples<'a>(
    bundle: &'a Bundle,
    pointer: &str,
    object: &'a Map<String, Value>,
) -> Vec<(String, String, &'a Value)> {
    let Some(examples) = object.get("examples").and_then(Value::as_object) else {
        return Vec::new();
    };
    let here = format!("{pointer}/examples");
    bundle
        .keys(&here, examples)
        .into_iter()
        .filter_map(|name| {
            let example = examples.get(&name)?;
            let (at, example) = resolve::follow(
                &bundle.document,
                &format!("{here}/{}", escape(&name)),
                example,
            );
            let value = example.get("value")?;
            Some((name, format!("{at}/value"), value))
        })
        .collect()
}

/// Whether a media type carries JSON (`application/json`, `*/*+json`).
pub fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
        || essence == "*/*"
}
