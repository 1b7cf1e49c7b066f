//! Validation of a manifest's text into a [`Loaded`] manifest.
//!
//! The document is walked once against the keys each level allows (see
//! [`keys`]), on the position tree of [`super::tree`], so that every unknown
//! key, wrong type and broken rule is reported with its line and column, not
//! only the first one serde would stop at. Files the manifest names (build
//! contexts, stub route files, recordings, OpenAPI documents) are checked and
//! read in the same walk; problems inside them name their own file. Only when
//! the walk finds nothing does serde_yaml build the model; should it still
//! disagree, its error is reported too (with its own position), so a gap in
//! the walk can never let a bad manifest through. Last, the model becomes the
//! typed view of [`super::entries`] (each entry's kind an enum), which the
//! walk's kind rules guarantee; an entry it cannot type is reported too.
//!
//! The walk is split by concern: [`keys`] (what each map allows),
//! `shapes` (generic value shapes), `structure` (the top level, entries and
//! their kinds), `settings` (health, checks, api, debug, limits, faults),
//! `agent` (stub, replay and record), `files` (paths and the files they
//! name) and `names` (entry and variable names).

mod agent;
mod files;
mod grpc;
pub mod keys;
mod names;
mod openapi;
mod settings;
mod shapes;
mod structure;
mod wiremock;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use super::entries::NotOneKind;
use super::tree::{self, At, Entry, Node};
use super::*;

pub(crate) use names::{is_env_name, suggest};

pub(super) fn load_text(
    shown: &Path,
    absolute: &Path,
    text: &str,
) -> Result<Loaded, ManifestError> {
    let dir = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut checker = Checker::new(shown, &dir);
    let root = match tree::parse(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            checker.report(
                (1, 1),
                "the manifest is empty",
                Some(
                    "start from `sandbox init`, or write at least `version: 1` and a `service:`"
                        .into(),
                ),
            );
            return Err(checker.into_error());
        }
        Err(error) => {
            checker.report(error.at, error.message, error.help);
            return Err(checker.into_error());
        }
    };
    checker.manifest(&root);
    if !checker.problems.is_empty() {
        return Err(checker.into_error());
    }
    let manifest: Manifest = match serde_yaml::from_str(text) {
        Ok(manifest) => manifest,
        Err(error) => {
            checker.serde_error(&error);
            return Err(checker.into_error());
        }
    };
    let Some(entries) = checker.entries(&root, &manifest) else {
        return Err(checker.into_error());
    };
    // The manifest's own routes first, then those of its files, in order,
    // then its WireMock mappings.
    let mut stub_routes = IndexMap::new();
    for (name, dependency) in &entries.dependencies {
        if let Source::Stub(stub) = &dependency.source {
            let mut routes = stub.routes.clone();
            routes.extend(checker.file_routes.swap_remove(name).unwrap_or_default());
            stub_routes.insert(name.clone(), routes);
        }
    }
    let name = manifest
        .name
        .clone()
        .unwrap_or_else(|| name_from_folder(&dir));
    Ok(Loaded {
        file: absolute.to_path_buf(),
        dir,
        manifest,
        entries,
        name,
        stub_routes,
        recordings: checker.recordings,
        openapi: checker.openapi,
        specs: entry_specs(&checker.entry_specs, &checker.openapi_stubs),
        openapi_stubs: checker.openapi_stubs,
        paths: checker.resolved,
        warnings: checker.warnings,
        protos: checker.protos,
    })
}

impl Checker {
    /// The typed view of a manifest the walk passed. The walk reports an
    /// entry without exactly one kind, so this finds none; should it still
    /// (a gap in the walk), the entry is reported here, never guessed.
    fn entries(&mut self, root: &Node, manifest: &Manifest) -> Option<Entries> {
        let top = root.entries().unwrap_or_default();
        let key_at = |path: &[&str]| {
            let mut entries = top;
            let mut at = root.at;
            for key in path {
                let Some(entry) = field(entries, key) else {
                    break;
                };
                at = entry.key_at;
                entries = entry.value.entries().unwrap_or_default();
            }
            at
        };
        let service = match ServiceEntry::new(&manifest.service) {
            Ok(service) => Some(service),
            Err(NotOneKind(kinds)) => {
                self.report(
                    key_at(&["service"]),
                    not_one_kind("the service", &kinds),
                    Some("keep exactly one of `build` or `image`".into()),
                );
                None
            }
        };
        let mut dependencies = IndexMap::new();
        for (name, dependency) in &manifest.dependencies {
            match DependencyEntry::new(dependency) {
                Ok(entry) => {
                    dependencies.insert(name.clone(), entry);
                }
                Err(NotOneKind(kinds)) => self.report(
                    key_at(&["dependencies", name]),
                    not_one_kind(&format!("dependency `{name}`"), &kinds),
                    Some(
                        "give it exactly one of `stub`, `replay`, `record`, `image` or `build`"
                            .into(),
                    ),
                ),
            }
        }
        let service = service?;
        self.problems.is_empty().then_some(Entries {
            service,
            dependencies,
        })
    }
}

/// Each entry's document: its `api.openapi`, else its stub's `openapi`.
fn entry_specs(
    declared: &IndexMap<String, crate::openapi::Spec>,
    stubs: &IndexMap<String, crate::openapi::OpenApiStub>,
) -> IndexMap<String, crate::openapi::Spec> {
    let mut specs = declared.clone();
    for (name, stub) in stubs {
        specs
            .entry(name.clone())
            .or_insert_with(|| stub.spec.clone());
    }
    specs
}

fn not_one_kind(label: &str, kinds: &[Kind]) -> String {
    if kinds.is_empty() {
        return format!("{label} has no kind");
    }
    let found: Vec<String> = kinds.iter().map(|k| format!("`{k}`")).collect();
    format!("{label} has {} kinds: {}", kinds.len(), found.join(", "))
}

/// A route file: a list of routes, or `{routes: [...]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    #[serde(default)]
    routes: Vec<Route>,
}

/// Walks a document and collects problems and the files it reads.
struct Checker {
    /// The file being walked, as shown to the user.
    file: PathBuf,
    /// The manifest's folder as shown (relative when the manifest's path was).
    shown_dir: PathBuf,
    /// The manifest's folder, absolute.
    dir: PathBuf,
    problems: Vec<Problem>,
    /// What is legal but likely a mistake (e.g. an unknown HTTP method).
    warnings: Vec<Problem>,
    file_routes: IndexMap<String, Vec<Route>>,
    recordings: IndexMap<String, Recording>,
    openapi: IndexMap<String, serde_json::Value>,
    /// Every OpenAPI document read, by file as written (`None`: it failed).
    specs: IndexMap<String, Option<crate::openapi::Spec>>,
    /// The document each entry declares (`api.openapi`, else its stub's).
    entry_specs: IndexMap<String, crate::openapi::Spec>,
    /// The stubs with `openapi:`, by dependency.
    openapi_stubs: IndexMap<String, crate::openapi::OpenApiStub>,
    /// Every path named, as written -> resolved (see [`Checker::inside`]).
    resolved: IndexMap<String, PathBuf>,
    /// The compiled `.proto` files of each stub with `proto:`.
    protos: IndexMap<String, crate::proto::Protos>,
}

/// What an entry is, for the rules that depend on it.
struct EntryInfo {
    /// `service` or `dependency `x``.
    label: String,
    /// The declared port names (none for agent-served kinds).
    ports: Vec<String>,
    /// `ports` is there but not a map: already reported, so nothing that
    /// names a port reports again.
    ports_broken: bool,
    /// The kind, when exactly one is given.
    kind: Option<Kind>,
}

impl Checker {
    fn new(shown: &Path, dir: &Path) -> Self {
        Checker {
            file: shown.to_path_buf(),
            shown_dir: shown.parent().map(Path::to_path_buf).unwrap_or_default(),
            dir: dir.to_path_buf(),
            problems: Vec::new(),
            warnings: Vec::new(),
            file_routes: IndexMap::new(),
            recordings: IndexMap::new(),
            openapi: IndexMap::new(),
            specs: IndexMap::new(),
            entry_specs: IndexMap::new(),
            openapi_stubs: IndexMap::new(),
            resolved: IndexMap::new(),
            protos: IndexMap::new(),
        }
    }

    /// The problems, grouped by file (the manifest first) and in the order
    /// of their positions.
    fn into_error(self) -> ManifestError {
        let mut files: Vec<PathBuf> = Vec::new();
        for problem in &self.problems {
            if !files.contains(&problem.file) {
                files.push(problem.file.clone());
            }
        }
        let mut problems = self.problems;
        problems.sort_by_key(|p| {
            (
                files.iter().position(|f| *f == p.file),
                p.at.unwrap_or((0, 0)),
            )
        });
        ManifestError::Invalid { problems }
    }

    fn report(&mut self, at: At, message: impl Into<String>, help: Option<String>) {
        self.problems.push(Problem {
            file: self.file.clone(),
            at: Some(at),
            message: message.into(),
            help,
        });
    }

    /// Something legal that is likely a mistake: shown, never fatal.
    fn warn(&mut self, at: At, message: impl Into<String>, help: Option<String>) {
        self.warnings.push(Problem {
            file: self.file.clone(),
            at: Some(at),
            message: message.into(),
            help,
        });
    }

    fn serde_error(&mut self, error: &serde_yaml::Error) {
        self.problems.push(Problem {
            file: self.file.clone(),
            at: error.location().map(|l| (l.line(), l.column().max(1))),
            message: without_position(&error.to_string()),
            help: None,
        });
    }
}

/// The entry of `key` with a non-null value (null reads as absent, as serde
/// reads it into an `Option`).
fn field<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Entry> {
    entries
        .iter()
        .rev()
        .find(|e| e.key == key && !e.value.is_null())
}

/// A parser's message without the ` at line L column C` it ends with: the
/// problem carries the position already.
pub(crate) fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) if message[index..].contains(" column ") => message[..index].to_owned(),
        _ => message.to_owned(),
    }
}

/// Where a key is, for messages: `in `service.health`` or `at the top level`.
fn place(path: &str) -> String {
    if path.is_empty() {
        "at the top level".into()
    } else {
        format!("in `{path}`")
    }
}

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
