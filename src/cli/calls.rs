//! `sandbox calls`: the journal of every call through the agents, merged
//! across dependencies in time order.

use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};

use super::Globals;
use crate::agent::client::{self as agent_client, Recording};
use crate::health::http;
use crate::output;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct CallsArgs {
    #[command(flatten)]
    pub manifest: super::FileLong,
    /// Only calls to this dependency.
    pub dependency: Option<String>,
    /// Keep printing new calls.
    #[arg(short, long)]
    pub follow: bool,
    /// Print the journal as JSON.
    #[arg(long)]
    pub json: bool,
    /// Show whole times, paths and traceparents (lines may exceed 80 columns).
    #[arg(long, conflicts_with = "json")]
    pub wide: bool,
}

/// One journaled call (`sandbox calls --json`, PRODUCT.md section 5).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub time: String,
    pub dependency: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub duration_ms: f64,
    pub matched: Option<String>,
    pub traceparent: Option<String>,
    #[serde(default)]
    pub caller: Option<String>,
    #[serde(default)]
    pub limited: Option<String>,
    #[serde(default)]
    pub fault: Option<String>,
    /// A gRPC call's method (`pkg.Service/Method`) and status name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Page {
    calls: Vec<Call>,
    next: u64,
}

#[derive(Serialize)]
struct CallsDoc<'a> {
    calls: &'a [Call],
    /// Recordings that cannot be written: `{"dependency", "file", "error"}`.
    recording_errors: &'a [Recording],
}

/// Warns on stderr about each recording that cannot be written, once per
/// dependency and reason.
fn warn_recordings(failed: &[Recording], warned: &mut Vec<Recording>) {
    for recording in failed {
        if warned.contains(recording) {
            continue;
        }
        output::eprintln(&format!(
            "warning: recording {} cannot be written: {}",
            recording.file,
            recording.error.as_deref().unwrap_or("unknown reason")
        ));
        warned.push(recording.clone());
    }
}

/// The calls after `since` (per agent) from every agent, merged by time.
pub(crate) async fn fetch(
    agents: &[String],
    since: &mut [u64],
    dependency: Option<&str>,
) -> Result<Vec<Call>> {
    let mut calls = Vec::new();
    for (agent, since) in agents.iter().zip(since.iter_mut()) {
        let mut url = format!("{agent}/_sandbox/calls?since={since}");
        if let Some(dep) = dependency {
            url.push_str(&format!("&dependency={dep}"));
        }
        let answer = http::request("GET", &url, &[], None, Duration::from_secs(5))
            .await
            .map_err(|e| {
                Error::Failed(format!(
                    "cannot read the journal from the agent at {agent}: {e}"
                ))
            })?;
        let page: Page = serde_json::from_slice(&answer.body)
            .map_err(|e| Error::Failed(format!("the agent's journal is not understood: {e}")))?;
        *since = page.next;
        calls.extend(page.calls);
    }
    // RFC 3339 UTC times with the same precision sort as text.
    calls.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(calls)
}

pub async fn run(globals: &Globals, args: CallsArgs) -> Result<()> {
    super::follow_not_file("calls", args.follow, args.dependency.as_deref())?;
    let sandbox = globals.sandbox_name()?;
    let engine = super::connect().await?;
    let found = super::find_running(&engine, &sandbox).await?;
    if let Some(dep) = &args.dependency
        && found.container_of(dep).is_none()
    {
        return Err(Error::Usage(format!(
            "no dependency named `{dep}` in sandbox `{sandbox}`; see `sandbox status`"
        )));
    }
    let agents = found.admin_urls();
    let mut since = vec![0; agents.len()];
    let calls = fetch(&agents, &mut since, args.dependency.as_deref()).await?;
    let failed = agent_client::recording_errors(&agents).await;
    let mut warned = Vec::new();
    warn_recordings(&failed, &mut warned);
    if args.json && !args.follow {
        return output::print_json(&CallsDoc {
            calls: &calls,
            recording_errors: &failed,
        });
    }
    // Ctrl-C or SIGTERM ends `calls -f` (exit 130, quietly).
    let mut interrupted = globals.interrupted();
    if !args.json {
        output::print(&render_header(args.wide))?;
    }
    let mut batch = calls;
    loop {
        let mut text = String::new();
        for call in &batch {
            if args.json {
                // One JSON document per line when following.
                text.push_str(&serde_json::to_string(call).expect("calls serialize"));
                text.push('\n');
            } else {
                text.push_str(&render_call(call, args.wide));
            }
        }
        output::print(&text)?;
        if !args.follow {
            return Ok(());
        }
        let next = async {
            tokio::time::sleep(Duration::from_millis(250)).await;
            fetch(&agents, &mut since, args.dependency.as_deref()).await
        };
        batch = tokio::select! {
            batch = next => batch?,
            _ = interrupted.changed() => return Err(Error::Status(crate::error::exit::INTERRUPTED)),
        };
        warn_recordings(&agent_client::recording_errors(&agents).await, &mut warned);
    }
}

/// How wide a line of the journal is, unless `--wide`.
pub(crate) const NARROW: usize = 80;

fn render_header(wide: bool) -> String {
    if wide {
        format!(
            "{:<24} {:<14} {:<6} {:<32} {:>6} {:>9}  {}\n",
            "TIME", "DEPENDENCY", "METHOD", "PATH", "STATUS", "MS", "MATCHED"
        )
    } else {
        format!(
            "{:<8} {:<10} {:<6} {:<18} {:>4} {:>6} {:<8}  {}\n",
            "TIME", "DEPENDENCY", "METHOD", "PATH", "CODE", "MS", "TRACE", "MATCHED"
        )
    }
}

/// `text` in at most `width` characters, ending in `…` when cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The short form of what matched: `route 1: GET /x` -> `route 1`,
/// `interaction 3` -> `recorded 3`, `upstream http://...` -> `upstream`,
/// `target host:port` -> `target`.
fn short_match(matched: &str) -> String {
    let label = matched.split(": ").next().unwrap_or(matched);
    if let Some(n) = label.strip_prefix("interaction ") {
        format!("recorded {n}")
    } else if label.starts_with("upstream ") || label.starts_with("target ") {
        label.split(' ').next().unwrap_or(label).to_owned()
    } else {
        label.to_owned()
    }
}

/// The trace id of a W3C traceparent (`00-TRACEID-SPANID-FLAGS`), cut to its
/// first 8 hex digits: enough to tell the calls of one trace apart.
fn short_trace(traceparent: &str) -> String {
    let id = traceparent.split('-').nth(1).unwrap_or(traceparent);
    id.chars().take(8).collect()
}

/// One line of the human journal: at most 80 columns (the time of day, a
/// short trace id, long names and paths cut with `…`), or everything in
/// full when `wide`.
pub(crate) fn render_call(call: &Call, wide: bool) -> String {
    let mut notes = Vec::new();
    if let Some(status) = &call.grpc_status {
        notes.push(format!("grpc: {status}"));
    }
    if let Some(limited) = &call.limited {
        notes.push(format!("limited: {limited}"));
    }
    if let Some(fault) = &call.fault {
        notes.push(format!("fault: {fault}"));
    }
    if let Some(caller) = &call.caller {
        notes.push(format!("from {caller}"));
    }
    if wide && let Some(trace) = &call.traceparent {
        notes.push(trace.clone());
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("  ({})", notes.join(", "))
    };
    let matched = call.matched.as_deref().unwrap_or("UNMATCHED");
    // A gRPC call: its path is the method, its status in the notes.
    let method = match call.grpc_status {
        Some(_) => "gRPC",
        None => call.method.as_str(),
    };
    if wide {
        return format!(
            "{:<24} {:<14} {:<6} {:<32} {:>6} {:>9.1}  {matched}{notes}\n",
            call.time, call.dependency, method, call.path, call.status, call.duration_ms,
        );
    }
    // `2026-11-25T16:07:03.042Z` -> `16:07:03`: the date and the fraction
    // rarely matter within one sandbox's journal, whose lines are in order.
    let time = call
        .time
        .split_once('T')
        .map_or(call.time.as_str(), |(_, t)| t.trim_end_matches('Z'));
    let trace = call
        .traceparent
        .as_deref()
        .map_or_else(|| "-".to_owned(), short_trace);
    let mut line = format!(
        "{:<8} {:<10} {:<6} {:<18} {:>4} {:>6.1} {trace:<8}  ",
        time.chars().take(8).collect::<String>(),
        fit(&call.dependency, 10),
        fit(method, 6),
        fit(&call.path, 18),
        call.status,
        call.duration_ms,
    );
    // What matched, by a short label (`route 1`, `recorded 3`, `upstream`,
    // `target`): the rule itself is in `--wide` and `--json`. The columns
    // leave room for `UNMATCHED`, which is never cut.
    let label = short_match(matched);
    line.push_str(&fit(&label, NARROW.saturating_sub(line.chars().count())));
    // Notes only where they fit whole enough to read.
    let room = NARROW.saturating_sub(line.chars().count());
    if room >= notes.chars().count() {
        line.push_str(&notes);
    } else if room >= 8 {
        line.push_str(&fit(&notes, room));
    }
    format!("{line}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(path: &str, traceparent: Option<&str>) -> Call {
        Call {
            time: "2026-11-25T16:07:03.042Z".into(),
            dependency: "payments".into(),
            method: "POST".into(),
            path: path.into(),
            status: 201,
            duration_ms: 12.5,
            matched: Some("charge".into()),
            traceparent: traceparent.map(str::to_owned),
            caller: Some("orders".into()),
            limited: None,
            fault: None,
            grpc_method: None,
            grpc_status: None,
        }
    }

    const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn calls_fit_80_columns_unless_wide() {
        let long = call(
            "/v1/charges/ch_3N5xZ2LkdIwHu7ix0abcdef/refunds",
            Some(TRACE),
        );
        let line = render_call(&long, false);
        assert_eq!(
            line,
            "16:07:03 payments   POST   /v1/charges/ch_3N…  201   12.5 4bf92f35  charge\n"
        );
        // An unmatched call says so whole, and a rule shows by its label.
        let mut unmatched = long.clone();
        unmatched.matched = None;
        assert!(render_call(&unmatched, false).contains("  UNMATCHED"));
        let mut route = long.clone();
        route.matched = Some("route 1: GET /payments/{id}".into());
        assert!(render_call(&route, false).trim_end().ends_with("  route 1"));
        for (matched, label) in [
            ("interaction 12", "recorded 12"),
            ("upstream http://catalog.internal:8080", "upstream"),
            ("target postgres.origin:5432", "target"),
        ] {
            let mut other = long.clone();
            other.matched = Some(matched.into());
            let line = render_call(&other, false);
            assert!(line.trim_end().ends_with(label), "{line}");
            assert!(line.trim_end().chars().count() <= NARROW, "{line}");
        }
        assert!(line.trim_end().chars().count() <= NARROW, "{line}");
        assert!(render_header(false).trim_end().chars().count() <= NARROW);
        let mut short = call("/v1/charges", Some(TRACE));
        short.caller = None;
        assert_eq!(
            render_call(&short, false),
            "16:07:03 payments   POST   /v1/charges         201   12.5 4bf92f35  charge\n"
        );
        assert!(render_call(&short, false).trim_end().chars().count() <= NARROW);
        // --wide: everything, the whole traceparent included.
        let wide = render_call(&long, true);
        assert!(wide.contains(TRACE), "{wide}");
        assert!(wide.contains("/v1/charges/ch_3N5xZ2LkdIwHu7ix0abcdef/refunds"));
        assert!(wide.starts_with("2026-11-25T16:07:03.042Z"));
    }
}
