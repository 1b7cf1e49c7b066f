//! `sandbox traces [TRACE_ID] [--json]`: the recent traces the registry
//! keeps (OTLP spans from the services merged with the agent's calls), or
//! one trace as a tree across entries.

use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::Globals;
use crate::health::http;
use crate::output;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct TracesArgs {
    #[command(flatten)]
    pub manifest: super::FileLong,
    /// Show this trace (32 hex digits) as a tree.
    pub trace_id: Option<String>,
    /// Print the registry's JSON (`/traces` or `/traces/{id}`).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(globals: &Globals, args: TracesArgs) -> Result<()> {
    if let Some(id) = &args.trace_id
        && crate::trace::parse_hex::<16>(&id.to_ascii_lowercase()).is_none()
    {
        return Err(Error::Usage(format!(
            "`{id}` is not a trace id: a trace id is 32 hex digits, as `sandbox traces` lists them"
        )));
    }
    let sandbox = globals.sandbox_name()?;
    let engine = super::connect().await?;
    let found = super::find_running(&engine, &sandbox).await?;
    let Some(registry) = found.registry_url() else {
        return Err(Error::Failed(format!(
            "sandbox `{sandbox}` has no registry published; restart it with `sandbox up`"
        )));
    };
    let url = match &args.trace_id {
        Some(id) => format!("{registry}/traces/{}", id.to_ascii_lowercase()),
        None => format!("{registry}/traces"),
    };
    let answer = http::request("GET", &url, &[], None, Duration::from_secs(5))
        .await
        .map_err(|e| {
            Error::Failed(format!(
                "cannot read traces from the registry at {url}: {e}"
            ))
        })?;
    if answer.status == 404 && args.trace_id.is_some() {
        return Err(Error::Failed(format!(
            "no span of trace {} is kept; `sandbox traces` lists the recent ones",
            args.trace_id.unwrap_or_default()
        )));
    }
    if answer.status != 200 {
        return Err(Error::Failed(format!(
            "the registry answered {} to GET {url}",
            answer.status
        )));
    }
    let doc: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| Error::Failed(format!("the registry's traces are not understood: {e}")))?;
    if args.json {
        return output::print_json(&doc);
    }
    match args.trace_id {
        Some(_) => output::print(&render_tree(&doc)),
        None => output::print(&render_list(&doc)),
    }
}

/// The recent traces as a table, newest first.
pub fn render_list(doc: &Value) -> String {
    let traces = doc["traces"].as_array().cloned().unwrap_or_default();
    if traces.is_empty() {
        return "no traces yet: calls through the agent and spans sent to the OTLP receiver appear here\n".into();
    }
    let rows: Vec<Vec<String>> = traces
        .iter()
        .map(|t| {
            vec![
                t["trace_id"].as_str().unwrap_or("").to_owned(),
                t["start"]
                    .as_str()
                    .map_or("", |s| &s[11..23.min(s.len())])
                    .to_owned(),
                format!("{:.1}ms", t["duration_ms"].as_f64().unwrap_or(0.0)),
                t["spans"].to_string(),
                if t["error"] == true { "ERROR" } else { "" }.to_owned(),
                t["root"].as_str().unwrap_or("").to_owned(),
            ]
        })
        .collect();
    output::table(
        &["TRACE", "START", "DURATION", "SPANS", "ERR", "ROOT"],
        &rows,
    )
}

/// One trace as a tree: each span under its parent, with its offset from
/// the trace's start, its duration and `ERROR` when it failed.
pub fn render_tree(doc: &Value) -> String {
    let spans = doc["spans"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = spans
        .iter()
        .map(|s| s["span_id"].as_str().unwrap_or(""))
        .collect();
    let start = |s: &Value| s["start"].as_str().unwrap_or("").to_owned();
    let first = spans.iter().map(start).min().unwrap_or_default();
    let offset_ms = |s: &Value| millis_between(&first, &start(s));
    let mut out = format!(
        "trace {}  ({} spans)\n",
        doc["trace_id"].as_str().unwrap_or(""),
        spans.len()
    );
    fn walk(
        out: &mut String,
        spans: &[Value],
        ids: &[&str],
        parent: Option<&str>,
        depth: usize,
        offset_ms: &dyn Fn(&Value) -> f64,
    ) {
        for span in spans {
            let own_parent = span["parent_span_id"].as_str();
            let is_child = match parent {
                Some(parent) => own_parent == Some(parent),
                None => own_parent.is_none_or(|p| !ids.contains(&p)),
            };
            if !is_child {
                continue;
            }
            let error = if span["status"] == "error" {
                "  ERROR"
            } else {
                ""
            };
            let code = span["attributes"]["http.response.status_code"]
                .as_u64()
                .map(|c| format!(" -> {c}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "{:indent$}{}: {}{code}  +{:.1}ms {:.1}ms{error}\n",
                "",
                span["entry"].as_str().unwrap_or(""),
                span["name"].as_str().unwrap_or(""),
                offset_ms(span),
                span["duration_ms"].as_f64().unwrap_or(0.0),
                indent = depth * 2
            ));
            if depth < 64
                && let Some(id) = span["span_id"].as_str()
            {
                walk(out, spans, ids, Some(id), depth + 1, offset_ms);
            }
        }
    }
    walk(&mut out, &spans, &ids, None, 0, &offset_ms);
    out
}

/// Milliseconds from one `YYYY-MM-DDTHH:MM:SS.mmmZ` to another of the same
/// day or the next.
fn millis_between(from: &str, to: &str) -> f64 {
    let ms = |t: &str| -> Option<f64> {
        let clock = t.get(11..23)?;
        let h: f64 = clock.get(0..2)?.parse().ok()?;
        let m: f64 = clock.get(3..5)?.parse().ok()?;
        let s: f64 = clock.get(6..12)?.parse().ok()?;
        Some(((h * 60.0 + m) * 60.0 + s) * 1000.0)
    };
    match (ms(from), ms(to)) {
        (Some(a), Some(b)) if b >= a => b - a,
        (Some(a), Some(b)) => b + 86_400_000.0 - a,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_trace_prints_as_a_tree_with_errors_marked() {
        let doc = json!({"trace_id": "ab", "spans": [
            {"span_id": "1", "parent_span_id": null, "entry": "orders", "name": "GET /orders",
             "kind": "server", "start": "2026-11-26T10:00:00.000Z", "duration_ms": 12.0,
             "status": "unset", "attributes": {}},
            {"span_id": "2", "parent_span_id": "1", "entry": "payments", "name": "GET /pay",
             "kind": "server", "start": "2026-11-26T10:00:00.004Z", "duration_ms": 3.0,
             "status": "error", "attributes": {"http.response.status_code": 503}},
        ]});
        assert_eq!(
            render_tree(&doc),
            "trace ab  (2 spans)\n\
             orders: GET /orders  +0.0ms 12.0ms\n  \
             payments: GET /pay -> 503  +4.0ms 3.0ms  ERROR\n"
        );
    }

    #[test]
    fn no_traces_says_where_they_come_from() {
        assert!(render_list(&json!({"traces": []})).starts_with("no traces yet"));
    }
}
