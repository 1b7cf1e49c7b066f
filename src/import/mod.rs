//! Importers: a manifest written from what a team already has (PRODUCT.md
//! 6.5). Each importer reads its format into a [`Draft`] and a [`Report`]
//! of what it could not carry over or had to change; [`Draft::render`]
//! writes the commented manifest. Nothing here prints or writes files: the
//! command (`src/cli/import.rs`) does, after validating the result with the
//! manifest's own loader.

pub mod compose;
mod health;
mod interpolate;
mod ports;
mod render;
mod words;

#[cfg(test)]
mod compose_tests;

use std::fmt;
use std::path::PathBuf;

pub use compose::{Request, import};

/// Why an import cannot be made: bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input file cannot be read. The cause is in the message.
    #[error("cannot read {}: {cause}", file.display())]
    Read {
        file: PathBuf,
        cause: std::io::Error,
    },
    /// The input is not what the format allows: where, what, and the fix.
    #[error("{}", render_input(file, *line, message, help.as_deref()))]
    Input {
        file: PathBuf,
        /// 1-based line and column, when known.
        line: Option<(usize, usize)>,
        message: String,
        help: Option<String>,
    },
}

fn render_input(
    file: &std::path::Path,
    at: Option<(usize, usize)>,
    message: &str,
    help: Option<&str>,
) -> String {
    let mut text = match at {
        Some((line, column)) => format!("{}:{line}:{column}: {message}", file.display()),
        None => format!("{}: {message}", file.display()),
    };
    if let Some(help) = help {
        text.push_str("\n  help: ");
        text.push_str(help);
    }
    text
}

/// What an import left out or changed, each with where it was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub items: Vec<Item>,
}

/// One line of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// 1-based line in the input file.
    pub line: Option<usize>,
    /// The input's name for the entry it is about (a Compose service).
    pub entry: Option<String>,
    pub kind: ItemKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ItemKind {
    /// Written in the input, absent from the manifest.
    NotCarried,
    /// Carried, but not as written (renamed, combined, rebased, filled in).
    Changed,
}

impl Report {
    pub fn add(
        &mut self,
        line: Option<usize>,
        entry: Option<&str>,
        kind: ItemKind,
        text: impl Into<String>,
    ) {
        self.items.push(Item {
            line,
            entry: entry.map(str::to_owned),
            kind,
            text: text.into(),
        });
    }

    pub fn not_carried(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.kind == ItemKind::NotCarried)
    }

    pub fn changed(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.kind == ItemKind::Changed)
    }

    /// The report for stderr: what was left out, then what changed, each
    /// as `FILE:LINE: ENTRY: text` in the input's order. What several
    /// entries share (a key merged from one anchor) is one line naming them.
    pub fn render(&self, file: &str) -> String {
        let mut out = String::new();
        for (kind, title) in [
            (
                ItemKind::NotCarried,
                "not carried over (a manifest has no equivalent):",
            ),
            (ItemKind::Changed, "changed on the way:"),
        ] {
            // (line, text) -> entries, in first-seen order.
            let mut groups: Vec<(Option<usize>, &str, Vec<&str>)> = Vec::new();
            for item in self.items.iter().filter(|i| i.kind == kind) {
                let entry = item.entry.as_deref();
                match groups
                    .iter_mut()
                    .find(|(line, text, _)| *line == item.line && *text == item.text)
                {
                    Some((_, _, entries)) => entries.extend(entry),
                    None => groups.push((item.line, &item.text, entry.into_iter().collect())),
                }
            }
            if groups.is_empty() {
                continue;
            }
            groups.sort_by_key(|(line, _, _)| line.unwrap_or(0));
            out.push_str(title);
            out.push('\n');
            for (line, text, entries) in groups {
                out.push_str("  ");
                out.push_str(file);
                if let Some(line) = line {
                    out.push_str(&format!(":{line}"));
                }
                out.push_str(": ");
                if !entries.is_empty() {
                    out.push_str(&entries_text(&entries));
                    out.push_str(": ");
                }
                out.push_str(text);
                out.push('\n');
            }
        }
        out
    }
}

/// `a`, `a, b`, or the first six and how many more.
fn entries_text(entries: &[&str]) -> String {
    const SHOWN: usize = 6;
    if entries.len() <= SHOWN + 1 {
        entries.join(", ")
    } else {
        format!(
            "{} and {} more",
            entries[..SHOWN].join(", "),
            entries.len() - SHOWN
        )
    }
}

/// A manifest about to be written, with the comments that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The input file's name, for the header.
    pub source: String,
    /// The importer, for the header: `compose`.
    pub importer: &'static str,
    pub name: Option<String>,
    pub service: DraftEntry,
    pub dependencies: Vec<DraftEntry>,
}

/// One entry of a [`Draft`]: a container, built or from an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftEntry {
    pub name: String,
    /// Comment lines written above the entry.
    pub comments: Vec<String>,
    pub source: DraftSource,
    /// A comment after the source (`build` or `image`).
    pub source_comment: Option<String>,
    pub command: Option<Vec<String>>,
    pub command_comment: Option<String>,
    pub env: Vec<(String, String)>,
    /// Name, container port, and a comment.
    pub ports: Vec<(String, u16, Option<String>)>,
    pub health: Option<DraftHealth>,
    pub health_comment: Option<String>,
    /// Comment lines written at the end of the entry.
    pub trailer: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftSource {
    Build {
        context: String,
        dockerfile: Option<String>,
        args: Vec<(String, String)>,
    },
    Image(String),
}

impl Default for DraftSource {
    fn default() -> Self {
        DraftSource::Image(String::new())
    }
}

/// A manifest's `health`: `http` (with `port`, `contains`) or `exec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftHealth {
    pub http: Option<String>,
    pub port: Option<String>,
    pub contains: Option<String>,
    pub exec: Option<Vec<String>>,
    /// A duration as the manifest writes it (`90s`).
    pub timeout: Option<String>,
}

impl fmt::Display for Draft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render::draft(self))
    }
}

/// A name as a manifest takes it, `[a-z][a-z0-9-]{0,39}`: lower-cased,
/// every run of other characters one `-`, a letter first (`s-` is put
/// before a leading digit), at most 40 characters. Empty for a name with no
/// letter or digit at all.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_matches('-').to_owned();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "s-");
    }
    out.truncate(40);
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_manifest_names() {
        assert_eq!(normalize("web"), "web");
        assert_eq!(normalize("My_Service.v2"), "my-service-v2");
        assert_eq!(normalize("snuba-api"), "snuba-api");
        assert_eq!(normalize("__db__"), "db");
        assert_eq!(normalize("1password"), "s-1password");
        assert_eq!(normalize("a--b"), "a-b");
        assert_eq!(normalize("___"), "");
        let long = normalize(&"x".repeat(50));
        assert_eq!(long.len(), 40);
        assert_eq!(normalize(&format!("{}_y", "a".repeat(39))), "a".repeat(39));
        for name in ["web", "my-service-v2", "s-1password"] {
            assert!(crate::manifest::is_valid_name(name));
        }
    }

    #[test]
    fn the_report_lists_by_line_under_two_headings() {
        let mut report = Report::default();
        report.add(Some(9), Some("web"), ItemKind::NotCarried, "volumes");
        report.add(Some(3), Some("db"), ItemKind::NotCarried, "restart");
        report.add(Some(5), None, ItemKind::Changed, "renamed");
        report.add(None, None, ItemKind::NotCarried, "networks");
        report.add(Some(3), Some("cache"), ItemKind::NotCarried, "restart");
        let text = report.render("compose.yaml");
        assert_eq!(
            text,
            "not carried over (a manifest has no equivalent):\n  compose.yaml: networks\n  compose.yaml:3: db, cache: restart\n  compose.yaml:9: web: volumes\nchanged on the way:\n  compose.yaml:5: renamed\n"
        );
        let many: Vec<String> = (1..=9).map(|i| format!("s{i}")).collect();
        let names: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(entries_text(&names), "s1, s2, s3, s4, s5, s6 and 3 more");
        assert_eq!(entries_text(&names[..7]), "s1, s2, s3, s4, s5, s6, s7");
        assert_eq!(report.not_carried().count(), 4);
        assert_eq!(report.changed().count(), 1);
    }
}
