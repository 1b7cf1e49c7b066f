//! The registry's HTTP/1.1 server: routing, the JSON answers and the
//! `/_sandbox` admin paths. Every bad request gets a status and a JSON
//! reason; nothing a client sends can end the server.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::live::State;
use crate::agent::logs;

/// The largest body `PUT /_sandbox/hosts` accepts.
const MAX_PUT: usize = 1024 * 1024;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

pub(crate) async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(route(&state, request).await)
}

async fn route(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = request.method().clone();
    let read = method == Method::GET || method == Method::HEAD;
    match segments.as_slice() {
        [""] if read => {
            let mut response = respond(StatusCode::OK, Bytes::from_static(DASHBOARD.as_bytes()));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        ["_sandbox", "calls" | "state"] if read => control(request).await,
        ["_sandbox", "faults" | "limits", _] if method == Method::PUT => control(request).await,
        ["services"] if read => ok(state.services_doc()),
        ["services", name] if read => match state.position(name) {
            Some(i) => ok(state.entry_doc(i)),
            None => unknown_entry(state, name),
        },
        ["services", name, "openapi"] if read => match state.position(name) {
            Some(i) => match state.openapi(i) {
                Some(doc) => ok(doc),
                None => error(
                    StatusCode::NOT_FOUND,
                    json!({"error": format!("entry {name} declares no OpenAPI document")}),
                ),
            },
            None => unknown_entry(state, name),
        },
        ["traces"] if read => ok(Bytes::from(
            crate::trace::store()
                .list(crate::trace::LIST_LIMIT)
                .to_string(),
        )),
        ["traces", id] if read => match crate::trace::store().trace(id) {
            Some(trace) => ok(Bytes::from(trace.to_string())),
            None => error(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no span of trace {id} is kept (a trace id is 32 hex digits)")}),
            ),
        },
        ["logs"] if read => {
            let (since, limit) = cursor(&request);
            ok(Bytes::from(
                logs::store().since(None, since, limit).to_string(),
            ))
        }
        ["logs", name] if read => match state.position(name) {
            Some(_) => {
                let (since, limit) = cursor(&request);
                ok(Bytes::from(
                    logs::store().since(Some(name), since, limit).to_string(),
                ))
            }
            None => unknown_entry(state, name),
        },
        ["v1", "traces"] => crate::trace::otlp::handle(request).await,
        ["_sandbox", "health"] if read => ok(Bytes::from_static(b"{\"ok\":true}")),
        ["_sandbox", "metrics"] if read => {
            let body = json!({"probes": state.probes(), "uptime_s": state.uptime_s()});
            ok(Bytes::from(body.to_string()))
        }
        ["_sandbox", "hosts" | "healthy"] | ["logs", _]
            if matches!(method, Method::PUT | Method::POST)
                && !crate::registry::token::allows(request.headers(), state.token.as_deref()) =>
        {
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                json!({"error": crate::registry::token::REFUSED}),
            );
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
        ["logs", name] if method == Method::POST => post_logs(state, name, request).await,
        ["_sandbox", "hosts"] if method == Method::PUT => put_hosts(state, request).await,
        ["_sandbox", "healthy"] if method == Method::PUT => put_healthy(state, request).await,
        ["services"]
        | ["services", _]
        | ["services", _, "openapi"]
        | ["traces"]
        | ["traces", _]
        | ["logs"]
        | ["_sandbox", "health" | "metrics"] => not_allowed(&method, &path, "GET, HEAD"),
        ["logs", _] => not_allowed(&method, &path, "GET, HEAD, POST"),
        ["_sandbox", "hosts" | "healthy"] => not_allowed(&method, &path, "PUT"),
        _ => error(
            StatusCode::NOT_FOUND,
            json!({
                "error": format!("no such path {path}"),
                "paths": ["/", "/traces", "/traces/{id}", "/logs", "/logs/{entry}", "/services", "/services/{name}", "/services/{name}/openapi",
                          "/_sandbox/hosts", "/_sandbox/healthy", "/_sandbox/health",
                          "/_sandbox/metrics"],
            }),
        ),
    }
}

/// The dashboard (`GET /`): one page, no external resources.
pub const DASHBOARD: &str = include_str!("dashboard.html");

/// Passes a request on to the control API of the agent this registry runs
/// in (the journal, the state, fault and limit changes), so that the
/// dashboard reaches them from its own origin. The caller's
/// `Authorization` goes along: the agent checks the token as for any caller.
async fn control(request: Request<Incoming>) -> Response<Full<Bytes>> {
    let target = format!(
        "http://127.0.0.1:{}{}",
        crate::agent::config::ADMIN_PORT,
        request.uri().path_and_query().map_or("/", |pq| pq.as_str())
    );
    let method = request.method().as_str().to_owned();
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(auth) = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        headers.push(("authorization".to_owned(), auth.to_owned()));
    }
    let body = if method == "PUT" {
        match read_body(request).await {
            Ok(body) => Some(body.to_vec()),
            Err(response) => return response,
        }
    } else {
        None
    };
    match crate::health::http::request(
        &method,
        &target,
        &headers,
        body,
        std::time::Duration::from_secs(5),
    )
    .await
    {
        Ok(answer) => respond(
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
            Bytes::from(answer.body),
        ),
        Err(e) => error(
            StatusCode::BAD_GATEWAY,
            json!({"error": format!("the agent's control API does not answer: {e}")}),
        ),
    }
}

/// `since` and `limit` of a `/logs` query: lines after sequence number
/// `since` (0: from the oldest kept), at most `limit` (default 500).
fn cursor(request: &Request<Incoming>) -> (u64, usize) {
    let (mut since, mut limit) = (0, logs::LINES_PER_ENTRY);
    for pair in request.uri().query().unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("since", n)) => since = n.parse().unwrap_or(0),
            Some(("limit", n)) => limit = n.parse().unwrap_or(limit),
            _ => {}
        }
    }
    (since, limit)
}

/// `POST /logs/{entry}[?stream=stderr]` with lines of text: the output of
/// an entry run on the host, kept with the lines the engine sends.
async fn post_logs(state: &State, name: &str, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if state.position(name).is_none() {
        return unknown_entry(state, name);
    }
    let stream = if request
        .uri()
        .query()
        .unwrap_or_default()
        .contains("stream=stderr")
    {
        logs::Stream::Stderr
    } else {
        logs::Stream::Stdout
    };
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    logs::keep_posted(name, stream, &String::from_utf8_lossy(&body));
    ok(Bytes::from_static(b"{\"kept\":true}"))
}

/// A PUT's body, at most [`MAX_PUT`] bytes; else the 400 to answer.
async fn read_body(request: Request<Incoming>) -> Result<Bytes, Response<Full<Bytes>>> {
    match Limited::new(request.into_body(), MAX_PUT).collect().await {
        Ok(body) => Ok(body.to_bytes()),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("cannot read the body (at most {MAX_PUT} bytes): {e}")}),
        )),
    }
}

/// `PUT /_sandbox/hosts` with `{"<entry>": "http://127.0.0.1:P" | null, ...}`:
/// all or nothing, so a bad name changes no entry.
async fn put_hosts(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let map = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                json!({"error": "expected a JSON object of entry name to host URL"}),
            );
        }
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("body is not JSON: {e}")}),
            );
        }
    };
    let mut hosts = Vec::with_capacity(map.len());
    let mut unknown = Vec::new();
    for (name, value) in &map {
        let url = match value {
            Value::Null => None,
            Value::String(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(url.clone())
            }
            other => {
                return error(
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("host URL of {name} must be an http:// URL string or null, got {other}")}),
                );
            }
        };
        match state.position(name) {
            Some(i) => hosts.push((i, url)),
            None => unknown.push(name.clone()),
        }
    }
    if !unknown.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no entry named {}", unknown.join(", ")), "entries": state.names()}),
        );
    }
    state.set_hosts(&hosts);
    let updated: Vec<&str> = hosts
        .iter()
        .map(|(i, _)| state.entries[*i].name.as_str())
        .collect();
    ok(Bytes::from(json!({"updated": updated}).to_string()))
}

/// `PUT /_sandbox/healthy` with `["<entry>", ...]`: all or nothing.
async fn put_healthy(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Ok(names) = serde_json::from_slice::<Vec<String>>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"error": "expected a JSON array of entry names"}),
        );
    };
    let (known, unknown): (Vec<_>, Vec<_>) = names
        .iter()
        .map(|name| (name, state.position(name)))
        .partition(|(_, i)| i.is_some());
    if !unknown.is_empty() {
        let unknown: Vec<&str> = unknown.iter().map(|(n, _)| n.as_str()).collect();
        return error(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no entry named {}", unknown.join(", ")), "entries": state.names()}),
        );
    }
    let indexes: Vec<usize> = known.iter().filter_map(|(_, i)| *i).collect();
    state.set_healthy(&indexes, std::time::SystemTime::now());
    ok(Bytes::from(json!({"updated": names}).to_string()))
}

fn unknown_entry(state: &State, name: &str) -> Response<Full<Bytes>> {
    error(
        StatusCode::NOT_FOUND,
        json!({"error": format!("no entry named {name}"), "entries": state.names()}),
    )
}

fn not_allowed(method: &Method, path: &str, allow: &'static str) -> Response<Full<Bytes>> {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({"error": format!("method {method} is not allowed on {path} (allowed: {allow})")}),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

fn ok(body: Bytes) -> Response<Full<Bytes>> {
    respond(StatusCode::OK, body)
}

fn error(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    respond(status, Bytes::from(body.to_string()))
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, JSON);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
