//! HTTP bodies and headers shared by every mode: the one body type the agent
//! answers with, hop-by-hop header handling, request query parsing, and body
//! wrappers (bandwidth throttling, keeping a guard alive while a body streams,
//! showing an incoming body to a watcher as it passes).

use std::borrow::Cow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Body as HttpBody, Frame, SizeHint};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every body the agent answers with or sends upstream.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A complete body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Bytes kept for the life of the process (compiled answers): cloning them
/// for each answer touches no shared reference count.
pub fn lasting_bytes(bytes: Vec<u8>) -> Bytes {
    Bytes::from_static(Box::leak(bytes.into_boxed_slice()))
}

/// A header value kept for the life of the process, like [`lasting_bytes`];
/// `None` when HTTP cannot carry it.
pub fn lasting_header(text: &str) -> Option<http::HeaderValue> {
    let value = http::HeaderValue::from_str(text).ok()?;
    if text
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
        Some(http::HeaderValue::from_static(text))
    } else {
        Some(value)
    }
}

/// A plain-text answer.
pub fn text(status: http::StatusCode, message: impl Into<Bytes>) -> http::Response<Body> {
    let mut response = http::Response::new(full(message));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A JSON answer.
pub fn json(status: http::StatusCode, value: &impl serde::Serialize) -> http::Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut response = http::Response::new(full(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Headers that belong to one connection and are never forwarded or
/// recorded (RFC 9110 section 7.6.1), plus `content-length`, recomputed for
/// the body actually sent.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TE
        || name == header::TRAILER
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    let hop: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_hop_by_hop(name))
        .cloned()
        .collect();
    for name in hop {
        headers.remove(name);
    }
}

/// The request's query parameters, percent-decoded, in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    match query {
        Some(query) if !query.is_empty() => form_urlencoded::parse(query.as_bytes()).collect(),
        _ => Vec::new(),
    }
}

/// Throttles a body to `bytes_per_second`, in slices of about 50 ms.
pub fn throttle(body: Body, bytes_per_second: u64) -> Body {
    let rate = bytes_per_second.max(1);
    let slice = (rate / 20).max(1) as usize;
    let stream = futures_util::stream::unfold(
        (body, Bytes::new()),
        move |(mut body, mut pending)| async move {
            loop {
                if !pending.is_empty() {
                    let n = pending.len().min(slice);
                    let piece = pending.split_to(n);
                    tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
                    return Some((Ok(Frame::data(piece)), (body, pending)));
                }
                match body.frame().await? {
                    Err(error) => return Some((Err(error), (body, pending))),
                    Ok(frame) => match frame.into_data() {
                        Ok(data) => pending = data,
                        Err(frame) => return Some((Ok(frame), (body, pending))),
                    },
                }
            }
        },
    );
    StreamBody::new(stream).boxed_unsync()
}

/// What sees an incoming body's frames as they pass through a [`Watched`].
pub trait Watcher: Unpin {
    /// A data frame.
    fn data(&mut self, data: &Bytes);
    /// The trailers.
    fn trailers(&mut self, _trailers: &HeaderMap) {}
    /// The body is over: `whole` when it reached its end, not when it
    /// failed or was dropped before. Called at least once; later calls are
    /// the watcher's to ignore.
    fn end(&mut self, _whole: bool) {}
}

/// An incoming body passed on unchanged, each frame shown to its watcher
/// first; the watcher hears of the end as soon as the body is at it, when
/// it fails, or when it is dropped (whole if it was at its end by then).
pub struct Watched<W: Watcher> {
    inner: hyper::body::Incoming,
    pub watcher: W,
}

impl<W: Watcher> Watched<W> {
    pub fn new(inner: hyper::body::Incoming, watcher: W) -> Self {
        Watched { inner, watcher }
    }
}

impl<W: Watcher> HttpBody for Watched<W> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.watcher.data(data);
                } else if let Some(trailers) = frame.trailers_ref() {
                    this.watcher.trailers(trailers);
                }
                if this.inner.is_end_stream() {
                    this.watcher.end(true);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(error)) => {
                this.watcher.end(false);
                Poll::Ready(Some(Err(error.into())))
            }
            None => {
                this.watcher.end(true);
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<W: Watcher> Drop for Watched<W> {
    fn drop(&mut self) {
        // Dropped before its end: the caller went away mid-stream.
        let whole = self.inner.is_end_stream();
        self.watcher.end(whole);
    }
}

/// A body that keeps `guard` alive until the body is done (or dropped): a
/// concurrency permit must cover the whole answer, not only its headers.
pub struct Guarded<G> {
    inner: Body,
    _guard: G,
}

impl<G: Send + Unpin + 'static> Guarded<G> {
    pub fn wrap(inner: Body, guard: G) -> Body {
        Guarded {
            inner,
            _guard: guard,
        }
        .boxed_unsync()
    }
}

impl<G: Unpin> HttpBody for Guarded<G> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_named_by_connection_go() {
        let mut headers = HeaderMap::new();
        headers.insert("connection", "close, x-private".parse().unwrap());
        headers.insert("x-private", "1".parse().unwrap());
        headers.insert("transfer-encoding", "chunked".parse().unwrap());
        headers.insert("keep-alive", "timeout=5".parse().unwrap());
        headers.insert("x-kept", "1".parse().unwrap());
        strip_hop_by_hop(&mut headers);
        assert_eq!(
            headers.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            vec!["x-kept"]
        );
    }

    #[test]
    fn queries_are_decoded() {
        let pairs = query_pairs(Some("a=1&b=x%20y&c=a+b"));
        assert_eq!(pairs[1], ("b".into(), "x y".into()));
        assert_eq!(pairs[2].1, "a b");
        assert!(query_pairs(None).is_empty());
    }

    #[tokio::test]
    async fn throttled_bodies_arrive_whole_and_slowly() {
        let started = std::time::Instant::now();
        let body = throttle(full(vec![7u8; 2_000]), 10_000);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 2_000);
        assert!(
            started.elapsed() >= Duration::from_millis(180),
            "{:?}",
            started.elapsed()
        );
    }
}
