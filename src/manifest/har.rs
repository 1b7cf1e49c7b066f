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
    Timing, body_bytes, query_from_pairs, stored_body,
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
    #[serde(default)]
    timings: Option<Timings>,
}

/// The one HAR timing a replay can use: the wait for the first byte.
#[derive(Deserialize)]
struct Timings {
    #[serde(default)]
    wait: Option<f64>,
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
    // Editors do not count a byte order mark as a column.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
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
        // Found only when needed: counting lines up to every entry of a
        // large HAR would take longer than reading it.
        let entry_at = || at_offset(text, start);
        let entry: Entry = serde_json::from_str(raw.get()).map_err(|error| HarError {
            at: json_at(text, start, &error),
            message: format!(
                "entry {number} (`log.entries[{index}]`): {}",
                without_position(&error)
            ),
        })?;
        let fail = |message: String| HarError {
            at: Some(entry_at()),
            message: format!("entry {number} (`log.entries[{index}]`): {message}"),
        };
        let url = match split_url(&entry.request.url) {
            Ok(url) => url,
            Err(reason) => {
                skipped.push(format!("entry {number}: {reason}"));
                skipped_at.get_or_insert_with(entry_at);
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
            skipped_at.get_or_insert_with(entry_at);
            continue;
        }
        // What this module wrote without a host says `localhost`: no host.
        let host = match &url.host {
            Some(host) if from_sandbox && host == "localhost" => None,
            other => other.as_ref(),
        };
        if let Some(host) = host
            && !hosts.contains(host)
        {
            hosts.push(host.clone());
            if hosts.len() == 2 {
                second_host_at = Some(entry_at());
            }
        }
        let request = request(&entry.request, &url).map_err(fail)?;
        let (mut response, saved) =
            response(&entry.response, from_sandbox).map_err(|m| fail(format!("response: {m}")))?;
        if let Some(wait) = entry.timings.as_ref().and_then(|t| t.wait)
            && wait >= 1.0
        {
            response.timing = Some(Timing {
                first_byte_ms: wait.round() as u64,
                chunks: Vec::new(),
            });
        }
        // A 204, a 304 or the answer to HEAD never has a body to save.
        let bodiless =
            matches!(response.status, 204 | 304) || request.method.eq_ignore_ascii_case("HEAD");
        if !saved && !bodiless {
            unsaved.push(number);
            unsaved_at.get_or_insert_with(entry_at);
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
                if skipped.len() == 1 {
                    "y is"
                } else {
                    "ies are"
                },
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
    notes.sort_by_key(|note| note.at);
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
        body_file: None,
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
            incomplete: false,
            body_file: None,
            timing: None,
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
    time: i64,
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
/// newline). The recording holds no start times: entries start at the Unix
/// epoch, one millisecond apart so that tools sorting by time keep their
/// order; a recorded answer's time to first byte is its `wait`, its body's
/// chunks its `receive`. URLs are `http://` the request's `host` header, else
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

/// How a HAR file that [`entry_json`] items are added to begins: a
/// recorder writes this, then entries separated by `,\n`, then [`HAR_TAIL`].
pub fn head() -> String {
    format!(
        "{{\"log\": {{\"version\": \"{HAR_VERSION}\", \"creator\": {{\"name\": \"{CREATOR}\", \"version\": \"{}\"}}, \"entries\": [\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// How such a file ends.
pub const HAR_TAIL: &str = "\n]}}\n";

/// One interaction as a HAR entry on one line: the `index`th of its file
/// (its start time), as [`write`] writes it.
pub fn entry_json(index: usize, interaction: &Interaction) -> Result<String, String> {
    let entry = entry(index, interaction)?;
    serde_json::to_string(&entry).map_err(|e| e.to_string())
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
    // What the recording knows of time: the wait for the headers, and the
    // body's chunks (`receive`).
    let (wait, receive) = match &response.timing {
        Some(timing) => (
            timing.first_byte_ms as i64,
            timing.chunks.iter().map(|(_, ms)| *ms as i64).sum(),
        ),
        None => (0, 0),
    };
    Ok(OutEntry {
        started_date_time: epoch_plus_millis(index as u64),
        time: wait + receive,
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
            redirect_url: response
                .headers
                .get("location")
                .cloned()
                .unwrap_or_default(),
            headers_size: -1,
            body_size: response_body.len() as i64,
        },
        cache: serde_json::Map::new(),
        timings: OutTimings {
            blocked: -1,
            dns: -1,
            connect: -1,
            send: 0,
            wait,
            receive,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::recording::{QueryValues, RecordedRequest};

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/har/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    const FIXTURES: [&str; 8] = [
        "chromium.har",
        "mitmproxy-chrome.har",
        "mitmproxy-firefox.har",
        "mitmproxy-charles.har",
        "mitmproxy-insomnia.har",
        "mitmproxy-postdata.har",
        "mitmproxy-with-bom.har",
        "mitmproxy-head-content-length.har",
    ];

    fn find<'r>(recording: &'r Recording, method: &str, path: &str) -> &'r Interaction {
        recording
            .interactions
            .iter()
            .find(|i| i.request.method == method && i.request.path == path)
            .unwrap_or_else(|| panic!("no {method} {path} in {recording:#?}"))
    }

    fn bytes(body: &Option<String>, base64: &Option<String>) -> Vec<u8> {
        body_bytes(body.as_deref(), base64.as_deref()).unwrap()
    }

    #[test]
    fn a_chromium_har_becomes_a_recording_that_replays_consistently() {
        let imported = read(&fixture("chromium.har")).unwrap();
        assert_eq!(imported.hosts.len(), 1, "{:?}", imported.hosts);
        assert!(imported.notes.is_empty(), "{:?}", imported.notes);
        let recording = &imported.recording;
        assert_eq!(recording.interactions.len(), 7);

        let listed = find(recording, "GET", "/api/items");
        assert_eq!(listed.request.query["tag"].values(), ["a", "b"]);
        assert_eq!(listed.request.query["q"], QueryValues::one("red shoes"));
        assert!(listed.request.headers["host"].starts_with("127.0.0.1:"));

        let made = find(recording, "POST", "/api/items");
        assert_eq!(
            made.request.body.as_deref(),
            Some(r#"{"sku":"A1","qty":2}"#)
        );
        assert_eq!(made.request.headers["authorization"], REDACTED);
        assert_eq!(made.response.status, 201);
        assert_eq!(made.response.headers["location"], "/api/items/7");

        // The browser saved the gzip answer decoded: the header goes with it.
        let compressed = find(recording, "GET", "/compressed");
        assert_eq!(
            compressed.response.body.as_deref(),
            Some("compressed ".repeat(40).as_str())
        );
        assert!(!compressed.response.headers.contains_key("content-encoding"));
        assert!(!compressed.response.headers.contains_key("content-length"));
        assert_eq!(compressed.response.headers["vary"], "Accept-Encoding");

        let login = find(recording, "POST", "/login");
        assert_eq!(login.response.headers["set-cookie"], REDACTED);

        let logo = find(recording, "GET", "/logo.png");
        let png = BASE64.decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==").unwrap();
        assert_eq!(logo.response.body, None);
        assert_eq!(bytes(&logo.response.body, &logo.response.body_base64), png);
    }

    #[test]
    fn every_fixture_reads_and_says_what_it_left_out() {
        for name in FIXTURES {
            let imported = read(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(!imported.recording.interactions.is_empty(), "{name}");
            assert!(
                imported.recording.interactions.iter().all(|i| {
                    i.request
                        .headers
                        .keys()
                        .chain(i.response.headers.keys())
                        .all(|name| {
                            !name.starts_with(':')
                                && name != "content-length"
                                && name != "connection"
                                && name != "transfer-encoding"
                        })
                }),
                "{name}"
            );
        }
        // Chrome's: a request that got no answer, and two hosts.
        let chrome = read(&fixture("mitmproxy-chrome.har")).unwrap();
        assert_eq!(chrome.recording.interactions.len(), 2);
        assert_eq!(chrome.hosts, ["mitmproxy.org", "www.google.com"]);
        let messages: Vec<&str> = chrome.notes.iter().map(|n| n.message.as_str()).collect();
        assert!(
            messages[0].contains("entry 2 (GET https://www.google.com/) got no answer (status 0"),
            "{messages:?}"
        );
        assert!(
            messages[1]
                .starts_with("the HAR holds requests to 2 hosts (mitmproxy.org, www.google.com)"),
            "{messages:?}"
        );
        assert!(chrome.notes.iter().all(|n| n.at.is_some()));
        // Firefox saved gzip answers decoded.
        let firefox = read(&fixture("mitmproxy-firefox.har")).unwrap();
        let polyfills = find(&firefox.recording, "GET", "/polyfills.js");
        assert!(!polyfills.response.headers.contains_key("content-encoding"));
        assert!(polyfills.response.body.as_ref().unwrap().len() > 10_000);
        // A byte order mark is no problem; a POST keeps its body.
        let posted = read(&fixture("mitmproxy-with-bom.har")).unwrap();
        let post = &posted.recording.interactions[0].request;
        assert_eq!(post.method, "POST");
        assert!(post.body.as_ref().is_some_and(|b| !b.is_empty()));
    }

    const SYNTHETIC: &str = r#"{"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [
  {"request": {"method": "GET", "url": "https://user:pw@API.example.com:8443/a/b?x=1&x=2&y=a+b#frag",
     "headers": [{"name": ":authority", "value": "api.example.com:8443"}, {"name": ":method", "value": "GET"},
                 {"name": "Cookie", "value": "a=1"}, {"name": "cookie", "value": "b=2"}, {"name": "Connection", "value": "keep-alive"},
                 {"name": "Accept", "value": "*/*"}, {"name": "Proxy-Authorization", "value": "Basic x"}]},
   "response": {"status": 200, "headers": [{"name": "Content-Encoding", "value": "br"}, {"name": "Transfer-Encoding", "value": "chunked"},
                 {"name": "Set-Cookie", "value": "s=1"}, {"name": "Set-Cookie", "value": "t=2"}, {"name": "X-Two", "value": "a"}, {"name": "x-two", "value": "b"}],
     "content": {"size": 3, "mimeType": "application/octet-stream", "text": "/wAB", "encoding": "base64"}}},
  {"request": {"method": "POST", "url": "/form", "queryString": [{"name": "k", "value": "v 1"}],
     "postData": {"mimeType": "application/x-www-form-urlencoded", "params": [{"name": "a", "value": "1 2"}, {"name": "b", "value": "&"}]}},
   "response": {"status": 201, "headers": null, "content": {"size": 0, "text": ""}}},
  {"request": {"method": "PUT", "url": "http://api.example.com/bin", "postData": {"mimeType": "application/octet-stream", "text": "/wA=", "encoding": "base64"}},
   "response": {"status": 200, "headers": [{"name": "content-encoding", "value": "gzip"}],
     "content": {"size": 20, "text": "H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==", "encoding": "base64"}}},
  {"request": {"method": "GET", "url": "data:image/png;base64,AAAA"}, "response": {"status": 200}},
  {"request": {"method": "GET", "url": "wss://api.example.com/socket"}, "response": {"status": 101}},
  {"request": {"method": "GET", "url": "http://other.example.com/gone"}, "response": {"status": 200, "content": {"size": 512}}}
]}}"#;

    #[test]
    fn requests_and_responses_map_as_replay_needs_them() {
        let imported = read(SYNTHETIC).unwrap();
        let interactions = &imported.recording.interactions;
        assert_eq!(interactions.len(), 4);

        let first = &interactions[0];
        assert_eq!(first.request.path, "/a/b");
        assert_eq!(first.request.query["x"].values(), ["1", "2"]);
        assert_eq!(first.request.query["y"], QueryValues::one("a b"));
        let names: Vec<&str> = first.request.headers.keys().map(String::as_str).collect();
        assert_eq!(names, ["accept", "cookie", "host", "proxy-authorization"]);
        assert_eq!(first.request.headers["host"], "api.example.com:8443");
        assert_eq!(first.request.headers["cookie"], REDACTED);
        assert_eq!(first.request.headers["proxy-authorization"], REDACTED);
        assert_eq!(first.response.headers["set-cookie"], REDACTED);
        assert_eq!(first.response.headers["x-two"], "a, b");
        assert!(!first.response.headers.contains_key("content-encoding"));
        assert!(!first.response.headers.contains_key("transfer-encoding"));
        assert_eq!(first.response.body_base64.as_deref(), Some("/wAB"));

        // A relative URL, the query from `queryString`, a form from `params`.
        let form = &interactions[1];
        assert_eq!(form.request.path, "/form");
        assert_eq!(form.request.query["k"], QueryValues::one("v 1"));
        assert_eq!(form.request.body.as_deref(), Some("a=1+2&b=%26"));
        assert_eq!((form.response.status, &form.response.body), (201, &None));

        // Bytes that are still gzip keep their header; base64 request bodies.
        let put = &interactions[2];
        assert_eq!(put.request.body_base64.as_deref(), Some("/wA="));
        assert_eq!(put.response.headers["content-encoding"], "gzip");
        assert!(bytes(&put.response.body, &put.response.body_base64).starts_with(&[0x1f, 0x8b]));

        assert_eq!(
            imported.hosts,
            [
                "api.example.com:8443",
                "api.example.com",
                "other.example.com"
            ]
        );
        let messages: Vec<&str> = imported.notes.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages.iter().any(|m| m.starts_with("2 entries are left out: entry 4: `data:image/png;base64,AAAA` is a data: URL, not HTTP; entry 5: `wss://api.example.com/socket` is a wss: URL, not HTTP")), "{messages:?}");
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("the response body of entry 6 was not saved")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("the HAR holds requests to 3 hosts")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_broken_har_names_the_line_column_and_entry() {
        let error = read("{\"log\": {\"entries\": [\n  {\"request\": {\"method\": \"GET\", \"url\": \"/\"},\n   \"response\": {\"status\": \"200\"}}]}}").unwrap_err();
        assert_eq!(error.at, Some((3, 31)), "{error:?}");
        assert!(
            error
                .message
                .starts_with("entry 1 (`log.entries[0]`): invalid type: string \"200\""),
            "{error:?}"
        );
        let error = read("{\"log\": {\"entries\": [\n  {\"request\": {\"method\": \"GET\"}, \"response\": {\"status\": 200}}]}}").unwrap_err();
        assert_eq!(error.at.map(|(line, _)| line), Some(2), "{error:?}");
        assert!(error.message.ends_with("missing field `url`"), "{error:?}");
        let error = read("{\"log\": {\"entries\": [}").unwrap_err();
        assert_eq!(error.at, Some((1, 22)), "{error:?}");
        let error = read("{\"version\": 1}").unwrap_err();
        assert_eq!(error.message, "missing field `log`");
        let error = read("{\"log\": {\"entries\": [{\"request\": {\"method\": \"GET\", \"url\": \"/\"}, \"response\": {\"status\": 200, \"content\": {\"text\": \"!!\", \"encoding\": \"base64\"}}}]}}").unwrap_err();
        assert!(
            error.message.contains("`content.text` is not base64"),
            "{error:?}"
        );
        assert_eq!(error.at, Some((1, 22)));
    }

    fn sample() -> Recording {
        let binary: Vec<u8> = (0..=255u8).rev().collect();
        let gzip = BASE64
            .decode("H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==")
            .unwrap();
        let request = |method: &str, path: &str| RecordedRequest {
            method: method.into(),
            path: path.into(),
            query: Query::new(),
            headers: BTreeMap::new(),
            body: None,
            body_base64: None,
            body_file: None,
        };
        let response = |status: u16| RecordedResponse {
            status,
            headers: BTreeMap::new(),
            body: None,
            body_base64: None,
            incomplete: false,
            body_file: None,
            timing: None,
        };
        let mut recording = Recording::new();
        let mut search = Interaction {
            request: request("GET", "/search/caf%C3%A9"),
            response: response(200),
        };
        search.request.query =
            query_from_pairs([("tag", "b"), ("tag", "a"), ("q", "x y&z=1"), ("empty", "")]);
        search.request.headers = BTreeMap::from([
            ("accept".into(), "application/json".into()),
            ("authorization".into(), REDACTED.into()),
            ("host".into(), "api.example.com:8080".into()),
        ]);
        search.response.headers = BTreeMap::from([
            ("content-type".into(), "application/json".into()),
            ("set-cookie".into(), REDACTED.into()),
        ]);
        search.response.body = Some("{\"hits\": [\"é\", \"日本\"]}\r\n\ttrailing ".into());
        recording.interactions.push(search);
        let mut upload = Interaction {
            request: request("POST", "/upload"),
            response: response(201),
        };
        upload.request.body_base64 = Some(BASE64.encode(&binary));
        upload.response.headers = BTreeMap::from([("location".into(), "/upload/1".into())]);
        recording.interactions.push(upload);
        let mut zipped = Interaction {
            request: request("GET", "/zipped"),
            response: response(200),
        };
        zipped.response.headers = BTreeMap::from([("content-encoding".into(), "gzip".into())]);
        zipped.response.body_base64 = Some(BASE64.encode(gzip));
        recording.interactions.push(zipped);
        recording.interactions.push(Interaction {
            request: request("DELETE", "/upload/1"),
            response: response(204),
        });
        recording
    }

    #[test]
    fn a_recording_survives_har_and_back_exactly() {
        let recording = sample();
        let har = write(&recording).unwrap();
        let imported = read(&har).unwrap();
        assert_eq!(imported.recording, recording, "{har}");
        assert!(imported.notes.is_empty(), "{:?}", imported.notes);
        // Through the YAML text too, as `convert` writes it.
        let yaml = imported.recording.to_yaml();
        assert_eq!(Recording::parse(&yaml).unwrap(), recording);
    }

    #[test]
    fn a_har_written_entry_by_entry_reads_like_a_whole_one() {
        let recording = sample();
        let mut text = head();
        for (index, interaction) in recording.interactions.iter().enumerate() {
            if index > 0 {
                text.push_str(",\n");
            }
            text.push_str(&entry_json(index, interaction).unwrap());
        }
        text.push_str(HAR_TAIL);
        assert_eq!(read(&text).unwrap().recording, recording);
        let whole: serde_json::Value = serde_json::from_str(&write(&recording).unwrap()).unwrap();
        let pieces: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(whole, pieces);
    }

    #[test]
    fn written_hars_are_har_1_2() {
        let har: serde_json::Value = serde_json::from_str(&write(&sample()).unwrap()).unwrap();
        let log = &har["log"];
        assert_eq!(log["version"], "1.2");
        assert_eq!(log["creator"]["name"], "sandbox");
        assert_eq!(log["creator"]["version"], env!("CARGO_PKG_VERSION"));
        let entries = log["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 4);
        for (index, entry) in entries.iter().enumerate() {
            assert_eq!(
                entry["startedDateTime"],
                format!("1970-01-01T00:00:00.00{index}Z")
            );
            let timings = &entry["timings"];
            for phase in ["send", "wait", "receive"] {
                assert!(timings[phase].as_i64().unwrap() >= 0);
            }
            assert_eq!(entry["time"], 0);
            assert!(entry["cache"].is_object());
            for side in ["request", "response"] {
                for key in [
                    "httpVersion",
                    "cookies",
                    "headers",
                    "headersSize",
                    "bodySize",
                ] {
                    assert!(!entry[side][key].is_null(), "{side}.{key}");
                }
            }
            assert!(entry["request"]["queryString"].is_array());
            assert!(entry["response"]["content"]["mimeType"].is_string());
            assert!(entry["response"]["redirectURL"].is_string());
        }
        let search = &entries[0]["request"];
        assert_eq!(
            search["url"],
            "http://api.example.com:8080/search/caf%C3%A9?empty=&q=x+y%26z%3D1&tag=b&tag=a"
        );
        assert_eq!(search["headers"][1]["value"], REDACTED);
        assert_eq!(entries[1]["request"]["postData"]["encoding"], "base64");
        assert_eq!(entries[1]["response"]["redirectURL"], "/upload/1");
        assert_eq!(entries[1]["response"]["statusText"], "Created");
        assert_eq!(entries[2]["response"]["content"]["encoding"], "base64");
        assert_eq!(entries[3]["request"]["url"], "http://localhost/upload/1");
        assert!(entries[3]["response"]["content"].get("text").is_none());
        assert_eq!(epoch_plus_millis(90_061_001), "1970-01-02T01:01:01.001Z");
    }

    #[test]
    fn a_har_survives_a_recording_and_back() {
        for name in FIXTURES {
            let original: serde_json::Value =
                serde_json::from_str(fixture(name).trim_start_matches('\u{feff}')).unwrap();
            let first = read(&fixture(name)).unwrap().recording;
            let har = write(&first).unwrap();
            let second = read(&har).unwrap().recording;
            assert_eq!(first, second, "{name}");
            // Requests, responses and bodies are the original's.
            let written: serde_json::Value = serde_json::from_str(&har).unwrap();
            let kept: Vec<&serde_json::Value> = original["log"]["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| {
                    (100..=599).contains(&e["response"]["status"].as_i64().unwrap())
                        && e["request"]["url"].as_str().unwrap().starts_with("http")
                })
                .collect();
            let written = written["log"]["entries"].as_array().unwrap();
            assert_eq!(kept.len(), written.len(), "{name}");
            for (was, now) in kept.iter().zip(written) {
                let (was_request, now_request) = (&was["request"], &now["request"]);
                assert_eq!(was_request["method"], now_request["method"], "{name}");
                let was_url = split_url(was_request["url"].as_str().unwrap()).unwrap();
                let now_url = split_url(now_request["url"].as_str().unwrap()).unwrap();
                assert_eq!(was_url.path, now_url.path, "{name}");
                let pairs = |query: Option<String>| {
                    let mut pairs: Vec<(String, String)> =
                        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                            .into_owned()
                            .collect();
                    pairs.sort();
                    pairs
                };
                assert_eq!(pairs(was_url.query), pairs(now_url.query), "{name}");
                assert_eq!(
                    was["response"]["status"], now["response"]["status"],
                    "{name}"
                );
                let body = |content: &serde_json::Value| -> Vec<u8> {
                    match content["text"].as_str() {
                        None => Vec::new(),
                        Some(text) if content["encoding"] == "base64" => {
                            BASE64.decode(text).unwrap()
                        }
                        Some(text) => text.as_bytes().to_vec(),
                    }
                };
                assert_eq!(
                    body(&was["response"]["content"]),
                    body(&now["response"]["content"]),
                    "{name}"
                );
                let post = |request: &serde_json::Value| {
                    request["postData"]["text"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned()
                };
                if was_request["postData"]["text"].is_string() {
                    assert_eq!(post(was_request), post(now_request), "{name}");
                }
            }
        }
    }
}
