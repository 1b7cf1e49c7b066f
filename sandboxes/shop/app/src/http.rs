//! A small HTTP/1.1 server and client on `std::net`.
//!
//! Server: one thread per connection, keep-alive unless the client says
//! `Connection: close` (or speaks HTTP/1.0 without keep-alive), request bodies
//! by `Content-Length` or chunked.
//! Client: GET/POST with a body, reads the status, headers and the body by
//! `Content-Length`, chunked transfer coding, or until EOF.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Largest request or response head we accept.
const MAX_HEAD: usize = 64 * 1024;
/// Largest body we buffer.
const MAX_BODY: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    /// The path without the query string, as sent (not percent-decoded).
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: String,
    pub version: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Decoded query parameters, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_query(&self.query)
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Whether the connection stays open after this request.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        let tokens: Vec<&str> = conn.split(',').map(|t| t.trim()).collect();
        if tokens.contains(&"close") {
            return false;
        }
        if self.version == "HTTP/1.0" {
            return tokens.contains(&"keep-alive");
        }
        true
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[derive(Debug)]
pub enum ParseError {
    Io(io::Error),
    Bad(String),
    TooLarge(&'static str),
}

impl From<io::Error> for ParseError {
    fn from(e: io::Error) -> Self {
        ParseError::Io(e)
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Io(e) => write!(f, "{e}"),
            ParseError::Bad(m) => write!(f, "bad request: {m}"),
            ParseError::TooLarge(what) => write!(f, "{what} too large"),
        }
    }
}

/// Reads one line ending in LF (CR stripped). `Ok(None)` on EOF before any byte.
fn read_line<R: BufRead>(r: &mut R, limit: usize) -> Result<Option<String>, ParseError> {
    let mut buf = Vec::new();
    let n = r.take(limit as u64 + 1).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        if buf.len() > limit {
            return Err(ParseError::TooLarge("header line"));
        }
        return Err(ParseError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed in the middle of a line",
        )));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| ParseError::Bad("header is not UTF-8".into()))
}

/// Reads header lines up to the empty line.
fn read_headers<R: BufRead>(r: &mut R) -> Result<Vec<(String, String)>, ParseError> {
    let mut headers = Vec::new();
    let mut total = 0;
    loop {
        let line = read_line(r, MAX_HEAD)?.ok_or_else(|| {
            ParseError::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in headers"))
        })?;
        total += line.len() + 2;
        if total > MAX_HEAD {
            return Err(ParseError::TooLarge("head"));
        }
        if line.is_empty() {
            return Ok(headers);
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ParseError::Bad(format!("header line without a colon: {line:?}")))?;
        let name = name.trim();
        if name.is_empty() || name.contains(' ') {
            return Err(ParseError::Bad(format!("bad header name {name:?}")));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
}

/// Reads a chunked body (RFC 9112 section 7.1), trailers discarded.
pub fn read_chunked<R: BufRead>(r: &mut R) -> Result<Vec<u8>, ParseError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r, 1024)?.ok_or_else(|| {
            ParseError::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in chunked body"))
        })?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ParseError::Bad(format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailer section, up to the empty line.
            loop {
                match read_line(r, MAX_HEAD)? {
                    None => return Ok(body),
                    Some(l) if l.is_empty() => return Ok(body),
                    Some(_) => {}
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(ParseError::TooLarge("body"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(ParseError::Bad("chunk not followed by CRLF".into()));
        }
    }
}

fn read_exact_body<R: BufRead>(r: &mut R, len: usize) -> Result<Vec<u8>, ParseError> {
    if len > MAX_BODY {
        return Err(ParseError::TooLarge("body"));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(body)
}

fn content_length(headers: &[(String, String)]) -> Result<Option<usize>, ParseError> {
    match header(headers, "content-length") {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map(Some)
            .map_err(|_| ParseError::Bad(format!("bad content-length {v:?}"))),
    }
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    header(headers, "transfer-encoding")
        .map(|v| v.to_ascii_lowercase().split(',').any(|t| t.trim() == "chunked"))
        .unwrap_or(false)
}

/// Reads one request. `Ok(None)` when the peer closed the connection cleanly
/// before sending anything (end of a keep-alive connection).
#[cfg_attr(not(test), allow(dead_code))]
pub fn read_request<R: BufRead>(r: &mut R) -> Result<Option<Request>, ParseError> {
    read_request_with(r, None)
}

/// Like [`read_request`]; when `interim` is given and the request carries
/// `Expect: 100-continue` with a body, writes `100 Continue` there before
/// reading the body.
pub fn read_request_with<R: BufRead>(r: &mut R, interim: Option<&mut dyn Write>) -> Result<Option<Request>, ParseError> {
    // Tolerate stray empty lines before a request line (RFC 9112 section 2.2).
    let line = loop {
        match read_line(r, MAX_HEAD)? {
            None => return Ok(None),
            Some(l) if l.is_empty() => continue,
            Some(l) => break l,
        }
    };
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(ParseError::Bad(format!("bad request line {line:?}"))),
    };
    if !method.bytes().all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_') {
        return Err(ParseError::Bad(format!("bad method {method:?}")));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(ParseError::Bad(format!("unsupported version {version:?}")));
    }
    // Absolute-form targets (proxies) keep only the path.
    let target = if let Some(rest) = target.strip_prefix("http://") {
        rest.find('/').map(|i| &rest[i..]).unwrap_or("/")
    } else {
        target
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    };
    let headers = read_headers(r)?;
    let expects_continue = header(&headers, "expect")
        .map(|v| v.eq_ignore_ascii_case("100-continue"))
        .unwrap_or(false);
    let has_body = is_chunked(&headers) || content_length(&headers)?.unwrap_or(0) > 0;
    if let (true, true, Some(w)) = (expects_continue, has_body, interim) {
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        w.flush()?;
    }
    let body = if is_chunked(&headers) {
        read_chunked(r)?
    } else if let Some(len) = content_length(&headers)? {
        read_exact_body(r, len)?
    } else {
        Vec::new()
    };
    Ok(Some(Request {
        method: method.to_string(),
        path,
        query,
        version: version.to_string(),
        headers,
        body,
    }))
}

// ---------------------------------------------------------------- responses

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

pub enum Body {
    Bytes(Vec<u8>),
    /// `len` bytes of a repeating 0..=255 pattern, written without buffering it all.
    Pattern(u64),
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: Body::Bytes(body.into()),
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response::new(status, "text/plain; charset=utf-8", body.into().into_bytes())
    }

    pub fn json(status: u16, body: impl Into<String>) -> Response {
        Response::new(status, "application/json", body.into().into_bytes())
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    fn body_len(&self) -> u64 {
        match &self.body {
            Body::Bytes(b) => b.len() as u64,
            Body::Pattern(n) => *n,
        }
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        418 => "I'm a teapot",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn status_has_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

pub fn write_response<W: Write>(w: &mut W, resp: &Response, head_only: bool, keep_alive: bool) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let has_body = status_has_body(resp.status);
    if has_body {
        head.push_str(&format!("content-length: {}\r\n", resp.body_len()));
    }
    head.push_str(if keep_alive { "connection: keep-alive\r\n" } else { "connection: close\r\n" });
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    if has_body && !head_only {
        match &resp.body {
            Body::Bytes(b) => w.write_all(b)?,
            Body::Pattern(n) => {
                let block: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
                let mut left = *n;
                while left > 0 {
                    let k = left.min(block.len() as u64) as usize;
                    w.write_all(&block[..k])?;
                    left -= k as u64;
                }
            }
        }
    }
    w.flush()
}

// ------------------------------------------------------------------- server

pub type Handler = dyn Fn(&Request) -> Response + Send + Sync + 'static;

/// Serves forever on 0.0.0.0:port, one thread per connection.
pub fn serve(bind: &str, port: u16, log: bool, handler: Arc<Handler>) -> io::Result<()> {
    let listener = TcpListener::bind((bind, port))?;
    println!("listening on :{}", listener.local_addr()?.port());
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let handler = handler.clone();
        thread::spawn(move || {
            if let Err(e) = handle_connection(stream, log, &*handler) {
                if e.kind() != io::ErrorKind::UnexpectedEof
                    && e.kind() != io::ErrorKind::ConnectionReset
                    && e.kind() != io::ErrorKind::BrokenPipe
                    && e.kind() != io::ErrorKind::WouldBlock
                    && e.kind() != io::ErrorKind::TimedOut
                {
                    eprintln!("connection: {e}");
                }
            }
        });
    }
    Ok(())
}

fn handle_connection(stream: TcpStream, log: bool, handler: &Handler) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let req = match read_request_with(&mut reader, Some(&mut writer)) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(ParseError::Io(e)) => return Err(e),
            Err(e) => {
                let status = if matches!(e, ParseError::TooLarge(_)) { 413 } else { 400 };
                let resp = Response::text(status, format!("{e}\n"));
                write_response(&mut writer, &resp, false, false)?;
                let _ = writer.shutdown(Shutdown::Write);
                return Ok(());
            }
        };
        let keep = req.keep_alive();
        let resp = handler(&req);
        if log {
            println!("{} {} {}", req.method, req.path, resp.status);
        }
        write_response(&mut writer, &resp, req.method == "HEAD", keep)?;
        if !keep {
            let _ = writer.shutdown(Shutdown::Write);
            return Ok(());
        }
    }
}

// ------------------------------------------------------------------- client

#[derive(Debug, Clone, PartialEq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

pub fn parse_url(url: &str) -> Result<Url, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are supported: {url:?}"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        // [v6]:port
        let (h, p) = stripped.split_once(']').ok_or_else(|| format!("bad host in {url:?}"))?;
        let port = match p.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("bad port in {url:?}"))?,
            None => 80,
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| format!("bad port in {url:?}"))?),
            None => (authority.to_string(), 80),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {url:?}"));
    }
    Ok(Url { host, port, target })
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ClientResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Reads a response (status line, headers, body) for a request of `method`.
pub fn read_response<R: BufRead>(r: &mut R, method: &str) -> Result<ClientResponse, ParseError> {
    loop {
        let line = read_line(r, MAX_HEAD)?.ok_or_else(|| {
            ParseError::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a response"))
        })?;
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err(ParseError::Bad(format!("bad status line {line:?}")));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ParseError::Bad(format!("bad status line {line:?}")))?;
        let headers = read_headers(r)?;
        if (100..200).contains(&status) {
            continue; // 100 Continue and friends: the real answer follows
        }
        let body = if method == "HEAD" || !status_has_body(status) {
            Vec::new()
        } else if is_chunked(&headers) {
            read_chunked(r)?
        } else if let Some(len) = content_length(&headers)? {
            read_exact_body(r, len)?
        } else {
            // Delimited by the end of the connection.
            let mut b = Vec::new();
            r.take(MAX_BODY as u64 + 1).read_to_end(&mut b)?;
            if b.len() > MAX_BODY {
                return Err(ParseError::TooLarge("body"));
            }
            b
        };
        return Ok(ClientResponse { status, headers, body });
    }
}

pub struct Client {
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Client {
    pub fn get(&self, url: &str, headers: &[(String, String)]) -> Result<ClientResponse, String> {
        self.request("GET", url, headers, None)
    }

    pub fn post_json(&self, url: &str, headers: &[(String, String)], json: &str) -> Result<ClientResponse, String> {
        let mut h = headers.to_vec();
        h.push(("content-type".into(), "application/json".into()));
        self.request("POST", url, &h, Some(json.as_bytes()))
    }

    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<ClientResponse, String> {
        let u = parse_url(url)?;
        let addrs: Vec<_> = (u.host.as_str(), u.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", u.host))?
            .collect();
        let mut last = format!("no address for {}", u.host);
        let mut stream = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, self.connect_timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = format!("cannot connect to {}:{}: {e}", u.host, u.port),
            }
        }
        let stream = stream.ok_or(last)?;
        stream.set_read_timeout(Some(self.timeout)).map_err(|e| e.to_string())?;
        stream.set_write_timeout(Some(self.timeout)).map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let host_header = if u.port == 80 { u.host.clone() } else { format!("{}:{}", u.host, u.port) };
        let mut head = format!("{method} {} HTTP/1.1\r\nhost: {host_header}\r\n", u.target);
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            head.push_str(&format!("content-length: {}\r\n", b.len()));
        } else if method == "POST" || method == "PUT" || method == "PATCH" {
            head.push_str("content-length: 0\r\n");
        }
        if header(headers, "user-agent").is_none() {
            head.push_str("user-agent: shopd/0.1\r\n");
        }
        head.push_str("connection: close\r\n\r\n");
        let mut w = stream.try_clone().map_err(|e| e.to_string())?;
        let mut out = head.into_bytes();
        if let Some(b) = body {
            out.extend_from_slice(b);
        }
        w.write_all(&out).map_err(|e| format!("sending to {url}: {e}"))?;
        w.flush().map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        read_response(&mut reader, method).map_err(|e| format!("reading the answer of {url}: {e}"))
    }
}

// -------------------------------------------------------------------- utils

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn parse(raw: &str) -> Result<Option<Request>, ParseError> {
        read_request(&mut Cursor::new(raw.as_bytes().to_vec()))
    }

    #[test]
    fn parses_a_get_with_query_and_headers() {
        let r = parse("GET /orders/7?x=1&y=a%20b HTTP/1.1\r\nHost: x\r\nTraceParent:  00-abc-01 \r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/orders/7");
        assert_eq!(r.query, "x=1&y=a%20b");
        assert_eq!(r.query_param("y").as_deref(), Some("a b"));
        assert_eq!(r.header("traceparent"), Some("00-abc-01"));
        assert_eq!(r.headers[0].0, "host");
        assert!(r.body.is_empty());
        assert!(r.keep_alive());
    }

    #[test]
    fn parses_a_content_length_body_and_the_next_request() {
        let raw = "POST /orders HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"sku\":\"A\"}GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n";
        let mut c = Cursor::new(raw.as_bytes().to_vec());
        let a = read_request(&mut c).unwrap().unwrap();
        assert_eq!(a.body, b"{\"sku\":\"A\"}");
        let b = read_request(&mut c).unwrap().unwrap();
        assert_eq!(b.path, "/healthz");
        assert!(!b.keep_alive());
        assert!(read_request(&mut c).unwrap().is_none());
    }

    #[test]
    fn parses_a_chunked_request_body() {
        let r = parse("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\nX-T: 1\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.body, b"Wikipedia ");
    }

    #[test]
    fn accepts_bare_lf_and_http10() {
        let r = parse("GET / HTTP/1.0\nA: b\n\n").unwrap().unwrap();
        assert_eq!(r.header("a"), Some("b"));
        assert!(!r.keep_alive());
        let r = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").unwrap().unwrap();
        assert!(r.keep_alive());
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(parse("HELLO\r\n\r\n"), Err(ParseError::Bad(_))));
        assert!(matches!(parse("GET / HTTP/2\r\n\r\n"), Err(ParseError::Bad(_))));
        assert!(matches!(parse("GET / HTTP/1.1\r\nnocolon\r\n\r\n"), Err(ParseError::Bad(_))));
        assert!(matches!(parse("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), Err(ParseError::Bad(_))));
        assert!(matches!(parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"), Err(ParseError::Io(_))));
        assert!(parse("").unwrap().is_none());
    }

    #[test]
    fn absolute_form_keeps_the_path() {
        let r = parse("GET http://x:1/a/b?c=d HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!((r.path.as_str(), r.query.as_str()), ("/a/b", "c=d"));
    }

    fn resp(raw: &[u8], method: &str) -> ClientResponse {
        read_response(&mut Cursor::new(raw.to_vec()), method).unwrap()
    }

    #[test]
    fn decodes_chunked_responses() {
        let r = resp(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\nA\r\n, world!!!\r\n0\r\n\r\n",
            "GET",
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "hello, world!!!");
        assert_eq!(r.header("content-type"), Some("text/plain"));
    }

    #[test]
    fn chunked_with_uppercase_hex_extensions_and_trailers() {
        let mut c = Cursor::new(b"1A ; name=v\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nExpires: never\r\n\r\nrest".to_vec());
        assert_eq!(read_chunked(&mut c).unwrap(), b"abcdefghijklmnopqrstuvwxyz");
        let mut rest = String::new();
        c.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "rest");
    }

    #[test]
    fn chunked_errors() {
        assert!(read_chunked(&mut Cursor::new(b"zz\r\n".to_vec())).is_err());
        assert!(read_chunked(&mut Cursor::new(b"5\r\nhel".to_vec())).is_err());
        assert!(read_chunked(&mut Cursor::new(b"3\r\nabcXY0\r\n\r\n".to_vec())).is_err());
    }

    #[test]
    fn content_length_eof_and_bodyless_responses() {
        let r = resp(b"HTTP/1.1 201 Created\r\nLocation: /p/7\r\nContent-Length: 2\r\n\r\nokEXTRA", "POST");
        assert_eq!((r.status, r.text().as_str(), r.header("location")), (201, "ok", Some("/p/7")));
        let r = resp(b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nuntil the end", "GET");
        assert_eq!(r.text(), "until the end");
        let r = resp(b"HTTP/1.1 204 No Content\r\n\r\n", "GET");
        assert!(r.body.is_empty());
        let r = resp(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", "HEAD");
        assert!(r.body.is_empty());
        let r = resp(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", "POST");
        assert_eq!(r.text(), "x");
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://payments:80/payments/1?a=b").unwrap(),
            Url { host: "payments".into(), port: 80, target: "/payments/1?a=b".into() }
        );
        assert_eq!(parse_url("http://h").unwrap().target, "/");
        assert_eq!(parse_url("http://h:9?x").unwrap(), Url { host: "h".into(), port: 9, target: "/?x".into() });
        assert_eq!(parse_url("http://[::1]:8080/x").unwrap().host, "::1");
        assert!(parse_url("https://h/").is_err());
        assert!(parse_url("http://h:port/").is_err());
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("url=http%3A%2F%2Fa%3A1%2Fb%3Fc%3Dd&x&y=1+2&bad=%zz%4"),
            vec![
                ("url".into(), "http://a:1/b?c=d".into()),
                ("x".into(), "".into()),
                ("y".into(), "1 2".into()),
                ("bad".into(), "%zz%4".into())
            ]
        );
    }

    #[test]
    fn writes_responses() {
        let mut out = Vec::new();
        write_response(&mut out, &Response::text(200, "ok"), false, false).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(s.contains("content-length: 2\r\n"));
        assert!(s.contains("connection: close\r\n"));
        assert!(s.ends_with("\r\n\r\nok"));
        let mut out = Vec::new();
        let r = Response { status: 200, headers: vec![], body: Body::Pattern(300) };
        write_response(&mut out, &r, false, true).unwrap();
        let back = resp(&out, "GET");
        assert_eq!(back.body.len(), 300);
        assert_eq!(back.body[257], 1);
    }
}
