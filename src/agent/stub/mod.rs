//! Stub dependencies (PRODUCT.md section 4): routes compiled once at start
//! (path templates split, header names parsed, response templates parsed),
//! first match wins, `{{path.x}}`, `{{query.x}}` and `{{header.x}}` filled
//! into the answer, and a diagnosis of the closest route when nothing matches.

use std::borrow::Cow;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde_json::Value;

use super::body::{self, Body};
use super::journal;
use crate::manifest::{Respond, Route, RouteMatch};
use crate::openapi::contract::{CallView, Compiled, Contract, Refused};

mod converted;
mod matcher;
mod template;

pub use matcher::json_contains;

/// A request as the matchers see it.
pub struct RequestView<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The query as sent (for WireMock's `url` and `urlPattern`).
    pub raw_query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl RequestView<'_> {
    fn segments(&self) -> Vec<&str> {
        split_path(self.path)
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
    }

    /// Whether any of the values given for `name` is `value` (a name may
    /// come several times: `?tag=a&tag=b`).
    fn has_query(&self, name: &str, value: &str) -> bool {
        self.query.iter().any(|(key, v)| key == name && v == value)
    }
}

fn split_path(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// The compiled routes of one stub dependency.
#[derive(Debug)]
pub struct Stub {
    routes: Vec<CompiledRoute>,
    /// With `validate: true`: the OpenAPI contract requests must keep.
    contract: Option<Box<Compiled>>,
}

static INVALID: HeaderName = HeaderName::from_static("x-sandbox-invalid");
/// The journal's label of a request the contract refused.
const REFUSED: &str = "contract: invalid request";

#[derive(Debug)]
struct CompiledRoute {
    /// `route 1: GET /payments/{id}` (1-based, as the journal shows it).
    label: &'static str,
    number: usize,
    method: Option<String>,
    path: Option<Vec<Segment>>,
    path_text: Option<String>,
    query: Vec<(String, String)>,
    headers: Vec<(HeaderName, String)>,
    json: Option<Value>,
    body: Option<Bytes>,
    respond: CompiledRespond,
    /// A converted route (a WireMock mapping) matches by its own rules.
    converted: Option<Box<converted::Converted>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug)]
struct CompiledRespond {
    status: StatusCode,
    reason: Option<hyper::ext::ReasonPhrase>,
    /// A header's value is ready when it has no placeholders.
    headers: Vec<(HeaderName, Option<HeaderValue>, Template)>,
    body: BodyTemplate,
    delay: Option<Duration>,
}

#[derive(Debug)]
enum BodyTemplate {
    Empty,
    /// No placeholders: the bytes are ready.
    Fixed(Bytes, &'static str),
    Text(Template),
    Json(Value),
}

/// A string with `{{source.name}}` placeholders, split once.
#[derive(Debug, Clone, PartialEq)]
struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Path(String),
    Query(String),
    Header(String),
}

/// What a matching route captured from the path.
type Captures<'r, 'q> = Vec<(&'r str, &'q str)>;

/// A route that answered.
pub struct Answer {
    pub label: &'static str,
    pub delay: Option<Duration>,
    pub response: http::Response<Body>,
}

impl Stub {
    /// Compiles routes; an error names the route and what is wrong.
    pub fn compile(routes: &[Route]) -> Result<Stub, String> {
        let routes = routes
            .iter()
            .enumerate()
            .map(|(index, route)| {
                compile_route(index + 1, route).map_err(|e| format!("route {}: {e}", index + 1))
            })
            .collect::<Result<_, _>>()?;
        Ok(Stub {
            routes,
            contract: None,
        })
    }

    /// Checks requests against `contract` before any route answers; its
    /// validators are compiled here, once.
    pub fn with_contract(mut self, contract: Option<&Contract>) -> Result<Stub, String> {
        if let Some(contract) = contract {
            let compiled = Compiled::new(contract)?;
            self.contract = Some(Box::new(compiled));
        }
        Ok(self)
    }

    /// The first matching route's answer, or a diagnosis naming the closest
    /// route and how the request differs.
    pub fn answer(&self, request: &RequestView<'_>) -> Result<Answer, String> {
        if let Some(contract) = &self.contract
            && let Some(refused) = contract.check_request(&CallView {
                method: request.method.as_str(),
                path: request.path,
                query: &request.query,
                headers: request.headers,
                body: request.body,
            })
        {
            return Ok(Answer {
                label: REFUSED,
                delay: None,
                response: refused_response(&refused),
            });
        }
        let segments = request.segments();
        let mut json = None;
        for route in &self.routes {
            if let Some(captures) = route.matches(request, &segments, &mut json) {
                return Ok(Answer {
                    label: route.label,
                    delay: route.respond.delay,
                    response: route.respond.render(request, &captures),
                });
            }
        }
        Err(self.diagnose(request, &segments))
    }

    fn diagnose(&self, request: &RequestView<'_>, segments: &[&str]) -> String {
        let mut message = format!("no stub route matched {} {}", request.method, request.path);
        if let Some(query) = render_query(&request.query) {
            message.push('?');
            message.push_str(&query);
        }
        let json = serde_json::from_slice::<Value>(request.body).ok();
        let closest = self
            .routes
            .iter()
            .map(|route| (route, route.differences(request, segments, json.as_ref())))
            .min_by_key(|(_, differences)| {
                differences.iter().map(|(weight, _)| weight).sum::<u32>()
            });
        match closest {
            None => message.push_str("\nthe stub has no routes"),
            Some((route, differences)) => {
                let reasons: Vec<&str> = differences
                    .iter()
                    .map(|(_, reason)| reason.as_str())
                    .collect();
                message.push_str(&format!(
                    "\nclosest: route {} ({}): {}",
                    route.number,
                    route.describe(),
                    reasons.join("; ")
                ));
            }
        }
        message.push('\n');
        message
    }
}

/// 400 with `x-sandbox-invalid: true` and the violations as JSON.
fn refused_response(refused: &Refused) -> http::Response<Body> {
    #[derive(serde::Serialize)]
    struct Invalid<'a> {
        error: String,
        operation: &'a str,
        violations: &'a [crate::openapi::Violation],
    }
    let document = Invalid {
        error: format!(
            "the request breaks the OpenAPI operation `{}`",
            refused.operation
        ),
        operation: &refused.operation,
        violations: &refused.violations,
    };
    let mut response = http::Response::new(body::full(Bytes::from(
        serde_json::to_vec_pretty(&document).unwrap_or_default(),
    )));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(INVALID.clone(), HeaderValue::from_static("true"));
    response
}

fn render_query(query: &[(Cow<'_, str>, Cow<'_, str>)]) -> Option<String> {
    if query.is_empty() {
        return None;
    }
    Some(
        query
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("&"),
    )
}

fn compile_route(number: usize, route: &Route) -> Result<CompiledRoute, String> {
    if let Some(route) = &route.converted {
        return converted::compile(number, route);
    }
    let RouteMatch {
        method,
        path,
        query,
        headers,
        json,
        body,
        grpc: _,
    } = &route.matcher;
    let headers = headers
        .iter()
        .map(|(name, value)| {
            HeaderName::from_bytes(name.trim().as_bytes())
                .map(|name| (name, value.clone()))
                .map_err(|_| format!("`{name}` is not a header name"))
        })
        .collect::<Result<_, _>>()?;
    let mut route = CompiledRoute {
        label: "",
        number,
        method: method.as_ref().map(|m| m.trim().to_ascii_uppercase()),
        path: path.as_deref().map(compile_path),
        path_text: path.clone(),
        query: query.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        headers,
        json: json.clone(),
        body: body.as_ref().map(|b| Bytes::from(b.clone())),
        respond: compile_respond(&route.respond)?,
        converted: None,
    };
    route.label = journal::lasting(format!("route {number}: {}", route.describe()));
    Ok(route)
}

fn compile_path(path: &str) -> Vec<Segment> {
    split_path(path)
        .into_iter()
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.trim().to_owned()),
                None => Segment::Literal(segment.to_owned()),
            },
        )
        .collect()
}

fn compile_respond(respond: &Respond) -> Result<CompiledRespond, String> {
    let status = StatusCode::from_u16(respond.status)
        .map_err(|_| format!("{} is not an HTTP status", respond.status))?;
    let mut headers: Vec<(HeaderName, Template)> = respond
        .headers
        .iter()
        .map(|(name, value)| {
            HeaderName::from_bytes(name.trim().as_bytes())
                .map(|name| (name, Template::parse(value)))
                .map_err(|_| format!("`{name}` is not a header name"))
        })
        .collect::<Result<_, _>>()?;
    let has_content_type = headers.iter().any(|(name, _)| name == header::CONTENT_TYPE);
    let body = if let Some(json) = &respond.json {
        if json_has_placeholders(json) {
            BodyTemplate::Json(json.clone())
        } else {
            BodyTemplate::Fixed(
                body::lasting_bytes(serde_json::to_vec(json).unwrap_or_default()),
                "application/json",
            )
        }
    } else if let Some(text) = &respond.body {
        let template = Template::parse(text);
        if template.is_literal() {
            BodyTemplate::Fixed(
                body::lasting_bytes(text.clone().into_bytes()),
                "text/plain; charset=utf-8",
            )
        } else {
            BodyTemplate::Text(template)
        }
    } else {
        BodyTemplate::Empty
    };
    if !has_content_type {
        let content_type = match &body {
            BodyTemplate::Json(_) => Some("application/json"),
            BodyTemplate::Text(_) => Some("text/plain; charset=utf-8"),
            BodyTemplate::Fixed(_, content_type) => Some(*content_type),
            BodyTemplate::Empty => None,
        };
        if let Some(content_type) = content_type {
            headers.push((header::CONTENT_TYPE, Template::parse(content_type)));
        }
    }
    let headers = headers
        .into_iter()
        .map(|(name, template)| {
            let ready = match template.parts.as_slice() {
                [] => body::lasting_header(""),
                [Part::Literal(text)] => body::lasting_header(text),
                _ => None,
            };
            (name, ready, template)
        })
        .collect();
    Ok(CompiledRespond {
        status,
        reason: None,
        headers,
        body,
        delay: respond.delay.map(|span| span.0),
    })
}

fn json_has_placeholders(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains("{{"),
        Value::Array(items) => items.iter().any(json_has_placeholders),
        Value::Object(map) => map.values().any(json_has_placeholders),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::matcher::json_difference;
    use super::*;
    use http_body_util::BodyExt;

    fn routes(yaml: &str) -> Stub {
        let routes: Vec<Route> = serde_yaml::from_str(yaml).unwrap();
        Stub::compile(&routes).unwrap()
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
            self.headers.insert(name, value.parse().unwrap());
            self
        }

        fn body(mut self, body: &str) -> Self {
            self.body = body.as_bytes().to_vec();
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

    async fn answer(
        stub: &Stub,
        request: &Req,
    ) -> Result<(String, u16, HeaderMap, String), String> {
        let answer = stub.answer(&request.view())?;
        let (parts, body) = answer.response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        Ok((
            answer.label.to_string(),
            parts.status.as_u16(),
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        ))
    }

    const PAYMENTS: &str = r#"
- match: { method: GET, path: "/payments/{id}" }
  respond: { status: 200, json: { id: "{{path.id}}", state: settled, by: "{{header.x-user}}" } }
- match: { method: post, path: /payments, json: { currency: EUR, meta: { kind: card } } }
  respond: { status: 201, headers: { location: "/payments/{{query.ref}}" }, body: "made {{query.ref}}" }
- match: { path: /search, query: { q: shoes }, headers: { X-Tenant: acme } }
  respond: { body: found }
- match: { path: /echo, body: exact }
  respond: { status: 202, headers: { content-type: text/csv }, body: "a,b" }
"#;

    #[tokio::test]
    async fn paths_with_parameters_match_and_fill_templates() {
        let stub = routes(PAYMENTS);
        let (label, status, headers, body) =
            answer(&stub, &req("get", "/payments/42").header("x-user", "ann"))
                .await
                .unwrap();
        assert_eq!(label, "route 1: GET /payments/{id}");
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/json");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"id": "42", "state": "settled", "by": "ann"})
        );
    }

    #[tokio::test]
    async fn json_bodies_match_by_subset_and_query_fills_headers() {
        let stub = routes(PAYMENTS);
        let request = req("POST", "/payments?ref=7")
            .body(r#"{"currency":"EUR","amount":5,"meta":{"kind":"card","x":1}}"#);
        let (label, status, headers, body) = answer(&stub, &request).await.unwrap();
        assert_eq!((label.as_str(), status), ("route 2: POST /payments", 201));
        assert_eq!(headers["location"], "/payments/7");
        assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
        assert_eq!(body, "made 7");
        let wrong = req("POST", "/payments").body(r#"{"currency":"USD"}"#);
        let message = answer(&stub, &wrong).await.unwrap_err();
        assert!(
            message.contains("closest: route 2 (POST /payments)"),
            "{message}"
        );
        assert!(
            message.contains("body field `currency` is \"USD\", route wants \"EUR\""),
            "{message}"
        );
    }

    #[tokio::test]
    async fn query_and_headers_must_be_equal_with_names_case_insensitive() {
        let stub = routes(PAYMENTS);
        let good = req("GET", "/search?q=shoes&page=2").header("x-tenant", "acme");
        assert_eq!(answer(&stub, &good).await.unwrap().3, "found");
        // A repeated name matches when any of its values is the route's.
        let repeated = req("GET", "/search?q=hats&q=shoes").header("x-tenant", "acme");
        assert_eq!(answer(&stub, &repeated).await.unwrap().3, "found");
        let message = answer(
            &stub,
            &req("GET", "/search?q=hats").header("x-tenant", "acme"),
        )
        .await
        .unwrap_err();
        assert!(
            message.contains("query parameter `q` is `hats`, route wants `shoes`"),
            "{message}"
        );
        let message = answer(&stub, &req("GET", "/search?q=shoes"))
            .await
            .unwrap_err();
        assert!(
            message.contains("header `x-tenant` is missing"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn exact_bodies_and_route_content_types() {
        let stub = routes(PAYMENTS);
        let (_, status, headers, body) = answer(&stub, &req("PUT", "/echo").body("exact"))
            .await
            .unwrap();
        assert_eq!((status, body.as_str()), (202, "a,b"));
        assert_eq!(headers["content-type"], "text/csv");
        assert!(
            answer(&stub, &req("PUT", "/echo").body("exact!"))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn the_first_matching_route_wins() {
        let stub = routes(
            r#"
- match: { path: "/items/{id}" }
  respond: { body: any }
- match: { path: /items/1 }
  respond: { body: one }
"#,
        );
        assert_eq!(
            answer(&stub, &req("GET", "/items/1")).await.unwrap().3,
            "any"
        );
    }

    #[tokio::test]
    async fn unmatched_requests_name_the_closest_route() {
        let stub = routes(PAYMENTS);
        let message = answer(&stub, &req("GET", "/payments/7/refund"))
            .await
            .unwrap_err();
        assert!(
            message.starts_with(
                "no stub route matched GET /payments/7/refund\nclosest: route 1 (GET /payments/{id}): path has 3 segments, route has 2"
            ),
            "{message}"
        );
        let message = answer(&stub, &req("DELETE", "/payments/7"))
            .await
            .unwrap_err();
        assert!(
            message.contains("route 1 (GET /payments/{id}): method is DELETE, route wants GET"),
            "{message}"
        );
        let empty = Stub::compile(&[]).unwrap();
        assert!(
            answer(&empty, &req("GET", "/"))
                .await
                .unwrap_err()
                .contains("no routes")
        );
    }

    #[test]
    fn templates_split_once_and_keep_unknown_placeholders() {
        let template = Template::parse("a {{ path.id }} b {{other}} {{query.q}}");
        assert_eq!(
            template.parts,
            vec![
                Part::Literal("a ".into()),
                Part::Path("id".into()),
                Part::Literal(" b {{other}}".into()),
                Part::Literal(" ".into()),
                Part::Query("q".into()),
            ]
        );
        assert!(Template::parse("plain {{").is_literal());
        assert_eq!(
            compile_path("/a/{id}/b/"),
            vec![
                Segment::Literal("a".into()),
                Segment::Param("id".into()),
                Segment::Literal("b".into())
            ]
        );
    }

    #[test]
    fn json_subsets_are_recursive_and_arrays_exact() {
        let actual = serde_json::json!({"a": 1, "b": {"c": [1, 2], "d": "x"}});
        assert!(json_contains(
            &actual,
            &serde_json::json!({"b": {"d": "x"}})
        ));
        assert!(json_contains(
            &actual,
            &serde_json::json!({"b": {"c": [1, 2]}})
        ));
        assert!(!json_contains(
            &actual,
            &serde_json::json!({"b": {"c": [1]}})
        ));
        assert!(!json_contains(&actual, &serde_json::json!({"z": 1})));
        assert_eq!(
            json_difference(&actual, &serde_json::json!({"b": {"d": "y"}}), "").unwrap(),
            "body field `b.d` is \"x\", route wants \"y\""
        );
    }
}
