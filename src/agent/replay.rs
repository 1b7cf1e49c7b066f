//! Replay dependencies (PRODUCT.md section 4): answers from a recording,
//! matched on method, path, query and body. Identical requests are answered
//! in recorded order, the last answer repeating. A query parameter given
//! several times matches only with all its values, in order (6.3); a
//! redacted header is never replayed literally. With `timing: recorded` an
//! answer keeps its recorded pace: the wait for its headers, then each
//! chunk of its body after its recorded gap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderMap, HeaderName};
use http_body_util::BodyExt;
use serde_json::Value;

use super::body::{self, Body};
use super::journal;
use super::record::INLINE_LIMIT;
use crate::manifest::recording::{self, Interaction, Query, REDACTED, Recording, Timing};

/// What identifies a request in a recording.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    method: String,
    path: String,
    query: Query,
    body: Bytes,
}

/// A recording, indexed for answering.
#[derive(Debug)]
pub struct Replay {
    groups: Vec<Group>,
    index: HashMap<Key, usize>,
    /// The folder `body_file`s are relative to.
    bodies: Option<std::path::PathBuf>,
    /// Answers keep their recorded pace (`timing: recorded`).
    paced: bool,
}

/// A recorded answer, ready to send.
pub struct Answered {
    /// `interaction 3`, as the journal shows it.
    pub label: &'static str,
    pub response: http::Response<Body>,
    /// How long to wait before the headers (`timing: recorded`).
    pub delay: Option<Duration>,
}

/// The recorded answers to one identical request, in order.
#[derive(Debug)]
struct Group {
    key: Key,
    json: Option<Value>,
    answers: Vec<Answer>,
    next: AtomicUsize,
}

#[derive(Debug)]
struct Answer {
    /// `interaction 3` (1-based, as the journal shows it).
    label: &'static str,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// The body's `content-encoding`, lowercase, when not identity.
    encoding: Option<String>,
    /// Recorded cut off: replayed cut off too (the body, then an abort).
    incomplete: bool,
    /// A large body's file (`bodies/<sha256>`), read as it is sent.
    file: Option<String>,
    /// How it arrived when recorded.
    timing: Option<Timing>,
}

/// A request as replay sees it.
pub struct Request<'a> {
    pub method: &'a http::Method,
    /// For `Accept-Encoding`.
    pub headers: &'a HeaderMap,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub body: &'a Bytes,
}

impl Replay {
    pub fn new(recording: &Recording) -> Result<Replay, String> {
        let mut groups: Vec<Group> = Vec::new();
        let mut index: HashMap<Key, usize> = HashMap::new();
        for (number, interaction) in recording.interactions.iter().enumerate() {
            let number = number + 1;
            let (key, answer) =
                compile(number, interaction).map_err(|e| format!("interaction {number}: {e}"))?;
            match index.get(&key) {
                Some(&group) => groups[group].answers.push(answer),
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push(Group {
                        json: serde_json::from_slice(&key.body).ok(),
                        key,
                        answers: vec![answer],
                        next: AtomicUsize::new(0),
                    });
                }
            }
        }
        Ok(Replay {
            groups,
            index,
            bodies: None,
            paced: false,
        })
    }

    /// Answers at their recorded pace (`timing: recorded`).
    pub fn paced(mut self, paced: bool) -> Replay {
        self.paced = paced;
        self
    }

    /// Reads `body_file`s from `folder`.
    pub fn with_bodies(mut self, folder: Option<&str>) -> Replay {
        self.bodies = folder.map(std::path::PathBuf::from);
        self
    }

    /// The next recorded answer to this request (and its label), or a
    /// diagnosis naming the closest recorded request.
    pub fn answer(&self, request: &Request<'_>) -> Result<Answered, String> {
        let key = Key {
            method: request.method.as_str().to_ascii_uppercase(),
            path: request.path.to_owned(),
            query: recording::query_from_pairs(body::query_pairs(request.query)),
            body: if request.body.len() > INLINE_LIMIT {
                by_hash(&sha256_hex(request.body))
            } else {
                request.body.clone()
            },
        };
        let mut group = self.find(&key);
        // HEAD is answered like the recorded GET, without its body (hyper
        // sends the length and leaves the body out).
        if group.is_none() && key.method == "HEAD" {
            group = self.find(&Key {
                method: "GET".into(),
                ..key.clone()
            });
        }
        let Some(group) = group else {
            return Err(self.diagnose(&key, request));
        };
        let turn = group.next.fetch_add(1, Ordering::Relaxed);
        let mut answer = &group.answers[turn.min(group.answers.len() - 1)];
        // What the response varies on: a client that does not accept the
        // recorded encoding gets another recorded answer it accepts, or the
        // body decoded.
        let accepted = |answer: &Answer| {
            answer
                .encoding
                .as_deref()
                .is_none_or(|coding| accepts(request.headers, coding))
        };
        if !accepted(answer)
            && let Some(other) = group.answers.iter().find(|other| accepted(other))
        {
            answer = other;
        }
        let mut headers = answer.headers.clone();
        let bytes = match answer.encoding.as_deref() {
            Some(coding) if !accepts(request.headers, coding) => match decode(coding, &answer.body)
            {
                Some(decoded) => {
                    headers.remove(http::header::CONTENT_ENCODING);
                    headers.remove(http::header::ETAG);
                    decoded
                }
                None => answer.body.clone(),
            },
            _ => answer.body.clone(),
        };
        if let Some(file) = &answer.file {
            let path = match &self.bodies {
                Some(folder) => folder.join(file),
                None => std::path::PathBuf::from(file),
            };
            let body = match std::fs::File::open(&path) {
                Ok(opened) => FileBody::open(opened, answer.incomplete),
                Err(error) => {
                    return Err(format!(
                        "{}: the body file {file} cannot be read: {error}\n",
                        answer.label
                    ));
                }
            };
            let mut response = http::Response::new(self.pace(answer, body));
            *response.status_mut() = answer.status;
            *response.headers_mut() = answer.headers.clone();
            return Ok(self.answered(answer, response));
        }
        let body = if answer.incomplete {
            Truncated(Some(bytes)).boxed_unsync()
        } else {
            body::full(bytes)
        };
        let mut response = http::Response::new(self.pace(answer, body));
        *response.status_mut() = answer.status;
        *response.headers_mut() = headers;
        Ok(self.answered(answer, response))
    }

    fn answered(&self, answer: &Answer, response: http::Response<Body>) -> Answered {
        let delay = match (&answer.timing, self.paced) {
            (Some(timing), true) if timing.first_byte_ms > 0 => {
                Some(Duration::from_millis(timing.first_byte_ms))
            }
            _ => None,
        };
        Answered {
            label: answer.label,
            response,
            delay,
        }
    }

    /// The body sent at its recorded pace, when replay keeps it.
    fn pace(&self, answer: &Answer, body: Body) -> Body {
        match &answer.timing {
            Some(timing) if self.paced && !timing.chunks.is_empty() => {
                Paced::wrap(body, &timing.chunks)
            }
            _ => body,
        }
    }

    fn find(&self, key: &Key) -> Option<&Group> {
        match self.index.get(key) {
            Some(&group) => Some(&self.groups[group]),
            // JSON bodies that differ only in spacing or key order still match.
            None => serde_json::from_slice::<Value>(&key.body)
                .ok()
                .and_then(|json| {
                    self.groups.iter().find(|group| {
                        group.key.method == key.method
                            && group.key.path == key.path
                            && group.key.query == key.query
                            && group.json.as_ref() == Some(&json)
                    })
                }),
        }
    }

    fn diagnose(&self, key: &Key, request: &Request<'_>) -> String {
        let mut message = format!(
            "no recorded request matched {} {}",
            key.method, request.path
        );
        if let Some(query) = request.query.filter(|q| !q.is_empty()) {
            message.push('?');
            message.push_str(query);
        }
        let closest = self
            .groups
            .iter()
            .map(|group| (group, differences(&group.key, key)))
            .min_by_key(|(_, differences)| {
                differences.iter().map(|(weight, _)| weight).sum::<u32>()
            });
        match closest {
            None => message.push_str("\nthe recording has no interactions"),
            Some((group, differences)) => {
                let reasons: Vec<&str> = differences
                    .iter()
                    .map(|(_, reason)| reason.as_str())
                    .collect();
                message.push_str(&format!(
                    "\nclosest: {} ({} {}): {}",
                    group.answers[0].label,
                    group.key.method,
                    group.key.path,
                    reasons.join("; ")
                ));
            }
        }
        message.push('\n');
        message
    }
}

fn differences(recorded: &Key, actual: &Key) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    if recorded.method != actual.method {
        out.push((
            4,
            format!("method is {}, recorded {}", actual.method, recorded.method),
        ));
    }
    if recorded.path != actual.path {
        let (want, got) = (segments(&recorded.path), segments(&actual.path));
        let differing =
            want.iter().zip(&got).filter(|(a, b)| a != b).count() + want.len().abs_diff(got.len());
        out.push((
            3 * differing as u32,
            format!("path is {}, recorded {}", actual.path, recorded.path),
        ));
    }
    for (name, value) in &recorded.query {
        match actual.query.get(name) {
            None => out.push((
                1,
                format!("query parameter `{name}` is missing (recorded `{value}`)"),
            )),
            Some(found) if found != value => out.push((
                1,
                format!("query parameter `{name}` is `{found}`, recorded `{value}`"),
            )),
            Some(_) => {}
        }
    }
    for name in actual
        .query
        .keys()
        .filter(|name| !recorded.query.contains_key(*name))
    {
        out.push((
            1,
            format!("query parameter `{name}` was not in the recorded request"),
        ));
    }
    if recorded.body != actual.body {
        out.push((
            1,
            format!(
                "body differs ({} bytes, recorded {} bytes)",
                actual.body.len(),
                recorded.body.len()
            ),
        ));
    }
    out
}

/// A body read from its file in chunks as the caller takes it, its length
/// known (so `content-length` is sent).
struct FileBody {
    file: tokio::fs::File,
    left: u64,
    buffer: Vec<u8>,
    /// Recorded cut off: an error follows the last byte.
    cut: bool,
}

impl FileBody {
    fn open(file: std::fs::File, cut: bool) -> Body {
        let left = file.metadata().map(|meta| meta.len()).unwrap_or(0);
        FileBody {
            file: tokio::fs::File::from_std(file),
            left,
            buffer: vec![0; 64 * 1024],
            cut,
        }
        .boxed_unsync()
    }
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = body::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, body::BoxError>>> {
        use tokio::io::AsyncRead as _;
        let this = &mut *self;
        if this.left == 0 {
            if std::mem::take(&mut this.cut) {
                return std::task::Poll::Ready(Some(Err(
                    "the recorded response was cut off here".into()
                )));
            }
            return std::task::Poll::Ready(None);
        }
        let mut read = tokio::io::ReadBuf::new(&mut this.buffer);
        match std::pin::Pin::new(&mut this.file).poll_read(cx, &mut read) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(Err(error)) => std::task::Poll::Ready(Some(Err(error.into()))),
            std::task::Poll::Ready(Ok(())) => {
                let filled = read.filled();
                if filled.is_empty() {
                    return std::task::Poll::Ready(Some(Err("the body file ended early".into())));
                }
                this.left = this.left.saturating_sub(filled.len() as u64);
                let chunk = Bytes::copy_from_slice(filled);
                std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0 && !self.cut
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        if self.cut {
            hyper::body::SizeHint::default()
        } else {
            hyper::body::SizeHint::with_exact(self.left)
        }
    }
}

/// A body sent chunk by chunk, each chunk after its recorded gap: the
/// inner body's frames are cut at the recorded chunk sizes and passed on as
/// they come (never gathered, so a body read from its file stays streamed).
/// Bytes past the recorded chunks follow the last at once.
struct Paced {
    inner: Body,
    /// The chunks still to send: `(bytes, gap)`.
    schedule: std::collections::VecDeque<(u64, Duration)>,
    /// Bytes of the current chunk still to send.
    left: u64,
    /// Data taken from the inner body, not yet sent.
    pending: Bytes,
    /// The wait before the current chunk starts.
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    hint: hyper::body::SizeHint,
}

impl Paced {
    fn wrap(inner: Body, chunks: &[(u64, u64)]) -> Body {
        use hyper::body::Body as _;
        Paced {
            hint: inner.size_hint(),
            inner,
            schedule: chunks
                .iter()
                .filter(|(bytes, _)| *bytes > 0)
                .map(|(bytes, ms)| (*bytes, Duration::from_millis(*ms)))
                .collect(),
            left: 0,
            pending: Bytes::new(),
            sleep: None,
        }
        .boxed_unsync()
    }
}

impl hyper::body::Body for Paced {
    type Data = Bytes;
    type Error = body::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, body::BoxError>>> {
        use std::task::Poll;
        let this = &mut *self;
        loop {
            if this.left == 0 && this.sleep.is_none() {
                match this.schedule.pop_front() {
                    Some((bytes, gap)) => {
                        this.left = bytes;
                        if !gap.is_zero() {
                            this.sleep = Some(Box::pin(tokio::time::sleep(gap)));
                        }
                    }
                    // Past the recorded chunks: the rest at once.
                    None => this.left = u64::MAX,
                }
            }
            if let Some(sleep) = &mut this.sleep {
                match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => this.sleep = None,
                }
            }
            if this.pending.is_empty() {
                match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => return Poll::Ready(None),
                    Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                    Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) => this.pending = data,
                        Err(frame) => return Poll::Ready(Some(Ok(frame))),
                    },
                }
                continue;
            }
            let take = (this.pending.len() as u64).min(this.left) as usize;
            let piece = this.pending.split_to(take);
            this.left -= take as u64;
            if let Some(exact) = this.hint.exact() {
                this.hint = hyper::body::SizeHint::with_exact(exact.saturating_sub(take as u64));
            }
            return Poll::Ready(Some(Ok(hyper::body::Frame::data(piece))));
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.hint
    }
}

/// A recorded body that was cut off: its bytes, then an error, so that the
/// caller sees the connection end early as it did when recording.
struct Truncated(Option<Bytes>);

impl hyper::body::Body for Truncated {
    type Data = Bytes;
    type Error = body::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, body::BoxError>>> {
        std::task::Poll::Ready(Some(match self.0.take() {
            Some(bytes) => Ok(hyper::body::Frame::data(bytes)),
            None => Err("the recorded response was cut off here".into()),
        }))
    }
}

/// Whether the request's `Accept-Encoding` takes `coding` (no header: only
/// identity, so a client that asked for nothing never gets gzip).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|param| {
                let param = param.trim().replace(' ', "");
                param == "q=0" || param == "q=0.0" || param == "q=0.00" || param == "q=0.000"
            });
            !refused && (name.eq_ignore_ascii_case(coding) || name == "*")
        })
}

/// `body` decoded from `coding` (gzip, x-gzip, deflate), when it can be.
fn decode(coding: &str, body: &[u8]) -> Option<Bytes> {
    use std::io::Read;
    let mut out = Vec::new();
    let done = match coding {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(body).read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(body).read_to_end(&mut out),
        _ => return None,
    };
    done.ok().map(|_| Bytes::from(out))
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// A large request body as a key holds it: its sha256, which names its
/// file (`bodies/<sha256>`), so that matching never reads the file.
fn by_hash(hex: &str) -> Bytes {
    Bytes::from(format!("\0sha256:{hex}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn compile(number: usize, interaction: &Interaction) -> Result<(Key, Answer), String> {
    let request = &interaction.request;
    let body = match &request.body_file {
        Some(file) => {
            let name = std::path::Path::new(file)
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or(file);
            by_hash(&name.to_ascii_lowercase())
        }
        None => decode_body(request.body.as_deref(), request.body_base64.as_deref())?,
    };
    let key = Key {
        method: request.method.trim().to_ascii_uppercase(),
        path: request.path.clone(),
        query: request.query.clone(),
        body,
    };
    let response = &interaction.response;
    let status = StatusCode::from_u16(response.status)
        .map_err(|_| format!("{} is not an HTTP status", response.status))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &response.headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("`{name}` is not a header name"))?;
        // A redacted value (a `set-cookie` above all) would only confuse.
        if body::is_hop_by_hop(&name)
            || name == http::header::CONTENT_LENGTH
            || value.trim() == REDACTED
        {
            continue;
        }
        let value = body::lasting_header(value)
            .ok_or_else(|| format!("header `{name}` has a value HTTP cannot carry"))?;
        headers.append(name, value);
    }
    let encoding = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_ascii_lowercase())
        .filter(|value| value != "identity");
    let answer = Answer {
        encoding,
        incomplete: response.incomplete,
        file: response.body_file.clone(),
        timing: response.timing.clone(),
        label: journal::lasting(format!("interaction {number}")),
        status,
        headers,
        body: body::lasting_bytes(
            decode_body(response.body.as_deref(), response.body_base64.as_deref())?.to_vec(),
        ),
    };
    Ok((key, answer))
}

fn decode_body(text: Option<&str>, base64: Option<&str>) -> Result<Bytes, String> {
    match (text, base64) {
        (_, Some(encoded)) => BASE64
            .decode(encoded.trim())
            .map(Bytes::from)
            .map_err(|e| format!("body_base64 is not base64: {e}")),
        (Some(text), None) => Ok(Bytes::from(text.to_owned())),
        (None, None) => Ok(Bytes::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    const RECORDING: &str = r#"
version: 1
interactions:
  - request: { method: GET, path: /items/1 }
    response: { status: 200, headers: { content-type: text/plain, content-length: "5", connection: close }, body: first }
  - request: { method: POST, path: /items, query: { dry: "1" }, body: '{"a": 1, "b": 2}' }
    response: { status: 201, body: made }
  - request: { method: GET, path: /items/1 }
    response: { status: 200, body: second }
  - request: { method: GET, path: /blob }
    response: { status: 200, body_base64: AAEC }
"#;

    async fn ask(
        replay: &Replay,
        method: &str,
        target: &str,
        body: &str,
    ) -> Result<(String, u16, HeaderMap, Bytes), String> {
        let method: http::Method = method.parse().unwrap();
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        let body = Bytes::from(body.to_owned());
        let Answered {
            label, response, ..
        } = replay.answer(&Request {
            method: &method,
            headers: &HeaderMap::new(),
            path,
            query,
            body: &body,
        })?;
        let (parts, body) = response.into_parts();
        Ok((
            label.to_string(),
            parts.status.as_u16(),
            parts.headers,
            body.collect().await.unwrap().to_bytes(),
        ))
    }

    #[tokio::test]
    async fn identical_requests_get_recorded_answers_in_order_then_the_last_repeats() {
        let replay = Replay::new(&Recording::parse(RECORDING).unwrap()).unwrap();
        let first = ask(&replay, "GET", "/items/1", "").await.unwrap();
        assert_eq!(
            (first.0.as_str(), &first.3[..]),
            ("interaction 1", &b"first"[..])
        );
        assert_eq!(first.2.get("content-type").unwrap(), "text/plain");
        assert!(first.2.get("content-length").is_none() && first.2.get("connection").is_none());
        assert_eq!(
            ask(&replay, "GET", "/items/1", "").await.unwrap().3,
            "second"
        );
        assert_eq!(
            ask(&replay, "get", "/items/1", "").await.unwrap().3,
            "second"
        );
    }

    #[tokio::test]
    async fn bodies_and_queries_are_part_of_the_match() {
        let replay = Replay::new(&Recording::parse(RECORDING).unwrap()).unwrap();
        let made = ask(&replay, "POST", "/items?dry=1", r#"{"b":2,"a":1}"#)
            .await
            .unwrap();
        assert_eq!((made.1, &made.3[..]), (201, &b"made"[..]));
        let message = ask(&replay, "POST", "/items?dry=0", r#"{"a": 1, "b": 2}"#)
            .await
            .unwrap_err();
        assert!(
            message.contains(
                "closest: interaction 2 (POST /items): query parameter `dry` is `0`, recorded `1`"
            ),
            "{message}"
        );
        assert_eq!(
            &ask(&replay, "GET", "/blob", "").await.unwrap().3[..],
            &[0u8, 1, 2][..]
        );
        let message = ask(&replay, "GET", "/items/2", "").await.unwrap_err();
        assert!(
            message.starts_with("no recorded request matched GET /items/2\nclosest: interaction 1"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn recorded_timing_is_kept_only_when_asked() {
        let text = "version: 1\ninteractions:\n  - request: { method: GET, path: /events }\n    response: { status: 200, body: \"a\\nb\\nc\\n\", timing: { first_byte_ms: 40, chunks: [[2, 0], [2, 80], [2, 80]] } }\n";
        let recording = Recording::parse(text).unwrap();
        let request = |method: &'static http::Method| Request {
            method,
            headers: Box::leak(Box::new(HeaderMap::new())),
            path: "/events",
            query: None,
            body: Box::leak(Box::new(Bytes::new())),
        };
        let plain = Replay::new(&recording).unwrap();
        let answered = plain.answer(&request(&http::Method::GET)).unwrap();
        assert!(answered.delay.is_none());
        assert_eq!(
            answered
                .response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes(),
            "a\nb\nc\n"
        );

        let paced = Replay::new(&recording).unwrap().paced(true);
        let answered = paced.answer(&request(&http::Method::GET)).unwrap();
        assert_eq!(answered.delay, Some(Duration::from_millis(40)));
        let mut body = answered.response.into_body();
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(6));
        let started = std::time::Instant::now();
        let mut chunks = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            chunks.push((data, started.elapsed()));
        }
        let texts: Vec<&[u8]> = chunks.iter().map(|(data, _)| &data[..]).collect();
        assert_eq!(texts, [&b"a\n"[..], b"b\n", b"c\n"]);
        assert!(chunks[0].1 < Duration::from_millis(60), "{chunks:?}");
        assert!(chunks[1].1 >= Duration::from_millis(80), "{chunks:?}");
        assert!(chunks[2].1 >= Duration::from_millis(160), "{chunks:?}");
    }

    #[tokio::test]
    async fn repeated_query_names_match_with_every_value_in_order() {
        let text = "version: 1\ninteractions:\n  - request: { method: GET, path: /s, query: { tag: [a, b], q: x } }\n    response: { status: 200, body: both, headers: { set-cookie: <redacted>, x-kept: yes } }\n  - request: { method: GET, path: /s, query: { tag: b } }\n    response: { status: 200, body: one }\n";
        let replay = Replay::new(&Recording::parse(text).unwrap()).unwrap();
        let both = ask(&replay, "GET", "/s?tag=a&q=x&tag=b", "").await.unwrap();
        assert_eq!(&both.3[..], b"both");
        assert!(
            both.2.get("set-cookie").is_none(),
            "a redacted value is left out"
        );
        assert_eq!(both.2.get("x-kept").unwrap(), "yes");
        assert_eq!(
            &ask(&replay, "GET", "/s?tag=b", "").await.unwrap().3[..],
            b"one"
        );
        let message = ask(&replay, "GET", "/s?tag=b&tag=a&q=x", "")
            .await
            .unwrap_err();
        assert!(
            message.contains("query parameter `tag` is `[b, a]`, recorded `[a, b]`"),
            "{message}"
        );
        // The last of a repeated name is not taken for all of them.
        assert!(ask(&replay, "GET", "/s?tag=a&tag=b", "").await.is_err());
    }
}
