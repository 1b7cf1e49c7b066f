//! gRPC calls answered from a recording: each recorded call whose request
//! was gRPC (`content-type: application/grpc*`) answers a call of the same
//! method with the same request message (compared as JSON with the
//! recording's `.proto` files, else byte for byte), with the recorded
//! messages and status.

use bytes::Bytes;
use http::Response;
use serde_json::Value;

use super::super::body::Body;
use super::super::journal;
use crate::manifest::recording::{self, Recording};
use crate::proto::{self, Protos, status};

/// The recorded gRPC calls of one replay dependency.
#[derive(Debug)]
pub struct GrpcReplay {
    calls: Vec<Recorded>,
    protos: Option<Protos>,
}

#[derive(Debug)]
struct Recorded {
    /// `recorded 3: /pkg.Service/Method`.
    label: &'static str,
    path: String,
    request: Key,
    /// The answer's messages, framed.
    body: Bytes,
    status: u32,
    message: Option<String>,
}

/// How a request message is compared.
#[derive(Debug, PartialEq)]
enum Key {
    /// Its messages as JSON (field names in lowerCamelCase, defaults left out).
    Json(Vec<Value>),
    /// The body as sent.
    Raw(Vec<u8>),
}

impl GrpcReplay {
    /// The gRPC calls of `recording`; `descriptors` are its compiled
    /// `.proto` files (needed when messages are stored as JSON).
    pub fn new(recording: &Recording, descriptors: Option<&str>) -> Result<GrpcReplay, String> {
        let protos = match descriptors {
            Some(encoded) => {
                let bytes =
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
                        .map_err(|e| format!("invalid compiled .proto descriptors: {e}"))?;
                Some(Protos::decode(&bytes)?)
            }
            None => None,
        };
        let mut calls = Vec::new();
        for (i, interaction) in recording.interactions.iter().enumerate() {
            let request = &interaction.request;
            let is_grpc = request
                .headers
                .get("content-type")
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/grpc"));
            if !is_grpc {
                continue;
            }
            let at = |e: String| format!("recorded call {}: {e}", i + 1);
            let method = protos.as_ref().and_then(|p| p.method(&request.path).ok());
            let response = &interaction.response;
            let request_key = match (&request.body, &method) {
                (Some(json), Some(method)) => {
                    Key::Json(normalized(&method.input(), json).map_err(at)?)
                }
                (Some(_), None) => {
                    return Err(at(format!(
                        "its messages are stored as JSON, but no `.proto` file defines `{}`; name the files in the recording's `proto:`",
                        request.path
                    )));
                }
                _ => Key::Raw(
                    recording::body_bytes(None, request.body_base64.as_deref()).map_err(at)?,
                ),
            };
            let body = match (&response.body, &method) {
                (Some(json), Some(method)) => {
                    let items: Vec<Value> = serde_json::from_str(json).map_err(|e| {
                        at(format!(
                            "its response body is not a JSON list of messages: {e}"
                        ))
                    })?;
                    let mut framed = Vec::new();
                    for item in &items {
                        let bytes = proto::encode_json(&method.output(), item).map_err(at)?;
                        framed.extend_from_slice(&super::frame(&bytes));
                    }
                    Bytes::from(framed)
                }
                _ => Bytes::from(
                    recording::body_bytes(None, response.body_base64.as_deref()).map_err(at)?,
                ),
            };
            let status = response
                .headers
                .get("grpc-status")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(status::OK);
            let message = response.headers.get("grpc-message").map(|m| {
                percent_encoding::percent_decode_str(m)
                    .decode_utf8_lossy()
                    .into_owned()
            });
            calls.push(Recorded {
                label: journal::lasting(format!("recorded {}: {}", i + 1, request.path)),
                path: request.path.clone(),
                request: request_key,
                body,
                status,
                message,
            });
        }
        Ok(GrpcReplay { calls, protos })
    }

    /// The recorded answer to a call of `path` with `body`.
    pub fn answer(&self, path: &str, body: &[u8]) -> (Option<&'static str>, Response<Body>) {
        let same_method: Vec<&Recorded> = self.calls.iter().filter(|c| c.path == path).collect();
        let Some(first) = same_method.first() else {
            let recorded: Vec<&str> = self.calls.iter().map(|c| c.path.as_str()).collect();
            let mut message = format!(
                "nothing recorded answers the gRPC method `{}`",
                path.trim_start_matches('/')
            );
            if !recorded.is_empty() {
                let mut unique = recorded.clone();
                unique.dedup();
                message.push_str(&format!("; recorded: {}", unique.join(", ")));
            }
            return (None, super::error(status::UNIMPLEMENTED, &message));
        };
        let key = match &first.request {
            Key::Json(_) => {
                let method = self.protos.as_ref().and_then(|p| p.method(path).ok());
                let decoded = method.and_then(|method| {
                    super::messages(body)
                        .ok()?
                        .into_iter()
                        .map(|m| {
                            prost_reflect::DynamicMessage::decode(method.input(), m)
                                .ok()
                                .map(|d| proto::to_json(&d, true))
                        })
                        .collect::<Option<Vec<_>>>()
                });
                match decoded {
                    Some(json) => Key::Json(json),
                    None => {
                        return (
                            None,
                            super::error(
                                status::INVALID_ARGUMENT,
                                "the request is not the method's input message",
                            ),
                        );
                    }
                }
            }
            Key::Raw(_) => Key::Raw(body.to_vec()),
        };
        match same_method.iter().find(|c| c.request == key) {
            Some(call) => (
                Some(call.label),
                super::response(
                    vec![call.body.clone()],
                    call.status,
                    call.message.as_deref(),
                ),
            ),
            None => {
                let shown = match &key {
                    Key::Json(json) => Value::Array(json.clone()).to_string(),
                    Key::Raw(bytes) => format!("({} bytes)", bytes.len()),
                };
                (
                    None,
                    super::error(
                        status::UNIMPLEMENTED,
                        &format!(
                            "no recorded `{}` call has the request {shown}; closest: {}",
                            path.trim_start_matches('/'),
                            first.label
                        ),
                    ),
                )
            }
        }
    }
}

/// Each message of a stored JSON list, as requests are compared.
fn normalized(
    descriptor: &prost_reflect::MessageDescriptor,
    json: &str,
) -> Result<Vec<Value>, String> {
    let items: Vec<Value> = serde_json::from_str(json)
        .map_err(|e| format!("its request body is not a JSON list of messages: {e}"))?;
    items
        .iter()
        .map(|item| proto::normalize(descriptor, item))
        .collect()
}

/// Answers a gRPC call to a replay dependency.
pub async fn serve(
    replay: Option<&GrpcReplay>,
    request: http::Request<hyper::body::Incoming>,
    matched: &mut Option<&'static str>,
) -> Response<Body> {
    let Some(replay) = replay else {
        return super::error(status::UNIMPLEMENTED, "the recording holds no gRPC calls");
    };
    let (parts, incoming) = request.into_parts();
    let body = match super::read_body(incoming).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (label, response) = replay.answer(parts.uri.path(), &body);
    *matched = label;
    response
}
