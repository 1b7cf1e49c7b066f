//! gRPC calls answered from a recording: each recorded call whose request
//! was gRPC (`content-type: application/grpc*`) answers a call of the same
//! method with the same request messages (compared as JSON with the
//! recording's `.proto` files, else byte for byte), with the recorded
//! messages and status. A method recorded as a bidirectional stream (as
//! many answers as requests, more than one) is answered as it goes: the
//! n-th recorded answer as soon as the n-th request has come, so a caller
//! that waits for each answer before sending on is served.

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use http::Response;
use http_body_util::BodyExt;
use hyper::body::Frame;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::super::body::{Body, BoxError};
use super::super::journal;
use crate::manifest::recording::{self, Recording};
use crate::proto::{self, Protos, status};

/// The recorded gRPC calls of one replay dependency.
#[derive(Debug)]
pub struct GrpcReplay {
    calls: Vec<Arc<Recorded>>,
    protos: Option<Protos>,
}

#[derive(Debug)]
struct Recorded {
    /// `recorded 3: /pkg.Service/Method`.
    label: &'static str,
    path: String,
    /// Whether the request messages were stored as JSON.
    json: bool,
    /// The request messages, as compared.
    requests: Vec<Key>,
    /// The answer's messages, each framed.
    responses: Vec<Bytes>,
    status: u32,
    message: Option<String>,
}

impl Recorded {
    /// Answered message for message, as a bidirectional stream.
    fn paired(&self) -> bool {
        self.requests.len() > 1 && self.requests.len() == self.responses.len()
    }
}

/// How a request message is compared.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    /// As JSON (field names in lowerCamelCase, defaults left out).
    Json(Value),
    /// As sent.
    Raw(Vec<u8>),
}

/// The messages of a recorded raw body.
fn split(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    super::messages(bytes)
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
            let (json, requests) = match (&request.body, &method) {
                (Some(json), Some(method)) => (
                    true,
                    normalized(&method.input(), json)
                        .map_err(at)?
                        .into_iter()
                        .map(Key::Json)
                        .collect(),
                ),
                (Some(_), None) => {
                    return Err(at(format!(
                        "its messages are stored as JSON, but no `.proto` file defines `{}`; name the files in the recording's `proto:`",
                        request.path
                    )));
                }
                _ => {
                    let bytes =
                        recording::body_bytes(None, request.body_base64.as_deref()).map_err(at)?;
                    let messages = split(&bytes).map_err(at)?;
                    (
                        false,
                        messages.into_iter().map(|m| Key::Raw(m.to_vec())).collect(),
                    )
                }
            };
            let responses = match (&response.body, &method) {
                (Some(json), Some(method)) => {
                    let items: Vec<Value> = serde_json::from_str(json).map_err(|e| {
                        at(format!(
                            "its response body is not a JSON list of messages: {e}"
                        ))
                    })?;
                    let mut framed = Vec::new();
                    for item in &items {
                        let bytes = proto::encode_json(&method.output(), item).map_err(at)?;
                        framed.push(super::frame(&bytes));
                    }
                    framed
                }
                _ => {
                    let bytes =
                        recording::body_bytes(None, response.body_base64.as_deref()).map_err(at)?;
                    split(&bytes)
                        .map_err(at)?
                        .into_iter()
                        .map(super::frame)
                        .collect()
                }
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
            calls.push(Arc::new(Recorded {
                label: journal::lasting(format!("recorded {}: {}", i + 1, request.path)),
                path: request.path.clone(),
                json,
                requests,
                responses,
                status,
                message,
            }));
        }
        Ok(GrpcReplay { calls, protos })
    }

    /// The recorded calls of the method at `path`, or why a call of a
    /// method nothing recorded is unimplemented.
    fn of_method(&self, path: &str) -> Result<Vec<Arc<Recorded>>, String> {
        let same: Vec<Arc<Recorded>> = self
            .calls
            .iter()
            .filter(|c| c.path == path)
            .cloned()
            .collect();
        if same.is_empty() {
            let mut recorded: Vec<&str> = self.calls.iter().map(|c| c.path.as_str()).collect();
            let mut message = format!(
                "nothing recorded answers the gRPC method `{}`",
                path.trim_start_matches('/')
            );
            if !recorded.is_empty() {
                recorded.dedup();
                message.push_str(&format!("; recorded: {}", recorded.join(", ")));
            }
            return Err(message);
        }
        Ok(same)
    }

    /// The decoder of the method's request messages, as recorded calls
    /// compare them.
    fn decoder(&self, path: &str, first: &Recorded) -> Decoder {
        Decoder {
            input: first
                .json
                .then(|| self.protos.as_ref().and_then(|p| p.method(path).ok()))
                .flatten()
                .map(|method| method.input()),
            json: first.json,
        }
    }

    /// The recorded answer to a call of `path` with `body`.
    pub fn answer(&self, path: &str, body: &[u8]) -> (Option<&'static str>, Response<Body>) {
        let same = match self.of_method(path) {
            Ok(same) => same,
            Err(message) => return (None, super::error(status::UNIMPLEMENTED, &message)),
        };
        let decoder = self.decoder(path, &same[0]);
        let keys = super::messages(body).ok().and_then(|messages| {
            messages
                .into_iter()
                .map(|m| decoder.key(m))
                .collect::<Option<Vec<_>>>()
        });
        let Some(keys) = keys else {
            return (
                None,
                super::error(
                    status::INVALID_ARGUMENT,
                    "the request is not the method's input message",
                ),
            );
        };
        match same.iter().find(|c| c.requests == keys) {
            Some(call) => (
                Some(call.label),
                super::response(call.responses.clone(), call.status, call.message.as_deref()),
            ),
            None => (None, unmatched(path, &keys, &same[0])),
        }
    }
}

/// Turns request messages into what recorded calls compare.
struct Decoder {
    input: Option<prost_reflect::MessageDescriptor>,
    json: bool,
}

impl Decoder {
    fn key(&self, message: &[u8]) -> Option<Key> {
        if !self.json {
            return Some(Key::Raw(message.to_vec()));
        }
        let decoded = prost_reflect::DynamicMessage::decode(self.input.clone()?, message).ok()?;
        Some(Key::Json(proto::to_json(&decoded, true)))
    }
}

/// The error answering requests no recorded call has.
fn unmatched(path: &str, keys: &[Key], closest: &Recorded) -> Response<Body> {
    super::error(
        status::UNIMPLEMENTED,
        &unmatched_message(path, keys, closest),
    )
}

fn unmatched_message(path: &str, keys: &[Key], closest: &Recorded) -> String {
    let shown = if keys.iter().all(|k| matches!(k, Key::Json(_))) {
        Value::Array(
            keys.iter()
                .filter_map(|k| match k {
                    Key::Json(json) => Some(json.clone()),
                    Key::Raw(_) => None,
                })
                .collect(),
        )
        .to_string()
    } else {
        let bytes: usize = keys
            .iter()
            .map(|k| match k {
                Key::Raw(raw) => raw.len() + 5,
                Key::Json(_) => 0,
            })
            .sum();
        format!("({bytes} bytes)")
    };
    format!(
        "no recorded `{}` call has the request {shown}; closest: {}",
        path.trim_start_matches('/'),
        closest.label
    )
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

/// Answers a gRPC call to a replay dependency; a streamed answer's status
/// is sent on `done` when it ends.
pub async fn serve(
    replay: Option<&GrpcReplay>,
    request: http::Request<hyper::body::Incoming>,
    matched: &mut Option<&'static str>,
    done: &mut Option<oneshot::Receiver<u32>>,
) -> Response<Body> {
    let Some(replay) = replay else {
        return super::error(status::UNIMPLEMENTED, "the recording holds no gRPC calls");
    };
    let (parts, incoming) = request.into_parts();
    let path = parts.uri.path();
    if let Ok(same) = replay.of_method(path)
        && let Some(first) = same.iter().find(|c| c.paired())
    {
        *matched = Some(first.label);
        let decoder = replay.decoder(path, &same[0]);
        let (frames, receiver) = mpsc::channel(16);
        let (report, finished) = oneshot::channel();
        *done = Some(finished);
        tokio::spawn(converse(
            path.to_owned(),
            same,
            decoder,
            incoming,
            frames,
            report,
        ));
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|frame| (frame, receiver))
        });
        let mut response = Response::new(http_body_util::StreamBody::new(stream).boxed_unsync());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/grpc"),
        );
        return response;
    }
    let body = match super::read_body(incoming).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (label, response) = replay.answer(path, &body);
    *matched = label;
    response
}

type Sent = mpsc::Sender<Result<Frame<Bytes>, BoxError>>;

/// A bidirectional stream replayed: after each request message, the
/// recorded answers due by then (of the first recorded call the requests so
/// far begin); at the end of the requests, the rest and the status.
async fn converse(
    path: String,
    same: Vec<Arc<Recorded>>,
    decoder: Decoder,
    mut incoming: hyper::body::Incoming,
    frames: Sent,
    report: oneshot::Sender<u32>,
) {
    let mut got: Vec<Key> = Vec::new();
    let mut sent = 0;
    let mut buffer = BytesMut::new();
    let code = loop {
        let frame = match incoming.frame().await {
            None => break None,
            Some(Err(_)) => break Some((status::CANCELLED, String::new())),
            Some(Ok(frame)) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buffer.extend_from_slice(&data);
        let mut failed = None;
        while buffer.len() >= 5 {
            let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
            if buffer[0] != 0 {
                failed = Some((
                    status::INVALID_ARGUMENT,
                    "compressed gRPC messages are not supported; call without `grpc-encoding`"
                        .to_owned(),
                ));
                break;
            }
            if buffer.len() < 5 + length {
                break;
            }
            buffer.advance(5);
            let message = buffer.split_to(length);
            let Some(key) = decoder.key(&message) else {
                failed = Some((
                    status::INVALID_ARGUMENT,
                    "the request is not the method's input message".to_owned(),
                ));
                break;
            };
            got.push(key);
            let Some(call) = same.iter().find(|c| c.requests.starts_with(&got)) else {
                failed = Some((
                    status::UNIMPLEMENTED,
                    unmatched_message(&path, &got, &same[0]),
                ));
                break;
            };
            if call.paired() {
                let due = got.len().min(call.responses.len());
                for message in &call.responses[sent.min(due)..due] {
                    if frames.send(Ok(Frame::data(message.clone()))).await.is_err() {
                        let _ = report.send(status::CANCELLED);
                        return;
                    }
                }
                sent = sent.max(due);
            }
        }
        if failed.is_some() {
            break failed;
        }
    };
    let (code, message) = match code {
        Some(failed) => failed,
        None => match same.iter().find(|c| c.requests == got) {
            Some(call) => {
                for message in call.responses.iter().skip(sent) {
                    if frames.send(Ok(Frame::data(message.clone()))).await.is_err() {
                        let _ = report.send(status::CANCELLED);
                        return;
                    }
                }
                (call.status, call.message.clone().unwrap_or_default())
            }
            None => (
                status::UNIMPLEMENTED,
                unmatched_message(&path, &got, &same[0]),
            ),
        },
    };
    let _ = frames
        .send(Ok(Frame::trailers(super::trailers(code, Some(&message)))))
        .await;
    let _ = report.send(code);
}
