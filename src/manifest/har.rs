//! HAR 1.2 files (PRODUCT.md 6.5), as browser devtools, Playwright and
//! mitmproxy export them: read into a [`Recording`] for `replay:` and
//! `sandbox convert`, and written from one.
//!
//! The format is W3C's HTTP Archive draft ("HAR 1.2", http://www.softwareishard.com/blog/har-12-spec/):
//! `{"log": {"version", "creator", "entries": [{"startedDateTime", "time",
//! "request", "response", "cache", "timings"}]}}`. Reading is lenient, as the
//! tools that write it differ: only `log.entries[].request.{method, url}` and
//! `response.status` are required, unknown fields (`_initiator` and the like)
//! are ignored. What a recording cannot hold, or what would replay wrongly,
//! is left out and said in a [`Note`]:
//!
//! - the path and query come from the URL (the query percent-decoded as the
//!   agent decodes a request's, so repeated names keep every value in
//!   order); `queryString` only when the URL has none;
//! - HTTP/2 pseudo-headers (`:authority`, ...), hop-by-hop headers and
//!   `content-length` are dropped; `:authority` becomes `host` when there is
//!   no `Host` header; the recorder's secrets ([`DEFAULT_REDACT`]) are
//!   stored as `<redacted>`;
//! - browsers save a response body decoded (`content.text` is what the page
//!   saw, `content.encoding: base64` only says how the text is written), so
//!   `content-encoding` is dropped with it: a replay then sends the decoded
//!   bytes without claiming they are gzip. Files written by this module keep
//!   bodies exactly as recorded, so theirs (and a body that still starts with
//!   the gzip or zstd magic bytes) keep the header;
//! - entries with no answer (status 0: blocked, cancelled, failed) and
//!   non-HTTP URLs (`data:`, `ws:`, extensions) are left out.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use super::recording::{
    DEFAULT_REDACT, Interaction, Query, REDACTED, RecordedRequest, RecordedResponse, Recording,
    body_bytes, query_from_pairs, stored_body,
};

/// The HAR version written.
pub const HAR_VERSION: &str = "1.2";
/// `log.creator.name` of the files this module writes.
pub const CREATOR: &str = "sandbox";

/// A line and column, 1-based.
pub type At = (usize, usize);

/// Something in a HAR that was left out or may surprise: legal, never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub at: Option<At>,
    pub message: String,
    pub help: Option<String>,
}

/// A HAR read into a recording.
#[derive(Debug, Clone)]
pub struct Imported {
    pub recording: Recording,
    /// The hosts of the entries taken (`host[:port]`), in order of first
    /// appearance.
    pub hosts: Vec<String>,
    pub notes: Vec<Note>,
}

/// Why a HAR cannot be read: where (when known) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarError {
    pub at: Option<At>,
    pub message: String,
}

/// How to get a HAR file, for messages.
pub const HAR_HELP: &str = "a HAR file is `{\"log\": {\"version\": \"1.2\", \"entries\": [{\"request\": {...}, \"response\": {...}}]}}`, as browser devtools save it (Network panel: Save all as HAR)";

// ---------------------------------------------------------------------------
// Reading

/// The document down to its entries, each kept as its text so that its
/// position is known.
#[derive(Deserialize)]
struct Outline<'a> {
    #[serde(borrow)]
    log: OutlineLog<'a>,
}

#[derive(Deserialize)]
struct OutlineLog<'a> {
    #[serde(default)]
    creator: Option<Creator>,
    #[serde(borrow)]
    entries: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Creator {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Entry {
    request: Request,
    response: Response,
}

#[derive(Deserialize)]
struct Request {
    method: String,
    url: String,
    #[serde(default, deserialize_with = "nullable")]
    headers: Vec<NameValue>,
    #[serde(default, rename = "queryString", deserialize_with = "nullable")]
    query_string: Vec<NameValue>,
    #[serde(default, rename = "postData")]
    post_data: Option<PostData>,
}

#[derive(Deserialize)]
struct NameValue {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct PostData {
    #[serde(default)]
    text: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    params: Vec<NameValue>,
    /// Not in HAR 1.2, but written by some tools (and this module) for a
    /// binary request body.
    #[serde(default)]
    encoding: Option<String>,
}

#[derive(Deserialize)]
struct Response {
    status: i64,
    #[serde(default, deserialize_with = "nullable")]
    headers: Vec<NameValue>,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    size: Option<f64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
}

/// A list that may also be `null` (some tools write that for "none").
fn nullable<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads a HAR. The error names the line and column of what is wrong;
/// inside an entry it also says which entry.
pub fn read(text: &str) -> Result<Imported, HarError> {
    let outline: Outline = serde_json::from_str(text).map_err(|error| HarError {
        at: json_at(text, 0, &error),
        message: without_position(&error),
    })?;
    let from_sandbox = outline
        .log
        .creator
        .as_ref()
        .is_some_and(|c| c.name == CREATOR);
    let mut recording = Recording::new();
    let mut hosts: Vec<String> = Vec::new();
    let mut notes = Vec::new();
    let mut second_host_at = None;
    let mut skipped: Vec<String> = Vec::new();
    let mut skipped_at = None;
    let mut unsaved: Vec<usize> = Vec::new();
    let mut unsaved_at = None;
    for (index, raw) in outline.log.entries.iter().enumerate() {
        let number = index + 1;
        let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        let entry_at = at_offset(text, start);
        let entry: Entry = serde_json::from_str(raw.get()).map_err(|error| HarError {
            at: json_at(text, start, &error),
            message: format!(
                "entry {number} (`log.entries[{index}]`): {}",
                without_position(&error)
            ),
        })?;
        let fail = |message: String| HarError {
            at: Some(entry_at),
            message: format!("entry {number} (`log.entries[{index}]`): {message}"),
        };
        let url = match split_url(&entry.request.url) {
            Ok(url) => url,
            Err(reason) => {
                skipped.push(format!("entry {number}: {reason}"));
                skipped_at.get_or_insert(entry_at);
                continue;
            }
        };
        if !(100..=599).contains(&entry.response.status) {
            let why = if entry.response.status == 0 {
                "got no answer (status 0: blocked, cancelled or failed)".to_owned()
            } else {
                format!("has status {}, which is not HTTP", entry.response.status)
            };
            skipped.push(format!(
                "entry {number} ({} {}) {why}",
                entry.request.method, entry.request.url
            ));
            skipped_at.get_or_insert(entry_at);
            continue;
        }
        if let Some(host) = &url.host
            && !hosts.contains(host)
        {
            hosts.push(host.clone());
            if hosts.len() == 2 {
                second_host_at = Some(entry_at);
            }
        }
        let request = request(&entry.request, &url).map_err(fail)?;
        let (response, saved) =
            response(&entry.response, from_sandbox).map_err(|m| fail(format!("response: {m}")))?;
        // A 204, a 304 or the answer to HEAD never has a body to save.
        let bodiless = matches!(response.status, 204 | 304)
            || request.method.eq_ignore_ascii_case("HEAD");
        if !saved && !bodiless {
            unsaved.push(number);
            unsaved_at.get_or_insert(entry_at);
        }
        recording
            .interactions
            .push(Interaction { request, response });
    }
    if hosts.len() > 1 {
        notes.push(Note {
            at: second_host_at,
            message: format!(
                "the HAR holds requests to {} hosts ({}); a replay answers them all as one dependency, matching method, path, query and body only",
                hosts.len(),
                hosts.join(", ")
            ),
            help: Some(format!(
                "keep one host's entries, e.g. `jq '.log.entries |= map(select(.request.url | contains(\"//{}/\")))' in.har > out.har`",
                hosts[0]
            )),
        });
    }
    if !skipped.is_empty() {
        notes.push(Note {
            at: skipped_at,
            message: format!(
                "{} entr{} left out: {}",
                skipped.len(),
                if skipped.len() == 1 { "y is" } else { "ies are" },
                skipped.join("; ")
            ),
            help: None,
        });
    }
    if !unsaved.is_empty() {
        let list: Vec<String> = unsaved.iter().map(|n| n.to_string()).collect();
        notes.push(Note {
            at: unsaved_at,
            message: format!(
                "the response bod{} of entr{} {} {} not saved in the HAR (`content.size` > 0, no `content.text`); {} replay{} empty",
                if unsaved.len() == 1 { "y" } else { "ies" },
                if unsaved.len() == 1 { "y" } else { "ies" },
                list.join(", "),
                if unsaved.len() == 1 { "was" } else { "were" },
                if unsaved.len() == 1 { "it" } else { "they" },
                if unsaved.len() == 1 { "s" } else { "" },
            ),
            help: Some("export the HAR with content (devtools save it; some tools leave out bodies of images or large responses)".into()),
        });
    }
    Ok(Imported {
        recording,
        hosts,
        notes,
    })
}

/// A request URL's parts.
#[derive(Debug, PartialEq, Eq)]
struct Url {
    /// `host[:port]`, lower-case; none for a relative URL.
    host: Option<String>,
    /// The path as sent (percent-encoded), `/` at least.
    path: String,
    /// The raw query, without `?`; none when the URL has no `?`.
    query: Option<String>,
}

/// Splits an `http(s)://` (or `/`-relative) URL. Anything else is a reason
/// to leave the entry out.
fn split_url(url: &str) -> Result<Url, String> {
    let url = url.trim();
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let (host, rest) = match url.split_once("://") {
        Some((scheme, rest)) => {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(format!(
                    "`{}` is a {scheme}: URL, not HTTP",
                    shorten(url, 60)
                ));
            }
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let authority = &rest[..end];
            // `user:password@` is never kept.
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if host.is_empty() {
                return Err(format!("`{}` has no host", shorten(url, 60)));
            }
            (Some(host.to_ascii_lowercase()), &rest[end..])
        }
        None if url.starts_with('/') => (None, url),
        None => {
            let scheme = url.split_once(':').map_or("", |(s, _)| s);
            return Err(if scheme.is_empty() || scheme.contains(['/', '?']) {
                format!("`{}` is not an absolute URL", shorten(url, 60))
            } else {
                format!("`{}` is a {scheme}: URL, not HTTP", shorten(url, 60))
            });
        }
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (rest, None),
    };
    Ok(Url {
        host,
        path: if path.is_empty() { "/" } else { path }.to_owned(),
        query,
    })
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(limit).collect::<String>())
    }
}

fn request(request: &Request, url: &Url) -> Result<RecordedRequest, String> {
    let query: Query = match url.query.as_deref() {
        Some(raw) if !raw.is_empty() => query_from_pairs(
            form_urlencoded::parse(raw.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
        ),
        _ => query_from_pairs(
            request
                .query_string
                .iter()
                .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default())),
        ),
    };
    let mut headers = headers(&request.headers, &[]);
    if !headers.contains_key("host")
        && let Some(authority) = request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(":authority"))
            .and_then(|h| h.value.clone())
    {
        headers.insert("host".into(), authority);
    }
    let bytes = match &request.post_data {
        None => Vec::new(),
        Some(post) => post_body(post).map_err(|m| format!("request.postData: {m}"))?,
    };
    let (body, body_base64) = stored_body(&bytes);
    Ok(RecordedRequest {
        method: request.method.trim().to_owned(),
        path: url.path.clone(),
        query,
        headers,
        body,
        body_base64,
    })
}

/// A request body: its text (base64 when `encoding` says so), else its form
/// fields url-encoded.
fn post_body(post: &PostData) -> Result<Vec<u8>, String> {
    match &post.text {
        Some(text) if is_base64(post.encoding.as_deref()) => BASE64
            .decode(text.trim())
            .map_err(|e| format!("`text` is not base64 ({e}) though `encoding` says so")),
        Some(text) if !text.is_empty() || post.params.is_empty() => Ok(text.as_bytes().to_vec()),
        _ => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for param in &post.params {
                form.append_pair(&param.name, param.value.as_deref().unwrap_or(""));
            }
            Ok(form.finish().into_bytes())
        }
    }
}

fn is_base64(encoding: Option<&str>) -> bool {
    encoding.is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"))
}

/// The response and whether its body was saved (`false`: the HAR says there
/// was one but holds no text).
fn response(response: &Response, from_sandbox: bool) -> Result<(RecordedResponse, bool), String> {
    let (bytes, saved) = match &response.content {
        Some(Content {
            text: Some(text),
            encoding,
            ..
        }) => {
            let bytes = if is_base64(encoding.as_deref()) {
                BASE64.decode(text.trim()).map_err(|e| {
                    format!("`content.text` is not base64 ({e}) though `content.encoding` says so")
                })?
            } else {
                text.as_bytes().to_vec()
            };
            (bytes, true)
        }
        Some(Content { size, .. }) => (Vec::new(), !size.is_some_and(|s| s > 0.0)),
        None => (Vec::new(), true),
    };
    // Still encoded: written by this module, or visibly gzip or zstd.
    let encoded = from_sandbox
        || bytes.starts_with(&[0x1f, 0x8b])
        || bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let dropped: &[&str] = if encoded { &[] } else { &["content-encoding"] };
    let headers = headers(&response.headers, dropped);
    let (body, body_base64) = stored_body(&bytes);
    Ok((
        RecordedResponse {
            status: response.status as u16,
            headers,
            body,
            body_base64,
        },
        saved,
    ))
}

/// Headers as a recording holds them: lower-case names, repeated ones
/// joined with `, `, without pseudo-headers, hop-by-hop headers,
/// `content-length` and `dropped`; secrets redacted.
fn headers(list: &[NameValue], dropped: &[&str]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for header in list {
        let name = header.name.trim().to_ascii_lowercase();
        if name.starts_with(':') || name == "content-length" || dropped.contains(&name.as_str()) {
            continue;
        }
        match http::HeaderName::from_bytes(name.as_bytes()) {
            Ok(parsed) if !crate::agent::body::is_hop_by_hop(&parsed) => {}
            _ => continue,
        }
        let value = if DEFAULT_REDACT.contains(&name.as_str()) {
            REDACTED.to_owned()
        } else {
            header.value.clone().unwrap_or_default()
        };
        out.entry(name)
            .and_modify(|existing| {
                if value != REDACTED {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
            })
            .or_insert(value);
    }
    out
}

/// Where a serde_json error is, in `text`, for an error found in the part
/// of it that starts at byte `start`.
fn json_at(text: &str, start: usize, error: &serde_json::Error) -> Option<At> {
    if error.line() == 0 {
        return None;
    }
    // serde_json counts the column in bytes; editors count characters.
    let part = &text[start..];
    let line_start = if error.line() == 1 {
        0
    } else {
        let mut newlines = part.match_indices('\n').map(|(i, _)| i + 1);
        newlines.nth(error.line() - 2)?
    };
    let offset = (start + line_start + error.column().saturating_sub(1)).min(text.len());
    Some(at_offset(text, floor_char_boundary(text, offset)))
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The line and column (in characters) of a byte offset.
fn at_offset(text: &str, offset: usize) -> At {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message,
    }
}

// ---------------------------------------------------------------------------
// Writing

#[derive(Serialize)]
struct OutHar {
    log: OutLog,
}

#[derive(Serialize)]
struct OutLog {
    version: &'static str,
    creator: OutCreator,
    entries: Vec<OutEntry>,
}

#[derive(Serialize)]
struct OutCreator {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutEntry {
    started_date_time: String,
    time: f64,
    request: OutRequest,
    response: OutResponse,
    cache: serde_json::Map<String, serde_json::Value>,
    timings: OutTimings,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutRequest {
    method: String,
    url: String,
    http_version: &'static str,
    cookies: Vec<OutNameValue>,
    headers: Vec<OutNameValue>,
    query_string: Vec<OutNameValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_data: Option<OutPostData>,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
struct OutNameValue {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutPostData {
    mime_type: String,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutResponse {
    status: u16,
    status_text: String,
    http_version: &'static str,
    cookies: Vec<OutNameValue>,
    headers: Vec<OutNameValue>,
    content: OutContent,
    #[serde(rename = "redirectURL")]
    redirect_url: String,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutContent {
    size: usize,
    mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
}

/// HAR timings: what a recording does not know is -1 (optional phases) or
/// 0 (`send`, `wait` and `receive` are required to be non-negative).
#[derive(Serialize)]
struct OutTimings {
    blocked: i64,
    dns: i64,
    connect: i64,
    send: i64,
    wait: i64,
    receive: i64,
    ssl: i64,
}

/// Writes a recording as a HAR 1.2 document (pretty JSON, ending in a
/// newline). The recording holds no times: entries start at the Unix epoch,
/// one millisecond apart so that tools sorting by time keep their order, and
/// take no time. URLs are `http://` the request's `host` header, else
/// `localhost`. Bodies are written exactly as recorded: text, or base64 with
/// `encoding: "base64"` when not UTF-8.
pub fn write(recording: &Recording) -> Result<String, String> {
    let mut entries = Vec::with_capacity(recording.interactions.len());
    for (index, interaction) in recording.interactions.iter().enumerate() {
        let number = index + 1;
        entries.push(entry(index, interaction).map_err(|m| format!("interaction {number}: {m}"))?);
    }
    let har = OutHar {
        log: OutLog {
            version: HAR_VERSION,
            creator: OutCreator {
                name: CREATOR,
                version: env!("CARGO_PKG_VERSION"),
            },
            entries,
        },
    };
    let mut text = serde_json::to_string_pretty(&har).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

fn entry(index: usize, interaction: &Interaction) -> Result<OutEntry, String> {
    let request = &interaction.request;
    let response = &interaction.response;
    let request_body = body_bytes(request.body.as_deref(), request.body_base64.as_deref())
        .map_err(|m| format!("request {m}"))?;
    let response_body = body_bytes(response.body.as_deref(), response.body_base64.as_deref())
        .map_err(|m| format!("response {m}"))?;
    let host = request
        .headers
        .get("host")
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    let mut url = format!("http://{host}");
    if !request.path.starts_with('/') {
        url.push('/');
    }
    url.push_str(&request.path);
    let mut query_string = Vec::new();
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, values) in &request.query {
        for value in values.values() {
            form.append_pair(name, value);
            query_string.push(OutNameValue {
                name: name.clone(),
                value: value.clone(),
            });
        }
    }
    let query = form.finish();
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    let post_data = (!request_body.is_empty()).then(|| {
        let (text, encoding) = text_or_base64(&request_body);
        OutPostData {
            mime_type: content_type(&request.headers),
            text,
            encoding,
        }
    });
    let content = {
        let (text, encoding) = text_or_base64(&response_body);
        OutContent {
            size: response_body.len(),
            mime_type: content_type(&response.headers),
            text: (!response_body.is_empty()).then_some(text),
            encoding: encoding.filter(|_| !response_body.is_empty()),
        }
    };
    Ok(OutEntry {
        started_date_time: epoch_plus_millis(index as u64),
        time: 0.0,
        request: OutRequest {
            method: request.method.clone(),
            url,
            http_version: "HTTP/1.1",
            cookies: Vec::new(),
            headers: name_values(&request.headers),
            query_string,
            post_data,
            headers_size: -1,
            body_size: request_body.len() as i64,
        },
        response: OutResponse {
            status: response.status,
            status_text: http::StatusCode::from_u16(response.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_owned(),
            http_version: "HTTP/1.1",
            cookies: Vec::new(),
            headers: name_values(&response.headers),
            content,
            redirect_url: response.headers.get("location").cloned().unwrap_or_default(),
            headers_size: -1,
            body_size: response_body.len() as i64,
        },
        cache: serde_json::Map::new(),
        timings: OutTimings {
            blocked: -1,
            dns: -1,
            connect: -1,
            send: 0,
            wait: 0,
            receive: 0,
            ssl: -1,
        },
    })
}

/// Headers as HAR name/value pairs, secrets redacted.
fn name_values(headers: &BTreeMap<String, String>) -> Vec<OutNameValue> {
    headers
        .iter()
        .map(|(name, value)| OutNameValue {
            name: name.clone(),
            value: if DEFAULT_REDACT.contains(&name.to_ascii_lowercase().as_str()) {
                REDACTED.to_owned()
            } else {
                value.clone()
            },
        })
        .collect()
}

fn content_type(headers: &BTreeMap<String, String>) -> String {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

fn text_or_base64(bytes: &[u8]) -> (String, Option<&'static str>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), None),
        Err(_) => (BASE64.encode(bytes), Some("base64")),
    }
}

/// `1970-01-01T00:00:00.007Z` for 7 (ISO 8601, as HAR wants).
fn epoch_plus_millis(millis: u64) -> String {
    let (seconds, millis) = (millis / 1000, millis % 1000);
    let (minutes, second) = (seconds / 60, seconds % 60);
    let (hours, minute) = (minutes / 60, minutes % 60);
    let (days, hour) = (hours / 24, hours % 24);
    // January has room for 2.6 billion entries a millisecond apart.
    format!(
        "1970-01-{:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z",
        days + 1
    )
}
