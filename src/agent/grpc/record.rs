//! gRPC calls through a `record` dependency: forwarded to the upstream over
//! HTTP/2 (cleartext, prior knowledge), answered with the upstream's
//! messages and trailers, and saved. With the recording's `.proto` files
//! each message is stored as JSON (a list, in `body`), else the raw body in
//! `body_base64`; the trailers (`grpc-status`, `grpc-message`) are stored
//! among the response's headers.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::super::body::{self, Body, BoxError};
use super::super::record::Recorder;
use crate::manifest::recording::{Interaction, RecordedRequest, RecordedResponse};
use crate::proto::{self, Protos, status};

/// The HTTP/2 client every recorded gRPC call goes out through.
fn client() -> &'static Client<HttpConnector, Body> {
    static CLIENT: OnceLock<Client<HttpConnector, Body>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build(connector)
    })
}

/// Forwards a gRPC call to `upstream` (`(base URL, journal label)`) and
/// saves it with `recorder`.
pub async fn forward(
    upstream: Option<(&str, &'static str)>,
    recorder: &Arc<Recorder>,
    protos: Option<&Protos>,
    request: Request<Incoming>,
    matched: &mut Option<&'static str>,
) -> Response<Body> {
    let Some((base, label)) = upstream else {
        return super::error(status::UNAVAILABLE, "this dependency has no upstream");
    };
    *matched = Some(label);
    let (parts, incoming) = request.into_parts();
    let sent = match super::read_body(incoming).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let path = parts.uri.path().to_owned();
    let uri: Uri = match format!("{base}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => return super::error(status::INTERNAL, &format!("cannot forward `{path}`: {e}")),
    };
    let mut headers = parts.headers.clone();
    body::strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    headers.insert(header::TE, HeaderValue::from_static("trailers"));
    let mut outgoing = Request::new(body::full(sent.clone()));
    *outgoing.method_mut() = parts.method.clone();
    *outgoing.uri_mut() = uri;
    *outgoing.version_mut() = Version::HTTP_2;
    *outgoing.headers_mut() = headers;
    let answer = match client().request(outgoing).await {
        Ok(answer) => answer,
        Err(e) => {
            let mut cause = String::new();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                cause = format!(": {inner}");
                source = inner.source();
            }
            return super::error(
                status::UNAVAILABLE,
                &format!("the sandbox could not reach {base} over HTTP/2: {e}{cause}"),
            );
        }
    };
    let (mut answer_parts, incoming) = answer.into_parts();
    let collected = match incoming.collect().await {
        Ok(collected) => collected,
        Err(e) => {
            return super::error(
                status::UNAVAILABLE,
                &format!("the upstream {base} broke off its answer: {e}"),
            );
        }
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let received = collected.to_bytes();
    body::strip_hop_by_hop(&mut answer_parts.headers);
    // The status is in the trailers, or in the headers of a trailers-only
    // answer; an answer without one is not gRPC.
    let code = trailers
        .get("grpc-status")
        .or_else(|| answer_parts.headers.get("grpc-status"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(status::UNKNOWN);

    let method = protos.and_then(|p| p.method(&path).ok());
    let mut request_headers = recorder.headers(&parts.headers);
    for name in ["host", "traceparent", "te", "user-agent"] {
        request_headers.remove(name);
    }
    let (request_body, request_base64) = stored(&sent, method.as_ref().map(|m| m.input()).as_ref());
    let mut response_headers = recorder.headers(&answer_parts.headers);
    response_headers.extend(recorder.headers(&trailers));
    let (response_body, response_base64) =
        stored(&received, method.as_ref().map(|m| m.output()).as_ref());
    recorder.push(Interaction {
        request: RecordedRequest {
            method: parts.method.as_str().to_owned(),
            path: path.clone(),
            query: Default::default(),
            headers: request_headers,
            body: request_body,
            body_base64: request_base64,
            body_file: None,
        },
        response: RecordedResponse {
            status: answer_parts.status.as_u16(),
            headers: response_headers,
            body: response_body,
            body_base64: response_base64,
            body_file: None,
            timing: None,
            incomplete: false,
        },
    });

    let mut frames: Vec<Result<Frame<Bytes>, BoxError>> = Vec::new();
    if !received.is_empty() {
        frames.push(Ok(Frame::data(received)));
    }
    if !trailers.is_empty() {
        frames.push(Ok(Frame::trailers(trailers)));
    }
    // A trailers-only answer (the status in its headers) ends with its
    // headers: an empty body, not an empty data frame.
    let body = if frames.is_empty() {
        body::full(Bytes::new())
    } else {
        http_body_util::StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync()
    };
    let mut response = Response::from_parts(answer_parts, body);
    response.extensions_mut().insert(super::Status(code));
    response
}

/// A gRPC body as a recording stores it: the list of its messages as JSON
/// text when their type is known and they decode, else base64 of the
/// body as sent. Nothing when empty.
pub fn stored(
    bytes: &[u8],
    descriptor: Option<&prost_reflect::MessageDescriptor>,
) -> (Option<String>, Option<String>) {
    use base64::Engine as _;
    if bytes.is_empty() {
        return (None, None);
    }
    let json = descriptor.and_then(|descriptor| {
        let messages = super::messages(bytes).ok()?;
        let mut out = Vec::new();
        for message in messages {
            let decoded =
                prost_reflect::DynamicMessage::decode(descriptor.clone(), message).ok()?;
            out.push(proto::to_json(&decoded, true));
        }
        Some(Value::Array(out).to_string())
    });
    match json {
        Some(json) => (Some(json), None),
        None => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    }
}
