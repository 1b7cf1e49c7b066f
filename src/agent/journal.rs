//! The call journal: every call through the agent, kept in a bounded ring in
//! memory and read by the control API (`GET /_sandbox/calls`). Appending is a
//! short mutex push; formatting (times, JSON) happens only when read.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// One journaled call.
#[derive(Debug, Clone)]
pub struct Call {
    pub time: SystemTime,
    /// The dependency's name, or the unknown host name asked for.
    pub dependency: Cow<'static, str>,
    pub method: http::Method,
    /// Path with its query.
    pub path: Text,
    /// The status answered; 0 when the connection was dropped on purpose.
    pub status: u16,
    pub duration: Duration,
    /// The rule that answered; `None` when nothing matched.
    pub matched: Option<&'static str>,
    pub traceparent: Option<Text>,
    pub caller: &'static str,
    /// `rate` or `concurrency` when a limit answered.
    pub limited: Option<&'static str>,
    /// The fault injected, if any (`error`, `latency`, `reset`).
    pub fault: Option<&'static str>,
    /// For an upgraded connection (WebSocket): what went through it.
    pub upgrade: Option<Box<Upgrade>>,
    /// A gRPC call's status code.
    pub grpc_status: Option<u32>,
}

/// What went through an upgraded connection, each way: `sent` from the
/// caller to the upstream, `received` back. Frames are counted for
/// WebSocket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Upgrade {
    pub frames_sent: u64,
    pub frames_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// The journal's ring; sequence numbers grow forever so that a follower can
/// ask for "everything after what I saw" even once old calls are dropped.
#[derive(Debug)]
pub struct Journal {
    ring: Mutex<Ring>,
}

#[derive(Debug)]
struct Ring {
    calls: VecDeque<Call>,
    /// Sequence number of `calls[0]`.
    first: u64,
    capacity: usize,
}

/// A call as the control API shows it.
#[derive(Debug, Serialize)]
pub struct CallView<'a> {
    pub seq: u64,
    pub time: String,
    pub dependency: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration_ms: f64,
    pub matched: Option<&'a str>,
    pub traceparent: Option<&'a str>,
    pub caller: &'a str,
    pub limited: Option<&'static str>,
    pub fault: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade>,
    /// A gRPC call's method (`pkg.Service/Method`) and status name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_status: Option<String>,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Journal {
            ring: Mutex::new(Ring {
                // Reserved whole at start: growing it under load would copy
                // megabytes while holding the lock (a latency spike), and
                // untouched pages cost no memory until calls fill them.
                calls: VecDeque::with_capacity(capacity.max(1)),
                first: 0,
                capacity: capacity.max(1),
            }),
        }
    }

    /// Appends a call, dropping the oldest when full.
    pub fn push(&self, call: Call) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if ring.calls.len() >= ring.capacity {
            ring.calls.pop_front();
            ring.first += 1;
        }
        ring.calls.push_back(call);
    }

    /// Calls with sequence number `>= since` (oldest first, at most `limit`,
    /// optionally of one dependency), and the sequence number to ask for
    /// next.
    pub fn since(
        &self,
        since: u64,
        dependency: Option<&str>,
        limit: usize,
    ) -> (Vec<(u64, Call)>, u64) {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let end = ring.first + ring.calls.len() as u64;
        let start = since.max(ring.first);
        let mut out = Vec::new();
        let mut next = end.max(since);
        for seq in start..end {
            let call = &ring.calls[(seq - ring.first) as usize];
            if dependency.is_some_and(|name| call.dependency != name) {
                continue;
            }
            if out.len() >= limit {
                next = seq;
                break;
            }
            out.push((seq, call.clone()));
        }
        (out, next)
    }
}

impl Call {
    pub fn view(&self, seq: u64) -> CallView<'_> {
        CallView {
            seq,
            time: rfc3339_millis(self.time),
            dependency: &self.dependency,
            method: self.method.as_str(),
            path: self.path.as_str(),
            status: self.status,
            duration_ms: (self.duration.as_secs_f64() * 1_000_000.0).round() / 1_000.0,
            matched: self.matched,
            traceparent: self.traceparent.as_ref().map(Text::as_str),
            caller: self.caller,
            limited: self.limited,
            fault: self.fault,
            upgrade: self.upgrade.as_deref().copied(),
            grpc_method: self
                .grpc_status
                .map(|_| self.path.as_str().trim_start_matches('/')),
            grpc_status: self.grpc_status.map(crate::proto::status::name),
        }
    }
}

/// `2026-11-25T16:06:57.123Z`.
pub fn rfc3339_millis(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        (rem % 3_600) / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A name or label made once at start (dependency names, route labels,
/// callers) and kept for the life of the process, so that journaling a call
/// copies a pointer instead of counting references shared between threads.
pub fn lasting(text: impl Into<String>) -> &'static str {
    Box::leak(text.into().into_boxed_str())
}

/// Text kept inline when short (most paths, every `traceparent`), so that
/// journaling a call allocates nothing in the common case.
#[derive(Clone)]
pub enum Text {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

const INLINE: usize = 62;

impl Text {
    pub fn new(text: &str) -> Text {
        if text.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Text::Inline {
                len: text.len() as u8,
                bytes,
            }
        } else {
            Text::Heap(text.into())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Always a whole UTF-8 string, copied in `new`.
            Text::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..*len as usize]).unwrap_or("")
            }
            Text::Heap(text) => text,
        }
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A W3C `traceparent` with random non-zero trace and span ids
/// (<https://www.w3.org/TR/trace-context/#traceparent-header>).
pub fn new_traceparent() -> Text {
    let (mut a, b, mut c) = (fast_random(), fast_random(), fast_random());
    if a == 0 && b == 0 {
        a = 1;
    }
    if c == 0 {
        c = 1;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; INLINE];
    bytes[..3].copy_from_slice(b"00-");
    let mut at = 3;
    for value in [a, b, c] {
        if at == 35 {
            bytes[at] = b'-';
            at += 1;
        }
        for shift in (0..16).rev() {
            bytes[at] = HEX[((value >> (shift * 4)) & 0xf) as usize];
            at += 1;
        }
    }
    bytes[at..at + 3].copy_from_slice(b"-01");
    Text::Inline {
        len: (at + 3) as u8,
        bytes,
    }
}

/// A cheap per-thread random number (splitmix64), good enough for ids; the
/// seeded fault randomness uses `rand` instead.
pub fn fast_random() -> u64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
            let local = 0u8;
            nanos ^ ((&local as *const u8 as u64).rotate_left(32)) ^ u64::from(std::process::id())
        });
    }
    STATE.with(|state| {
        let mut z = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(dep: &str) -> Call {
        Call {
            time: UNIX_EPOCH,
            dependency: Cow::Owned(dep.to_owned()),
            method: http::Method::GET,
            path: Text::new("/"),
            status: 200,
            duration: Duration::from_micros(1_500),
            matched: None,
            traceparent: None,
            caller: "host",
            limited: None,
            fault: None,
            upgrade: None,
            grpc_status: None,
        }
    }

    #[test]
    fn times_are_rfc3339_with_millis() {
        let time = UNIX_EPOCH + Duration::from_millis(1_764_086_817_123);
        assert_eq!(rfc3339_millis(time), "2025-11-25T16:06:57.123Z");
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_millis(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn the_ring_drops_the_oldest_and_keeps_sequence_numbers() {
        let journal = Journal::new(3);
        for name in ["a", "b", "a", "b", "a"] {
            journal.push(call(name));
        }
        let (calls, next) = journal.since(0, None, usize::MAX);
        assert_eq!(
            calls.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        assert_eq!(next, 5);
        let (calls, next) = journal.since(3, Some("a"), usize::MAX);
        assert_eq!(calls.len(), 1);
        assert_eq!(next, 5);
        let (calls, next) = journal.since(5, None, usize::MAX);
        assert!(calls.is_empty());
        assert_eq!(next, 5);
        let (calls, next) = journal.since(0, None, 1);
        assert_eq!(calls.len(), 1);
        assert_eq!(next, 3);
    }

    #[test]
    fn traceparents_have_the_w3c_shape() {
        let value = new_traceparent();
        let parts: Vec<_> = value.as_str().split('-').collect();
        assert_eq!(parts.len(), 4, "{value:?}");
        assert_eq!(
            (parts[0], parts[1].len(), parts[2].len(), parts[3]),
            ("00", 32, 16, "01")
        );
        assert!(
            parts[1]
                .bytes()
                .chain(parts[2].bytes())
                .all(|b| b.is_ascii_hexdigit())
        );
        assert_ne!(new_traceparent().as_str(), value.as_str());
        let long = "x".repeat(100);
        assert_eq!(Text::new(&long).as_str(), long);
        assert_eq!(Text::new("/a?b=é").as_str(), "/a?b=é");
    }
}
