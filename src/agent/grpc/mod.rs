//! gRPC on the agent's HTTP ports (PRODUCT.md section 6.3): a request whose
//! `content-type` is `application/grpc*` is a gRPC call. Its body is a
//! sequence of length-prefixed messages; the answer is such a sequence
//! followed by trailers carrying `grpc-status` and `grpc-message`.
//!
//! [`stub`] answers methods from `.proto` files and the stub's gRPC routes.

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use percent_encoding::{AsciiSet, CONTROLS};

use super::body::{Body, BoxError};
use crate::proto::status;

pub mod record;
pub mod replay;
pub mod stub;

pub use stub::GrpcStub;

/// The gRPC status a call ended with, kept in the response's extensions
/// for the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u32);

/// Whether a request is a gRPC call.
pub fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim_start();
            v.len() >= 16 && v[..16].eq_ignore_ascii_case("application/grpc")
        })
}

/// The messages of a gRPC body (each: a compressed flag, a 4-byte big-endian
/// length, the message).
pub fn messages(body: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        if rest.len() < 5 {
            return Err("a gRPC message is cut short (fewer than 5 prefix bytes)".into());
        }
        let compressed = rest[0];
        let length = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        if compressed != 0 {
            return Err(
                "compressed gRPC messages are not supported; call without `grpc-encoding`".into(),
            );
        }
        let Some(message) = rest.get(5..5 + length) else {
            return Err(format!(
                "a gRPC message announces {length} bytes but the body has {}",
                rest.len() - 5
            ));
        };
        out.push(message);
        rest = &rest[5 + length..];
    }
    Ok(out)
}

/// One message with its length prefix.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(0);
    out.put_u32(message.len() as u32);
    out.put_slice(message);
    out.freeze()
}

/// What `grpc-message` percent-encodes: controls, non-ASCII and `%`.
const MESSAGE: &AsciiSet = &CONTROLS.add(b'%');

/// A gRPC answer: `messages` (already framed), then the status in trailers.
pub fn response(messages: Vec<Bytes>, code: u32, message: Option<&str>) -> Response<Body> {
    let trailers = trailers(code, message);
    let mut frames: Vec<Result<Frame<Bytes>, BoxError>> =
        messages.into_iter().map(|m| Ok(Frame::data(m))).collect();
    frames.push(Ok(Frame::trailers(trailers)));
    let body = StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response.extensions_mut().insert(Status(code));
    response
}

/// The trailers carrying a call's status.
pub fn trailers(code: u32, message: Option<&str>) -> HeaderMap {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from(code));
    if let Some(message) = message.filter(|m| !m.is_empty()) {
        let encoded = percent_encoding::utf8_percent_encode(message, MESSAGE).to_string();
        if let Ok(value) = HeaderValue::from_str(&encoded) {
            trailers.insert("grpc-message", value);
        }
    }
    trailers
}

/// A gRPC error answer.
pub fn error(code: u32, message: &str) -> Response<Body> {
    response(Vec::new(), code, Some(message))
}

/// The gRPC status a response carries, for the journal.
pub fn status_of<B>(response: &Response<B>) -> Option<u32> {
    response.extensions().get::<Status>().map(|s| s.0)
}

/// `NOT_FOUND` for 5.
pub fn status_name(code: u32) -> String {
    status::name(code)
}

#[cfg(test)]
mod tests;

/// The largest request body read (as for HTTP calls).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A call's whole request body, or the gRPC error answering it.
pub async fn read_body(incoming: hyper::body::Incoming) -> Result<Bytes, Response<Body>> {
    use http_body_util::Limited;
    match Limited::new(incoming, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(error(
            status::RESOURCE_EXHAUSTED,
            "the request is larger than the sandbox's body limit",
        )),
        Err(e) => Err(error(
            status::INTERNAL,
            &format!("cannot read the request: {e}"),
        )),
    }
}

/// A dependency's gRPC parts, by its mode.
#[derive(Debug, Default)]
pub struct Part {
    /// A stub's gRPC routes.
    pub stub: Option<GrpcStub>,
    /// A record dependency's compiled `.proto` files.
    pub record: Option<crate::proto::Protos>,
    /// A replay dependency's recorded gRPC calls.
    pub replay: Option<replay::GrpcReplay>,
}

impl Part {
    pub fn build(mode: &super::config::Mode) -> Result<Part, String> {
        use super::config::Mode;
        let mut part = Part::default();
        match mode {
            Mode::Stub {
                grpc: Some(grpc), ..
            } => part.stub = Some(GrpcStub::compile(grpc)?),
            Mode::Record {
                grpc: Some(grpc), ..
            } => {
                let bytes = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    &grpc.descriptors,
                )
                .map_err(|e| format!("invalid compiled .proto descriptors: {e}"))?;
                part.record = Some(crate::proto::Protos::decode(&bytes)?);
            }
            Mode::Replay {
                recording, grpc, ..
            } => {
                part.replay = Some(replay::GrpcReplay::new(recording, grpc.as_deref())?);
            }
            _ => {}
        }
        Ok(part)
    }
}
