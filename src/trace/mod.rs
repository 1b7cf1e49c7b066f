//! Traces: the spans the services send over OTLP/HTTP and one span per call
//! through the agent, kept in a bounded ring of the most recent
//! [`CAPACITY`] spans and merged by trace id when read (`GET /traces`,
//! `GET /traces/{id}` on the registry).
//!
//! The agent process has one store ([`store`]); appending is a short mutex
//! push, grouping and formatting happen only when read.

pub mod otlp;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::agent::journal::{Text, rfc3339_millis};

/// The most spans kept; the oldest are dropped first.
pub const CAPACITY: usize = 50_000;

/// The most traces `GET /traces` lists.
pub const LIST_LIMIT: usize = 200;

/// One span, from OTLP or from a call through the agent.
#[derive(Debug, Clone)]
pub struct Span {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent: Option<[u8; 8]>,
    /// The entry that made it: OTLP's `service.name`, or the dependency the
    /// agent answered for.
    pub entry: Cow<'static, str>,
    pub name: String,
    pub kind: &'static str,
    pub start_ns: u64,
    pub end_ns: u64,
    /// `unset`, `ok` or `error`.
    pub status: &'static str,
    pub attributes: Vec<(Cow<'static, str>, Value)>,
}

/// The ring of recent spans.
#[derive(Debug)]
pub struct Store {
    ring: Mutex<VecDeque<Span>>,
    capacity: usize,
}

/// The process's store.
pub fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| Store::new(CAPACITY))
}

impl Store {
    pub fn new(capacity: usize) -> Store {
        Store {
            ring: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
        }
    }

    /// Appends spans, dropping the oldest beyond the capacity.
    pub fn extend(&self, spans: impl IntoIterator<Item = Span>) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        for span in spans {
            if ring.len() >= self.capacity {
                ring.pop_front();
            }
            ring.push_back(span);
        }
    }

    pub fn len(&self) -> usize {
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `{"traces": [...]}`: the most recent traces first.
    pub fn list(&self, limit: usize) -> Value {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        // Each trace's spans (indexes into the ring) and the position of its
        // newest span.
        let mut by_trace: HashMap<[u8; 16], (usize, Vec<usize>)> = HashMap::new();
        for (index, span) in ring.iter().enumerate() {
            let (last, members) = by_trace.entry(span.trace_id).or_default();
            *last = index;
            members.push(index);
        }
        let mut traces: Vec<(u64, usize, Value)> = by_trace
            .into_iter()
            .map(|(id, (last, members))| {
                let spans: Vec<&Span> = members.iter().map(|&i| &ring[i]).collect();
                let start = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
                let end = spans.iter().map(|s| s.end_ns).max().unwrap_or(0);
                // The root: the earliest span whose parent is not in the trace.
                let ids: HashSet<[u8; 8]> = spans.iter().map(|s| s.span_id).collect();
                let root = spans
                    .iter()
                    .filter(|s| s.parent.is_none_or(|p| !ids.contains(&p)))
                    .min_by_key(|s| s.start_ns)
                    .map(|s| format!("{}: {}", s.entry, s.name));
                let mut entries: Vec<&str> = Vec::new();
                for span in &spans {
                    if !entries.contains(&span.entry.as_ref()) {
                        entries.push(&span.entry);
                    }
                }
                let doc = json!({
                    "trace_id": hex(&id),
                    "root": root,
                    "start": time(start),
                    "duration_ms": millis(end.saturating_sub(start)),
                    "spans": spans.len(),
                    "entries": entries,
                    "error": spans.iter().any(|s| s.status == "error"),
                });
                (start, last, doc)
            })
            .collect();
        drop(ring);
        traces.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let list: Vec<Value> = traces
            .into_iter()
            .take(limit)
            .map(|(_, _, doc)| doc)
            .collect();
        json!({ "traces": list })
    }

    /// `{"trace_id", "spans": [...]}` oldest first, or `None` when no span of
    /// the trace is kept.
    pub fn trace(&self, id: &str) -> Option<Value> {
        let trace_id: [u8; 16] = parse_hex(id)?;
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let mut spans: Vec<Span> = ring
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect();
        drop(ring);
        if spans.is_empty() {
            return None;
        }
        spans.sort_by_key(|s| s.start_ns);
        let spans: Vec<Value> = spans
            .iter()
            .map(|s| {
                let attributes: Map<String, Value> = s
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                json!({
                    "span_id": hex(&s.span_id),
                    "parent_span_id": s.parent.map(|p| hex(&p)),
                    "entry": s.entry,
                    "name": s.name,
                    "kind": s.kind,
                    "start": time(s.start_ns),
                    "duration_ms": millis(s.end_ns.saturating_sub(s.start_ns)),
                    "status": s.status,
                    "attributes": attributes,
                })
            })
            .collect();
        Some(json!({ "trace_id": hex(&trace_id), "spans": spans }))
    }
}

/// The `traceparent` the agent sends on for a call that came with
/// `incoming` (the caller's, if any): the same trace, with the agent's own
/// span id, so that what the upstream does is a child of the agent's span.
/// Returns it and the caller's span id (the parent of the agent's span).
pub fn child_of(incoming: Option<&[u8]>) -> (Text, Option<[u8; 8]>) {
    let fresh = crate::agent::journal::new_traceparent();
    let Some((trace, parent, flags)) = incoming.and_then(parse_traceparent) else {
        return (fresh, None);
    };
    let span = &fresh.as_str()[36..52];
    let text = format!("00-{}-{span}-{flags}", hex(&trace));
    (Text::new(&text), Some(parent))
}

/// The trace id, parent id and flags of a version-00 `traceparent`.
fn parse_traceparent(value: &[u8]) -> Option<([u8; 16], [u8; 8], &str)> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let mut parts = text.split('-');
    let (_version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if flags.len() != 2 {
        return None;
    }
    let trace: [u8; 16] = parse_hex(trace)?;
    let span: [u8; 8] = parse_hex(span)?;
    if trace == [0; 16] || span == [0; 8] {
        return None;
    }
    Some((trace, span, flags))
}

/// What the agent knows of one call it answered.
pub struct AgentCall<'a> {
    pub traceparent: &'a Text,
    pub parent: Option<[u8; 8]>,
    pub dependency: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub time: SystemTime,
    pub duration: Duration,
    pub caller: &'static str,
    pub fault: Option<&'static str>,
    pub limited: Option<&'static str>,
}

/// Keeps the span of a call through the agent.
pub fn record_call(call: AgentCall<'_>) {
    let Some((trace_id, span_id, _)) = parse_traceparent(call.traceparent.as_str().as_bytes())
    else {
        return;
    };
    let start_ns = nanos(call.time);
    let path = call.path.split('?').next().unwrap_or(call.path);
    let mut attributes: Vec<(Cow<'static, str>, Value)> = vec![
        ("http.request.method".into(), call.method.into()),
        ("url.path".into(), path.into()),
        ("http.response.status_code".into(), call.status.into()),
        ("sandbox.caller".into(), call.caller.into()),
    ];
    if let Some(fault) = call.fault {
        attributes.push(("sandbox.fault".into(), fault.into()));
    }
    if let Some(limited) = call.limited {
        attributes.push(("sandbox.limited".into(), limited.into()));
    }
    store().extend([Span {
        trace_id,
        span_id,
        parent: call.parent,
        entry: Cow::Owned(call.dependency.to_owned()),
        name: format!("{} {path}", call.method),
        kind: "server",
        start_ns,
        end_ns: start_ns + call.duration.as_nanos() as u64,
        status: if call.status == 0 || call.status >= 500 {
            "error"
        } else {
            "unset"
        },
        attributes,
    }]);
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn time(ns: u64) -> String {
    rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(ns))
}

fn millis(ns: u64) -> f64 {
    (ns as f64 / 1_000.0).round() / 1_000.0
}

pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
    out
}

pub fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != N * 2 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; N];
    for (i, pair) in text.chunks(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u8, id: u8, parent: Option<u8>, start: u64, status: &'static str) -> Span {
        Span {
            trace_id: [trace; 16],
            span_id: [id; 8],
            parent: parent.map(|p| [p; 8]),
            entry: Cow::Borrowed(if id % 2 == 0 { "orders" } else { "payments" }),
            name: format!("span {id}"),
            kind: "server",
            start_ns: start,
            end_ns: start + 2_000_000,
            status,
            attributes: vec![],
        }
    }

    #[test]
    fn traces_are_merged_by_id_with_their_root_and_errors() {
        let store = Store::new(10);
        store.extend([
            span(1, 3, Some(2), 1_500_000, "error"),
            span(1, 2, None, 1_000_000, "unset"),
            span(2, 4, Some(9), 5_000_000, "ok"),
        ]);
        let list = store.list(10);
        let traces = list["traces"].as_array().unwrap();
        assert_eq!(traces.len(), 2);
        assert_eq!(traces[0]["trace_id"], hex(&[2; 16]));
        assert_eq!(traces[1]["root"], "orders: span 2");
        assert_eq!(traces[1]["spans"], 2);
        assert_eq!(traces[1]["error"], true);
        assert_eq!(traces[1]["entries"], json!(["payments", "orders"]));
        assert_eq!(traces[1]["duration_ms"], 2.5);
        let one = store.trace(&hex(&[1; 16])).unwrap();
        assert_eq!(one["spans"][0]["span_id"], hex(&[2; 8]));
        assert_eq!(one["spans"][1]["parent_span_id"], hex(&[2; 8]));
        assert!(store.trace(&hex(&[7; 16])).is_none());
        assert!(store.trace("nothex").is_none());
    }

    #[test]
    fn the_ring_keeps_the_most_recent_spans() {
        let store = Store::new(3);
        store.extend((0..5).map(|i| span(i, i, None, u64::from(i), "unset")));
        assert_eq!(store.len(), 3);
        assert!(store.trace(&hex(&[1; 16])).is_none());
        assert!(store.trace(&hex(&[4; 16])).is_some());
    }

    #[test]
    fn the_agent_span_is_the_child_of_the_caller_and_parent_of_upstream() {
        let caller = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let (next, parent) = child_of(Some(caller));
        assert_eq!(parent, Some(parse_hex("b7ad6b7169203331").unwrap()));
        let next = next.as_str();
        assert!(next.starts_with("00-0af7651916cd43dd8448eb211c80319c-"));
        assert!(next.ends_with("-01"));
        assert_ne!(&next[36..52], "b7ad6b7169203331");
        let (fresh, none) = child_of(Some(b"garbage"));
        assert!(none.is_none());
        assert_eq!(fresh.as_str().len(), 55);
    }
}
