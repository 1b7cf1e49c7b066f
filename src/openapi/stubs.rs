//! Stub routes made from a document's operations (PRODUCT.md 6.5).
//!
//! For each operation, in this order:
//! - one route per example name found on both sides, as Microcks pairs them:
//!   a request example named X (under a parameter's or the request body's
//!   `examples`) makes the route match that request (path segments, query
//!   parameters, headers, JSON body fields), and the response example named
//!   X is its answer, with that response's status;
//! - one route for any other call of the operation, answering the first 2xx
//!   response (else `default`, else the first declared) with its example
//!   (the media type's `example`, else its first named example, else the
//!   schema's `example`), else a value generated from the schema.
//!
//! Example routes of every operation come before the catch-all routes, and
//! catch-all routes with fewer path parameters before those with more, so
//! `/pets/mine` is not taken by `/pets/{id}`. When the first server's URL
//! has a path (`/api/v3`), every route is served under it as well.

use std::collections::BTreeMap;
use std::path::PathBuf;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Map, Value};

use super::bundle::{Bundle, escape};
use super::generate::{Generator, Side};
use super::operations::{self, Operation, is_json, named_examples};
use super::resolve;
use crate::manifest::tree::At;
use crate::manifest::{Respond, Route, RouteMatch};

/// Where a generated route comes from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub at: At,
    /// `example `Eclair Cafe` of GetPastryByName`.
    pub what: String,
}

/// What must be escaped in a path segment made from an example value.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The routes of every operation of `bundle`, with where each comes from.
pub fn routes(bundle: &Bundle) -> Vec<(Route, Origin)> {
    let mut paired = Vec::new();
    let mut defaults: Vec<(usize, Route, Origin)> = Vec::new();
    for operation in operations::operations(bundle) {
        paired.extend(example_routes(bundle, &operation));
        let route = default_route(bundle, &operation);
        let params = template(&operation.path)
            .iter()
            .filter(|s| s.starts_with('{'))
            .count();
        defaults.push((params, route.0, route.1));
    }
    defaults.sort_by_key(|(params, _, _)| *params);
    let mut all: Vec<(Route, Origin)> = paired;
    all.extend(
        defaults
            .into_iter()
            .map(|(_, route, origin)| (route, origin)),
    );
    if let Some(base) = base_path(&bundle.document) {
        let prefixed: Vec<(Route, Origin)> = all
            .iter()
            .map(|(route, origin)| {
                let mut route = route.clone();
                route.matcher.path = route.matcher.path.map(|p| format!("{base}{p}"));
                (route, origin.clone())
            })
            .collect();
        all.extend(prefixed);
    }
    all
}

/// The path of the first server's URL (`/api/v3`), when it has one other
/// than `/`; its `{variables}` take their defaults.
pub fn base_path(document: &Value) -> Option<String> {
    let server = document.get("servers")?.as_array()?.first()?;
    let mut url = server.get("url")?.as_str()?.to_owned();
    if let Some(variables) = server.get("variables").and_then(Value::as_object) {
        for (name, variable) in variables {
            if let Some(default) = variable.get("default").and_then(Value::as_str) {
                url = url.replace(&format!("{{{name}}}"), default);
            }
        }
    }
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url.as_str(),
    };
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    (!path.is_empty() && path.starts_with('/') && !path.contains('{')).then(|| path.to_owned())
}

/// The path's segments for the stub matcher: a segment that mixes text and
/// a parameter (`{year}-{month}`) matches any value.
fn template(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, segment)| {
            let whole = segment.starts_with('{')
                && segment.ends_with('}')
                && segment[1..segment.len() - 1]
                    .chars()
                    .all(|c| c != '{' && c != '}');
            if whole || !segment.contains('{') {
                segment.to_owned()
            } else {
                format!("{{segment{}}}", i + 1)
            }
        })
        .collect()
}

fn join(segments: &[String]) -> String {
    format!("/{}", segments.join("/"))
}

/// The status a response key answers with: `404`, `2XX` -> 200,
/// `default` -> 200.
fn status(key: &str) -> u16 {
    if let Ok(code) = key.parse::<u16>() {
        return code;
    }
    match key.chars().next().and_then(|c| c.to_digit(10)) {
        Some(class) if key.len() == 3 => class as u16 * 100,
        _ => 200,
    }
}

/// A text of a scalar example value (a header, query or path value).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(text).collect();
            parts.map(|p| p.join(","))
        }
        _ => None,
    }
}

/// A response's answer with `value` as its body in `media`.
fn respond(status: u16, media: Option<&str>, value: Option<&Value>) -> Respond {
    let mut respond = Respond {
        status,
        headers: BTreeMap::new(),
        json: None,
        body: None,
        delay: None,
        grpc_status: None,
        message: None,
        stream: None,
    };
    let (Some(media), Some(value)) = (media, value) else {
        return respond;
    };
    if is_json(media) {
        let value = match value {
            Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| value.clone()),
            other => other.clone(),
        };
        respond.json = Some(value);
        if !media.eq_ignore_ascii_case("application/json") && media != "*/*" {
            respond.headers.insert("content-type".into(), media.into());
        }
    } else {
        respond.body = Some(match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        respond.headers.insert("content-type".into(), media.into());
    }
    respond
}

/// Routes for the example names found on both the request and response side.
fn example_routes(bundle: &Bundle, operation: &Operation<'_>) -> Vec<(Route, Origin)> {
    // Request side: per name, what each parameter and body media holds.
    let mut request: Vec<String> = Vec::new();
    let mut params: Vec<(&str, &str, String, Value)> = Vec::new();
    for p in &operation.parameters {
        for (name, _, value) in named_examples(bundle, &p.pointer, p.object) {
            if !request.contains(&name) {
                request.push(name.clone());
            }
            params.push((p.location.as_str(), p.name.as_str(), name, value.clone()));
        }
    }
    let mut bodies: Vec<(String, String, Value)> = Vec::new();
    if let Some((pointer, body)) = &operation.body
        && let Some(content) = body.get("content").and_then(Value::as_object)
    {
        let here = format!("{pointer}/content");
        for media in bundle.keys(&here, content) {
            let Some(object) = content.get(&media).and_then(Value::as_object) else {
                continue;
            };
            let at = format!("{here}/{}", escape(&media));
            for (name, _, value) in named_examples(bundle, &at, object) {
                if !request.contains(&name) {
                    request.push(name.clone());
                }
                bodies.push((media.clone(), name, value.clone()));
            }
        }
    }
    if request.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<(bool, Route, Origin)> = Vec::new();
    let segments = template(&operation.path);
    for (key, pointer, response) in &operation.responses {
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            continue;
        };
        let here = format!("{pointer}/content");
        for media in bundle.keys(&here, content) {
            let Some(object) = content.get(&media).and_then(Value::as_object) else {
                continue;
            };
            let at = format!("{here}/{}", escape(&media));
            for (name, example_at, value) in named_examples(bundle, &at, object) {
                if !request.contains(&name) {
                    continue;
                }
                let json = is_json(&media);
                if out.iter().any(|(j, r, o)| {
                    *j == json
                        && o.what.contains(&format!("`{name}`"))
                        && r.matcher.method.as_deref() == Some(&operation.method)
                }) {
                    continue;
                }
                let mut matcher = RouteMatch {
                    method: Some(operation.method.clone()),
                    ..RouteMatch::default()
                };
                let mut path = segments.clone();
                for (location, param, example, value) in &params {
                    if *example != name {
                        continue;
                    }
                    let Some(text) = text(value) else { continue };
                    match *location {
                        "path" => {
                            let wanted = format!("{{{param}}}");
                            for segment in path.iter_mut() {
                                if *segment == wanted {
                                    *segment = utf8_percent_encode(&text, SEGMENT).to_string();
                                }
                            }
                        }
                        "query" => {
                            matcher.query.insert((*param).to_owned(), text);
                        }
                        "header" => {
                            matcher.headers.insert(param.to_ascii_lowercase(), text);
                        }
                        _ => {}
                    }
                }
                // The body example of the same name, in the media answered
                // when there is one, else any.
                let body = bodies
                    .iter()
                    .filter(|(_, n, _)| *n == name)
                    .find(|(m, _, _)| is_json(m) == json)
                    .or_else(|| bodies.iter().find(|(_, n, _)| *n == name));
                if let Some((body_media, _, value)) = body {
                    if is_json(body_media) {
                        matcher.json = Some(match value {
                            Value::String(s) => {
                                serde_json::from_str(s).unwrap_or_else(|_| value.clone())
                            }
                            other => other.clone(),
                        });
                    } else if let Some(text) = text(value) {
                        matcher.body = Some(text);
                    }
                }
                if !json {
                    matcher.headers.insert("accept".into(), media.clone());
                }
                matcher.path = Some(join(&path));
                let mut answer = respond(status(key), Some(&media), Some(value));
                headers(bundle, pointer, response, &mut answer);
                let (file, at) = bundle
                    .position(&example_at)
                    .unwrap_or_else(|| (bundle.files[0].clone(), (1, 1)));
                out.push((
                    json,
                    Route {
                        matcher,
                        respond: answer,
                        converted: None,
                    },
                    Origin {
                        file,
                        at,
                        what: format!("example `{name}` of {}", operation.label),
                    },
                ));
            }
        }
    }
    // Answers in other media types need their `accept`: before the JSON ones.
    out.sort_by_key(|(json, _, _)| *json);
    out.into_iter().map(|(_, r, o)| (r, o)).collect()
}

/// The catch-all route of an operation.
fn default_route(bundle: &Bundle, operation: &Operation<'_>) -> (Route, Origin) {
    let segments = template(&operation.path);
    let echo: Vec<String> = operation
        .parameters
        .iter()
        .filter(|p| p.location == "path")
        .map(|p| p.name.clone())
        .collect();
    let chosen = operation
        .responses
        .iter()
        .find(|(key, _, _)| key.starts_with('2'))
        .or_else(|| {
            operation
                .responses
                .iter()
                .find(|(key, _, _)| key == "default")
        })
        .or_else(|| operation.responses.first());
    let matcher = RouteMatch {
        method: Some(operation.method.clone()),
        path: Some(join(&segments)),
        ..RouteMatch::default()
    };
    let at_operation = || {
        bundle
            .position(&operation.pointer)
            .unwrap_or_else(|| (bundle.files[0].clone(), (1, 1)))
    };
    let Some((key, pointer, response)) = chosen else {
        let (file, at) = at_operation();
        return (
            Route {
                matcher,
                respond: respond(204, None, None),
                converted: None,
            },
            Origin {
                file,
                at,
                what: format!("{} (no responses declared)", operation.label),
            },
        );
    };
    let (media, object, media_at) = match response.get("content").and_then(Value::as_object) {
        Some(content) => {
            let here = format!("{pointer}/content");
            let keys = bundle.keys(&here, content);
            let media = keys.iter().find(|m| is_json(m)).or(keys.first()).cloned();
            let object = media
                .as_ref()
                .and_then(|m| content.get(m))
                .and_then(Value::as_object);
            let at = media
                .as_ref()
                .map(|m| format!("{here}/{}", escape(m)))
                .unwrap_or(here);
            (media, object, at)
        }
        None => (None, None, pointer.clone()),
    };
    let mut origin_at = pointer.clone();
    let mut what = format!("response {key} of {}", operation.label);
    let value: Option<Value> = object.and_then(|object| {
        if let Some(example) = object.get("example") {
            origin_at = format!("{media_at}/example");
            what = format!("example of response {key} of {}", operation.label);
            return Some(example.clone());
        }
        if let Some((name, at, value)) = named_examples(bundle, &media_at, object).first() {
            origin_at = at.clone();
            what = format!("example `{name}` of {}", operation.label);
            return Some((*value).clone());
        }
        let schema = object.get("schema")?;
        origin_at = format!("{media_at}/schema");
        what = format!(
            "response {key} of {} (made from its schema)",
            operation.label
        );
        Some(
            Generator::new(bundle, Side::Response, &echo)
                .value(&format!("{media_at}/schema"), schema),
        )
    });
    let mut answer = respond(status(key), media.as_deref(), value.as_ref());
    headers(bundle, pointer, response, &mut answer);
    let (file, at) = bundle.position(&origin_at).unwrap_or_else(at_operation);
    (
        Route {
            matcher,
            respond: answer,
            converted: None,
        },
        Origin { file, at, what },
    )
}

/// The response's declared headers, with their examples or generated values.
fn headers(bundle: &Bundle, pointer: &str, response: &Map<String, Value>, respond: &mut Respond) {
    let Some(headers) = response.get("headers").and_then(Value::as_object) else {
        return;
    };
    for (name, header) in headers {
        if name.eq_ignore_ascii_case("content-type") {
            continue;
        }
        let here = format!("{pointer}/headers/{}", escape(name));
        let (here, header) = resolve::follow(&bundle.document, &here, header);
        let Some(object) = header.as_object() else {
            continue;
        };
        let value = object
            .get("example")
            .cloned()
            .or_else(|| {
                named_examples(bundle, &here, object)
                    .first()
                    .map(|(_, _, v)| (*v).clone())
            })
            .or_else(|| {
                let schema = object.get("schema")?;
                Some(
                    Generator::new(bundle, Side::Response, &[])
                        .value(&format!("{here}/schema"), schema),
                )
            });
        if let Some(text) = value.as_ref().and_then(text) {
            respond.headers.insert(name.to_ascii_lowercase(), text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::bundle::{self, Read};
    use serde_json::json;

    pub(crate) fn bundle(text: &str) -> Bundle {
        bundle::load(
            Read {
                key: "api.yaml".into(),
                shown: "api.yaml".into(),
                text: text.into(),
            },
            &mut |_| None,
        )
        .unwrap()
    }

    /// In the manner of Microcks' API Pastry sample: examples named alike on
    /// both sides pair up.
    const PASTRY: &str = r#"
openapi: 3.0.2
info: { title: pastry, version: 1.0.0 }
servers: [{ url: 'https://pastry.example.com/api/v2' }]
paths:
  /pastry/{name}:
    get:
      operationId: GetPastryByName
      parameters:
        - name: name
          in: path
          required: true
          schema: { type: string }
          examples:
            Eclair Cafe: { value: Eclair Cafe }
            Eclair Cafe Xml: { value: Eclair Cafe }
            Millefeuille: { value: Millefeuille }
      responses:
        "200":
          description: a pastry
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Pastry' }
              examples:
                Eclair Cafe: { value: { name: Eclair Cafe, price: 2.5 } }
                Millefeuille: { value: { name: Millefeuille, price: 4.4 } }
            text/xml:
              examples:
                Eclair Cafe Xml: { value: '<pastry><name>Eclair Cafe</name></pastry>' }
        "404":
          description: none
          content:
            application/json:
              examples:
                Unknown: { value: { error: no such pastry } }
    patch:
      operationId: PatchPastry
      parameters:
        - { name: name, in: path, required: true, schema: { type: string }, examples: { Eclair Cafe: { value: Eclair Cafe } } }
      requestBody:
        content:
          application/json:
            schema: { $ref: '#/components/schemas/Pastry' }
            examples:
              Eclair Cafe: { value: { price: 2.6 } }
      responses:
        "200":
          description: patched
          content:
            application/json:
              examples:
                Eclair Cafe: { value: { name: Eclair Cafe, price: 2.6 } }
  /pastry:
    get:
      operationId: GetPastries
      parameters:
        - { name: size, in: query, schema: { type: string, enum: [S, M, L] }, examples: { Unknown: { value: XL } } }
      responses:
        "200":
          description: all
          content:
            application/json:
              schema: { type: array, items: { $ref: '#/components/schemas/Pastry' } }
        "404":
          description: none
          content:
            application/json:
              examples:
                Unknown: { value: { error: no such size } }
components:
  schemas:
    Pastry:
      type: object
      required: [name]
      properties:
        name: { type: string }
        price: { type: number, format: double }
"#;

    fn summary(routes: &[(Route, Origin)]) -> Vec<String> {
        routes
            .iter()
            .map(|(r, o)| {
                format!(
                    "{} {} q={:?} h={:?} json={} -> {} {} | {}:{}",
                    r.matcher.method.as_deref().unwrap_or("*"),
                    r.matcher.path.as_deref().unwrap_or("*"),
                    r.matcher.query,
                    r.matcher.headers,
                    r.matcher
                        .json
                        .as_ref()
                        .map_or("-".into(), |j| j.to_string()),
                    r.respond.status,
                    r.respond
                        .json
                        .as_ref()
                        .map(|j| j.to_string())
                        .or(r.respond.body.clone())
                        .unwrap_or_default(),
                    o.at.0,
                    o.what,
                )
            })
            .collect()
    }

    #[test]
    fn examples_pair_by_name_and_the_first_2xx_answers_the_rest() {
        let routes = routes(&bundle(PASTRY));
        let lines = summary(&routes);
        let expected = [
            r#"GET /pastry/Eclair%20Cafe q={} h={"accept": "text/xml"} json=- -> 200 <pastry><name>Eclair Cafe</name></pastry> | 29:example `Eclair Cafe Xml` of GetPastryByName"#,
            r#"GET /pastry/Eclair%20Cafe q={} h={} json=- -> 200 {"name":"Eclair Cafe","price":2.5} | 25:example `Eclair Cafe` of GetPastryByName"#,
            r#"GET /pastry/Millefeuille q={} h={} json=- -> 200 {"name":"Millefeuille","price":4.4} | 26:example `Millefeuille` of GetPastryByName"#,
            r#"PATCH /pastry/Eclair%20Cafe q={} h={} json={"price":2.6} -> 200 {"name":"Eclair Cafe","price":2.6} | 52:example `Eclair Cafe` of PatchPastry"#,
            r#"GET /pastry q={"size": "XL"} h={} json=- -> 404 {"error":"no such size"} | 69:example `Unknown` of GetPastries"#,
            r#"GET /pastry q={} h={} json=- -> 200 [{"name":"string","price":1.5}] | 63:response 200 of GetPastries (made from its schema)"#,
            r#"GET /pastry/{name} q={} h={} json=- -> 200 {"name":"Eclair Cafe","price":2.5} | 25:example `Eclair Cafe` of GetPastryByName"#,
            r#"PATCH /pastry/{name} q={} h={} json=- -> 200 {"name":"Eclair Cafe","price":2.6} | 52:example `Eclair Cafe` of PatchPastry"#,
        ];
        assert_eq!(&lines[..8], expected);
        // Everything again under the server's path.
        assert_eq!(routes.len(), 16);
        assert_eq!(
            routes[8].0.matcher.path.as_deref(),
            Some("/api/v2/pastry/Eclair%20Cafe")
        );
    }

    #[test]
    fn generated_answers_echo_path_parameters_of_the_same_name() {
        let doc = bundle(
            r#"
openapi: 3.1.0
paths:
  /payments/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        "200":
          description: a payment
          headers:
            x-rate-limit: { schema: { type: integer, minimum: 10 } }
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: { type: string }
                  amount: { type: integer, minimum: 1, maximum: 5 }
                  state: { type: string, enum: [pending, settled] }
  /health:
    get:
      responses:
        "204": { description: fine }
"#,
        );
        let routes = routes(&doc);
        assert_eq!(routes.len(), 2);
        // The route without parameters first.
        assert_eq!(routes[0].0.matcher.path.as_deref(), Some("/health"));
        assert_eq!(routes[0].0.respond.status, 204);
        assert_eq!(routes[0].0.respond.json, None);
        let payment = &routes[1].0.respond;
        assert_eq!(
            payment.json,
            Some(json!({"id": "{{path.id}}", "amount": 1, "state": "pending"}))
        );
        assert_eq!(payment.headers["x-rate-limit"], "10");
    }

    #[test]
    fn base_paths_come_from_the_first_server() {
        let base = |servers: Value| base_path(&json!({ "servers": servers }));
        assert_eq!(base(json!([{"url": "/api/v3"}])), Some("/api/v3".into()));
        assert_eq!(
            base(json!([{"url": "https://x.example.com/v1/"}])),
            Some("/v1".into())
        );
        assert_eq!(base(json!([{"url": "https://x.example.com"}])), None);
        assert_eq!(
            base(json!([{"url": "https://x/{v}", "variables": {"v": {"default": "beta"}}}])),
            Some("/beta".into())
        );
        assert_eq!(
            template("/reports/{year}-{month}/{id}"),
            ["reports", "{segment2}", "{id}"]
        );
    }
}
