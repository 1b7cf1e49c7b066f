//! gRPC calls through a `record` dependency: forwarded to the upstream over
//! HTTP/2 (cleartext, prior knowledge), answered with the upstream's
//! messages and trailers, and saved. With the recording's `.proto` files
//! each message is stored as JSON (a list, in `body`), else the raw body in
//! `body_base64`; the trailers (`grpc-status`, `grpc-message`) are stored
//! among the response's headers.

use std::sync::{Arc, Mutex, OnceLock};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{Request, Response, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::oneshot;

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
/// saves it with `recorder`. Messages stream both ways as they come
/// (client and bidirectional streaming calls included); the call is saved
/// and its status sent on `done` once the upstream's answer ends.
pub async fn forward(
    upstream: Option<(&str, &'static str)>,
    recorder: &Arc<Recorder>,
    protos: Option<&Protos>,
    request: Request<Incoming>,
    matched: &mut Option<&'static str>,
    done: &mut Option<oneshot::Receiver<u32>>,
) -> Response<Body> {
    let Some((base, label)) = upstream else {
        return super::error(status::UNAVAILABLE, "this dependency has no upstream");
    };
    *matched = Some(label);
    let (parts, incoming) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let uri: Uri = match format!("{base}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => return super::error(status::INTERNAL, &format!("cannot forward `{path}`: {e}")),
    };
    let mut headers = parts.headers.clone();
    body::strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    headers.insert(header::TE, HeaderValue::from_static("trailers"));
    // The request's messages go upstream as they come, kept for the
    // recording.
    let sent = Arc::new(Mutex::new(Kept::default()));
    let outgoing_body = {
        let sent = sent.clone();
        incoming
            .map_frame(move |frame| {
                if let Some(data) = frame.data_ref() {
                    sent.lock().unwrap_or_else(|e| e.into_inner()).keep(data);
                }
                frame
            })
            .map_err(BoxError::from)
            .boxed_unsync()
    };
    let mut outgoing = Request::new(outgoing_body);
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
    body::strip_hop_by_hop(&mut answer_parts.headers);
    let mut request_headers = recorder.headers(&parts.headers);
    for name in ["host", "traceparent", "te", "user-agent"] {
        request_headers.remove(name);
    }
    let call = Call {
        recorder: recorder.clone(),
        method: protos.and_then(|p| p.method(&path).ok()),
        request: RecordedRequest {
            method: parts.method.as_str().to_owned(),
            path,
            query: Default::default(),
            headers: request_headers,
            body: None,
            body_base64: None,
            body_file: None,
        },
        sent,
        status: answer_parts.status.as_u16(),
        headers: recorder.headers(&answer_parts.headers),
    };
    // A trailers-only answer (the status in its headers) ends with its
    // headers: an empty body, not an empty data frame.
    if incoming.is_end_stream() {
        let code = grpc_status(&answer_parts.headers).unwrap_or(status::UNKNOWN);
        call.save(&[], &http::HeaderMap::new());
        let mut response = Response::from_parts(answer_parts, body::full(Bytes::new()));
        response.extensions_mut().insert(super::Status(code));
        return response;
    }
    let (report, receiver) = oneshot::channel();
    *done = Some(receiver);
    let teed = Teed {
        received: Kept::default(),
        trailers: None,
        call: Some(call),
        head_status: grpc_status(&answer_parts.headers),
        report: Some(report),
    };
    Response::from_parts(
        answer_parts,
        body::Watched::new(incoming, teed).boxed_unsync(),
    )
}

/// The `grpc-status` among `headers`.
fn grpc_status(headers: &http::HeaderMap) -> Option<u32> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
}

/// The bytes of one direction of a call, up to the body limit.
#[derive(Debug, Default)]
struct Kept {
    bytes: BytesMut,
    /// More came than the limit: the call is not saved.
    over: bool,
}

impl Kept {
    fn keep(&mut self, data: &[u8]) {
        if self.bytes.len() + data.len() > super::MAX_BODY {
            self.over = true;
        } else if !self.over {
            self.bytes.extend_from_slice(data);
        }
    }
}

/// A call being recorded, saved once its answer ends.
struct Call {
    recorder: Arc<Recorder>,
    method: Option<prost_reflect::MethodDescriptor>,
    request: RecordedRequest,
    sent: Arc<Mutex<Kept>>,
    status: u16,
    headers: std::collections::BTreeMap<String, String>,
}

impl Call {
    fn save(mut self, received: &[u8], trailers: &http::HeaderMap) {
        let sent = std::mem::take(&mut *self.sent.lock().unwrap_or_else(|e| e.into_inner()));
        if sent.over {
            return;
        }
        let (body, base64) = stored(
            &sent.bytes,
            self.method.as_ref().map(|m| m.input()).as_ref(),
        );
        self.request.body = body;
        self.request.body_base64 = base64;
        self.headers.extend(self.recorder.headers(trailers));
        let (body, body_base64) =
            stored(received, self.method.as_ref().map(|m| m.output()).as_ref());
        self.recorder.push(Interaction {
            request: self.request,
            response: RecordedResponse {
                status: self.status,
                headers: self.headers,
                body,
                body_base64,
                body_file: None,
                timing: None,
                incomplete: false,
            },
        });
    }
}

/// The upstream's answer on its way to the caller, kept for the recording.
struct Teed {
    received: Kept,
    trailers: Option<http::HeaderMap>,
    call: Option<Call>,
    /// A `grpc-status` in the answer's headers.
    head_status: Option<u32>,
    report: Option<oneshot::Sender<u32>>,
}

impl Teed {
    /// The answer ended: saved when whole, its status reported.
    fn finish(&mut self, whole: bool) {
        let trailers = self.trailers.take().unwrap_or_default();
        let code = grpc_status(&trailers)
            .or(self.head_status)
            .unwrap_or(if whole {
                status::UNKNOWN
            } else {
                status::CANCELLED
            });
        if let Some(call) = self.call.take()
            && whole
            && !self.received.over
        {
            call.save(&self.received.bytes, &trailers);
        }
        if let Some(report) = self.report.take() {
            let _ = report.send(code);
        }
    }
}

impl body::Watcher for Teed {
    fn data(&mut self, data: &Bytes) {
        self.received.keep(data);
    }

    fn trailers(&mut self, trailers: &http::HeaderMap) {
        self.trailers = Some(trailers.clone());
    }

    fn end(&mut self, whole: bool) {
        self.finish(whole);
    }
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
