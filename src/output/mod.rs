//! Renderers and the only writers of stdout and stderr: progress on stderr
//! (indicatif on a terminal, plain lines otherwise), tables and JSON
//! documents on stdout. The table renderers are pure functions; the writers
//! are in [`stdio`] and re-exported here (`output::print`, `output::println`,
//! `output::print_json`, `output::eprintln`, ...). Nothing else in the crate
//! calls `println!`, `print!` or `eprintln!` (the agent, which writes its own
//! log inside its container, excepted).
//!
//! When a write fails:
//! - stdout closed by its reader (EPIPE: `sandbox status --json | head -c1`):
//!   the write returns [`Error::StdoutClosed`](crate::Error::StdoutClosed);
//!   the command stops writing (and following), and exits 0 with nothing on
//!   stderr, as ripgrep does: the reader asked for no more, that is not a
//!   failure.
//! - any other stdout failure (ENOSPC on `> /dev/full`, EIO):
//!   [`Error::Stdout`](crate::Error::Stdout), printed as
//!   `error: cannot write to stdout: No space left on device`, exit 1: the
//!   output the user asked for is lost, and a script must know.
//! - stderr closed or full: the diagnostic is dropped and the command goes
//!   on; its exit status still tells the outcome. Nothing here panics
//!   (`println!` and `eprintln!` do), so a release build (`panic = "abort"`)
//!   never exits 134 because of its output.
//!
//! Every stdout write is flushed at once, so the error surfaces at the write
//! that failed, not at exit.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::runner::status::StatusDoc;
use crate::runner::{Event, Reporter, ServedState};

pub mod attach;
pub mod stdio;

pub use attach::Attach;

pub use stdio::{
    describe_io, eprint, eprintln, one_line, print, print_bytes, print_json, print_json_line,
    println, report,
};

/// A table with aligned columns; empty cells print as `-`.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len().max(1));
        }
    }
    let mut text = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let cell = if cell.is_empty() { "-" } else { cell };
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        text.push_str(out.trim_end());
        text.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    text
}

/// The table `up` and `status` print.
pub fn status_table(doc: &StatusDoc) -> String {
    let rows: Vec<Vec<String>> = doc
        .entries
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                e.role.clone(),
                e.kind.clone(),
                e.state.clone(),
                e.health.clone(),
                e.host_url.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = table(&["NAME", "ROLE", "KIND", "STATE", "HEALTH", "URL"], &rows);
    for entry in &doc.entries {
        if let Some(address) = &entry.debug {
            text.push_str(&format!(
                "{}: debug mode, debugger port {address}\n",
                entry.name
            ));
        }
        for (what, value) in [("limits", &entry.limits), ("faults", &entry.faults)] {
            if let Some(serde_json::Value::Object(map)) = value {
                let pairs: Vec<String> = map
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| {
                        format!(
                            "{k}: {}",
                            v.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| v.to_string())
                        )
                    })
                    .collect();
                text.push_str(&format!("{}: {what} {}\n", entry.name, pairs.join(", ")));
            }
        }
    }
    text.push_str(&format!(
        "\nregistry: {}\n",
        doc.registry_url.as_deref().unwrap_or("not running")
    ));
    if let Some(url) = &doc.registry_url {
        text.push_str(&format!("dashboard: {url}/\n"));
    }
    text
}

/// Shows `up` progress on stderr.
pub enum Progress {
    /// Spinners, one per entry, on a terminal.
    Bars {
        multi: MultiProgress,
        bars: Mutex<Vec<(String, ProgressBar)>>,
    },
    /// One line per event.
    Lines,
    /// Nothing: for callers that print their own result only (`debug --json`).
    Quiet,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            Progress::Bars {
                multi: MultiProgress::new(),
                bars: Mutex::new(Vec::new()),
            }
        } else {
            Progress::Lines
        }
    }

    fn bar(&self, entry: &str) -> Option<ProgressBar> {
        let Progress::Bars { multi, bars } = self else {
            return None;
        };
        let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, bar)) = bars.iter().find(|(name, _)| name == entry) {
            return Some(bar.clone());
        }
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(entry.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        bars.push((entry.to_owned(), bar.clone()));
        Some(bar)
    }

    /// Clears the spinners before the final output.
    pub fn finish(&self) {
        if let Progress::Bars { bars, .. } = self {
            for (_, bar) in bars.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                if !bar.is_finished() {
                    bar.finish();
                }
            }
        }
    }
}

/// The text of an event, as `(entry, message, done)`.
pub fn describe(event: &Event) -> (String, String, bool) {
    match event {
        Event::ImageBuilding { entry } => (entry.clone(), "building image".into(), false),
        Event::ImageBuilt { entry, cached } => (
            entry.clone(),
            if *cached {
                "image up to date".into()
            } else {
                "image built".into()
            },
            false,
        ),
        Event::ImagePulling { entry, status } => {
            (entry.clone(), format!("pulling: {status}"), false)
        }
        Event::NetworkCreated { name } => ("network".into(), format!("created {name}"), true),
        Event::EntryKept { entry } => (entry.clone(), "unchanged, kept running".into(), false),
        Event::EntryRemoved { entry } => (entry.clone(), "removed".into(), true),
        Event::EntryStarted { entry } => {
            (entry.clone(), "started, waiting for health".into(), false)
        }
        Event::EntryHealthy { entry, after } => (
            entry.clone(),
            format!("healthy after {:.1}s", after.as_secs_f64()),
            true,
        ),
        Event::ProbeFailed { entry, reason } => {
            (entry.clone(), format!("not ready: {reason}"), false)
        }
        Event::Served { entry, kind, state } => match state {
            ServedState::Waiting => (
                entry.clone(),
                format!("{kind} served by the agent, waiting for it"),
                false,
            ),
            ServedState::Healthy(after) => (
                entry.clone(),
                format!(
                    "{kind} served by the agent, healthy after {:.1}s",
                    after.as_secs_f64()
                ),
                true,
            ),
        },
        Event::Forwarder { entry, ready } => match ready {
            None => (
                entry.clone(),
                "runs on the host; its forwarder started".into(),
                false,
            ),
            Some(after) => (
                entry.clone(),
                format!(
                    "runs on the host; forwarder ready after {:.1}s, the process comes next",
                    after.as_secs_f64()
                ),
                true,
            ),
        },
        Event::Warning { message } => ("warning".into(), message.clone(), true),
        Event::LockWaiting { holder } => (
            "sandbox".into(),
            format!("waiting: another `sandbox up` of this sandbox is at work ({holder})"),
            false,
        ),
    }
}

impl Reporter for Progress {
    fn event(&self, event: Event) {
        let (entry, message, done) = describe(&event);
        match self {
            // Waiting for another `up` is said even when progress is not.
            Progress::Quiet
                if matches!(event, Event::LockWaiting { .. } | Event::Warning { .. }) =>
            {
                eprintln!("{entry}: {message}")
            }
            Progress::Quiet => {}
            Progress::Lines => eprintln(&format!("{entry}: {message}")),
            Progress::Bars { .. } => {
                if let Some(bar) = self.bar(&entry) {
                    if done {
                        bar.finish_with_message(message);
                    } else {
                        bar.set_message(message);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_table_shows_entries_registry_and_what_is_in_force() {
        use crate::runner::status::{StatusDoc, StatusEntry};
        let entry = |name: &str, role: &str, kind: &str, url: Option<&str>| StatusEntry {
            name: name.into(),
            role: role.into(),
            kind: kind.into(),
            state: "running".into(),
            health: "up".into(),
            host_url: url.map(str::to_owned),
            ports: Default::default(),
            protocols: Default::default(),
            debug: None,
            limits: None,
            faults: None,
        };
        let mut payments = entry("payments", "dependency", "stub", Some("http://127.0.0.1:2"));
        payments.faults = Some(serde_json::json!({"latency": "200ms", "error_rate": 0.5}));
        let mut orders = entry("orders", "service", "build", Some("http://127.0.0.1:1"));
        orders.debug = Some("127.0.0.1:4".into());
        let doc = StatusDoc {
            sandbox: "shop".into(),
            registry_url: Some("http://127.0.0.1:3".into()),
            otlp_url: None,
            entries: vec![
                orders,
                payments,
                entry("worker", "dependency", "image", None),
            ],
            recording_errors: Vec::new(),
            engine: None,
        };
        insta::assert_snapshot!(status_table(&doc), @r"
        NAME      ROLE        KIND   STATE    HEALTH  URL
        orders    service     build  running  up      http://127.0.0.1:1
        payments  dependency  stub   running  up      http://127.0.0.1:2
        worker    dependency  image  running  up      -
        orders: debug mode, debugger port 127.0.0.1:4
        payments: faults error_rate: 0.5, latency: 200ms

        registry: http://127.0.0.1:3
        dashboard: http://127.0.0.1:3/
        ");
    }

    #[test]
    fn agent_served_dependencies_show_by_their_own_name_and_kind() {
        let waiting = Event::Served {
            entry: "payments".into(),
            kind: "stub".into(),
            state: ServedState::Waiting,
        };
        assert_eq!(
            describe(&waiting),
            (
                "payments".into(),
                "stub served by the agent, waiting for it".into(),
                false
            )
        );
        let healthy = Event::Served {
            entry: "inventory".into(),
            kind: "replay".into(),
            state: ServedState::Healthy(Duration::from_millis(420)),
        };
        assert_eq!(
            describe(&healthy),
            (
                "inventory".into(),
                "replay served by the agent, healthy after 0.4s".into(),
                true
            )
        );
    }

    #[test]
    fn tables_align_columns_and_mark_empty_cells() {
        let text = table(
            &["NAME", "URL"],
            &[
                vec!["orders".into(), "http://127.0.0.1:1".into()],
                vec!["db".into(), String::new()],
            ],
        );
        assert_eq!(text, "NAME    URL\norders  http://127.0.0.1:1\ndb      -\n");
    }
}
