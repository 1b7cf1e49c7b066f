//! WireMock stub mappings (`stub: { wiremock: ./mappings }`, PRODUCT.md
//! 6.5): a folder of WireMock's JSON mapping files read at load time, every
//! mapping checked against what the agent can serve, and each turned into a
//! stub route ([`super::converted`]).
//!
//! The folder is found as WireMock's standalone layout has it:
//! - a root with a `mappings/` folder: mappings from `ROOT/mappings`, body
//!   files from `ROOT/__files`;
//! - else the folder holds the mappings itself, and body files are in its
//!   own `__files/` if there is one, else in a `__files/` beside it (the
//!   root layout seen from inside `mappings`).
//!
//! Every `.json` file below the mappings folder is read (other files are
//! skipped, as WireMock skips them), in name order, folders in place. A
//! file holds one mapping or `{"mappings": [...]}`. Precedence is
//! WireMock's: the lowest `priority` first (5 when not given), and among
//! equal priorities the mapping added last first. WireMock adds mappings in
//! the order its file system lists them, which it leaves undefined; here
//! that order is the name order, so a later file (and, in one file, a later
//! mapping) wins a tie.
//!
//! What the agent cannot serve (scenarios, proxying, faults, random delays,
//! webhooks, templating, XML and other matchers, a body file that is not
//! there, a regular expression or JSONPath it cannot run) is a problem named
//! with the file, its line and column, the JSON path and the fix; nothing is
//! skipped quietly.

mod mapping;

use std::cmp::Reverse;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::bounds::{self, MAX_NAMED_BYTES};
use super::tree::{self, At, Node};
use super::{Problem, Route};

/// WireMock's priority for a mapping that gives none.
pub const DEFAULT_PRIORITY: i64 = 5;
/// Folders below the mappings folder that are followed, at most.
const MAX_DEPTH: usize = 32;

/// What reading a mappings folder gave: the routes in precedence order,
/// or the problems; warnings either way.
#[derive(Debug, Default)]
pub struct Mappings {
    pub routes: Vec<Route>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// Where the mappings and the body files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub mappings: PathBuf,
    /// `__files`, when there is one.
    pub files: Option<PathBuf>,
}

/// Finds the layout of `folder` (see the module's notes). `base` is the
/// manifest's folder: a `__files` beside `folder` is taken only inside it.
pub fn layout(base: &Path, folder: &Path) -> Layout {
    let root_mappings = folder.join("mappings");
    if root_mappings.is_dir() {
        let files = folder.join("__files");
        return Layout {
            mappings: root_mappings,
            files: files.is_dir().then_some(files),
        };
    }
    let inside = folder.join("__files");
    let beside = folder
        .parent()
        .filter(|parent| parent.starts_with(base))
        .map(|parent| parent.join("__files"));
    let files = if inside.is_dir() {
        Some(inside)
    } else {
        beside.filter(|files| files.is_dir())
    };
    Layout {
        mappings: folder.to_path_buf(),
        files,
    }
}

/// Reads the mappings of `folder` (resolved, inside `base`, the manifest's
/// folder resolved). `shown` is how `folder` is shown in messages, e.g.
/// `wiremock` for the manifest's `wiremock: ./wiremock`.
pub fn read(base: &Path, folder: &Path, shown: &Path) -> Mappings {
    let layout = layout(base, folder);
    let mut reader = Reader {
        base: base.to_path_buf(),
        folder: folder.to_path_buf(),
        shown: shown.to_path_buf(),
        files: layout.files.clone(),
        budget: MAX_NAMED_BYTES,
        out: Mappings::default(),
    };
    let mut found = Vec::new();
    reader.list(&layout.mappings, 0, &mut found);
    let mut ordered: Vec<(i64, usize, Route)> = Vec::new();
    for file in &found {
        for (priority, route) in reader.file(file) {
            let index = ordered.len();
            ordered.push((priority, index, route));
        }
    }
    if found.is_empty() && reader.out.problems.is_empty() {
        let mappings = reader.show(&layout.mappings);
        reader.out.warnings.push(Problem {
            file: mappings.clone(),
            at: None,
            message: format!("`{}` has no mapping files (`*.json`)", mappings.display()),
            help: Some(
                "put WireMock mappings there, or a `mappings/` folder beside a `__files/` one"
                    .into(),
            ),
        });
    }
    // WireMock's order: priority, then the mapping added last first.
    ordered.sort_by_key(|(priority, index, _)| (*priority, Reverse(*index)));
    if reader.out.problems.is_empty() {
        reader.out.routes = ordered.into_iter().map(|(_, _, route)| route).collect();
    }
    reader.out
}

struct Reader {
    /// The manifest's folder, resolved.
    base: PathBuf,
    /// The folder the manifest names, resolved, and as shown.
    folder: PathBuf,
    shown: PathBuf,
    files: Option<PathBuf>,
    /// Bytes that may still be read: mapping files and body files together
    /// are bounded like one file a manifest names.
    budget: u64,
    out: Mappings,
}

impl Reader {
    /// A path below the named folder as the user would write it.
    fn show(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.folder) {
            Ok(rest) => self.shown.join(rest),
            Err(_) => match path.strip_prefix(&self.base) {
                Ok(rest) => rest.to_path_buf(),
                Err(_) => path.to_path_buf(),
            },
        }
    }

    fn problem(&mut self, file: &Path, at: Option<At>, message: String, help: Option<String>) {
        let file = self.show(file);
        self.out.problems.push(Problem {
            file,
            at,
            message,
            help,
        });
    }

    /// The `.json` files below `dir`, in name order, folders in place; the
    /// `__files` folder is not among them.
    fn list(&mut self, dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
        if depth > MAX_DEPTH {
            self.problem(
                dir,
                None,
                format!("folders nest deeper than {MAX_DEPTH} levels here"),
                Some("a symbolic link may loop; flatten the folders".into()),
            );
            return;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                self.problem(dir, None, format!("cannot list the folder: {error}"), None);
                return;
            }
        };
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for path in names {
            if self.files.as_deref() == Some(path.as_path()) {
                continue;
            }
            let real = match path.canonicalize() {
                Ok(real) => real,
                Err(error) => {
                    self.problem(
                        &path,
                        None,
                        format!("cannot be resolved: {error}"),
                        Some("a symbolic link on the way is broken or loops".into()),
                    );
                    continue;
                }
            };
            if !real.starts_with(&self.base) {
                self.problem(
                    &path,
                    None,
                    "leaves the manifest's folder through a symbolic link".into(),
                    Some(format!("it resolves to {}", real.display())),
                );
                continue;
            }
            if real.is_dir() {
                self.list(&path, depth + 1, found);
            } else if path.extension().is_some_and(|e| e == "json") && real.is_file() {
                found.push(path);
            }
        }
    }

    /// Reads at most what the budget allows of a file, or says why not.
    fn bytes(&mut self, path: &Path, what: &str) -> Result<Vec<u8>, (String, Option<String>)> {
        let file = std::fs::File::open(path)
            .map_err(|error| (format!("cannot read {what}: {error}"), None))?;
        let declared = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut bytes = Vec::new();
        if declared <= self.budget {
            file.take(self.budget + 1)
                .read_to_end(&mut bytes)
                .map_err(|error| (format!("cannot read {what}: {error}"), None))?;
        }
        let length = declared.max(bytes.len() as u64);
        if length > self.budget {
            return Err((
                format!(
                    "{what} takes the mappings past {} MiB; the files of a mappings folder (mappings and the bodies they answer with) may be at most {} MiB together",
                    MAX_NAMED_BYTES >> 20,
                    MAX_NAMED_BYTES >> 20
                ),
                Some("split the stub into several dependencies, or serve smaller bodies".into()),
            ));
        }
        self.budget -= length;
        Ok(bytes)
    }

    /// The routes of one mapping file, each with its priority.
    fn file(&mut self, path: &Path) -> Vec<(i64, Route)> {
        let bytes = match self.bytes(path, "the mapping file") {
            Ok(bytes) => bytes,
            Err((message, help)) => {
                self.problem(path, None, message, help);
                return Vec::new();
            }
        };
        let text = match bounds::text(bytes, "the mapping file") {
            Ok(text) => text,
            Err(error) => {
                self.problem(path, Some(error.at), error.message, error.help);
                return Vec::new();
            }
        };
        let value: Value = match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(error) => {
                let message = error.to_string();
                let message = match message.rfind(" at line ") {
                    Some(index) => message[..index].to_owned(),
                    None => message,
                };
                self.problem(
                    path,
                    Some((error.line().max(1), error.column().max(1))),
                    format!("not JSON: {message}"),
                    Some(
                        "a mapping file is a JSON object with `request` and `response`, or `{\"mappings\": [...]}`"
                            .into(),
                    ),
                );
                return Vec::new();
            }
        };
        let raw = raw_json_bodies(&text);
        // Named relative to the manifest's folder: the journal and the
        // agent's answers say the same wherever the manifest was named from.
        let source = path
            .strip_prefix(&self.base)
            .unwrap_or(path)
            .display()
            .to_string();
        let mut context = mapping::Context {
            issues: Vec::new(),
            warnings: Vec::new(),
            reader: self,
        };
        let routes = context.file(&value, &source, &raw);
        let issues = std::mem::take(&mut context.issues);
        let warnings = std::mem::take(&mut context.warnings);
        if !issues.is_empty() || !warnings.is_empty() {
            // Positions only when there is something to show.
            let tree = tree::parse(&text).ok().flatten();
            for (list, problems) in [(issues, true), (warnings, false)] {
                for issue in list {
                    let at = tree.as_ref().and_then(|root| issue.position(root));
                    let problem = Problem {
                        file: self.show(path),
                        at,
                        message: format!("`{}`: {}", mapping::render(&issue.path), issue.message),
                        help: issue.help,
                    };
                    if problems {
                        self.out.problems.push(problem);
                    } else {
                        self.out.warnings.push(problem);
                    }
                }
            }
        }
        routes
    }
}

/// The text of every `jsonBody` in a mapping file, by mapping, so a body is
/// answered with its members in the order written (serde_json's map would
/// sort them); `None` where the file does not read this way.
fn raw_json_bodies(text: &str) -> Vec<Option<String>> {
    #[derive(Deserialize)]
    struct File<'a> {
        #[serde(borrow, default)]
        mappings: Option<Vec<Mapping<'a>>>,
        #[serde(borrow, default)]
        response: Option<Response<'a>>,
    }
    #[derive(Deserialize)]
    struct Mapping<'a> {
        #[serde(borrow, default)]
        response: Option<Response<'a>>,
    }
    #[derive(Deserialize)]
    struct Response<'a> {
        #[serde(borrow, default, rename = "jsonBody")]
        json_body: Option<&'a RawValue>,
    }
    let body = |response: Option<Response<'_>>| {
        response
            .and_then(|r| r.json_body)
            .map(|raw| minify(raw.get()))
    };
    match serde_json::from_str::<File<'_>>(text) {
        Ok(File {
            mappings: Some(mappings),
            ..
        }) => mappings.into_iter().map(|m| body(m.response)).collect(),
        Ok(File { response, .. }) => vec![body(response)],
        Err(_) => Vec::new(),
    }
}

/// JSON text without the blanks between tokens.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The node at a JSON path in a file's position tree, and where to point:
/// the key of the last member, or the item.
fn find<'n>(root: &'n Node, path: &[mapping::Segment]) -> Option<(At, &'n Node)> {
    let mut node = root;
    let mut at = root.at;
    for segment in path {
        match segment {
            mapping::Segment::Key(key) => {
                let entry = node.entry(key)?;
                at = entry.key_at;
                node = &entry.value;
            }
            mapping::Segment::Index(index) => {
                node = node.items()?.get(*index)?;
                at = node.at;
            }
        }
    }
    Some((at, node))
}

#[cfg(test)]
mod tests;
