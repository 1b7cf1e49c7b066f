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
//! the walk can never let a bad manifest through.

use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use super::tree::{self, At, Entry, Node, Scalar, Value};
use super::*;

/// The keys each level of the manifest allows.
pub mod keys {
    pub const TOP: &[&str] = &["version", "name", "owner", "service", "dependencies"];
    pub const SERVICE: &[&str] = &[
        "name", "owner", "build", "image", "command", "env", "ports", "health", "checks", "api",
        "debug", "limits", "faults",
    ];
    pub const DEPENDENCY: &[&str] = &[
        "stub", "replay", "record", "image", "build", "owner", "command", "env", "ports", "health",
        "checks", "api", "debug", "limits", "faults",
    ];
    /// The keys that choose a dependency's kind.
    pub const KINDS: &[&str] = &["stub", "replay", "record", "image", "build"];
    /// Keys that only make sense for a container of the entry's own.
    pub const CONTAINER_ONLY: &[&str] = &["command", "env", "ports", "health", "debug"];
    pub const BUILD: &[&str] = &["context", "dockerfile", "args"];
    pub const HEALTH: &[&str] = &[
        "http", "tcp", "exec", "port", "status", "contains", "timeout",
    ];
    pub const CHECK: &[&str] = &["name", "request", "expect"];
    pub const CHECK_REQUEST: &[&str] = &["method", "path", "port", "headers", "json", "body"];
    pub const EXPECT: &[&str] = &["status", "contains", "json"];
    pub const API: &[&str] = &["openapi", "description"];
    pub const DEBUG: &[&str] = &["port", "command", "env"];
    pub const STUB: &[&str] = &["port", "routes", "files"];
    pub const ROUTE: &[&str] = &["match", "respond"];
    pub const ROUTE_MATCH: &[&str] = &["method", "path", "query", "headers", "json", "body"];
    pub const RESPOND: &[&str] = &["status", "headers", "json", "body", "delay"];
    pub const RECORD: &[&str] = &["upstream", "to", "redact", "port"];
    pub const LIMITS: &[&str] = &["rate", "burst", "concurrency", "per_caller"];
    pub const FAULTS: &[&str] = &[
        "latency",
        "jitter",
        "error_rate",
        "error_status",
        "reset_rate",
        "bandwidth",
        "seed",
    ];
    pub const ROUTE_FILE: &[&str] = &["routes"];
}

/// Names that no entry may take: the registry's network alias.
const RESERVED: &[&str] = &["registry"];

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
            checker.report(error.at, error.message, None);
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
    // The manifest's own routes first, then those of its files, in order.
    let mut stub_routes = IndexMap::new();
    for (name, dependency) in &manifest.dependencies {
        if let Some(stub) = &dependency.stub {
            let mut routes = stub.routes.clone();
            routes.extend(checker.file_routes.shift_remove(name).unwrap_or_default());
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
        name,
        stub_routes,
        recordings: checker.recordings,
        openapi: checker.openapi,
    })
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
    file_routes: IndexMap<String, Vec<Route>>,
    recordings: IndexMap<String, Recording>,
    openapi: IndexMap<String, serde_json::Value>,
}

/// What an entry is, for the rules that depend on it.
struct EntryInfo {
    /// `service` or `dependency `x``.
    label: String,
    /// The declared port names (none for agent-served kinds).
    ports: Vec<String>,
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
            file_routes: IndexMap::new(),
            recordings: IndexMap::new(),
            openapi: IndexMap::new(),
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

    fn serde_error(&mut self, error: &serde_yaml::Error) {
        self.problems.push(Problem {
            file: self.file.clone(),
            at: error.location().map(|l| (l.line(), l.column().max(1))),
            message: without_position(&error.to_string()),
            help: None,
        });
    }

    // ---- generic shapes -------------------------------------------------

    /// Checks that `node` is a map whose keys are all in `allowed` (any key
    /// when `None`) and that no key repeats; returns its entries.
    fn map<'n>(
        &mut self,
        path: &str,
        node: &'n Node,
        allowed: Option<&[&str]>,
    ) -> Option<&'n [Entry]> {
        let Some(entries) = node.entries() else {
            self.report(
                node.at,
                format!("`{path}` must be a map, found {}", node.describe()),
                allowed.map(|keys| format!("expected keys: {}", list(keys))),
            );
            return None;
        };
        for (index, entry) in entries.iter().enumerate() {
            if let Some(first) = entries[..index].iter().find(|e| e.key == entry.key) {
                self.report(
                    entry.key_at,
                    format!(
                        "`{}` appears twice {}, here and at line {}",
                        entry.key,
                        place(path),
                        first.key_at.0
                    ),
                    Some("keep one of them; the second would silently replace the first".into()),
                );
            }
            if let Some(allowed) = allowed
                && !allowed.contains(&entry.key.as_str())
            {
                let help = match suggest(&entry.key, allowed) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("expected one of: {}", list(allowed)),
                };
                self.report(
                    entry.key_at,
                    format!("unknown key `{}` {}", entry.key, place(path)),
                    Some(help),
                );
            }
        }
        Some(entries)
    }

    fn list<'n>(&mut self, path: &str, node: &'n Node) -> Option<&'n [Node]> {
        match node.items() {
            Some(items) => Some(items),
            None => {
                self.report(
                    node.at,
                    format!("`{path}` must be a list, found {}", node.describe()),
                    None,
                );
                None
            }
        }
    }

    /// Reports a missing key of a map that starts at `at`.
    fn missing(&mut self, at: At, path: &str, key: &str, help: Option<String>) {
        self.report(at, format!("`{path}` is missing `{key}`"), help);
    }

    fn string<'n>(&mut self, path: &str, node: &'n Node) -> Option<&'n str> {
        match (&node.value, node.scalar()) {
            (Value::Scalar { .. }, Some(Scalar::Null)) => {
                self.report(
                    node.at,
                    format!("`{path}` is empty; expected a string"),
                    None,
                );
                None
            }
            (Value::Scalar { text, .. }, _) => Some(text),
            _ => {
                self.report(
                    node.at,
                    format!("`{path}` must be a string, found {}", node.describe()),
                    None,
                );
                None
            }
        }
    }

    fn integer(
        &mut self,
        path: &str,
        node: &Node,
        range: (i128, i128),
        what: &str,
    ) -> Option<i128> {
        match node.scalar() {
            Some(Scalar::Int(value)) if (range.0..=range.1).contains(&value) => Some(value),
            Some(Scalar::Int(value)) => {
                self.report(
                    node.at,
                    format!(
                        "`{path}` is {value}; expected {what} in {}..{}",
                        range.0, range.1
                    ),
                    None,
                );
                None
            }
            _ => {
                let help = match node.scalar() {
                    Some(Scalar::Str(text)) if text.trim().parse::<i128>().is_ok() => {
                        Some(format!("write it without quotes: `{}`", text.trim()))
                    }
                    _ => None,
                };
                self.report(
                    node.at,
                    format!(
                        "`{path}` must be {what} (a whole number), found {}",
                        node.describe()
                    ),
                    help,
                );
                None
            }
        }
    }

    fn port_number(&mut self, path: &str, node: &Node) -> Option<u16> {
        self.integer(path, node, (1, 65_535), "a port number")
            .map(|p| p as u16)
    }

    fn status(&mut self, path: &str, node: &Node, range: (i128, i128), what: &str) -> Option<u16> {
        self.integer(path, node, range, what).map(|s| s as u16)
    }

    fn share(&mut self, path: &str, node: &Node) -> Option<f64> {
        let value = match node.scalar() {
            Some(Scalar::Int(i)) => i as f64,
            Some(Scalar::Float(f)) => f,
            _ => {
                self.report(
                    node.at,
                    format!(
                        "`{path}` must be a number from 0 to 1, found {}",
                        node.describe()
                    ),
                    Some("write a share such as `0.1` for one in ten".into()),
                );
                return None;
            }
        };
        if !(0.0..=1.0).contains(&value) {
            self.report(
                node.at,
                format!("`{path}` is {value}; expected a number from 0 to 1"),
                Some("write a share such as `0.1` for one in ten".into()),
            );
            return None;
        }
        Some(value)
    }

    fn boolean(&mut self, path: &str, node: &Node) -> Option<bool> {
        match node.scalar() {
            Some(Scalar::Bool(b)) => Some(b),
            _ => {
                self.report(
                    node.at,
                    format!(
                        "`{path}` must be `true` or `false`, found {}",
                        node.describe()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// A value written as text and parsed by `T::from_str` (durations, rates).
    fn parsed<T: std::str::FromStr<Err = String>>(
        &mut self,
        path: &str,
        node: &Node,
        example: &str,
    ) -> Option<T> {
        let text = match node.scalar() {
            Some(Scalar::Str(text)) => text,
            _ => {
                let help = match node.scalar() {
                    Some(Scalar::Int(i)) => Some(format!("add a unit, e.g. `{i}{example}`")),
                    _ => None,
                };
                self.report(
                    node.at,
                    format!(
                        "`{path}` must be a string such as `5{example}`, found {}",
                        node.describe()
                    ),
                    help,
                );
                return None;
            }
        };
        match text.parse() {
            Ok(value) => Some(value),
            Err(message) => {
                self.report(node.at, format!("`{path}`: {message}"), None);
                None
            }
        }
    }

    fn string_list(&mut self, path: &str, node: &Node) -> Option<Vec<String>> {
        let items = self.list(path, node)?;
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.string(&format!("{path}[{i}]"), item) {
                Some(text) => out.push(text.to_owned()),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn command(&mut self, path: &str, node: &Node) {
        if let Some(Scalar::Str(text)) = node.scalar() {
            let words: Vec<String> = text.split_whitespace().map(|w| format!("{w:?}")).collect();
            self.report(
                node.at,
                format!("`{path}` must be a list, found {}", node.describe()),
                Some(format!(
                    "write the program and its arguments as a list: `[{}]`",
                    words.join(", ")
                )),
            );
            return;
        }
        if let Some(items) = self.string_list(path, node)
            && items.is_empty()
        {
            self.report(
                node.at,
                format!("`{path}` is an empty list"),
                Some(
                    "write the program and its arguments, e.g. `[\"/app\", \"--port\", \"8080\"]`"
                        .into(),
                ),
            );
        }
    }

    /// A map of text values (headers, query parameters).
    fn text_map(&mut self, path: &str, node: &Node) {
        if let Some(entries) = self.map(path, node, None) {
            for entry in entries {
                self.string(&format!("{path}.{}", entry.key), &entry.value);
            }
        }
    }

    fn env(&mut self, path: &str, node: &Node) {
        if node.items().is_some() {
            self.report(
                node.at,
                format!("`{path}` must be a map, found a list"),
                Some("write `NAME: value` pairs, e.g. `{ LOG_LEVEL: debug }`".into()),
            );
            return;
        }
        let Some(entries) = self.map(path, node, None) else {
            return;
        };
        for entry in entries {
            if !is_env_name(&entry.key) {
                self.report(
                    entry.key_at,
                    format!("`{}` is not a valid environment variable name", entry.key),
                    Some("use letters, digits and `_`, not starting with a digit".into()),
                );
            }
            match (&entry.value.value, entry.value.scalar()) {
                (_, Some(Scalar::Null)) => self.report(
                    entry.value.at,
                    format!("`{path}.{}` has no value", entry.key),
                    Some("write `''` for an empty value".into()),
                ),
                (Value::Scalar { .. }, _) => {}
                _ => self.report(
                    entry.value.at,
                    format!(
                        "`{path}.{}` must be a string, number or boolean, found {}",
                        entry.key,
                        entry.value.describe()
                    ),
                    None,
                ),
            }
        }
    }

    // ---- the manifest ---------------------------------------------------

    fn manifest(&mut self, root: &Node) {
        if root.entries().is_none() {
            self.report(
                root.at,
                format!("the manifest must be a map, found {}", root.describe()),
                Some("a manifest starts with `version: 1` and has a `service:` map".into()),
            );
            return;
        }
        let entries = self.map("", root, Some(keys::TOP)).unwrap_or_default();
        match field(entries, "version") {
            None => self.report(
                root.at,
                "the manifest has no `version`",
                Some("write `version: 1` at the top".into()),
            ),
            Some(entry) => match entry.value.scalar() {
                Some(Scalar::Int(1)) => {}
                _ => self.report(
                    entry.value.at,
                    format!(
                        "version {} is not supported",
                        entry
                            .value
                            .text()
                            .map_or_else(|| entry.value.describe(), |t| format!("`{t}`"))
                    ),
                    Some("write `version: 1`".into()),
                ),
            },
        }
        if let Some(entry) = field(entries, "name")
            && let Some(name) = self.string("name", &entry.value)
            && !is_valid_name(name)
        {
            self.report(
                entry.value.at,
                format!("sandbox name `{name}` is not valid"),
                Some(name_help(name)),
            );
        }
        if let Some(entry) = field(entries, "owner") {
            self.string("owner", &entry.value);
        }
        let mut service_name = None;
        match field(entries, "service") {
            None => self.report(
                root.at,
                "the manifest has no `service`",
                Some("add a `service:` with a `name` and a `build` or `image`".into()),
            ),
            Some(entry) => {
                service_name = field(entry.value.entries().unwrap_or_default(), "name")
                    .and_then(|e| e.value.text())
                    .map(str::to_owned);
                self.entry("service", entry, true);
            }
        }
        if let Some(entry) = field(entries, "dependencies")
            && let Some(dependencies) = self.map("dependencies", &entry.value, None)
        {
            for dependency in dependencies {
                let name = dependency.key.as_str();
                if !is_valid_name(name) {
                    self.report(
                        dependency.key_at,
                        format!("dependency name `{name}` is not valid"),
                        Some(name_help(name)),
                    );
                } else if RESERVED.contains(&name) {
                    self.report(
                        dependency.key_at,
                        format!("dependency name `{name}` is reserved for the sandbox's registry"),
                        Some("choose another name".into()),
                    );
                } else if service_name.as_deref() == Some(name) {
                    self.report(
                        dependency.key_at,
                        format!("dependency `{name}` has the same name as the service"),
                        Some("every entry needs its own name on the sandbox's network".into()),
                    );
                }
                self.entry(&format!("dependencies.{name}"), dependency, false);
            }
        }
    }

    /// The service (`is_service`) or one dependency.
    fn entry(&mut self, path: &str, entry: &Entry, is_service: bool) {
        let allowed = if is_service {
            keys::SERVICE
        } else {
            keys::DEPENDENCY
        };
        if !is_service && let Some(Scalar::Str(text)) = entry.value.scalar() {
            self.report(
                entry.value.at,
                format!("`{path}` must be a map, found {}", entry.value.describe()),
                Some(format!(
                    "for a container, write `{}: {{ image: {text} }}`; other kinds: `stub`, `replay`, `record`, `build`",
                    entry.key
                )),
            );
            return;
        }
        let Some(fields) = self.map(path, &entry.value, Some(allowed)) else {
            return;
        };
        let label = if is_service {
            "the service".to_owned()
        } else {
            format!("dependency `{}`", entry.key)
        };
        let at = entry.key_at;

        if is_service {
            match field(fields, "name") {
                None => self.missing(
                    at,
                    path,
                    "name",
                    Some("name the service, e.g. `name: orders`".into()),
                ),
                Some(name_entry) => {
                    if let Some(name) = self.string("service.name", &name_entry.value) {
                        if !is_valid_name(name) {
                            self.report(
                                name_entry.value.at,
                                format!("service name `{name}` is not valid"),
                                Some(name_help(name)),
                            );
                        } else if RESERVED.contains(&name) {
                            self.report(
                                name_entry.value.at,
                                format!(
                                    "service name `{name}` is reserved for the sandbox's registry"
                                ),
                                Some("choose another name".into()),
                            );
                        }
                    }
                }
            }
        }

        // The kind.
        let candidates: &[&str] = if is_service {
            &["build", "image"]
        } else {
            keys::KINDS
        };
        let present: Vec<&Entry> = candidates.iter().filter_map(|k| field(fields, k)).collect();
        let kind = match present.as_slice() {
            [] if is_service => {
                self.report(
                    at,
                    "the service has neither `build` nor `image`",
                    Some("add `build: ./folder-with-a-Dockerfile` or `image: name:tag`".into()),
                );
                None
            }
            [] => {
                self.report(
                    at,
                    format!("{label} has no kind"),
                    Some(
                        "give it exactly one of `stub`, `replay`, `record`, `image` or `build`"
                            .into(),
                    ),
                );
                None
            }
            [one] => Some(kind_of(&one.key)),
            [first, rest @ ..] => {
                let found: Vec<String> = present.iter().map(|e| format!("`{}`", e.key)).collect();
                self.report(
                    rest[0].key_at,
                    format!("{label} has {} kinds: {}", present.len(), found.join(", ")),
                    Some(if is_service {
                        "keep either `build` or `image`".into()
                    } else {
                        format!(
                            "keep one; `{}` at line {} is the first",
                            first.key, first.key_at.0
                        )
                    }),
                );
                None
            }
        };
        let agent = kind.is_some_and(Kind::is_agent);
        if agent {
            for key in keys::CONTAINER_ONLY {
                if let Some(e) = field(fields, key) {
                    let kind = kind.map(Kind::as_str).unwrap_or_default();
                    let help = match kind {
                        "stub" | "record" if *key == "ports" => {
                            format!("the agent serves it; its port is `{kind}.port`")
                        }
                        _ => "the agent serves it; remove this key".into(),
                    };
                    self.report(
                        e.key_at,
                        format!("`{key}` does not apply to {label}, a {kind} dependency"),
                        Some(help),
                    );
                }
            }
        }

        for e in fields {
            if e.value.is_null() {
                continue;
            }
            let here = format!("{path}.{}", e.key);
            match e.key.as_str() {
                "owner" | "image" => {
                    self.string(&here, &e.value);
                }
                "command" => self.command(&here, &e.value),
                "env" => self.env(&here, &e.value),
                "build" => self.build(&here, &e.value),
                _ => {}
            }
        }

        // Ports first: health and checks refer to them.
        let mut ports = Vec::new();
        if let Some(e) = field(fields, "ports") {
            let here = format!("{path}.ports");
            if let Some(entries) = self.map(&here, &e.value, None) {
                for port in entries {
                    if port.key.is_empty() {
                        self.report(
                            port.key_at,
                            format!("`{here}` has a port with no name"),
                            None,
                        );
                    }
                    self.port_number(&format!("{here}.{}", port.key), &port.value);
                    ports.push(port.key.clone());
                }
            }
        }
        let info = EntryInfo {
            label,
            ports: if agent { Vec::new() } else { ports },
            kind,
        };
        if let Some(e) = field(fields, "health")
            && !agent
        {
            self.health(&format!("{path}.health"), e, &info);
        }
        if let Some(e) = field(fields, "checks") {
            self.checks(&format!("{path}.checks"), &e.value, &info);
        }
        if let Some(e) = field(fields, "api") {
            self.api(&format!("{path}.api"), e, &entry.key, is_service, fields);
        }
        if let Some(e) = field(fields, "debug")
            && !agent
        {
            self.debug(&format!("{path}.debug"), e);
        }
        if let Some(e) = field(fields, "limits") {
            self.limits(&format!("{path}.limits"), &e.value);
        }
        if let Some(e) = field(fields, "faults") {
            self.faults(&format!("{path}.faults"), &e.value);
        }
        if let Some(e) = field(fields, "stub") {
            self.stub(&format!("{path}.stub"), &e.value, &entry.key);
        }
        if let Some(e) = field(fields, "replay") {
            self.replay(&format!("{path}.replay"), &e.value, &entry.key);
        }
        if let Some(e) = field(fields, "record") {
            self.record(&format!("{path}.record"), &e.value);
        }
    }

    fn build(&mut self, path: &str, node: &Node) {
        let (context, context_at, dockerfile) = match &node.value {
            Value::Map(_) => {
                let Some(fields) = self.map(path, node, Some(keys::BUILD)) else {
                    return;
                };
                if let Some(e) = field(fields, "args") {
                    self.env(&format!("{path}.args"), &e.value);
                }
                let dockerfile = field(fields, "dockerfile").and_then(|e| {
                    self.string(&format!("{path}.dockerfile"), &e.value)
                        .map(|d| (d, e.value.at))
                });
                let Some(context) = field(fields, "context") else {
                    self.missing(
                        node.at,
                        path,
                        "context",
                        Some("name the folder with the Dockerfile, e.g. `context: ./app`".into()),
                    );
                    return;
                };
                let Some(text) = self.string(&format!("{path}.context"), &context.value) else {
                    return;
                };
                (text, context.value.at, dockerfile)
            }
            Value::Scalar { .. } => match node.scalar() {
                Some(Scalar::Str(text)) => (text, node.at, None),
                Some(Scalar::Null) => return,
                _ => {
                    self.report(
                        node.at,
                        format!("`{path}` must be a folder, found {}", node.describe()),
                        Some("write `build: ./app` (quote names that read as numbers)".into()),
                    );
                    return;
                }
            },
            Value::Seq(_) => {
                self.report(
                    node.at,
                    format!("`{path}` must be a folder or a map with `context`, found {}", node.describe()),
                    Some("write `build: ./app` or `build: { context: ./app, dockerfile: Dockerfile.dev }`".into()),
                );
                return;
            }
        };
        let Some(folder) = self.inside(context_at, path, context) else {
            return;
        };
        if !folder.is_dir() {
            self.report(
                context_at,
                format!("build context `{context}` is not a folder"),
                Some("create it, with a Dockerfile inside, or fix the path".into()),
            );
            return;
        }
        let (name, name_at) = dockerfile.unwrap_or(("Dockerfile", context_at));
        // Docker reads `dockerfile` relative to the context.
        let relative = Path::new(context).join(name);
        let Some(file) = self.inside(name_at, path, &relative.to_string_lossy()) else {
            return;
        };
        if !file.is_file() {
            self.report(
                name_at,
                format!("build context `{context}` has no `{name}`"),
                Some(if dockerfile.is_some() {
                    "`dockerfile` is read relative to the build context".into()
                } else {
                    "add a Dockerfile to the folder, or name another with `dockerfile:`".into()
                }),
            );
        }
    }

    fn health(&mut self, path: &str, entry: &Entry, info: &EntryInfo) {
        let Some(fields) = self.map(path, &entry.value, Some(keys::HEALTH)) else {
            return;
        };
        let probes: Vec<&Entry> = ["http", "tcp", "exec"]
            .iter()
            .filter_map(|k| field(fields, k))
            .collect();
        match probes.as_slice() {
            [] => self.report(
                entry.key_at,
                format!("`{path}` needs one of `http`, `tcp` or `exec`"),
                Some(
                    "e.g. `http: /healthz`, `tcp: <port name>` or `exec: [\"pg_isready\"]`".into(),
                ),
            ),
            [_] => {}
            [_, second, ..] => {
                let found: Vec<String> = probes.iter().map(|e| format!("`{}`", e.key)).collect();
                self.report(
                    second.key_at,
                    format!("`{path}` has {}; it takes exactly one", found.join(" and ")),
                    Some("keep one probe".into()),
                );
            }
        }
        let probe = probes.first().map(|e| e.key.as_str());
        for e in fields {
            if e.value.is_null() {
                continue;
            }
            let here = format!("{path}.{}", e.key);
            match e.key.as_str() {
                "http" => {
                    if let Some(text) = self.string(&here, &e.value)
                        && !text.starts_with('/')
                    {
                        self.report(
                            e.value.at,
                            format!("`{here}` must be a path starting with `/`, found `{text}`"),
                            Some(format!("write `/{}`", text.trim_start_matches('/'))),
                        );
                    }
                    self.needs_ports(e, info, "an http health check");
                }
                "tcp" => {
                    if let Some(port) = self.string(&here, &e.value) {
                        let port = port.to_owned();
                        if self.needs_ports(e, info, "a tcp health check") {
                            self.port_name(&here, &e.value, &port, info);
                        }
                    }
                }
                "exec" => {
                    if let Some(items) = self.string_list(&here, &e.value)
                        && items.is_empty()
                    {
                        self.report(
                            e.value.at,
                            format!("`{here}` is an empty list"),
                            Some(
                                "write the command and its arguments, e.g. `[\"pg_isready\"]`"
                                    .into(),
                            ),
                        );
                    }
                }
                "port" => {
                    if let Some(port) = self.string(&here, &e.value) {
                        let port = port.to_owned();
                        if probe == Some("http") && !info.ports.is_empty() {
                            self.port_name(&here, &e.value, &port, info);
                        } else if probe != Some("http") && probe.is_some() {
                            self.report(
                                e.key_at,
                                format!("`{here}` only applies to an `http` health check"),
                                Some("remove it".into()),
                            );
                        }
                    }
                }
                "status" => {
                    self.status(&here, &e.value, (100, 599), "an HTTP status");
                    self.http_only(&here, e, probe);
                }
                "contains" => {
                    self.string(&here, &e.value);
                    self.http_only(&here, e, probe);
                }
                "timeout" => {
                    self.parsed::<Span>(&here, &e.value, "s");
                }
                _ => {}
            }
        }
    }

    fn http_only(&mut self, path: &str, entry: &Entry, probe: Option<&str>) {
        if matches!(probe, Some("tcp" | "exec")) {
            self.report(
                entry.key_at,
                format!("`{path}` only applies to an `http` health check"),
                Some("remove it".into()),
            );
        }
    }

    /// Whether the entry has ports; reports at `entry` when it has none.
    fn needs_ports(&mut self, entry: &Entry, info: &EntryInfo, what: &str) -> bool {
        if info.ports.is_empty() {
            self.report(
                entry.key_at,
                format!(
                    "{what} needs a port, but {} declares no `ports`",
                    info.label
                ),
                Some("add `ports: { http: 8080 }` (name -> container port)".into()),
            );
            return false;
        }
        true
    }

    fn port_name(&mut self, path: &str, node: &Node, port: &str, info: &EntryInfo) {
        if info.ports.iter().any(|p| p == port) {
            return;
        }
        let declared: Vec<&str> = info.ports.iter().map(String::as_str).collect();
        let help = match suggest(port, &declared) {
            Some(close) => format!("did you mean `{close}`?"),
            None if declared.is_empty() => format!("{} declares no `ports`", info.label),
            None => format!("declared ports: {}", list(&declared)),
        };
        self.report(
            node.at,
            format!(
                "`{path}` names port `{port}`, which {} does not declare",
                info.label
            ),
            Some(help),
        );
    }

    fn checks(&mut self, path: &str, node: &Node, info: &EntryInfo) {
        let Some(items) = self.list(path, node) else {
            return;
        };
        let mut names: Vec<(String, usize)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let here = format!("{path}[{i}]");
            let Some(fields) = self.map(&here, item, Some(keys::CHECK)) else {
                continue;
            };
            match field(fields, "name") {
                None => self.missing(
                    item.at,
                    &here,
                    "name",
                    Some("say what the check proves, e.g. `name: create an order`".into()),
                ),
                Some(e) => {
                    if let Some(name) = self.string(&format!("{here}.name"), &e.value) {
                        if let Some((_, line)) = names.iter().find(|(n, _)| n == name) {
                            self.report(
                                e.value.at,
                                format!("check `{name}` appears twice, here and at line {line}"),
                                Some("give every check its own name".into()),
                            );
                        }
                        names.push((name.to_owned(), e.value.at.0));
                    }
                }
            }
            match field(fields, "request") {
                None => self.missing(
                    item.at,
                    &here,
                    "request",
                    Some("e.g. `request: { method: GET, path: /orders }`".into()),
                ),
                Some(e) => self.check_request(&format!("{here}.request"), &e.value, info),
            }
            if let Some(e) = field(fields, "expect") {
                let there = format!("{here}.expect");
                if let Some(expect) = self.map(&there, &e.value, Some(keys::EXPECT)) {
                    for e in expect {
                        let at = format!("{there}.{}", e.key);
                        match e.key.as_str() {
                            "status" => {
                                self.status(&at, &e.value, (100, 599), "an HTTP status");
                            }
                            "contains" => {
                                self.string(&at, &e.value);
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    fn check_request(&mut self, path: &str, node: &Node, info: &EntryInfo) {
        let Some(fields) = self.map(path, node, Some(keys::CHECK_REQUEST)) else {
            return;
        };
        self.request_fields(path, fields);
        if let Some(e) = field(fields, "port") {
            if let Some(port) = self.string(&format!("{path}.port"), &e.value) {
                let port = port.to_owned();
                if info.kind.is_some_and(Kind::is_agent) {
                    self.report(
                        e.key_at,
                        format!(
                            "`{path}.port` does not apply to {}, which has a single port",
                            info.label
                        ),
                        Some("remove it".into()),
                    );
                } else if self.needs_ports(e, info, "a check") {
                    self.port_name(&format!("{path}.port"), &e.value, &port, info);
                }
            }
        } else if !info.kind.is_some_and(Kind::is_agent)
            && info.kind.is_some()
            && info.ports.is_empty()
        {
            self.report(
                node.at,
                format!(
                    "a check needs a port, but {} declares no `ports`",
                    info.label
                ),
                Some("add `ports: { http: 8080 }` (name -> container port)".into()),
            );
        }
    }

    /// `method`, `path`, `headers`, `json`, `body` of a check request or a
    /// route match.
    fn request_fields(&mut self, path: &str, fields: &[Entry]) {
        for e in fields {
            let here = format!("{path}.{}", e.key);
            match e.key.as_str() {
                "method" => {
                    if let Some(method) = self.string(&here, &e.value)
                        && (method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()))
                    {
                        self.report(
                            e.value.at,
                            format!(
                                "`{here}` is `{method}`; expected an HTTP method such as `GET`"
                            ),
                            None,
                        );
                    }
                }
                "path" => {
                    if let Some(text) = self.string(&here, &e.value)
                        && !text.starts_with('/')
                    {
                        self.report(
                            e.value.at,
                            format!("`{here}` must start with `/`, found `{text}`"),
                            Some(format!("write `/{text}`")),
                        );
                    }
                }
                "headers" | "query" => self.text_map(&here, &e.value),
                "body" => {
                    self.string(&here, &e.value);
                }
                _ => {}
            }
        }
        if let (Some(_), Some(body)) = (field(fields, "json"), field(fields, "body")) {
            self.report(
                body.key_at,
                format!("`{path}` has both `json` and `body`"),
                Some("keep one of them".into()),
            );
        }
    }

    fn api(
        &mut self,
        path: &str,
        entry: &Entry,
        name: &str,
        is_service: bool,
        entry_fields: &[Entry],
    ) {
        let Some(fields) = self.map(path, &entry.value, Some(keys::API)) else {
            return;
        };
        if let Some(e) = field(fields, "description") {
            self.string(&format!("{path}.description"), &e.value);
        }
        let Some(e) = field(fields, "openapi") else {
            return;
        };
        let Some(file) = self.string(&format!("{path}.openapi"), &e.value) else {
            return;
        };
        let Some(text) = self.read_file(e.value.at, path, file, "OpenAPI document") else {
            return;
        };
        let shown = self.shown(file);
        let parsed: Result<serde_json::Value, (Option<At>, String)> = if file.ends_with(".json") {
            serde_json::from_str(&text).map_err(|error| {
                let at = (error.line() > 0).then(|| (error.line(), error.column().max(1)));
                (at, without_position(&error.to_string()))
            })
        } else {
            serde_yaml::from_str(&text).map_err(|error| {
                let at = error.location().map(|l| (l.line(), l.column().max(1)));
                (at, without_position(&error.to_string()))
            })
        };
        let entry_name = if is_service {
            field(entry_fields, "name")
                .and_then(|e| e.value.text())
                .unwrap_or(name)
                .to_owned()
        } else {
            name.to_owned()
        };
        match parsed {
            Ok(document @ serde_json::Value::Object(_)) => {
                self.openapi.insert(entry_name, document);
            }
            Ok(other) => self.problems.push(Problem {
                file: shown,
                at: Some((1, 1)),
                message: format!(
                    "an OpenAPI document must be a map, found {}",
                    json_kind(&other)
                ),
                help: Some("the file should start with `openapi: 3.0.0`".into()),
            }),
            Err((at, message)) => self.problems.push(Problem {
                file: shown,
                at,
                message: format!("cannot parse the OpenAPI document: {message}"),
                help: None,
            }),
        }
    }

    fn debug(&mut self, path: &str, entry: &Entry) {
        let Some(fields) = self.map(path, &entry.value, Some(keys::DEBUG)) else {
            return;
        };
        match field(fields, "port") {
            None => self.missing(
                entry.key_at,
                path,
                "port",
                Some("name the debugger's port in the container, e.g. `port: 2345`".into()),
            ),
            Some(e) => {
                self.port_number(&format!("{path}.port"), &e.value);
            }
        }
        if let Some(e) = field(fields, "command") {
            self.command(&format!("{path}.command"), &e.value);
        }
        if let Some(e) = field(fields, "env") {
            self.env(&format!("{path}.env"), &e.value);
        }
    }

    fn limits(&mut self, path: &str, node: &Node) {
        let Some(fields) = self.map(path, node, Some(keys::LIMITS)) else {
            return;
        };
        for e in fields {
            if e.value.is_null() {
                continue;
            }
            let here = format!("{path}.{}", e.key);
            match e.key.as_str() {
                "rate" => {
                    self.parsed::<Rate>(&here, &e.value, "0/s");
                }
                "burst" | "concurrency" => {
                    self.integer(&here, &e.value, (1, i128::from(u32::MAX)), "a count");
                }
                "per_caller" => {
                    self.boolean(&here, &e.value);
                }
                _ => {}
            }
        }
    }

    fn faults(&mut self, path: &str, node: &Node) {
        let Some(fields) = self.map(path, node, Some(keys::FAULTS)) else {
            return;
        };
        for e in fields {
            if e.value.is_null() {
                continue;
            }
            let here = format!("{path}.{}", e.key);
            match e.key.as_str() {
                "latency" | "jitter" => {
                    self.parsed::<Span>(&here, &e.value, "ms");
                }
                "error_rate" | "reset_rate" => {
                    self.share(&here, &e.value);
                }
                "error_status" => {
                    self.status(&here, &e.value, (400, 599), "an error status (4xx or 5xx)");
                }
                "bandwidth" => {
                    self.parsed::<ByteRate>(&here, &e.value, "KiB/s");
                }
                "seed" => {
                    self.integer(&here, &e.value, (0, i128::from(u64::MAX)), "a seed");
                }
                _ => {}
            }
        }
    }

    fn stub(&mut self, path: &str, node: &Node, dependency: &str) {
        let Some(fields) = self.map(path, node, Some(keys::STUB)) else {
            return;
        };
        if let Some(e) = field(fields, "port") {
            self.port_number(&format!("{path}.port"), &e.value);
        }
        if let Some(e) = field(fields, "routes") {
            self.routes(&format!("{path}.routes"), &e.value);
        }
        let Some(e) = field(fields, "files") else {
            return;
        };
        let Some(files) = self.string_list(&format!("{path}.files"), &e.value) else {
            return;
        };
        let items = e.value.items().unwrap_or_default();
        let mut routes = Vec::new();
        for (file, item) in files.iter().zip(items) {
            if let Some(more) = self.route_file(&format!("{path}.files"), item.at, file) {
                routes.extend(more);
            }
        }
        self.file_routes.insert(dependency.to_owned(), routes);
    }

    fn routes(&mut self, path: &str, node: &Node) {
        let Some(items) = self.list(path, node) else {
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let here = format!("{path}[{i}]");
            let Some(fields) = self.map(&here, item, Some(keys::ROUTE)) else {
                continue;
            };
            match field(fields, "match") {
                None => self.missing(item.at, &here, "match", Some("e.g. `match: { method: GET, path: /items/{id} }`; `match: {}` matches anything".into())),
                Some(e) => {
                    let there = format!("{here}.match");
                    if let Some(m) = self.map(&there, &e.value, Some(keys::ROUTE_MATCH)) {
                        self.request_fields(&there, m);
                    }
                }
            }
            match field(fields, "respond") {
                None => self.missing(
                    item.at,
                    &here,
                    "respond",
                    Some("e.g. `respond: { status: 200, json: { ok: true } }`".into()),
                ),
                Some(e) => {
                    let there = format!("{here}.respond");
                    if let Some(r) = self.map(&there, &e.value, Some(keys::RESPOND)) {
                        for f in r {
                            let at = format!("{there}.{}", f.key);
                            match f.key.as_str() {
                                "status" => {
                                    self.status(&at, &f.value, (100, 599), "an HTTP status");
                                }
                                "headers" => self.text_map(&at, &f.value),
                                "body" => {
                                    self.string(&at, &f.value);
                                }
                                "delay" if !f.value.is_null() => {
                                    self.parsed::<Span>(&at, &f.value, "ms");
                                }
                                _ => {}
                            }
                        }
                        if let (Some(_), Some(body)) = (field(r, "json"), field(r, "body")) {
                            self.report(
                                body.key_at,
                                format!("`{there}` has both `json` and `body`"),
                                Some("keep one of them".into()),
                            );
                        }
                    }
                }
            }
        }
    }

    /// Reads and checks a route file; problems inside it name that file.
    fn route_file(&mut self, path: &str, at: At, file: &str) -> Option<Vec<Route>> {
        let text = self.read_file(at, path, file, "stub file")?;
        let shown = self.shown(file);
        let outer = std::mem::replace(&mut self.file, shown);
        let before = self.problems.len();
        let routes = self.route_file_text(&text);
        let routes = routes.filter(|_| self.problems.len() == before);
        self.file = outer;
        routes
    }

    fn route_file_text(&mut self, text: &str) -> Option<Vec<Route>> {
        let before = self.problems.len();
        let root = match tree::parse(text) {
            Ok(Some(root)) => root,
            Ok(None) => return Some(Vec::new()),
            Err(error) => {
                self.report(error.at, error.message, None);
                return None;
            }
        };
        let is_list = match &root.value {
            Value::Seq(_) => {
                self.routes("routes", &root);
                true
            }
            Value::Map(_) => {
                if let Some(fields) = self.map("", &root, Some(keys::ROUTE_FILE))
                    && let Some(e) = field(fields, "routes")
                {
                    self.routes("routes", &e.value);
                }
                false
            }
            Value::Scalar { .. } => {
                self.report(
                    root.at,
                    format!(
                        "a stub file must be a list of routes or a map with `routes`, found {}",
                        root.describe()
                    ),
                    None,
                );
                return None;
            }
        };
        if self.problems.len() != before {
            return None;
        }
        let result = if is_list {
            serde_yaml::from_str::<Vec<Route>>(text)
        } else {
            serde_yaml::from_str::<RouteFile>(text).map(|f| f.routes)
        };
        match result {
            Ok(routes) => Some(routes),
            Err(error) => {
                self.serde_error(&error);
                None
            }
        }
    }

    fn replay(&mut self, path: &str, node: &Node, dependency: &str) {
        let Some(file) = self.string(path, node) else {
            return;
        };
        let Some(text) = self.read_file(node.at, path, file, "recording") else {
            return;
        };
        match Recording::parse(&text) {
            Ok(recording) => {
                self.recordings.insert(dependency.to_owned(), recording);
            }
            Err((at, message)) => {
                // The version check has no position of its own: find it.
                let at = at.or_else(|| {
                    tree::parse(&text)
                        .ok()
                        .flatten()
                        .and_then(|root| root.find("version").map(|(_, n)| n.at))
                });
                self.problems.push(Problem {
                    file: self.shown(file),
                    at,
                    message: format!("invalid recording: {}", without_position(&message)),
                    help: Some(
                        "a recording is `version: 1` and `interactions: [{request, response}]`"
                            .into(),
                    ),
                });
            }
        }
    }

    fn record(&mut self, path: &str, node: &Node) {
        let Some(fields) = self.map(path, node, Some(keys::RECORD)) else {
            return;
        };
        match field(fields, "upstream") {
            None => self.missing(
                node.at,
                path,
                "upstream",
                Some("e.g. `upstream: http://catalog.internal:8080`".into()),
            ),
            Some(e) => {
                if let Some(url) = self.string(&format!("{path}.upstream"), &e.value)
                    && let Err((message, help)) = check_upstream(url)
                {
                    self.report(
                        e.value.at,
                        format!("`{path}.upstream`: {message}"),
                        Some(help),
                    );
                }
            }
        }
        match field(fields, "to") {
            None => self.missing(
                node.at,
                path,
                "to",
                Some("name the recording to write, e.g. `to: recordings/catalog.yaml`".into()),
            ),
            Some(e) => {
                if let Some(file) = self.string(&format!("{path}.to"), &e.value)
                    && let Some(target) = self.inside(e.value.at, &format!("{path}.to"), file)
                    && target.is_dir()
                {
                    self.report(
                        e.value.at,
                        format!("`{path}.to` names the folder `{file}`; expected a file"),
                        Some(format!(
                            "e.g. `{}/recording.yaml`",
                            file.trim_end_matches('/')
                        )),
                    );
                }
            }
        }
        if let Some(e) = field(fields, "redact") {
            self.string_list(&format!("{path}.redact"), &e.value);
        }
        if let Some(e) = field(fields, "port") {
            self.port_number(&format!("{path}.port"), &e.value);
        }
    }

    // ---- files ----------------------------------------------------------

    /// The path of `file` as shown to the user, beside the manifest.
    fn shown(&self, file: &str) -> PathBuf {
        let mut shown = self.shown_dir.clone();
        for component in Path::new(file).components() {
            match component {
                Component::CurDir => {}
                other => shown.push(other),
            }
        }
        shown
    }

    /// Resolves `relative` inside the manifest's folder, or reports why not.
    /// Existing paths are resolved through symlinks; a path that does not
    /// exist yet is checked through its nearest existing ancestor.
    fn inside(&mut self, at: At, path: &str, relative: &str) -> Option<PathBuf> {
        if relative.trim().is_empty() {
            self.report(at, format!("`{path}` is an empty path"), None);
            return None;
        }
        let given = Path::new(relative);
        if given.is_absolute() || given.has_root() {
            self.report(
                at,
                format!("`{relative}` is an absolute path"),
                Some(
                    "write a path relative to the manifest's folder; files must stay inside it"
                        .into(),
                ),
            );
            return None;
        }
        let mut resolved = PathBuf::new();
        for component in given.components() {
            match component {
                Component::Normal(part) => resolved.push(part),
                Component::CurDir => {}
                Component::ParentDir => {
                    if !resolved.pop() {
                        self.report(
                            at,
                            format!("`{relative}` leaves the manifest's folder"),
                            Some("files must stay inside the manifest's folder; move the file or the manifest".into()),
                        );
                        return None;
                    }
                }
                Component::RootDir | Component::Prefix(_) => {}
            }
        }
        let full = self.dir.join(&resolved);
        let base = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        let mut existing = full.as_path();
        while !existing.exists() {
            match existing.parent() {
                Some(parent) => existing = parent,
                None => return Some(full),
            }
        }
        if let Ok(real) = existing.canonicalize()
            && !real.starts_with(&base)
        {
            self.report(
                at,
                format!("`{relative}` leaves the manifest's folder through a symbolic link"),
                Some(format!("it resolves to {}", real.display())),
            );
            return None;
        }
        Some(full)
    }

    /// Reads a file the manifest names, or reports why it cannot.
    fn read_file(&mut self, at: At, path: &str, file: &str, what: &str) -> Option<String> {
        let full = self.inside(at, path, file)?;
        if full.is_dir() {
            self.report(
                at,
                format!("{what} `{file}` is a folder; expected a file"),
                None,
            );
            return None;
        }
        match std::fs::read(&full) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => {
                    self.report(at, format!("{what} `{file}` is not UTF-8 text"), None);
                    None
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                self.report(
                    at,
                    format!("{what} `{file}` does not exist"),
                    Some("paths are relative to the manifest's folder".into()),
                );
                None
            }
            Err(error) => {
                self.report(at, format!("cannot read {what} `{file}`: {error}"), None);
                None
            }
        }
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
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) if message[index..].contains(" column ") => message[..index].to_owned(),
        _ => message.to_owned(),
    }
}

fn kind_of(key: &str) -> Kind {
    match key {
        "stub" => Kind::Stub,
        "replay" => Kind::Replay,
        "record" => Kind::Record,
        "build" => Kind::Build,
        _ => Kind::Image,
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "nothing",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
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

/// The closest of `candidates` to `word`, when it is close enough to be a typo.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word_lower, c), *c))
        .filter(|(distance, candidate)| {
            *distance <= 2.max(candidate.len() / 3) && *distance < candidate.len().max(word.len())
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

fn name_help(name: &str) -> String {
    let fixed = name_from_folder(Path::new(name));
    let rule =
        "use lowercase letters, digits and `-`, starting with a letter, at most 40 characters";
    if is_valid_name(&fixed) && fixed != name {
        format!("{rule}, e.g. `{fixed}`")
    } else {
        rule.to_owned()
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks a record upstream: `http://host[:port]`, nothing else.
fn check_upstream(url: &str) -> Result<(), (String, String)> {
    let example = "write `http://host` or `http://host:port`".to_owned();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err((
            format!("`{url}` uses https, which recording does not support"),
            "the recorder speaks plain HTTP to the upstream; point it at an http:// address".into(),
        ));
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return Err((format!("`{url}` is not an http:// URL"), example));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '@']) {
        return Err((
            format!("`{url}` has more than a host and port"),
            format!("{example}; paths are kept from each request"),
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            (host, Some(port))
        }
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && (host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            || (host.starts_with('[') && host.ends_with(']')));
    if !host_ok {
        return Err((format!("`{url}` has no valid host"), example));
    }
    if let Some(port) = port
        && !matches!(port.parse::<u32>(), Ok(1..=65_535))
    {
        return Err((
            format!("`{url}` has port `{port}`; expected 1..65535"),
            example,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
