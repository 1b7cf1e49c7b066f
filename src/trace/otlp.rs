//! The OTLP/HTTP trace receiver (`POST /v1/traces` on port
//! [`crate::agent::config::OTLP_PORT`]): protobuf or JSON bodies, plain or
//! gzip, answered with an `ExportTraceServiceResponse` in the request's
//! encoding (<https://opentelemetry.io/docs/specs/otlp/#otlphttp>).

use std::borrow::Cow;
use std::io::Read;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as OtlpStatus;
use prost::Message;
use serde_json::Value;

use super::Span;

/// The largest request body accepted (after decompression too).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Answers one request to the receiver.
pub async fn handle(request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() != "/v1/traces" {
        return plain(
            StatusCode::NOT_FOUND,
            "this OTLP/HTTP receiver takes traces at POST /v1/traces\n",
        );
    }
    if request.method() != Method::POST {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST /v1/traces with an ExportTraceServiceRequest\n",
        );
        response
            .headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let gzip = request
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return bad(json, format!("cannot read the body: {e}")),
    };
    match ingest(&body, json, gzip) {
        Ok(count) => {
            let _ = count;
            let answer = ExportTraceServiceResponse {
                partial_success: None,
            };
            if json {
                respond(
                    StatusCode::OK,
                    "application/json",
                    Bytes::from_static(b"{}"),
                )
            } else {
                respond(
                    StatusCode::OK,
                    "application/x-protobuf",
                    Bytes::from(answer.encode_to_vec()),
                )
            }
        }
        Err(message) => bad(json, message),
    }
}

/// Decodes a body and keeps its spans; returns how many.
pub fn ingest(body: &[u8], json: bool, gzip: bool) -> Result<usize, String> {
    let inflated;
    let body = if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("the gzip body cannot be inflated: {e}"))?;
        if out.len() > MAX_BODY {
            return Err(format!("the body inflates beyond {MAX_BODY} bytes"));
        }
        inflated = out;
        &inflated[..]
    } else {
        body
    };
    let request = if json {
        serde_json::from_slice::<ExportTraceServiceRequest>(body)
            .map_err(|e| format!("the body is not an OTLP JSON ExportTraceServiceRequest: {e}"))?
    } else {
        ExportTraceServiceRequest::decode(body).map_err(|e| {
            format!("the body is not an OTLP protobuf ExportTraceServiceRequest: {e}")
        })?
    };
    let spans = spans(request);
    let count = spans.len();
    super::store().extend(spans);
    Ok(count)
}

/// The spans of a request, named by their resource's `service.name`.
pub fn spans(request: ExportTraceServiceRequest) -> Vec<Span> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let entry = resource_spans
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| kv.value.as_ref())
            .map(text)
            .unwrap_or_else(|| "unknown".to_owned());
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                let (Ok(trace_id), Ok(span_id)) = (
                    <[u8; 16]>::try_from(span.trace_id.as_slice()),
                    <[u8; 8]>::try_from(span.span_id.as_slice()),
                ) else {
                    continue;
                };
                let parent = <[u8; 8]>::try_from(span.parent_span_id.as_slice())
                    .ok()
                    .filter(|p| *p != [0; 8]);
                let status = match span.status.as_ref().map(|s| s.code()) {
                    Some(OtlpStatus::Error) => "error",
                    Some(OtlpStatus::Ok) => "ok",
                    _ => "unset",
                };
                let kind = match span.kind {
                    1 => "internal",
                    2 => "server",
                    3 => "client",
                    4 => "producer",
                    5 => "consumer",
                    _ => "unspecified",
                };
                out.push(Span {
                    trace_id,
                    span_id,
                    parent,
                    entry: Cow::Owned(entry.clone()),
                    name: span.name,
                    kind,
                    start_ns: span.start_time_unix_nano,
                    end_ns: span.end_time_unix_nano.max(span.start_time_unix_nano),
                    status,
                    attributes: span.attributes.into_iter().map(attribute).collect(),
                });
            }
        }
    }
    out
}

fn attribute(kv: KeyValue) -> (Cow<'static, str>, Value) {
    (
        Cow::Owned(kv.key),
        kv.value.map(value).unwrap_or(Value::Null),
    )
}

fn value(v: AnyValue) -> Value {
    match v.value {
        Some(any_value::Value::StringValue(s)) => Value::String(s),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(b),
        Some(any_value::Value::IntValue(i)) => Value::from(i),
        Some(any_value::Value::DoubleValue(d)) => Value::from(d),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.into_iter().map(value).collect())
        }
        Some(any_value::Value::KvlistValue(l)) => Value::Object(
            l.values
                .into_iter()
                .map(|kv| {
                    let (k, v) = attribute(kv);
                    (k.into_owned(), v)
                })
                .collect(),
        ),
        Some(any_value::Value::BytesValue(b)) => Value::String(super::hex(&b)),
        _ => Value::Null,
    }
}

fn text(v: &AnyValue) -> String {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        _ => value(v.clone()).to_string(),
    }
}

fn bad(json: bool, message: String) -> Response<Full<Bytes>> {
    if json {
        let body = serde_json::json!({"code": 3, "message": message}).to_string();
        respond(
            StatusCode::BAD_REQUEST,
            "application/json",
            Bytes::from(body),
        )
    } else {
        plain(StatusCode::BAD_REQUEST, message)
    }
}

fn plain(status: StatusCode, message: impl Into<String>) -> Response<Full<Bytes>> {
    respond(
        status,
        "text/plain; charset=utf-8",
        Bytes::from(message.into()),
    )
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_export_in_the_otlp_mapping_is_read() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},
          "scopeSpans":[{"scope":{"name":"t"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
          "spanId":"eee19b7ec3c1b174","parentSpanId":"","name":"GET /orders","kind":2,
          "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
          "attributes":[{"key":"http.method","value":{"stringValue":"GET"}},{"key":"n","value":{"intValue":"3"}}],
          "status":{"code":2}}]}]}]}"#;
        let request: ExportTraceServiceRequest = serde_json::from_slice(body).unwrap();
        let spans = spans(request);
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(
            super::super::hex(&span.trace_id),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(span.parent, None);
        assert_eq!(span.entry, "orders");
        assert_eq!(span.kind, "server");
        assert_eq!(span.status, "error");
        assert_eq!(span.end_ns - span.start_ns, 1_000_000_000);
        assert_eq!(span.attributes[1].1, Value::from(3));
    }

    #[test]
    fn a_broken_body_is_refused_with_a_reason() {
        assert!(ingest(b"\xff\xff\xff", false, false).is_err());
        assert!(ingest(b"{", true, false).is_err());
        assert!(
            ingest(b"not gzip", false, true)
                .unwrap_err()
                .contains("gzip")
        );
    }
}
