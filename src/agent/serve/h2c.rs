//! `Upgrade: h2c` (RFC 7540 section 3.2): an HTTP/1.1 request that asks to
//! go on in HTTP/2 is answered `101 Switching Protocols`, then the
//! connection is served as HTTP/2 and the request that asked is answered on
//! stream 1. hyper's HTTP/2 server cannot adopt a request read over
//! HTTP/1, so the request is handed to it as HTTP/2 frames of its own:
//! [`Injector`] lets the client's connection preface and first SETTINGS
//! frame through, then reads a HEADERS frame (and DATA for a body) on
//! stream 1 carrying the original request.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{self, HeaderName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The largest request body carried over an upgrade; a request with a
/// larger body (or one of unknown length) is answered over HTTP/1.1, as
/// the RFC lets a server do.
pub(super) const MAX_BODY: u64 = 16 * 1024;

/// The frame payload size every HTTP/2 endpoint accepts.
const MAX_FRAME: usize = 16 * 1024;

/// The client connection preface, then a frame header.
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

static HTTP2_SETTINGS: HeaderName = HeaderName::from_static("http2-settings");

/// Whether `request` asks to be upgraded to h2c and can be: HTTP/1.1,
/// `Upgrade: h2c`, an `HTTP2-Settings` header, `Connection` naming both,
/// and a body of known length up to [`MAX_BODY`].
pub(super) fn asks<B>(request: &http::Request<B>) -> bool {
    if request.version() != http::Version::HTTP_11 {
        return false;
    }
    let headers = request.headers();
    let upgrade = headers
        .get(header::UPGRADE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"h2c"));
    if !upgrade || !headers.contains_key(&HTTP2_SETTINGS) {
        return false;
    }
    let tokens = connection_tokens(headers);
    let named = |name: &str| tokens.iter().any(|token| token.eq_ignore_ascii_case(name));
    if !named("upgrade") || !named("http2-settings") {
        return false;
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return false;
    }
    match headers.get(header::CONTENT_LENGTH) {
        None => true,
        Some(length) => length
            .to_str()
            .ok()
            .and_then(|length| length.trim().parse::<u64>().ok())
            .is_some_and(|length| length <= MAX_BODY),
    }
}

/// The tokens of every `Connection` header.
fn connection_tokens(headers: &http::HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect()
}

/// The `101 Switching Protocols` answer.
pub(super) fn switching<B: Default>() -> http::Response<B> {
    let mut response = http::Response::new(B::default());
    *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(
        header::CONNECTION,
        http::HeaderValue::from_static("Upgrade"),
    );
    headers.insert(header::UPGRADE, http::HeaderValue::from_static("h2c"));
    response
}

/// The HTTP/2 frames standing for the upgraded request on stream 1:
/// HEADERS (and CONTINUATION when long), then DATA for the body. Every
/// field is a literal without indexing with a new name, so the client's
/// HPACK dynamic table is left as it is.
pub(super) fn request_frames(parts: &http::request::Parts, body: &[u8]) -> Vec<u8> {
    let mut block = Vec::new();
    let authority = parts
        .headers
        .get(header::HOST)
        .map(|host| host.as_bytes().to_vec())
        .or_else(|| {
            parts
                .uri
                .authority()
                .map(|authority| authority.as_str().as_bytes().to_vec())
        })
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    literal(&mut block, b":method", parts.method.as_str().as_bytes());
    literal(&mut block, b":scheme", b"http");
    if !authority.is_empty() {
        literal(&mut block, b":authority", &authority);
    }
    literal(&mut block, b":path", path.as_bytes());
    let hop_by_hop = connection_tokens(&parts.headers);
    for (name, value) in &parts.headers {
        let skipped = matches!(
            name.as_str(),
            "connection"
                | "upgrade"
                | "http2-settings"
                | "keep-alive"
                | "proxy-connection"
                | "transfer-encoding"
                | "host"
        ) || (name == header::TE && value.as_bytes() != b"trailers")
            || hop_by_hop.iter().any(|token| token == name.as_str());
        if !skipped {
            literal(&mut block, name.as_str().as_bytes(), value.as_bytes());
        }
    }

    let mut frames = Vec::with_capacity(block.len() + body.len() + 4 * FRAME_HEADER);
    let mut chunks = block.chunks(MAX_FRAME).peekable();
    let mut kind = HEADERS;
    while let Some(chunk) = chunks.next() {
        let mut flags = 0;
        if chunks.peek().is_none() {
            flags |= END_HEADERS;
        }
        if kind == HEADERS && body.is_empty() {
            flags |= END_STREAM;
        }
        frame(&mut frames, kind, flags, chunk);
        kind = CONTINUATION;
    }
    if block.is_empty() {
        frame(&mut frames, HEADERS, END_HEADERS | END_STREAM, &[]);
    }
    let mut chunks = body.chunks(MAX_FRAME).peekable();
    while let Some(chunk) = chunks.next() {
        let flags = if chunks.peek().is_none() {
            END_STREAM
        } else {
            0
        };
        frame(&mut frames, DATA, flags, chunk);
    }
    frames
}

/// One frame on stream 1.
fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, payload: &[u8]) {
    let length = payload.len() as u32;
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(payload);
}

/// An HPACK "literal header field without indexing, new name" (RFC 7541
/// section 6.2.2), strings not Huffman-coded.
fn literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0);
    string(out, name);
    string(out, value);
}

fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    integer(out, 7, 0, bytes.len());
    out.extend_from_slice(bytes);
}

/// An HPACK integer with an `prefix`-bit prefix (RFC 7541 section 5.1).
fn integer(out: &mut Vec<u8>, prefix: u32, flags: u8, mut value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// Reads the client's connection preface and first SETTINGS frame as they
/// come, then `frames`, then the rest of the connection; writes go straight
/// through.
pub(super) struct Injector<I> {
    io: I,
    /// The preface and the SETTINGS frame header as read so far.
    head: [u8; PREFACE.len() + FRAME_HEADER],
    /// Bytes of the connection read so far (until the frames are read).
    passed: usize,
    /// Where the SETTINGS frame ends, once its header is read.
    settings_end: Option<usize>,
    frames: Vec<u8>,
    /// How much of `frames` has been read.
    injected: usize,
    done: bool,
}

impl<I> Injector<I> {
    pub(super) fn new(io: I, frames: Vec<u8>) -> Self {
        Injector {
            io,
            head: [0; PREFACE.len() + FRAME_HEADER],
            passed: 0,
            settings_end: None,
            frames,
            injected: 0,
            done: false,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Injector<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.done {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        if this.settings_end == Some(this.passed) {
            let left = &this.frames[this.injected..];
            let taken = left.len().min(buf.remaining());
            buf.put_slice(&left[..taken]);
            this.injected += taken;
            if this.injected == this.frames.len() {
                this.done = true;
                this.frames = Vec::new();
            }
            return Poll::Ready(Ok(()));
        }
        let until = this.settings_end.unwrap_or(this.head.len());
        let wanted = (until - this.passed).min(buf.remaining());
        let read = {
            let window = buf.initialize_unfilled_to(wanted);
            let mut limited = ReadBuf::new(window);
            std::task::ready!(Pin::new(&mut this.io).poll_read(cx, &mut limited))?;
            limited.filled().len()
        };
        if read == 0 {
            return Poll::Ready(Ok(()));
        }
        let filled = buf.filled().len();
        if this.passed < this.head.len() {
            let fresh = &buf.initialize_unfilled_to(read)[..read];
            let end = (this.passed + read).min(this.head.len());
            this.head[this.passed..end].copy_from_slice(&fresh[..end - this.passed]);
        }
        buf.advance(read);
        debug_assert_eq!(buf.filled().len(), filled + read);
        this.passed += read;
        if this.settings_end.is_none() && this.passed == this.head.len() {
            let header = &this.head[PREFACE.len()..];
            if &this.head[..PREFACE.len()] == PREFACE && header[3] == SETTINGS {
                let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
                this.settings_end = Some(this.passed + length);
            } else {
                // Not an HTTP/2 client after all: the server reports it.
                this.done = true;
                this.frames = Vec::new();
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Injector<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn upgrade_request(body: &str) -> http::Request<()> {
        http::Request::builder()
            .method("POST")
            .uri("/orders?id=7")
            .header("host", "payments:8080")
            .header("connection", "Upgrade, HTTP2-Settings")
            .header("upgrade", "h2c")
            .header("http2-settings", "AAMAAABkAARAAAAAAAIAAAAA")
            .header("content-length", body.len().to_string())
            .header("x-team", "payments")
            .body(())
            .unwrap()
    }

    #[test]
    fn an_upgrade_needs_both_connection_tokens_and_a_small_known_body() {
        assert!(asks(&upgrade_request("{}")));
        let mut request = upgrade_request("");
        request
            .headers_mut()
            .insert("connection", "Upgrade".parse().unwrap());
        assert!(!asks(&request));
        let mut request = upgrade_request("");
        request.headers_mut().insert(
            "content-length",
            (MAX_BODY + 1).to_string().parse().unwrap(),
        );
        assert!(!asks(&request));
        let mut request = upgrade_request("");
        request.headers_mut().remove("content-length");
        request
            .headers_mut()
            .insert("transfer-encoding", "chunked".parse().unwrap());
        assert!(!asks(&request));
    }

    #[test]
    fn integers_follow_rfc_7541_examples() {
        let mut out = Vec::new();
        integer(&mut out, 5, 0, 10);
        assert_eq!(out, [0b01010]);
        out.clear();
        integer(&mut out, 5, 0, 1337);
        assert_eq!(out, [31, 154, 10]);
    }

    #[test]
    fn the_request_becomes_headers_then_data_on_stream_1() {
        let (parts, ()) = upgrade_request("{}").into_parts();
        let frames = request_frames(&parts, b"{}");
        let length = u32::from_be_bytes([0, frames[0], frames[1], frames[2]]) as usize;
        assert_eq!(frames[3], HEADERS);
        assert_eq!(frames[4], END_HEADERS);
        assert_eq!(&frames[5..9], &[0, 0, 0, 1]);
        let block = &frames[9..9 + length];
        let text = String::from_utf8_lossy(block);
        assert!(text.contains(":path\u{c}/orders?id=7"), "{text:?}");
        assert!(text.contains(":authority\rpayments:8080"), "{text:?}");
        assert!(text.contains("x-team"), "{text:?}");
        assert!(!text.contains("upgrade") && !text.contains("http2-settings"));
        let data = &frames[9 + length..];
        assert_eq!(&data[..9], &[0, 0, 2, DATA, END_STREAM, 0, 0, 0, 1]);
        assert_eq!(&data[9..], b"{}");
    }

    #[tokio::test]
    async fn frames_are_read_after_the_clients_first_settings_frame() {
        let mut wire = PREFACE.to_vec();
        wire.extend([0, 0, 6, SETTINGS, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
        wire.extend(b"after");
        let mut injector = Injector::new(&wire[..], b"FRAMES".to_vec());
        let mut read = Vec::new();
        let mut chunk = [0u8; 7];
        loop {
            let n = injector.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            read.extend_from_slice(&chunk[..n]);
        }
        let mut expected = wire[..wire.len() - 5].to_vec();
        expected.extend(b"FRAMESafter");
        assert_eq!(read, expected);
    }
}
