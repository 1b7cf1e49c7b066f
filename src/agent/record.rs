//! Record dependencies (PRODUCT.md section 4): every interaction forwarded
//! upstream is saved, with secrets redacted, to the recording file.
//!
//! The file is replaced, not appended to: it is first written when the first
//! interaction completes (so a record session that saw no traffic leaves an
//! existing file alone), then rewritten at most every 50 ms while calls
//! arrive (less often when writes get slow: the writer waits four times as
//! long as its last write took, up to a second), and once more on
//! SIGTERM/SIGINT. Every write goes to a temporary file in the same folder,
//! then renamed over the target (as `Recording::write_atomically` does), so
//! the file is never torn; the last write is also synced to disk. The file
//! gets mode 0644 and the owner of its folder (the developer's, on the bind
//! mount), set on the temporary file before the rename.
//!
//! A write that fails is never silent: the recorder keeps the reason (shown
//! by the control API, hence `sandbox calls`, `status` and `down`) and the
//! interactions it could not write, and tries again on the next write.
//!
//! Each interaction is serialized once, when it is first written: a later
//! write copies the previous file (in the kernel) and adds the new items, so
//! a long recording session under load neither re-serializes everything nor
//! keeps the whole recording in memory.
//!
//! A file named `.har` is written as HAR 1.2 instead (PRODUCT.md 6.5), so
//! that `up --record DEP=URL` on a dependency that replays a HAR re-records
//! it in its own format: the same entries as `sandbox convert` writes, the
//! file's closing `]}}` cut off and written again after the new ones.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderMap;
use hyper::body::Incoming;
use tokio::sync::Notify;

use super::body;
use crate::manifest::har;
use crate::manifest::recording::{
    DEFAULT_REDACT, Interaction, Query, RECORDING_VERSION, REDACTED, RecordedRequest,
    RecordedResponse, Timing,
};

/// How long the writer waits after a change so that a burst becomes one write.
const COALESCE: Duration = Duration::from_millis(50);

/// The recording of one dependency, shared by its requests and its writer.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    /// The file as the manifest names it, for messages.
    file_name: String,
    redact: Vec<String>,
    /// Interactions not yet in `file`.
    fresh: Mutex<Vec<Interaction>>,
    /// The file's text so far; held by one writer at a time.
    file: Mutex<FileText>,
    changed: Notify,
    /// Why the last write failed; `None` once a write succeeds.
    failure: Mutex<Option<String>>,
    /// Whether the file is a HAR (named `.har`), else a YAML recording.
    har: bool,
    /// The `.proto` files of its gRPC messages, written at its top.
    proto: std::sync::OnceLock<Vec<String>>,
}

#[derive(Debug, Default)]
struct FileText {
    /// Whether this agent has written the file: later writes copy it (in
    /// the kernel) and add the new items, so memory stays small however long
    /// the recording gets.
    written: bool,
    /// Items serialized but not yet in the file (a write failed).
    unwritten: String,
    /// How many interactions were serialized (a HAR entry's start time).
    serialized: usize,
}

impl Recorder {
    /// A recorder writing to `path`; `file_name` is how messages name it
    /// (the manifest's own spelling).
    pub fn new(path: PathBuf, file_name: String, redact: &[String]) -> Arc<Recorder> {
        let mut names: Vec<String> = DEFAULT_REDACT.iter().map(|name| name.to_string()).collect();
        names.extend(redact.iter().map(|name| name.trim().to_ascii_lowercase()));
        let har = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("har"));
        Arc::new(Recorder {
            har,
            path,
            file_name,
            redact: names,
            fresh: Mutex::new(Vec::new()),
            file: Mutex::new(FileText::default()),
            changed: Notify::new(),
            failure: Mutex::new(None),
            proto: std::sync::OnceLock::new(),
        })
    }

    /// Names the `.proto` files its gRPC messages are stored with (as JSON).
    pub fn set_proto(&self, files: &[String]) {
        let _ = self.proto.set(files.to_vec());
    }

    /// Headers as recorded: lower-case names, hop-by-hop ones left out,
    /// repeated ones joined with `, `, secrets redacted.
    pub fn headers(&self, headers: &HeaderMap) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in headers {
            if body::is_hop_by_hop(name) || name == http::header::CONTENT_LENGTH {
                continue;
            }
            let value = if self.redact.iter().any(|secret| secret == name.as_str()) {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            out.entry(name.as_str().to_owned())
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

    pub fn push(&self, interaction: Interaction) {
        self.fresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(interaction);
        self.changed.notify_one();
    }

    /// Writes the file when interactions arrived since the last write (or
    /// a write failed); `durable` also waits until the disk has it (at exit;
    /// the periodic writes skip it, which only matters if the machine itself
    /// fails). The error says why the file cannot be written; it is also
    /// kept (see [`Recorder::failure`]) until a write succeeds.
    pub fn flush(&self, durable: bool) -> Result<(), String> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = std::mem::take(&mut *self.fresh.lock().unwrap_or_else(|e| e.into_inner()));
        // `- request: ...` list items (or HAR entries), so the file is the
        // old one plus these.
        file.unwritten.reserve(fresh.len() * 512);
        for interaction in &fresh {
            if !self.har {
                emit_interaction(interaction, &mut file.unwritten);
                continue;
            }
            // Only a body_base64 that is not base64 fails, and the recorder
            // writes those itself.
            match har::entry_json(file.serialized, interaction) {
                Ok(entry) => {
                    if file.serialized > 0 {
                        file.unwritten.push_str(",\n");
                    }
                    file.unwritten.push_str(&entry);
                }
                Err(error) => eprintln!(
                    "agent: recording {}: an interaction left out: {error}",
                    self.file_name
                ),
            }
            file.serialized += 1;
        }
        if file.unwritten.is_empty() {
            return Ok(());
        }
        let (head, tail) = if self.har {
            (har::head(), har::HAR_TAIL)
        } else {
            let proto = match self.proto.get().filter(|files| !files.is_empty()) {
                Some(files) => format!("proto: {}\n", serde_json::json!(files)),
                None => String::new(),
            };
            (
                format!("version: {RECORDING_VERSION}\n{proto}interactions:\n"),
                "",
            )
        };
        let previous = file.written.then_some(self.path.as_path());
        let result = write_atomically(
            &self.path,
            previous,
            head.as_bytes(),
            file.unwritten.as_bytes(),
            tail.as_bytes(),
            durable,
        );
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(()) => {
                file.written = true;
                file.unwritten = String::new();
                *failure = None;
                Ok(())
            }
            Err(reason) => {
                *failure = Some(reason.clone());
                Err(reason)
            }
        }
    }

    /// Why the recording could not be written the last time it was tried.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The file as the manifest names it.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The writer task: waits for changes, lets a burst settle, writes.
    pub async fn write_forever(self: Arc<Self>) {
        let mut pause = COALESCE;
        loop {
            self.changed.notified().await;
            tokio::time::sleep(pause).await;
            let recorder = self.clone();
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || recorder.flush(false)).await;
            // Slow writes (a long recording under load) are spaced out so
            // that writing never takes more than a fifth of the time.
            pause = (started.elapsed() * 4).clamp(COALESCE, Duration::from_secs(1));
            if let Ok(Err(error)) = result {
                eprintln!("agent: cannot write recording {}: {error}", self.file_name);
            }
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// A temporary file in the same folder, synced, renamed over `path`.
/// Writes `previous`'s content without its last `tail.len()` bytes (or
/// `head` when there is none), then `items`, then `tail`.
/// The file gets mode 0644 and the folder's owner. The error is a reason
/// for the user, naming the step that failed but no path inside the agent.
fn write_atomically(
    path: &std::path::Path,
    previous: Option<&std::path::Path>,
    head: &[u8],
    items: &[u8],
    tail: &[u8],
    durable: bool,
) -> Result<(), String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    let folder = path.parent().unwrap_or_else(|| std::path::Path::new("."));
    std::fs::create_dir_all(folder).map_err(|e| format!("cannot create its folder: {e}"))?;
    let owner = std::fs::metadata(folder).map_err(|e| format!("cannot read its folder: {e}"))?;
    let mut file = tempfile::Builder::new()
        .prefix(".sandbox-recording-")
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(|e| format!("cannot create a temporary file in its folder: {e}"))?;
    match previous {
        Some(previous) => {
            use std::io::Read as _;
            let old = std::fs::File::open(previous)
                .map_err(|e| format!("cannot read what was recorded before: {e}"))?;
            let length = old
                .metadata()
                .map_err(|e| format!("cannot read what was recorded before: {e}"))?
                .len();
            let keep = length.saturating_sub(tail.len() as u64);
            std::io::copy(&mut old.take(keep), file.as_file_mut())
                .map_err(|e| format!("cannot read what was recorded before: {e}"))?;
        }
        None => file
            .write_all(head)
            .map_err(|e| format!("cannot write: {e}"))?,
    }
    file.write_all(items)
        .map_err(|e| format!("cannot write: {e}"))?;
    file.write_all(tail)
        .map_err(|e| format!("cannot write: {e}"))?;
    if durable {
        file.as_file()
            .sync_all()
            .map_err(|e| format!("cannot sync to disk: {e}"))?;
    }
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("cannot set its mode: {e}"))?;
    // The developer's folder, the developer's file. Only root (the agent in
    // its container) may give a file away; elsewhere the file stays the
    // writer's, which is then the folder owner's in practice.
    let _ = std::os::unix::fs::fchown(file.as_file(), Some(owner.uid()), Some(owner.gid()));
    file.persist(path)
        .map_err(|e| format!("cannot put it in place: {}", e.error))?;
    Ok(())
}

/// Writes one interaction as a YAML list item, the way serde_yaml lays a
/// recording out, with every string quoted unless it is plainly safe. A
/// hand-written emitter: serde_yaml costs more CPU per interaction than
/// forwarding it does, and recording runs under load.
fn emit_interaction(interaction: &Interaction, out: &mut String) {
    let request = &interaction.request;
    out.push_str("- request:\n    method: ");
    scalar(&request.method, out);
    out.push_str("\n    path: ");
    scalar(&request.path, out);
    out.push('\n');
    query(&request.query, out);
    map("headers", &request.headers, "    ", out);
    optional("body", request.body.as_deref(), "    ", out);
    optional("body_base64", request.body_base64.as_deref(), "    ", out);
    optional("body_file", request.body_file.as_deref(), "    ", out);
    let response = &interaction.response;
    out.push_str("  response:\n    status: ");
    out.push_str(&response.status.to_string());
    out.push('\n');
    if response.incomplete {
        out.push_str("    incomplete: true\n");
    }
    map("headers", &response.headers, "    ", out);
    optional("body", response.body.as_deref(), "    ", out);
    optional("body_base64", response.body_base64.as_deref(), "    ", out);
    optional("body_file", response.body_file.as_deref(), "    ", out);
    if let Some(timing) = &response.timing {
        timing_of(timing, out);
    }
}

/// `timing: { first_byte_ms: 120, chunks: [[12, 0], [40, 300]] }`, on one
/// line however many chunks.
fn timing_of(timing: &Timing, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "    timing: {{ first_byte_ms: {}",
        timing.first_byte_ms
    );
    if !timing.chunks.is_empty() {
        out.push_str(", chunks: [");
        for (index, (bytes, ms)) in timing.chunks.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "[{bytes}, {ms}]");
        }
        out.push(']');
    }
    out.push_str(" }\n");
}

fn map(key: &str, values: &BTreeMap<String, String>, indent: &str, out: &mut String) {
    if values.is_empty() {
        return;
    }
    out.push_str(indent);
    out.push_str(key);
    out.push_str(":\n");
    for (name, value) in values {
        out.push_str(indent);
        out.push_str("  ");
        scalar(name, out);
        out.push_str(": ");
        scalar(value, out);
        out.push('\n');
    }
}

/// `query:` with each name's one value as a scalar, several as a list.
fn query(query: &Query, out: &mut String) {
    if query.is_empty() {
        return;
    }
    out.push_str("    query:\n");
    for (name, values) in query {
        out.push_str("      ");
        scalar(name, out);
        out.push(':');
        match values.values() {
            [one] => {
                out.push(' ');
                scalar(one, out);
                out.push('\n');
            }
            many => {
                out.push('\n');
                for value in many {
                    out.push_str("        - ");
                    scalar(value, out);
                    out.push('\n');
                }
            }
        }
    }
}

fn optional(key: &str, value: Option<&str>, indent: &str, out: &mut String) {
    if let Some(value) = value {
        out.push_str(indent);
        out.push_str(key);
        out.push_str(": ");
        scalar(value, out);
        out.push('\n');
    }
}

/// A YAML string: plain when it cannot be read as anything else, single-
/// quoted when it has no control characters, else double-quoted with
/// escapes (YAML 1.2 sections 7.3 and 7.4).
fn scalar(text: &str, out: &mut String) {
    let plain = text
        .bytes()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'/' || first == b'_')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'.' | b'-'))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "nan" | "inf"
        );
    if plain {
        out.push_str(text);
    } else if text.chars().all(is_printable) {
        out.push('\'');
        for c in text.chars() {
            if c == '\'' {
                out.push('\'');
            }
            out.push(c);
        }
        out.push('\'');
    } else {
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if is_printable(c) => out.push(c),
                c => out.push_str(&format!("\\u{:04x}", c as u32)),
            }
        }
        out.push('"');
    }
}

/// Printable in YAML and safe on one line inside quotes.
fn is_printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

/// A body as the recording stores it: text when UTF-8, else base64; nothing
/// when empty.
pub fn stored_body(bytes: &[u8]) -> (Option<String>, Option<String>) {
    crate::manifest::recording::stored_body(bytes)
}

/// An interaction waiting for its response body.
#[derive(Debug)]
pub struct Pending {
    pub recorder: Arc<Recorder>,
    pub request: RecordedRequest,
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// From the request sent upstream to the response's headers.
    pub first_byte: Duration,
    /// The request's body, when it streams upstream as it comes (see
    /// [`RequestTee`]): taken into `request` when the interaction is saved.
    pub request_body: Option<Arc<Mutex<BodyCopy>>>,
}

/// The upstream's response body, passed through to the caller while a copy
/// is kept; the interaction is saved when the body ends (or is dropped).
pub struct Tee {
    copy: BodyCopy,
    pending: Option<Pending>,
    /// How the body arrives, chunk by chunk.
    timing: Timing,
    /// When the last chunk (at first: the headers) arrived.
    last: Instant,
}

/// Bodies up to this size are kept in the recording itself; larger ones go
/// to `bodies/<sha256>` beside it, streamed there, never held whole.
pub const INLINE_LIMIT: usize = 64 * 1024;

/// A copy of a body as it passes: in memory up to [`INLINE_LIMIT`], then
/// in a file beside the recording (a HAR keeps its bodies inline).
#[derive(Debug, Default)]
pub struct BodyCopy {
    copy: Vec<u8>,
    /// A body past [`INLINE_LIMIT`]: written to a file as it passes.
    spill: Option<Spill>,
}

/// A body as a recording stores it: `(body, body_base64, body_file)`.
type Stored = (Option<String>, Option<String>, Option<String>);

impl BodyCopy {
    fn keep(&mut self, recorder: &Recorder, data: &[u8]) {
        if let Some(spill) = &mut self.spill {
            spill.write(data);
        } else if self.copy.len() + data.len() > INLINE_LIMIT && !recorder.har {
            let mut spill = Spill::start(recorder, &self.copy);
            spill.write(data);
            self.copy = Vec::new();
            self.spill = Some(spill);
        } else {
            self.copy.extend_from_slice(data);
        }
    }

    /// The body as the recording stores it; a large one's file is put in
    /// place.
    fn finish(&mut self) -> Stored {
        let body_file = self.spill.take().and_then(|mut spill| spill.finish());
        let (body, body_base64) = stored_body(&std::mem::take(&mut self.copy));
        (body, body_base64, body_file)
    }
}

/// A large body on its way to its file: a temporary name until it is whole
/// (removed if it never is).
#[derive(Debug)]
struct Spill {
    /// `None` once writing failed.
    file: Option<std::io::BufWriter<std::fs::File>>,
    temporary: PathBuf,
    folder: PathBuf,
    hash: sha2::Sha256,
    /// Renamed to its final name (or given up): nothing to clean.
    done: bool,
}

impl Spill {
    fn start(recorder: &Recorder, first: &[u8]) -> Spill {
        use sha2::Digest as _;
        let folder = recorder
            .path
            .parent()
            .map(|dir| dir.join(BODIES))
            .unwrap_or_else(|| PathBuf::from(BODIES));
        let temporary = folder.join(format!(
            ".partial-{:016x}",
            crate::agent::journal::fast_random()
        ));
        let opened =
            std::fs::create_dir_all(&folder).and_then(|_| std::fs::File::create(&temporary));
        // A file that cannot be made leaves the interaction saved without
        // its body (the caller still gets all of it).
        let mut spill = Spill {
            file: opened
                .ok()
                .map(|file| std::io::BufWriter::with_capacity(64 * 1024, file)),
            temporary,
            folder,
            hash: sha2::Sha256::new(),
            done: false,
        };
        spill.write(first);
        spill
    }

    fn write(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        use std::io::Write as _;
        self.hash.update(data);
        if let Some(file) = &mut self.file
            && file.write_all(data).is_err()
        {
            self.file = None;
        }
    }

    /// Moves the body to `bodies/<sha256>` (atomically); the name the
    /// recording refers to.
    fn finish(&mut self) -> Option<String> {
        use sha2::Digest as _;
        use std::io::Write as _;
        let flushed = self.file.as_mut().is_some_and(|file| file.flush().is_ok());
        drop(self.file.take());
        let digest = std::mem::take(&mut self.hash).finalize();
        let name: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        if !flushed {
            return None;
        }
        match std::fs::rename(&self.temporary, self.folder.join(&name)) {
            Ok(()) => {
                self.done = true;
                Some(format!("{BODIES}/{name}"))
            }
            Err(_) => None,
        }
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// The folder beside a recording where its large bodies are.
pub const BODIES: &str = "bodies";

/// The caller's request body on its way upstream, a copy kept as it passes
/// (never held whole: a large one goes to its file), so that record takes
/// bodies of any size in bounded memory.
pub struct RequestTee {
    recorder: Arc<Recorder>,
    copy: Arc<Mutex<BodyCopy>>,
}

impl RequestTee {
    /// The body to send upstream, and the copy the interaction will take.
    pub fn new(
        inner: Incoming,
        recorder: Arc<Recorder>,
    ) -> (body::Watched<RequestTee>, Arc<Mutex<BodyCopy>>) {
        let copy = Arc::new(Mutex::new(BodyCopy::default()));
        let tee = RequestTee {
            recorder,
            copy: copy.clone(),
        };
        (body::Watched::new(inner, tee), copy)
    }
}

impl body::Watcher for RequestTee {
    fn data(&mut self, data: &Bytes) {
        self.copy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keep(&self.recorder, data);
    }
}

impl Tee {
    pub fn new(inner: Incoming, pending: Pending) -> body::Watched<Tee> {
        let tee = Tee {
            copy: BodyCopy::default(),
            timing: Timing {
                first_byte_ms: pending.first_byte.as_millis() as u64,
                chunks: Vec::new(),
            },
            pending: Some(pending),
            last: Instant::now(),
        };
        body::Watched::new(inner, tee)
    }

    fn keep(&mut self, data: &[u8]) {
        let now = Instant::now();
        let gap = now.duration_since(self.last).as_millis() as u64;
        self.last = now;
        self.timing.add_chunk(data.len() as u64, gap);
        if let Some(pending) = &self.pending {
            self.copy.keep(&pending.recorder, data);
        }
    }

    /// Saves the interaction; `complete` when the body reached its end.
    fn finish(&mut self, complete: bool) {
        if let Some(mut pending) = self.pending.take() {
            let (body, body_base64, body_file) = self.copy.finish();
            if let Some(copy) = pending.request_body.take() {
                let (body, body_base64, body_file) =
                    copy.lock().unwrap_or_else(|e| e.into_inner()).finish();
                pending.request.body = body;
                pending.request.body_base64 = body_base64;
                pending.request.body_file = body_file;
            }
            let mut timing = std::mem::take(&mut self.timing);
            timing.settle();
            pending.recorder.push(Interaction {
                request: pending.request,
                response: RecordedResponse {
                    status: pending.status,
                    headers: pending.headers,
                    body,
                    body_base64,
                    incomplete: !complete,
                    body_file,
                    timing: Some(timing),
                },
            });
        }
    }
}

impl body::Watcher for Tee {
    fn data(&mut self, data: &Bytes) {
        self.keep(data);
    }

    fn end(&mut self, whole: bool) {
        self.finish(whole);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::har;
    use crate::manifest::recording::{QueryValues, Recording, query_from_pairs};

    #[test]
    fn secrets_are_redacted_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::new(
            dir.path().join("r.yaml"),
            "r.yaml".into(),
            &["X-Api-Key".to_owned()],
        );
        let mut headers = HeaderMap::new();
        headers.insert("Authorization", "Bearer secret".parse().unwrap());
        headers.insert("x-api-key", "k".parse().unwrap());
        headers.append("cookie", "a=1".parse().unwrap());
        headers.append("cookie", "b=2".parse().unwrap());
        headers.insert("accept", "text/plain".parse().unwrap());
        headers.insert("connection", "keep-alive".parse().unwrap());
        headers.insert("content-length", "3".parse().unwrap());
        let stored = recorder.headers(&headers);
        assert_eq!(stored["authorization"], REDACTED);
        assert_eq!(stored["x-api-key"], REDACTED);
        assert_eq!(stored["cookie"], REDACTED);
        assert_eq!(stored["accept"], "text/plain");
        assert_eq!(stored.len(), 4, "{stored:?}");
    }

    #[test]
    fn every_string_survives_the_emitter() {
        let tricky = [
            "",
            "GET",
            "/items/1",
            "true",
            "No",
            "null",
            "~",
            "123",
            "1.5",
            "-1",
            "- x",
            ": x",
            "a: b",
            "#x",
            "x #y",
            "'quoted'",
            "\"double\"",
            "\\back",
            "tab\there",
            "line\nbreak\n",
            "\r",
            "\u{1}\u{7f}\u{85}\u{9f}",
            "é ü 日本",
            "😀",
            "@x",
            "`x",
            "{x}",
            "[x]",
            "*x",
            "&x",
            "!x",
            "%x",
            "|x",
            ">x",
            "?x",
            " lead",
            "trail ",
            "text/plain; charset=utf-8",
            "\u{feff}bom",
            "Wed, 25 Nov 2026 16:19:40 GMT",
            "{\"id\": 1}",
            "y",
            "Off",
            ".inf",
            "0x1f",
            "2026-11-25",
        ];
        let mut interaction = Interaction {
            request: RecordedRequest {
                method: "GET".into(),
                path: "/".into(),
                query: Query::new(),
                headers: BTreeMap::new(),
                body: None,
                body_base64: None,
                body_file: None,
            },
            response: RecordedResponse {
                status: 204,
                headers: BTreeMap::new(),
                body: None,
                body_base64: Some("AAE=".into()),
                incomplete: false,
                body_file: None,
                timing: None,
            },
        };
        for (index, text) in tricky.iter().enumerate() {
            interaction
                .request
                .query
                .insert(format!("{text}{index}"), QueryValues::one(*text));
            interaction.request.query.extend(query_from_pairs([
                (format!("many{index}"), text.to_string()),
                (format!("many{index}"), format!("{text}{index}")),
            ]));
            interaction
                .response
                .headers
                .insert(text.to_string(), text.to_string());
        }
        let mut recording = Recording::new();
        for text in tricky {
            let mut item = interaction.clone();
            item.request.path = text.to_owned();
            item.request.body = Some(text.to_owned());
            recording.interactions.push(item);
        }
        let mut text = "version: 1\ninteractions:\n".to_owned();
        for item in &recording.interactions {
            emit_interaction(item, &mut text);
        }
        assert_eq!(Recording::parse(&text).unwrap(), recording, "{text}");
    }

    #[test]
    fn timing_is_written_on_one_line_and_read_back() {
        let mut interaction = Interaction {
            request: RecordedRequest {
                method: "GET".into(),
                path: "/events".into(),
                query: Query::new(),
                headers: BTreeMap::new(),
                body: None,
                body_base64: None,
                body_file: None,
            },
            response: RecordedResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: Some("data: 1\n\ndata: 2\n\n".into()),
                body_base64: None,
                incomplete: false,
                body_file: None,
                timing: Some(Timing {
                    first_byte_ms: 12,
                    chunks: vec![(9, 0), (9, 301)],
                }),
            },
        };
        let mut text = "version: 1\ninteractions:\n".to_owned();
        emit_interaction(&interaction, &mut text);
        assert!(
            text.contains("    timing: { first_byte_ms: 12, chunks: [[9, 0], [9, 301]] }\n"),
            "{text}"
        );
        interaction.response.timing.as_mut().unwrap().chunks.clear();
        emit_interaction(&interaction, &mut text);
        let recording = Recording::parse(&text).unwrap();
        assert_eq!(
            recording.interactions[0]
                .response
                .timing
                .as_ref()
                .unwrap()
                .chunks,
            [(9, 0), (9, 301)]
        );
        assert_eq!(recording.interactions[1], interaction);
    }

    #[test]
    fn bodies_are_text_or_base64() {
        assert_eq!(stored_body(b""), (None, None));
        assert_eq!(stored_body(b"hi"), (Some("hi".into()), None));
        assert_eq!(stored_body(&[0xff, 0]), (None, Some("/wA=".into())));
    }

    #[test]
    fn the_file_is_written_only_after_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.yaml");
        let recorder = Recorder::new(path.clone(), "r.yaml".into(), &[]);
        recorder.flush(true).unwrap();
        assert!(!path.exists());
        recorder.push(Interaction {
            request: RecordedRequest {
                method: "GET".into(),
                path: "/".into(),
                query: Query::new(),
                headers: BTreeMap::new(),
                body: None,
                body_base64: None,
                body_file: None,
            },
            response: RecordedResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: Some("ok".into()),
                body_base64: None,
                incomplete: false,
                body_file: None,
                timing: None,
            },
        });
        recorder.flush(true).unwrap();
        let first = Recording::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(first.interactions.len(), 1);
        let mut tricky = first.interactions[0].clone();
        tricky.request.body = Some("- not: [a list]\n\"quoted\": 'x'".into());
        tricky.response.body_base64 = Some("AAE=".into());
        recorder.push(tricky.clone());
        recorder.flush(true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let saved = Recording::parse(&text).unwrap();
        let mut expected = first.clone();
        expected.interactions.push(tricky);
        assert_eq!(saved, expected);
        assert!(
            !std::fs::read_dir(dir.path())
                .unwrap()
                .any(|e| { e.unwrap().file_name().to_string_lossy().ends_with(".tmp") })
        );
    }

    #[test]
    fn a_file_named_har_is_recorded_as_har() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.har");
        let recorder = Recorder::new(path.clone(), "api.har".into(), &[]);
        let interaction = |path: &str, body: Option<&str>, base64: Option<&str>| Interaction {
            request: RecordedRequest {
                method: "GET".into(),
                path: path.into(),
                query: query_from_pairs([("tag", "a"), ("tag", "b")]),
                headers: BTreeMap::from([("authorization".into(), REDACTED.into())]),
                body: None,
                body_base64: None,
                body_file: None,
            },
            response: RecordedResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: body.map(Into::into),
                body_base64: base64.map(Into::into),
                incomplete: false,
                body_file: None,
                timing: None,
            },
        };
        recorder.push(interaction("/one", Some("first"), None));
        recorder.flush(true).unwrap();
        let first = har::read(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(first.recording.interactions.len(), 1);
        recorder.push(interaction("/two", None, Some("/wA=")));
        recorder.push(interaction("/three", Some("third"), None));
        recorder.flush(true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let all = har::read(&text).unwrap();
        let mut expected = Recording::new();
        expected.interactions = vec![
            interaction("/one", Some("first"), None),
            interaction("/two", None, Some("/wA=")),
            interaction("/three", Some("third"), None),
        ];
        assert_eq!(all.recording, expected, "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json["log"]["entries"][2]["startedDateTime"],
            "1970-01-01T00:00:00.002Z"
        );
    }
}
