//! One HTTP call through the agent: pick the dependency, name the caller,
//! apply limits and faults, dispatch to the dependency's handler, journal.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Limited};
use hyper::body::Body as _;
use hyper::body::Incoming;

use super::upgrade;
use super::{
    Dropped, FAULT, Forwarder, Handler, HttpPort, LIMITED, MAX_BODY, Outcome, PortRoute,
    TRACEPARENT, UNMATCHED,
};
use crate::agent::body::{self, Body, Guarded};
use crate::agent::grpc;
use crate::agent::journal::{self, Call, Text};
use crate::agent::limits::Refusal;
use crate::agent::record::{self, Pending, Recorder, RequestTee, Tee};
use crate::agent::replay::{self};
use crate::agent::stub::RequestView;
use crate::manifest::recording::{self, RecordedRequest};

impl HttpPort {
    /// The route answering `request`: the only one, or the one named by the
    /// `Host` header.
    fn pick(&self, request: &Request<Incoming>) -> Result<&PortRoute, String> {
        if let [only] = self.routes.as_slice() {
            return Ok(only);
        }
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .or_else(|| request.uri().host())
            .unwrap_or("");
        let hostname = hostname(host);
        let found = self
            .routes
            .iter()
            .find(|route| route.dep.name.eq_ignore_ascii_case(hostname))
            .or_else(|| {
                // `payments.shop` or another qualified alias of `payments`.
                let first = hostname.split('.').next().unwrap_or("");
                self.routes
                    .iter()
                    .find(|route| route.dep.name.eq_ignore_ascii_case(first))
            });
        found.ok_or_else(|| hostname.to_owned())
    }

    fn names(&self) -> String {
        self.routes
            .iter()
            .map(|route| route.dep.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One call through the agent, journaled.
    pub async fn handle(
        &self,
        forwarder: &Forwarder,
        remote: IpAddr,
        request: Request<Incoming>,
    ) -> Result<Response<Body>, Dropped> {
        let started = Instant::now();
        let time = SystemTime::now();
        // Added to the request only when it goes upstream (see `forward`).
        let (traceparent, parent) =
            crate::trace::child_of(request.headers().get(&TRACEPARENT).map(|v| v.as_bytes()));
        let method = request.method().clone();
        let path = Text::new(
            request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or_else(|| request.uri().path()),
        );
        let caller = self.agent.callers.name(remote);
        let mut outcome = Outcome {
            traceparent,
            matched: None,
            limited: None,
            fault: None,
            upgrade: None,
            grpc_done: None,
        };
        let (dependency, result) = match self.pick(&request) {
            Ok(route) => (
                Cow::Borrowed(route.dep.name),
                process(forwarder, route, caller, request, &mut outcome).await,
            ),
            Err(host) => {
                let message = format!(
                    "no dependency named `{host}` is served on this port; the Host header must name one of: {}\n",
                    self.names()
                );
                let mut response = body::text(StatusCode::BAD_GATEWAY, message);
                response
                    .headers_mut()
                    .insert(UNMATCHED.clone(), HeaderValue::from_static("true"));
                (Cow::Owned(host), Ok(response))
            }
        };
        let status = result
            .as_ref()
            .map(|response| response.status().as_u16())
            .unwrap_or(0);
        let grpc_status = result.as_ref().ok().and_then(grpc::status_of);
        crate::trace::record_call(crate::trace::AgentCall {
            traceparent: &outcome.traceparent,
            parent,
            dependency: &dependency,
            method: method.as_str(),
            path: path.as_str(),
            status,
            time,
            duration: started.elapsed(),
            caller,
            fault: outcome.fault,
            limited: outcome.limited,
        });
        let grpc_done = outcome.grpc_done.take();
        let call = move |upgrade: Option<journal::Upgrade>, grpc_status: Option<u32>| Call {
            time,
            dependency,
            method,
            path,
            status,
            duration: started.elapsed(),
            matched: outcome.matched,
            traceparent: Some(outcome.traceparent),
            caller,
            limited: outcome.limited,
            fault: outcome.fault,
            upgrade: upgrade.map(Box::new),
            grpc_status,
        };
        match outcome.upgrade.take() {
            // One entry for the whole upgraded connection, once it ends.
            Some(copying) => {
                let agent = self.agent.clone();
                tokio::spawn(async move {
                    let upgrade = copying.await;
                    agent.journal.push(call(Some(upgrade), grpc_status));
                });
            }
            // A streamed gRPC answer: journaled with its status at its end.
            None if grpc_done.is_some() => {
                let agent = self.agent.clone();
                tokio::spawn(async move {
                    let code = match grpc_done {
                        Some(done) => done.await.ok(),
                        None => None,
                    };
                    agent.journal.push(call(None, code.or(grpc_status)));
                });
            }
            None => self.agent.journal.push(call(None, grpc_status)),
        }
        result
    }
}

/// The host name of a `Host` header value (`name`, `name:80`, `[::1]:80`).
pub(super) fn hostname(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map(|(name, _)| name).unwrap_or(host)
}

pub(super) async fn process(
    forwarder: &Forwarder,
    route: &PortRoute,
    caller: &'static str,
    request: Request<Incoming>,
    outcome: &mut Outcome,
) -> Result<Response<Body>, Dropped> {
    let dep = &route.dep;
    let limits = dep.limits.load_active();
    let admitted = match &limits {
        None => Ok(None),
        Some(limits) => limits.admit(caller, Instant::now()),
    };
    let permit = match admitted {
        Ok(permit) => permit,
        Err(Refusal::Rate(retry_after)) => {
            outcome.limited = Some("rate");
            let mut response = body::text(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "rate limit of `{}` exceeded (sandbox limits); retry after {retry_after} s\n",
                    dep.name
                ),
            );
            let headers = response.headers_mut();
            headers.insert(LIMITED.clone(), HeaderValue::from_static("rate"));
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(response);
        }
        Err(Refusal::Concurrency) => {
            outcome.limited = Some("concurrency");
            let mut response = body::text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "too many requests in flight to `{}` (sandbox concurrency limit)\n",
                    dep.name
                ),
            );
            response
                .headers_mut()
                .insert(LIMITED.clone(), HeaderValue::from_static("concurrency"));
            return Ok(response);
        }
    };
    drop(limits);
    let draw = dep
        .faults
        .load_active()
        .map(|faults| faults.draw())
        .unwrap_or_default();
    outcome.fault = draw.label();
    if draw.reset {
        return Err(Dropped);
    }
    if let Some(delay) = draw.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = match draw.error {
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = body::text(
                status,
                format!("error injected by the sandbox (faults of `{}`)\n", dep.name),
            );
            response
                .headers_mut()
                .insert(FAULT.clone(), HeaderValue::from_static("error"));
            response
        }
        None => answer(forwarder, route, request, outcome).await,
    };
    if let Some(rate) = draw.bandwidth {
        response = response.map(|inner| body::throttle(inner, rate));
    }
    if let Some(permit) = permit {
        response = response.map(|inner| Guarded::wrap(inner, permit));
    }
    Ok(response)
}

pub(super) async fn answer(
    forwarder: &Forwarder,
    route: &PortRoute,
    request: Request<Incoming>,
    outcome: &mut Outcome,
) -> Response<Body> {
    match &route.dep.handler {
        Handler::Stub(_) if grpc::is_grpc(&request) => {
            let dep = &route.dep;
            grpc::stub::serve(
                dep.grpc.stub.as_ref(),
                dep.name,
                request,
                &mut outcome.matched,
            )
            .await
        }
        Handler::Replay(_) if grpc::is_grpc(&request) => {
            let replay = route.dep.grpc.replay.as_ref();
            grpc::replay::serve(
                replay,
                request,
                &mut outcome.matched,
                &mut outcome.grpc_done,
            )
            .await
        }
        Handler::Record(recorder) if grpc::is_grpc(&request) => {
            let upstream = route
                .upstream
                .as_deref()
                .map(|u| (u.base.as_str(), u.label));
            let protos = route.dep.grpc.record.as_ref();
            grpc::record::forward(
                upstream,
                recorder,
                protos,
                request,
                &mut outcome.matched,
                &mut outcome.grpc_done,
            )
            .await
        }
        Handler::Stub(stub) => {
            let (parts, incoming) = request.into_parts();
            let bytes = match read_body(incoming).await {
                Ok(bytes) => bytes,
                Err(response) => return response,
            };
            let view = RequestView {
                method: &parts.method,
                path: parts.uri.path(),
                query: body::query_pairs(parts.uri.query()),
                raw_query: parts.uri.query(),
                headers: &parts.headers,
                body: &bytes,
            };
            let answer = stub.answer(&view);
            drop(view);
            match answer {
                Ok(answer) => {
                    outcome.matched = Some(answer.label);
                    if let Some(delay) = answer.delay {
                        tokio::time::sleep(delay).await;
                    }
                    answer.response
                }
                Err(message) => unmatched(message),
            }
        }
        Handler::Replay(replay) => {
            let (parts, incoming) = request.into_parts();
            let bytes = match read_body(incoming).await {
                Ok(bytes) => bytes,
                Err(response) => return response,
            };
            let found = replay.answer(&replay::Request {
                method: &parts.method,
                headers: &parts.headers,
                path: parts.uri.path(),
                query: parts.uri.query(),
                body: &bytes,
            });
            match found {
                Ok(answered) => {
                    outcome.matched = Some(answered.label);
                    if let Some(delay) = answered.delay {
                        tokio::time::sleep(delay).await;
                    }
                    answered.response
                }
                Err(message) => unmatched(message),
            }
        }
        Handler::Record(recorder) => {
            forward(forwarder, route, Some(recorder), request, outcome).await
        }
        Handler::Proxy => forward(forwarder, route, None, request, outcome).await,
    }
}

pub(super) fn unmatched(message: String) -> Response<Body> {
    let mut response = body::text(StatusCode::BAD_GATEWAY, message);
    response
        .headers_mut()
        .insert(UNMATCHED.clone(), HeaderValue::from_static("true"));
    response
}

pub(super) async fn read_body(incoming: Incoming) -> Result<Bytes, Response<Body>> {
    match Limited::new(incoming, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(body::text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is over {} MiB, the most a stub or a replay reads to match it; record and proxy take bodies of any size\n",
                MAX_BODY >> 20
            ),
        )),
        Err(error) => Err(body::text(
            StatusCode::BAD_REQUEST,
            format!("cannot read the request body: {error}\n"),
        )),
    }
}

/// Forwards a call upstream (record and HTTP proxy), streaming the answer
/// back; when recording, a copy of both sides is saved.
pub(super) async fn forward(
    forwarder: &Forwarder,
    route: &PortRoute,
    recorder: Option<&Arc<Recorder>>,
    request: Request<Incoming>,
    outcome: &mut Outcome,
) -> Response<Body> {
    let Some(upstream) = &route.upstream else {
        return body::text(StatusCode::BAD_GATEWAY, "this dependency has no upstream\n");
    };
    outcome.matched = Some(upstream.label);
    let (mut parts, incoming) = request.into_parts();
    // WebSocket and other upgrades go through as bytes once the upstream
    // switches protocols.
    let upgrade = upgrade::requested(&parts.headers);
    let on_client = upgrade
        .as_ref()
        .and_then(|_| parts.extensions.remove::<hyper::upgrade::OnUpgrade>());
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let uri: Uri = match format!("{}{path_and_query}", upstream.base).parse() {
        Ok(uri) => uri,
        Err(error) => {
            return body::text(
                StatusCode::BAD_REQUEST,
                format!("cannot forward `{path_and_query}`: {error}\n"),
            );
        }
    };
    // A body the agent holds whole can be sent again, to an upstream found
    // to speak only HTTP/2. When recording, a small body (its length said
    // and within the inline limit) is read whole; any other streams
    // upstream as it comes, a copy kept on the way (in a file beside the
    // recording once large), so no size is refused and memory stays bounded.
    let (body, resend, recorded) = match recorder {
        Some(recorder) => {
            // The caller's Host and the per-call trace id would only make
            // every re-recording differ.
            let mut headers = recorder.headers(&parts.headers);
            headers.remove("host");
            headers.remove("traceparent");
            let mut recorded = RecordedRequest {
                method: parts.method.as_str().to_owned(),
                path: parts.uri.path().to_owned(),
                query: recording::query_from_pairs(body::query_pairs(parts.uri.query())),
                headers,
                body: None,
                body_base64: None,
                body_file: None,
            };
            let small = incoming.is_end_stream()
                || incoming
                    .size_hint()
                    .exact()
                    .is_some_and(|length| length <= record::INLINE_LIMIT as u64);
            if small {
                let bytes = match read_body(incoming).await {
                    Ok(bytes) => bytes,
                    Err(response) => return response,
                };
                (recorded.body, recorded.body_base64) = record::stored_body(&bytes);
                (
                    body::full(bytes.clone()),
                    Some(bytes),
                    Some((recorder.clone(), recorded, None)),
                )
            } else {
                let (tee, copy) = RequestTee::new(incoming, recorder.clone());
                (
                    tee.boxed_unsync(),
                    None,
                    Some((recorder.clone(), recorded, Some(copy))),
                )
            }
        }
        None if incoming.is_end_stream() => (body::full(Bytes::new()), Some(Bytes::new()), None),
        None => (incoming.map_err(Into::into).boxed_unsync(), None, None),
    };
    let trailers = parts
        .headers
        .get(header::TE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"trailers"));
    let mut headers = parts.headers;
    body::strip_hop_by_hop(&mut headers);
    // gRPC asks for trailers with `te: trailers`, the one hop-by-hop value
    // HTTP/2 keeps.
    if trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
    if let Some(protocol) = &upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol.clone());
    }
    // A recording's upstream is another server and wants its own name; a
    // proxy stands in for its entry, whose callers named the entry, so the
    // entry sees the Host they sent (not the proxy's `ENTRY.origin` alias).
    if recorder.is_some() || !headers.contains_key(header::HOST) {
        headers.insert(header::HOST, upstream.authority.clone());
    }
    if let Ok(value) = HeaderValue::from_str(outcome.traceparent.as_str()) {
        headers.insert(TRACEPARENT.clone(), value);
    }
    let outgoing = |body: Body, h2: bool| {
        let mut outgoing = Request::new(body);
        *outgoing.method_mut() = parts.method.clone();
        *outgoing.uri_mut() = uri.clone();
        *outgoing.version_mut() = if h2 {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        };
        *outgoing.headers_mut() = headers.clone();
        if h2 {
            // HTTP/2 names the server in `:authority`, from the URI.
            outgoing.headers_mut().remove(header::HOST);
        }
        outgoing
    };
    let h2 = upstream.h2.load(Ordering::Relaxed) && upgrade.is_none();
    let sent_at = Instant::now();
    let mut sent = forwarder.send(outgoing(body, h2), h2).await;
    if !h2
        && let (Err(error), Some(bytes)) = (&sent, resend)
        && answered_http2(error)
    {
        upstream.h2.store(true, Ordering::Relaxed);
        sent = forwarder
            .send(outgoing(body::full(bytes), true), true)
            .await;
    }
    let first_byte = sent_at.elapsed();
    let mut response = match sent {
        Ok(response) => response,
        Err(error) => {
            let mut cause = String::new();
            let mut source = std::error::Error::source(&error);
            while let Some(inner) = source {
                cause = format!(": {inner}");
                source = inner.source();
            }
            return body::text(
                StatusCode::BAD_GATEWAY,
                format!(
                    "the sandbox could not reach {}: {error}{cause}\n",
                    upstream.base
                ),
            );
        }
    };
    let switched = response.status() == StatusCode::SWITCHING_PROTOCOLS;
    if switched && let Some(on_client) = on_client {
        let on_upstream = hyper::upgrade::on(&mut response);
        outcome.upgrade = Some(Box::pin(upgrade::splice(on_client, on_upstream)));
    }
    let agreed = response.headers().get(header::UPGRADE).cloned();
    let (mut parts, incoming) = response.into_parts();
    body::strip_hop_by_hop(&mut parts.headers);
    if switched && let Some(protocol) = agreed {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        parts.headers.insert(header::UPGRADE, protocol);
    }
    // A switch of protocols (or the upstream's refusal of one) is no
    // answer a replay could give.
    let recorded = recorded
        .filter(|_| upgrade.is_none() && !switched && parts.status != StatusCode::UPGRADE_REQUIRED);
    let body = match recorded {
        Some((recorder, request, request_body)) => {
            let pending = Pending {
                headers: recorder.headers(&parts.headers),
                recorder,
                request,
                status: parts.status.as_u16(),
                first_byte,
                request_body,
            };
            Tee::new(incoming, pending).boxed_unsync()
        }
        None => incoming.map_err(Into::into).boxed_unsync(),
    };
    Response::from_parts(parts, body)
}

/// Whether an HTTP/1 request failed because the upstream answered with an
/// HTTP/2 preface (a server that speaks only h2c).
fn answered_http2(error: &hyper_util::client::legacy::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(hyper) = inner.downcast_ref::<hyper::Error>()
            && hyper.is_parse()
            && hyper.to_string().contains("version")
        {
            return true;
        }
        source = inner.source();
    }
    false
}
