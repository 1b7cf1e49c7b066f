//! The one line `up --watch` prints per change: what changed, what was
//! done, how long it took (PRODUCT.md 6.2). Pure, so tests can pin it.

use std::time::Duration;

/// What changed: files under one rule of one entry, or the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    /// The entry; `None` for the manifest (and the files read with it).
    pub entry: Option<String>,
    /// Where the rule watches, relative to the manifest's folder.
    pub rule: String,
    /// The changed files, relative to the manifest's folder.
    pub files: Vec<String>,
}

/// What was done about a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// `rebuild`: the image was built (or found built) and the container
    /// replaced when the image differs.
    Rebuilt {
        built: bool,
        replaced: bool,
        /// The entry's new host URL, when it moved.
        url: Option<String>,
    },
    /// The manifest was applied again.
    Reapplied {
        replaced: Vec<String>,
        removed: Vec<String>,
    },
    /// `sync`: files copied into the running container.
    Synced {
        target: String,
        copied: usize,
        deleted: usize,
        /// Deletions that could not be made (the image has no `rm`).
        not_deleted: usize,
    },
    Restarted {
        url: Option<String>,
    },
    /// Nothing was changed; the message says why.
    Failed {
        what: String,
    },
}

/// The change line.
pub fn line(changed: &Changed, done: &Done, took: Duration) -> String {
    let what = match &changed.entry {
        None => match changed.files.as_slice() {
            [] => format!("{} changed", changed.rule),
            [one] => format!("{one} changed"),
            [first, rest @ ..] => format!("{first} and {} more changed", rest.len()),
        },
        Some(entry) => {
            let n = changed.files.len();
            let first = changed.files.first().map(String::as_str).unwrap_or("");
            format!(
                "{entry}: {n} file{} changed in {} ({first}{})",
                if n == 1 { "" } else { "s" },
                changed.rule,
                if n > 1 { ", ..." } else { "" }
            )
        }
    };
    let took = format!("{:.2}s", took.as_secs_f64());
    let done = match done {
        Done::Rebuilt {
            built,
            replaced,
            url,
        } => {
            let text = match (built, replaced) {
                (true, true) => format!("rebuilt and replaced in {took}"),
                (false, true) => format!("replaced (image from cache) in {took}"),
                (true, false) => format!("rebuilt in {took}; the container is unchanged"),
                (false, false) => format!("nothing to do: it runs this image already ({took})"),
            };
            with_url(text, url)
        }
        Done::Reapplied { replaced, removed } => {
            let mut parts = Vec::new();
            if !replaced.is_empty() {
                parts.push(format!("started {}", replaced.join(", ")));
            }
            if !removed.is_empty() {
                parts.push(format!("removed {}", removed.join(", ")));
            }
            if parts.is_empty() {
                format!("re-applied in {took}: nothing to change")
            } else {
                format!("re-applied in {took}: {}", parts.join("; "))
            }
        }
        Done::Synced {
            target,
            copied,
            deleted,
            not_deleted,
        } => {
            let mut text = format!("synced to {target} in {took}");
            let mut notes = Vec::new();
            if *copied > 0 && *deleted + *not_deleted > 0 {
                notes.push(format!("{copied} copied"));
            }
            if *deleted > 0 {
                notes.push(format!("{deleted} deleted"));
            }
            if *not_deleted > 0 {
                notes.push(format!(
                    "{not_deleted} deletion{} not synced: the image has no `rm`",
                    if *not_deleted == 1 { "" } else { "s" }
                ));
            }
            if !notes.is_empty() {
                text.push_str(&format!(" ({})", notes.join(", ")));
            }
            text
        }
        Done::Restarted { url } => with_url(format!("restarted in {took}"), url),
        Done::Failed { what } => format!("{what} ({took})"),
    };
    format!("{what} -> {done}")
}

fn with_url(text: String, url: &Option<String>) -> String {
    match url {
        Some(url) => format!("{text}; now at {url}"),
        None => text,
    }
}

/// The lines of an error under a change line, indented.
pub fn error_lines(message: &str) -> String {
    message
        .lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(files: &[&str]) -> Changed {
        Changed {
            entry: Some("orders".into()),
            rule: "orders/src".into(),
            files: files.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn a_change_is_one_line_saying_what_what_was_done_and_how_long() {
        let took = Duration::from_millis(1820);
        assert_eq!(
            line(
                &changed(&["orders/src/a.rs", "orders/src/b.rs", "orders/src/c.rs"]),
                &Done::Rebuilt {
                    built: true,
                    replaced: true,
                    url: Some("http://127.0.0.1:49200".into())
                },
                took
            ),
            "orders: 3 files changed in orders/src (orders/src/a.rs, ...) -> rebuilt and replaced in 1.82s; now at http://127.0.0.1:49200"
        );
        assert_eq!(
            line(
                &changed(&["orders/src/a.rs"]),
                &Done::Synced {
                    target: "/app".into(),
                    copied: 0,
                    deleted: 0,
                    not_deleted: 1
                },
                Duration::from_millis(40)
            ),
            "orders: 1 file changed in orders/src (orders/src/a.rs) -> synced to /app in 0.04s (1 deletion not synced: the image has no `rm`)"
        );
        assert_eq!(
            line(
                &Changed {
                    entry: None,
                    rule: "sandbox.yaml".into(),
                    files: vec!["sandbox.yaml".into()]
                },
                &Done::Reapplied {
                    replaced: vec!["web".into()],
                    removed: vec![]
                },
                took
            ),
            "sandbox.yaml changed -> re-applied in 1.82s: started web"
        );
        assert_eq!(
            line(
                &changed(&["orders/src/a.rs"]),
                &Done::Failed {
                    what: "build failed; orders keeps running as it was".into()
                },
                took
            ),
            "orders: 1 file changed in orders/src (orders/src/a.rs) -> build failed; orders keeps running as it was (1.82s)"
        );
        assert_eq!(error_lines("a\nb"), "  a\n  b");
    }
}
