//! A stub's gRPC routes: compiled once at start (the method looked up in
//! the `.proto` files, the matcher's JSON put in the form requests are
//! compared in, each answer encoded), first match wins, and a diagnosis
//! naming the closest route when nothing matches (`UNIMPLEMENTED`).

use std::time::Duration;

use bytes::Bytes;
use http::Response;
use prost_reflect::MessageDescriptor;
use serde_json::Value;

use super::super::body::Body;
use super::super::config::GrpcStubConfig;
use super::super::journal;
use super::super::stub::json_contains;
use crate::proto::{self, Protos, status};

/// The compiled gRPC routes of one stub.
#[derive(Debug)]
pub struct GrpcStub {
    routes: Vec<Route>,
    /// Every method the `.proto` files define, as `pkg.Service/Method`.
    methods: Vec<String>,
    protos: Protos,
}

#[derive(Debug)]
struct Route {
    /// `grpc route 1: payments.v1.Payments/Get`, as the journal shows it.
    label: &'static str,
    /// `pkg.Service/Method`.
    method: String,
    input: MessageDescriptor,
    /// The subset of the request message to find, normalized.
    json: Option<Value>,
    /// The answer's messages, framed.
    messages: Vec<Bytes>,
    status: u32,
    message: Option<String>,
    delay: Option<Duration>,
}

/// What the stub answers a call with.
pub struct Answer {
    /// The route that answered; `None` when nothing matched.
    pub label: Option<&'static str>,
    pub delay: Option<Duration>,
    pub response: Response<Body>,
}

impl GrpcStub {
    pub fn compile(config: &GrpcStubConfig) -> Result<GrpcStub, String> {
        let bytes = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &config.descriptors,
        )
        .map_err(|e| format!("invalid compiled .proto descriptors: {e}"))?;
        let protos = Protos::decode(&bytes)?;
        let mut routes = Vec::new();
        for (i, route) in config.routes.iter().enumerate() {
            let number = i + 1;
            let name = route.matcher.grpc.as_deref().unwrap_or_default();
            let at = |e: String| format!("gRPC route {number}: {e}");
            let method = protos.method(name).map_err(|(m, _)| at(m))?;
            let input = method.input();
            let output = method.output();
            let json = match &route.matcher.json {
                Some(json) => Some(
                    proto::normalize(&input, json).map_err(|e| at(format!("`match.json` {e}")))?,
                ),
                None => None,
            };
            let respond = &route.respond;
            let mut messages = Vec::new();
            for value in respond.json.iter().chain(respond.stream.iter().flatten()) {
                let bytes = proto::encode_json(&output, value)
                    .map_err(|e| at(format!("the answer {e}")))?;
                messages.push(super::frame(&bytes));
            }
            let code = match &respond.grpc_status {
                Some(given) => given
                    .code()
                    .ok_or_else(|| at(format!("unknown gRPC status {given:?}")))?,
                None => status::OK,
            };
            let method_name = format!("{}/{}", method.parent_service().full_name(), method.name());
            routes.push(Route {
                label: journal::lasting(format!("grpc route {number}: {method_name}")),
                method: method_name,
                input,
                json,
                messages,
                status: code,
                message: respond.message.clone(),
                delay: respond.delay.map(|span| span.0),
            });
        }
        Ok(GrpcStub {
            methods: protos.method_names(),
            routes,
            protos,
        })
    }

    /// The answer to a call of `path` (`/pkg.Service/Method`) whose body
    /// is `body`.
    pub fn answer(&self, path: &str, body: &[u8]) -> Answer {
        let method = path.trim_start_matches('/');
        let unmatched = |code: u32, message: String| Answer {
            label: None,
            delay: None,
            response: super::error(code, &message),
        };
        let candidates: Vec<&Route> = self.routes.iter().filter(|r| r.method == method).collect();
        let Some(first) = candidates.first() else {
            return unmatched(status::UNIMPLEMENTED, self.no_route(method));
        };
        let messages = match super::messages(body) {
            Ok(messages) => messages,
            Err(e) => return unmatched(status::INVALID_ARGUMENT, e),
        };
        // Unary and server-streaming calls send one message; a client
        // stream is matched on its first.
        let request = match messages.first() {
            Some(bytes) => match proto::decode_to_json(&first.input, bytes) {
                Ok(json) => json,
                Err(e) => return unmatched(status::INVALID_ARGUMENT, e),
            },
            None => Value::Object(Default::default()),
        };
        for route in &candidates {
            if route
                .json
                .as_ref()
                .is_none_or(|want| json_contains(&request, want))
            {
                return Answer {
                    label: Some(route.label),
                    delay: route.delay,
                    response: super::response(
                        route.messages.clone(),
                        route.status,
                        route.message.as_deref(),
                    ),
                };
            }
        }
        // The first of those sharing the most fields with the request.
        let closest = candidates
            .iter()
            .rev()
            .max_by_key(|r| shared_fields(&request, r.json.as_ref()))
            .unwrap_or(first);
        let want = closest
            .json
            .as_ref()
            .map(|j| j.to_string())
            .unwrap_or_default();
        unmatched(
            status::UNIMPLEMENTED,
            format!(
                "no sandbox stub route matches this `{method}` request {request}; closest: {} (wants the fields {want})",
                closest.label
            ),
        )
    }

    /// Why no route answers `method`, naming the closest route.
    fn no_route(&self, method: &str) -> String {
        let known = self.methods.iter().any(|m| m == method);
        let mut message = if known {
            format!("no sandbox stub route answers the gRPC method `{method}`")
        } else {
            format!("the stub's .proto files define no gRPC method `{method}`")
        };
        let routed: Vec<String> = self.routes.iter().map(|r| r.method.clone()).collect();
        match proto::closest(method, &routed) {
            Some(near) => {
                let label = self
                    .routes
                    .iter()
                    .find(|r| r.method == near)
                    .map_or("", |r| r.label);
                message.push_str(&format!("; closest: {label}"));
            }
            None if !routed.is_empty() => {
                message.push_str(&format!("; routes answer: {}", routed.join(", ")));
            }
            None => {}
        }
        message
    }

    /// The compiled `.proto` files.
    pub fn protos(&self) -> &Protos {
        &self.protos
    }
}

/// How many of the wanted top-level fields the request has with the wanted
/// value (to name the closest route).
fn shared_fields(request: &Value, want: Option<&Value>) -> usize {
    match (request, want) {
        (Value::Object(have), Some(Value::Object(want))) => want
            .iter()
            .filter(|(k, v)| have.get(*k).is_some_and(|h| json_contains(h, v)))
            .count(),
        _ => 0,
    }
}

/// Answers a gRPC call to a stub (`grpc`: its gRPC routes, `None` when it
/// names no `.proto` files); `matched` gets the route that answered.
pub async fn serve(
    grpc: Option<&GrpcStub>,
    dependency: &str,
    request: http::Request<hyper::body::Incoming>,
    matched: &mut Option<&'static str>,
) -> Response<Body> {
    let Some(grpc) = grpc else {
        return super::error(
            status::UNIMPLEMENTED,
            &format!(
                "the sandbox stub `{dependency}` answers no gRPC methods; give it `proto:` files and routes with `match.grpc`"
            ),
        );
    };
    let (parts, incoming) = request.into_parts();
    let body = match super::read_body(incoming).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let answer = grpc.answer(parts.uri.path(), &body);
    *matched = answer.label;
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    answer.response
}
