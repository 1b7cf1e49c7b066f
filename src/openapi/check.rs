//! `sandbox check --contract` (PRODUCT.md 6.5): every entry that declares
//! an OpenAPI document has what answers for it checked against it: a stub's
//! routes (its own and those made from the document), a replay's or a
//! record's interactions, and (done by the command, with [`Checker::answer`])
//! the live answers to its checks. Each finding names the file and line of
//! the route, interaction or check, the JSON pointer, and what differed.
//! Pure: reads the loaded manifest and the files it names, nothing else.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use super::contract::{CallView, Compiled, Contract, Violation};
use crate::manifest::recording::{Interaction, Recording};
use crate::manifest::tree::{self, At, Node};
use crate::manifest::{Loaded, Route, Source};

/// One way something breaks its entry's contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub entry: String,
    /// The file of the route, interaction or check, as shown.
    pub file: PathBuf,
    /// Its line and column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// `route 2 (GET /pets/{id})`, `interaction 3 (GET /pets/7)`,
    /// `check `get a pet``.
    pub subject: String,
    /// The operation it was checked against, when one was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// What differed: where (a JSON pointer), what was expected and found.
    pub violation: Violation,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}: {}", self.entry, self.subject)?;
        // An operation without an `operationId` is named by its method and
        // path, which the subject shows already.
        if let Some(operation) = self
            .operation
            .as_ref()
            .filter(|o| !self.subject.contains(&format!("({o})")))
        {
            write!(f, " ({operation})")?;
        }
        let pointer = if self.violation.pointer.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.violation.pointer)
        };
        write!(
            f,
            ": {pointer}expected {}, found {}",
            self.violation.expected, self.violation.found
        )
    }
}

/// How many things were checked, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub routes: usize,
    pub interactions: usize,
    pub answers: usize,
    /// Routes that match any method or path, and WireMock mappings:
    /// nothing to check them against.
    pub skipped: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.routes + self.interactions + self.answers
    }
}

/// What `check --contract` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checked: Counts,
    pub findings: Vec<Finding>,
}

/// The contracts of a manifest's entries, compiled once.
pub struct Checker<'l> {
    loaded: &'l Loaded,
    contracts: Vec<(String, Compiled)>,
    pub report: Report,
}

impl<'l> Checker<'l> {
    /// Compiles every entry's document; a schema that cannot be used is a
    /// finding of its own.
    pub fn new(loaded: &'l Loaded) -> Checker<'l> {
        let mut report = Report::default();
        let mut contracts = Vec::new();
        for (entry, spec) in &loaded.specs {
            let shown = spec
                .bundle
                .files
                .first()
                .cloned()
                .unwrap_or_else(|| PathBuf::from(&spec.file));
            match Compiled::new(&Contract::new(&spec.bundle)) {
                Ok(compiled) => {
                    for error in compiled.unusable() {
                        report.findings.push(Finding {
                            entry: entry.clone(),
                            file: shown.clone(),
                            line: None,
                            column: None,
                            subject: "the document".into(),
                            operation: None,
                            violation: Violation {
                                pointer: String::new(),
                                expected: "schemas a JSON Schema validator accepts".into(),
                                found: error,
                            },
                        });
                    }
                    contracts.push((entry.clone(), compiled));
                }
                Err(error) => report.findings.push(Finding {
                    entry: entry.clone(),
                    file: shown,
                    line: None,
                    column: None,
                    subject: "the document".into(),
                    operation: None,
                    violation: Violation {
                        pointer: String::new(),
                        expected: "a usable document".into(),
                        found: error,
                    },
                }),
            }
        }
        Checker {
            loaded,
            contracts,
            report,
        }
    }

    /// Whether `entry` has a contract.
    pub fn has(&self, entry: &str) -> bool {
        self.contracts.iter().any(|(e, _)| e == entry)
    }

    fn contract(&self, entry: &str) -> Option<&Compiled> {
        self.contracts
            .iter()
            .find(|(e, _)| e == entry)
            .map(|(_, c)| c)
    }

    /// Checks every stub route and recorded interaction of the entries
    /// that have a contract.
    pub fn files(&mut self) {
        let manifest_file = shown_manifest(self.loaded);
        let manifest_tree = read_tree(&self.loaded.file);
        let entries: Vec<String> = self.contracts.iter().map(|(e, _)| e.clone()).collect();
        for entry in entries {
            let Some(dependency) = self.loaded.entries.dependencies.get(&entry) else {
                continue;
            };
            match &dependency.source {
                Source::Stub(stub) => {
                    let routes = self
                        .loaded
                        .stub_routes
                        .get(&entry)
                        .cloned()
                        .unwrap_or_default();
                    // Where each route is: the manifest's own, then each file's.
                    let mut places: Vec<(PathBuf, Option<At>)> = (0..stub.routes.len())
                        .map(|i| {
                            let at = manifest_tree.as_ref().and_then(|root| {
                                root.find(&format!("dependencies.{entry}.stub.routes.{i}"))
                                    .map(|(_, node)| node.at)
                            });
                            (manifest_file.clone(), at)
                        })
                        .collect();
                    for file in &stub.files {
                        let shown = shown_beside(self.loaded, file);
                        let items = read_tree(&self.loaded.path(file))
                            .map(|root| route_positions(&root))
                            .unwrap_or_default();
                        places.extend(items.into_iter().map(|at| (shown.clone(), Some(at))));
                    }
                    for (i, route) in routes.iter().enumerate() {
                        let (file, at) = places
                            .get(i)
                            .cloned()
                            .unwrap_or((manifest_file.clone(), None));
                        self.route(&entry, &format!("route {}", i + 1), route, file, at);
                    }
                    if let Some(openapi) = self.loaded.openapi_stubs.get(&entry) {
                        let offset = routes.len();
                        for (i, (route, origin)) in
                            openapi.routes.iter().zip(&openapi.origins).enumerate()
                        {
                            let subject =
                                format!("route {} from the {}", offset + i + 1, origin.what);
                            self.route(
                                &entry,
                                &subject,
                                route,
                                origin.file.clone(),
                                Some(origin.at),
                            );
                        }
                    }
                }
                Source::Replay(replay) => {
                    if let Some(recording) = self.loaded.recordings.get(&entry).cloned() {
                        self.recording(&entry, &replay.file, &recording);
                    }
                }
                Source::Record(record) => {
                    let path = self.loaded.path(&record.to);
                    if let Ok(text) = std::fs::read_to_string(&path)
                        && let Ok(recording) = Recording::parse(&text)
                    {
                        self.recording(&entry, &record.to, &recording);
                    }
                }
                Source::Container(_) => {}
            }
        }
    }

    fn route(&mut self, entry: &str, label: &str, route: &Route, file: PathBuf, at: Option<At>) {
        // A route that matches any method or path, or a WireMock mapping
        // (which decides for itself): no one operation to check it against.
        let (Some(method), Some(path), None) =
            (&route.matcher.method, &route.matcher.path, &route.converted)
        else {
            self.report.checked.skipped += 1;
            return;
        };
        self.report.checked.routes += 1;
        let respond = &route.respond;
        let header = |name: &str| {
            respond
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let (content_type, body) = if let Some(json) = &respond.json {
            (
                header("content-type").or(Some("application/json".into())),
                serde_json::to_vec(json).unwrap_or_default(),
            )
        } else if let Some(text) = &respond.body {
            (
                header("content-type").or(Some("text/plain".into())),
                text.clone().into_bytes(),
            )
        } else {
            (header("content-type"), Vec::new())
        };
        let subject = format!("{label} ({} {path})", method.to_ascii_uppercase());
        let Some(contract) = self.contract(entry) else {
            return;
        };
        let result = contract.check_response(
            method,
            path,
            true,
            respond.status,
            content_type.as_deref(),
            &body,
        );
        self.push(entry, &file, at, &subject, result);
    }

    fn recording(&mut self, entry: &str, file: &str, recording: &Recording) {
        let shown = shown_beside(self.loaded, file);
        let positions = read_tree(&self.loaded.path(file))
            .and_then(|root| {
                root.entry("interactions")
                    .and_then(|e| e.value.items())
                    .map(|items| items.iter().map(|n| n.at).collect::<Vec<_>>())
            })
            .unwrap_or_default();
        for (i, interaction) in recording.interactions.iter().enumerate() {
            self.report.checked.interactions += 1;
            let at = positions.get(i).copied();
            let request = &interaction.request;
            let subject = format!(
                "interaction {} ({} {})",
                i + 1,
                request.method.to_ascii_uppercase(),
                request.path
            );
            let Some(contract) = self.contract(entry) else {
                return;
            };
            let mut result = contract.check_response(
                &request.method,
                &request.path,
                false,
                interaction.response.status,
                header(&interaction.response.headers, "content-type"),
                &body(
                    &interaction.response.body,
                    &interaction.response.body_base64,
                ),
            );
            if let Ok((_, violations)) = &mut result {
                violations.extend(request_violations(contract, interaction));
            }
            self.push(entry, &shown, at, &subject, result);
        }
    }

    /// Checks a live answer to one of `entry`'s checks.
    #[allow(clippy::too_many_arguments)]
    pub fn answer(
        &mut self,
        entry: &str,
        check: &str,
        at: Option<At>,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        let Some(contract) = self.contract(entry) else {
            return;
        };
        let path_only = path.split('?').next().unwrap_or(path);
        let result = contract.check_response(method, path_only, false, status, content_type, body);
        self.report.checked.answers += 1;
        let file = shown_manifest(self.loaded);
        self.push(entry, &file, at, &format!("check `{check}`"), result);
    }

    fn push(
        &mut self,
        entry: &str,
        file: &Path,
        at: Option<At>,
        subject: &str,
        result: Result<(String, Vec<Violation>), Violation>,
    ) {
        let (operation, violations) = match result {
            Ok((operation, violations)) => (Some(operation), violations),
            Err(violation) => (None, vec![violation]),
        };
        for violation in violations {
            self.report.findings.push(Finding {
                entry: entry.to_owned(),
                file: file.to_path_buf(),
                line: at.map(|a| a.0),
                column: at.map(|a| a.1),
                subject: subject.to_owned(),
                operation: operation.clone(),
                violation,
            });
        }
    }
}

/// The request side of a recorded interaction, checked like the agent
/// checks a request; pointers start with `/request`.
fn request_violations(contract: &Compiled, interaction: &Interaction) -> Vec<Violation> {
    let request = &interaction.request;
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    let query: Vec<_> = request
        .query
        .iter()
        .flat_map(|(k, values)| {
            values
                .values()
                .iter()
                .map(move |v| (k.as_str().into(), v.as_str().into()))
        })
        .collect();
    let body = body(&request.body, &request.body_base64);
    contract
        .check_request(&CallView {
            method: &request.method,
            path: &request.path,
            query: &query,
            headers: &headers,
            body: &body,
        })
        .map(|refused| {
            refused
                .violations
                .into_iter()
                .map(|mut v| {
                    v.pointer = format!("/request{}", v.pointer);
                    v
                })
                .collect()
        })
        .unwrap_or_default()
}

fn header<'a>(headers: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn body(text: &Option<String>, base64: &Option<String>) -> Vec<u8> {
    use base64::Engine as _;
    match (text, base64) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Where the items of a route file are: a list, or `routes:` of a map.
fn route_positions(root: &Node) -> Vec<At> {
    let items = match root.items() {
        Some(items) => Some(items),
        None => root.entry("routes").and_then(|e| e.value.items()),
    };
    items
        .map(|items| items.iter().map(|n| n.at).collect())
        .unwrap_or_default()
}

fn read_tree(path: &Path) -> Option<Node> {
    let text = std::fs::read_to_string(path).ok()?;
    tree::parse(&text).ok().flatten()
}

/// The manifest as the user named it: relative to the working folder when
/// it is below it.
fn shown_manifest(loaded: &Loaded) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    loaded
        .file
        .strip_prefix(&cwd)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| loaded.file.clone())
}

/// A file the manifest names, shown beside the manifest.
fn shown_beside(loaded: &Loaded, file: &str) -> PathBuf {
    let manifest = shown_manifest(loaded);
    let folder = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    folder.join(file.trim_start_matches("./"))
}

/// The findings, one per line, and a summary line.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let _ = writeln!(out, "{finding}");
    }
    let c = &report.checked;
    let mut parts = Vec::new();
    if c.routes > 0 {
        parts.push(format!("{} stub route{}", c.routes, plural(c.routes)));
    }
    if c.interactions > 0 {
        parts.push(format!(
            "{} recorded interaction{}",
            c.interactions,
            plural(c.interactions)
        ));
    }
    if c.answers > 0 {
        parts.push(format!("{} check answer{}", c.answers, plural(c.answers)));
    }
    let what = if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    };
    let skipped = if c.skipped > 0 {
        format!(
            "; {} route{} matching any method or path (or from WireMock mappings) not checked",
            c.skipped,
            plural(c.skipped)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "contract: {} checked{what}, {} violation{}{skipped}",
        c.total(),
        report.findings.len(),
        plural(report.findings.len())
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
