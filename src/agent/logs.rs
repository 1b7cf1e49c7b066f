//! Each entry's recent output, kept for the registry's `/logs` and the
//! dashboard. The agent never talks to the engine: the engine sends it every
//! line. The runner gives each container of a service or real dependency
//! Docker's `gelf` log driver, aimed at this agent's address on the
//! sandbox's network and tagged with the entry's name; the engine keeps its
//! own copy as well ("dual logging", on by default since Docker 20.10), so
//! `sandbox logs` reads the engine as before. Host processes of `up --host`
//! send their lines to the registry (`POST /logs/{entry}`, with the token).
//!
//! GELF over UDP: <https://go2docs.graylog.org/current/getting_in_log_data/gelf.html>.
//! A message is one JSON object in one datagram, or split into chunks
//! (`0x1e 0x0f`, an 8-byte message id, the chunk's number and the count,
//! at most 128), possibly gzip- or zlib-compressed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// The UDP port the agent receives GELF messages on (GELF's usual port).
pub const GELF_PORT: u16 = 12201;

/// Lines kept per entry; older lines are dropped first.
pub const LINES_PER_ENTRY: usize = 500;

/// Entries kept: a sandbox has far fewer; names past this are dropped, so
/// that stray datagrams cannot grow the store.
const MAX_ENTRIES: usize = 256;

/// A longer line is cut here (a log line, not a payload).
const MAX_LINE: usize = 16 * 1024;

/// The most a message may take, decompressed or reassembled.
const MAX_MESSAGE: usize = 1024 * 1024;

/// GELF allows at most 128 chunks per message.
const MAX_CHUNKS: usize = 128;

/// Messages being reassembled at once; the oldest goes when full.
const MAX_PENDING: usize = 64;

/// A message whose chunks are not all in by then is dropped (GELF says 5 s).
const CHUNK_WAIT: Duration = Duration::from_secs(5);

/// Which output a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

#[derive(Debug, Clone)]
struct Line {
    seq: u64,
    /// Seconds since the epoch, as the sender stamped it.
    time: f64,
    stream: Stream,
    text: String,
}

#[derive(Default)]
struct Inner {
    /// The sequence number the next line gets (starting at 1).
    next: u64,
    entries: BTreeMap<String, VecDeque<Line>>,
}

/// The lines of every entry, [`LINES_PER_ENTRY`] at most each.
#[derive(Default)]
pub struct Logs {
    inner: Mutex<Inner>,
}

/// The agent's store of lines.
pub fn store() -> &'static Logs {
    static STORE: OnceLock<Logs> = OnceLock::new();
    STORE.get_or_init(Logs::default)
}

impl Logs {
    /// Keeps one line of `entry`, stamped `time` (seconds since the epoch).
    pub fn push(&self, entry: &str, stream: Stream, text: &str, time: f64) {
        let mut text = text.trim_end_matches(['\n', '\r']).to_owned();
        if text.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !inner.entries.contains_key(entry) && inner.entries.len() >= MAX_ENTRIES {
            return;
        }
        inner.next = inner.next.max(1);
        let seq = inner.next;
        inner.next += 1;
        let lines = inner.entries.entry(entry.to_owned()).or_default();
        if lines.len() == LINES_PER_ENTRY {
            lines.pop_front();
        }
        lines.push_back(Line {
            seq,
            time,
            stream,
            text,
        });
    }

    /// Lines after sequence number `since`, of one entry or of all, oldest
    /// first, at most `limit` (the most recent ones):
    /// `{"lines": [{"seq", "entry", "time", "stream", "line"}], "next"}`;
    /// `next` is the `since` of the following call.
    pub fn since(&self, entry: Option<&str>, since: u64, limit: usize) -> Value {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<(&str, &Line)> = inner
            .entries
            .iter()
            .filter(|(name, _)| entry.is_none_or(|e| e == name.as_str()))
            .flat_map(|(name, lines)| {
                // Lines are in order: skip the old ones without looking.
                let start = lines.partition_point(|l| l.seq <= since);
                lines.range(start..).map(move |l| (name.as_str(), l))
            })
            .collect();
        found.sort_by_key(|(_, l)| l.seq);
        let skip = found.len().saturating_sub(limit);
        let lines: Vec<Value> = found[skip..]
            .iter()
            .map(|(name, l)| {
                json!({"seq": l.seq, "entry": name, "time": l.time,
                       "stream": l.stream.as_str(), "line": l.text})
            })
            .collect();
        json!({"lines": lines, "next": inner.next.saturating_sub(1).max(since)})
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

struct Pending {
    chunks: Vec<Option<Vec<u8>>>,
    received: usize,
    size: usize,
    first: Instant,
}

/// Puts chunked GELF messages back together.
#[derive(Default)]
pub struct Reassembly {
    pending: HashMap<[u8; 8], Pending>,
}

impl Reassembly {
    /// The whole message `datagram` completes, if any: a datagram that is
    /// not a chunk is a whole message itself.
    pub fn accept(&mut self, datagram: &[u8], at: Instant) -> Option<Vec<u8>> {
        if !datagram.starts_with(&[0x1e, 0x0f]) {
            return Some(datagram.to_vec());
        }
        if datagram.len() < 12 {
            return None;
        }
        let id: [u8; 8] = datagram[2..10].try_into().ok()?;
        let (number, count) = (usize::from(datagram[10]), usize::from(datagram[11]));
        if count == 0 || count > MAX_CHUNKS || number >= count {
            return None;
        }
        self.pending
            .retain(|_, p| at.duration_since(p.first) < CHUNK_WAIT);
        if !self.pending.contains_key(&id) && self.pending.len() >= MAX_PENDING {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.first)
                .map(|(id, _)| *id)?;
            self.pending.remove(&oldest);
        }
        let pending = self.pending.entry(id).or_insert_with(|| Pending {
            chunks: vec![None; count],
            received: 0,
            size: 0,
            first: at,
        });
        if pending.chunks.len() != count || pending.chunks[number].is_some() {
            return None;
        }
        let data = &datagram[12..];
        pending.size += data.len();
        if pending.size > MAX_MESSAGE {
            self.pending.remove(&id);
            return None;
        }
        pending.chunks[number] = Some(data.to_vec());
        pending.received += 1;
        if pending.received < count {
            return None;
        }
        let done = self.pending.remove(&id)?;
        Some(done.chunks.into_iter().flatten().flatten().collect())
    }
}

/// A message's JSON, decompressed when it came gzip- or zlib-compressed.
fn decompress(message: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let limit = MAX_MESSAGE as u64;
    match message {
        [0x1f, 0x8b, ..] => flate2::read::GzDecoder::new(message)
            .take(limit)
            .read_to_end(&mut out)
            .ok()?,
        [0x78, ..] => flate2::read::ZlibDecoder::new(message)
            .take(limit)
            .read_to_end(&mut out)
            .ok()?,
        _ => return Some(message.to_vec()),
    };
    Some(out)
}

/// Keeps the line of one whole GELF message: the entry is the `_tag` the
/// runner set (else the container's name), level 3 is stderr as Docker
/// sends it. Anything else is ignored.
pub fn keep_message(logs: &Logs, message: &[u8]) {
    let Some(json) = decompress(message) else {
        return;
    };
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&json) else {
        return;
    };
    let Some(entry) = fields
        .get("_tag")
        .or_else(|| fields.get("_container_name"))
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
    else {
        return;
    };
    let text = fields
        .get("full_message")
        .or_else(|| fields.get("short_message"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let stream = if fields.get("level").and_then(Value::as_u64) == Some(3) {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    let time = fields
        .get("timestamp")
        .and_then(Value::as_f64)
        .unwrap_or_else(now);
    logs.push(entry, stream, text, time);
}

/// Receives GELF datagrams on `socket` for ever.
pub async fn receive(socket: tokio::net::UdpSocket) {
    let mut buffer = vec![0u8; 65_536];
    let mut reassembly = Reassembly::default();
    loop {
        let Ok((size, _)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        if let Some(message) = reassembly.accept(&buffer[..size], Instant::now()) {
            keep_message(store(), &message);
        }
    }
}

/// Keeps lines posted to the registry for `entry` (an entry run on the
/// host): one per line of `body`, each `stream` (`stdout` unless the
/// query says `stderr`).
pub fn keep_posted(entry: &str, stream: Stream, body: &str) {
    let time = now();
    for line in body.lines() {
        store().push(entry, stream, line, time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(tag: &str, text: &str, level: u8) -> Vec<u8> {
        json!({"version": "1.1", "host": "h", "short_message": text, "timestamp": 1.5,
               "level": level, "_tag": tag, "_container_name": "x"})
        .to_string()
        .into_bytes()
    }

    fn chunks(id: u8, message: &[u8], size: usize) -> Vec<Vec<u8>> {
        let parts: Vec<&[u8]> = message.chunks(size).collect();
        parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let mut chunk = vec![0x1e, 0x0f, id, 0, 0, 0, 0, 0, 0, 0];
                chunk.push(i as u8);
                chunk.push(parts.len() as u8);
                chunk.extend_from_slice(part);
                chunk
            })
            .collect()
    }

    #[test]
    fn chunks_in_any_order_make_the_message_once() {
        let whole = message("orders", "listening on 8080", 6);
        let mut parts = chunks(7, &whole, 20);
        parts.reverse();
        let mut reassembly = Reassembly::default();
        let at = Instant::now();
        let last = parts.pop().unwrap();
        for part in &parts {
            assert_eq!(reassembly.accept(part, at), None);
        }
        // A repeated chunk neither completes nor breaks the message.
        assert_eq!(reassembly.accept(&parts[0], at), None);
        assert_eq!(reassembly.accept(&last, at), Some(whole));
        assert!(reassembly.pending.is_empty());
    }

    #[test]
    fn an_incomplete_message_is_dropped_after_the_wait() {
        let whole = message("orders", "x", 6);
        let parts = chunks(1, &whole, 10);
        let mut reassembly = Reassembly::default();
        let at = Instant::now();
        assert_eq!(reassembly.accept(&parts[0], at), None);
        let later = at + CHUNK_WAIT + Duration::from_millis(1);
        assert_eq!(reassembly.accept(&chunks(2, &whole, 10)[0], later), None);
        assert_eq!(reassembly.pending.len(), 1);
    }

    #[test]
    fn messages_are_kept_per_entry_within_the_bound() {
        let logs = Logs::default();
        keep_message(&logs, &message("orders", "one\n", 6));
        keep_message(&logs, &message("db", "oops", 3));
        let mut zipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut zipped, &message("orders", "two", 6)).unwrap();
        keep_message(&logs, &zipped.finish().unwrap());
        keep_message(&logs, b"not json");
        let all = logs.since(None, 0, 100);
        let texts: Vec<&str> = all["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["line"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["one", "oops", "two"]);
        assert_eq!(all["lines"][1]["stream"], "stderr");
        assert_eq!(all["next"], 3);
        let orders = logs.since(Some("orders"), 1, 100);
        assert_eq!(orders["lines"].as_array().unwrap().len(), 1);
        assert_eq!(logs.since(None, 3, 100)["lines"], json!([]));

        for i in 0..LINES_PER_ENTRY + 10 {
            logs.push("busy", Stream::Stdout, &format!("line {i}"), 0.0);
        }
        let busy = logs.since(Some("busy"), 0, usize::MAX);
        let lines = busy["lines"].as_array().unwrap();
        assert_eq!(lines.len(), LINES_PER_ENTRY);
        assert_eq!(lines[0]["line"], "line 10");
        assert_eq!(
            logs.since(Some("busy"), 0, 5)["lines"][4]["line"],
            format!("line {}", LINES_PER_ENTRY + 9)
        );
    }
}
