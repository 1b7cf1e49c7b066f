//! `sandbox import compose`: a manifest from a Compose file (the Compose
//! specification, compose-spec.io), read with the manifest's own position
//! tree ([`crate::manifest::tree`]) so that everything left out is named
//! with its line.
//!
//! What is carried: services (the service under work and, as dependencies,
//! every other one), `image`, `build` (context, dockerfile, args),
//! `command` and `entrypoint` (combined: a manifest has only `command`),
//! `environment`, `env_file` (read), `ports` and `expose` (the container
//! port, named), `healthcheck` (see [`super::health`]). `depends_on` picks
//! the service under work. YAML anchors, aliases and merge keys (`<<`) are
//! followed; `x-` fields are Compose's own comments and ignored;
//! `${VAR...}` is interpolated from the process environment and `.env`.
//! Everything else is listed in the [`Report`], with its line.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::health::{self, Probe, Test};
use super::interpolate::{self, InterpolateError, Vars};
use super::ports::{self, ComposePort, Namer};
use super::{
    Draft, DraftEntry, DraftHealth, DraftSource, ImportError, ItemKind, Report, normalize, words,
};
use crate::manifest::tree::{self, At, Node, Value};

/// The largest Compose file read: 4 MiB.
pub const MAX_COMPOSE_BYTES: u64 = 4 << 20;

/// The file names Compose looks for, in its order.
pub const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Names no entry may take (the sandbox's registry is reached by it).
const RESERVED: &[&str] = &["registry"];

/// What to import.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The Compose file, as the user named it (shown in messages).
    pub file: &'a Path,
    /// The service under work (`--service`), by its Compose or manifest name.
    pub service: Option<&'a str>,
    /// The folder the manifest will be written in: its paths are relative
    /// to it and must stay inside it.
    pub out_dir: &'a Path,
    /// The process environment, for interpolation.
    pub environment: &'a HashMap<String, String>,
}

/// A manifest made from a Compose file, and what it left out or changed.
#[derive(Debug, Clone)]
pub struct Imported {
    pub draft: Draft,
    pub report: Report,
}

/// Reads the Compose file and makes the manifest's draft.
pub fn import(request: &Request) -> Result<Imported, ImportError> {
    let absolute = std::path::absolute(request.file).map_err(|cause| ImportError::Read {
        file: request.file.to_path_buf(),
        cause,
    })?;
    let dir = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
    let text = read_text(request.file, &absolute)?;
    let root = match parse(&text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(input(
                request.file,
                None,
                "the Compose file is empty",
                Some("a Compose file has at least `services:`".into()),
            ));
        }
        Err(error) => {
            return Err(input(
                request.file,
                Some(error.at),
                error.message,
                Some(error.help.unwrap_or_else(|| {
                    "fix the YAML there; `docker compose config` shows what Compose reads".into()
                })),
            ));
        }
    };
    let mut importer = Importer {
        shown: request.file.to_path_buf(),
        dir: dir.clone(),
        out_dir: request.out_dir.to_path_buf(),
        vars: Vars {
            process: request.environment.clone(),
            dotenv: HashMap::new(),
        },
        report: Report::default(),
        unset: Vec::new(),
    };
    importer.read_dotenv()?;
    check_merges(&root, request.file)?;
    importer.compose(&root, request.service)
}

/// Parses a Compose file with the manifest's position tree. Compose's
/// reader (libyaml's) lets the lines of a flow collection (`[...]`) be
/// indented less than the key that holds it, which the YAML specification
/// and this reader do not: such a line is indented one more space until it
/// reads. Inside a flow collection, leading spaces separate tokens and are
/// folded out of multi-line scalars, so nothing it says changes, nor any
/// line number.
fn parse(text: &str) -> Result<Option<Node>, tree::SyntaxError> {
    const MAX_FIXES: usize = 1_000;
    let mut fixed: Option<String> = None;
    for _ in 0..MAX_FIXES {
        let current = fixed.as_deref().unwrap_or(text);
        match tree::parse(current) {
            Err(error)
                if error.message.ends_with(": invalid indentation")
                    || error
                        .message
                        .ends_with(": invalid indentation in flow construct") =>
            {
                let line = error.at.0 - 1;
                let mut lines: Vec<&str> = current.split_inclusive('\n').collect();
                let Some(target) = lines.get(line) else {
                    return Err(error);
                };
                let indented = format!(" {target}");
                lines[line] = &indented;
                fixed = Some(lines.concat());
            }
            other => return other,
        }
    }
    tree::parse(fixed.as_deref().unwrap_or(text))
}

fn input(
    file: &Path,
    at: Option<At>,
    message: impl Into<String>,
    help: Option<String>,
) -> ImportError {
    ImportError::Input {
        file: file.to_path_buf(),
        line: at,
        message: message.into(),
        help,
    }
}

/// Reads a file of at most [`MAX_COMPOSE_BYTES`] as UTF-8.
fn read_text(shown: &Path, path: &Path) -> Result<String, ImportError> {
    let read_error = |cause| ImportError::Read {
        file: shown.to_path_buf(),
        cause,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if meta.is_dir() {
        return Err(input(
            shown,
            None,
            "is a folder",
            Some("name the Compose file itself, e.g. `compose.yaml`".into()),
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_COMPOSE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_COMPOSE_BYTES {
        return Err(input(
            shown,
            None,
            "is larger than 4 MiB, which no Compose file needs to be",
            Some("name the Compose file itself".into()),
        ));
    }
    String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        input(
            shown,
            Some((line, column)),
            "is not UTF-8 text",
            Some("save it as UTF-8".into()),
        )
    })
}

/// A merge key (`<<`) must merge a map or a list of maps, as YAML says.
fn check_merges(node: &Node, file: &Path) -> Result<(), ImportError> {
    match &node.value {
        Value::Map(entries) => {
            for entry in entries {
                if entry.key == "<<" {
                    let ok = match &entry.value.value {
                        Value::Map(_) => true,
                        Value::Seq(items) => items.iter().all(|i| i.entries().is_some()),
                        Value::Scalar { .. } => false,
                    };
                    if !ok {
                        return Err(input(
                            file,
                            Some(entry.key_at),
                            "`<<` must merge a map (`<<: *anchor`) or a list of maps",
                            Some("point it at an anchor of a map, e.g. `<<: *defaults`".into()),
                        ));
                    }
                }
                check_merges(&entry.value, file)?;
            }
        }
        Value::Seq(items) => {
            for item in items {
                check_merges(item, file)?;
            }
        }
        Value::Scalar { .. } => {}
    }
    Ok(())
}

/// A key of a Compose map, merge keys resolved.
#[derive(Debug, Clone, Copy)]
struct Field<'n> {
    key: &'n str,
    key_at: At,
    value: &'n Node,
}

impl Field<'_> {
    /// The line to report it at: where it is written (in the anchor, when
    /// it was merged), so that what many services merge is one line.
    fn line(&self) -> usize {
        self.key_at.0
    }
}

/// The keys of a map with `<<` resolved as YAML merge keys: the map's own
/// keys win, then the merged maps in order. Empty for a non-map.
fn fields(node: &Node) -> Vec<Field<'_>> {
    let Some(entries) = node.entries() else {
        return Vec::new();
    };
    let own: HashSet<&str> = entries
        .iter()
        .filter(|e| e.key != "<<")
        .map(|e| e.key.as_str())
        .collect();
    let mut out: Vec<Field> = Vec::new();
    for entry in entries {
        if entry.key == "<<" {
            let sources: Vec<&Node> = match &entry.value.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![&entry.value],
            };
            for source in sources {
                for field in fields(source) {
                    if own.contains(field.key) || out.iter().any(|o| o.key == field.key) {
                        continue;
                    }
                    out.push(field);
                }
            }
            continue;
        }
        let field = Field {
            key: &entry.key,
            key_at: entry.key_at,
            value: &entry.value,
        };
        // A repeated key: the last one counts, as Compose reads it.
        match out.iter_mut().find(|o| o.key == entry.key) {
            Some(existing) => *existing = field,
            None => out.push(field),
        }
    }
    out
}

fn field<'n>(fields: &[Field<'n>], key: &str) -> Option<Field<'n>> {
    fields.iter().find(|f| f.key == key).copied()
}

/// A service of the Compose file, as the first pass reads it.
#[derive(Debug)]
struct ServiceInfo<'n> {
    /// Its name in the Compose file.
    compose: String,
    /// Its name in the manifest.
    name: String,
    key_at: At,
    node: &'n Node,
    /// The services it depends on, with where and their condition.
    depends_on: Vec<(String, At, Option<String>)>,
    /// Its `container_name` and `hostname`: other containers of Compose
    /// reach it by them too, a sandbox's do not.
    aliases: Vec<(&'static str, String)>,
}

struct Importer {
    shown: PathBuf,
    /// The Compose file's folder, absolute.
    dir: PathBuf,
    /// The manifest's folder, absolute.
    out_dir: PathBuf,
    vars: Vars,
    report: Report,
    /// Variables read but not set, with the line that first read them.
    unset: Vec<(String, usize)>,
}

impl Importer {
    fn error(&self, at: At, message: impl Into<String>, help: Option<String>) -> ImportError {
        input(&self.shown, Some(at), message, help)
    }

    fn not_carried(&mut self, line: usize, entry: Option<&str>, text: impl Into<String>) {
        self.report
            .add(Some(line), entry, ItemKind::NotCarried, text);
    }

    fn changed(&mut self, line: usize, entry: Option<&str>, text: impl Into<String>) {
        self.report.add(Some(line), entry, ItemKind::Changed, text);
    }

    /// The `.env` file beside the Compose file, when there is one.
    fn read_dotenv(&mut self) -> Result<(), ImportError> {
        let path = self.dir.join(".env");
        if !path.is_file() {
            return Ok(());
        }
        let shown = self.shown_beside(".env");
        let text = read_text(&shown, &path)?;
        let process = self.vars.process.clone();
        let lookup = |name: &str| process.get(name).cloned();
        let mut unset = Vec::new();
        let vars = interpolate::parse_dotenv(&text, &lookup, &mut unset).map_err(|error| {
            input(
                &shown,
                Some((error.line, 1)),
                error.message,
                Some("write `NAME=value`, one a line".into()),
            )
        })?;
        for var in vars {
            if let Some(value) = var.value {
                self.vars.dotenv.insert(var.name, value);
            }
        }
        Ok(())
    }

    /// A file beside the Compose file, as the user would name it.
    fn shown_beside(&self, relative: &str) -> PathBuf {
        match self.shown.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.join(relative),
            _ => PathBuf::from(relative),
        }
    }

    /// The interpolated text of a scalar; `None` for null. `what` names
    /// it in messages.
    fn text(&mut self, node: &Node, what: &str) -> Result<Option<String>, ImportError> {
        if node.is_null() {
            return Ok(None);
        }
        let Some(raw) = node.text() else {
            return Err(self.error(
                node.at,
                format!("`{what}` must be a single value, found {}", node.describe()),
                None,
            ));
        };
        self.interpolate(raw, node.at).map(Some)
    }

    fn interpolate(&mut self, raw: &str, at: At) -> Result<String, ImportError> {
        let vars = &self.vars;
        let lookup = |name: &str| vars.get(name).map(str::to_owned);
        let mut unset = Vec::new();
        let value = interpolate::interpolate(raw, &lookup, &mut unset).map_err(|error| {
            let help = match &error {
                InterpolateError::Required { name, .. } => format!(
                    "set `{name}` in the environment or in the `.env` file beside the Compose file"
                ),
                InterpolateError::Syntax(_) => {
                    "write `$$` for a literal `$`, `${NAME}` for a variable".into()
                }
            };
            self.error(at, error.to_string(), Some(help))
        })?;
        for name in unset {
            if !self.unset.iter().any(|(n, _)| *n == name) {
                self.unset.push((name, at.0));
            }
        }
        Ok(value)
    }

    /// A string or a list of strings (`command`, `entrypoint`): a string is
    /// split into words as Compose splits it.
    fn words(&mut self, node: &Node, what: &str) -> Result<Option<Vec<String>>, ImportError> {
        if node.is_null() {
            return Ok(None);
        }
        if let Some(items) = node.items() {
            let mut out = Vec::new();
            for item in items {
                match self.text(item, what)? {
                    Some(text) => out.push(text),
                    None => out.push(String::new()),
                }
            }
            return Ok(Some(out));
        }
        let Some(text) = self.text(node, what)? else {
            return Ok(None);
        };
        words::split(&text).map(Some).ok_or_else(|| {
            self.error(
                node.at,
                format!("`{what}` has a quote that is not closed"),
                Some("close it, or write the command as a list".into()),
            )
        })
    }

    fn compose(&mut self, root: &Node, wanted: Option<&str>) -> Result<Imported, ImportError> {
        if root.entries().is_none() {
            return Err(self.error(
                root.at,
                format!("a Compose file is a map, found {}", root.describe()),
                Some("start it with `services:`".into()),
            ));
        }
        let top = fields(root);
        let mut services_node = None;
        let mut name = None;
        for f in &top {
            match f.key {
                "services" => services_node = Some(*f),
                "name" => name = self.text(f.value, "name")?.map(|n| (n, f.key_at)),
                key if key.starts_with("x-") => {}
                "version" => self.not_carried(
                    f.line(),
                    None,
                    "version: obsolete in Compose; a manifest has its own `version: 1`",
                ),
                key => {
                    let reason = top_level_reason(key);
                    self.not_carried(f.line(), None, format!("{key}: {reason}"));
                }
            }
        }
        let Some(services_field) = services_node else {
            return Err(self.error(
                root.at,
                "the Compose file has no `services:`",
                Some("a Compose file names its containers under `services:`".into()),
            ));
        };
        let services = self.services(services_field)?;
        let chosen = self.choose(&services, services_field, wanted)?;

        let project = match &name {
            Some((n, _)) => n.clone(),
            None => self
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let manifest_name = match &name {
            Some((given, at)) => {
                let normalized = normalize(given);
                if normalized.is_empty() || !crate::manifest::is_valid_name(&normalized) {
                    self.not_carried(
                        at.0,
                        None,
                        format!("name `{given}`: no manifest name can be made of it; the sandbox takes the folder's name"),
                    );
                    None
                } else {
                    if normalized != *given {
                        self.changed(
                            at.0,
                            None,
                            format!("name `{given}` is `{normalized}` in the manifest (names are [a-z][a-z0-9-]{{0,39}})"),
                        );
                    }
                    Some(normalized)
                }
            }
            None => None,
        };

        // What the service under work needs, directly or not.
        let needed = needed_by(&services, chosen);
        let mut entries = Vec::new();
        for (index, info) in services.iter().enumerate() {
            let entry = self.entry(info, index == chosen, &needed, &services, &project)?;
            entries.push(entry);
        }
        self.renamed(&services, &entries);
        for (name, line) in std::mem::take(&mut self.unset) {
            self.changed(
                line,
                None,
                format!("variable `{name}` is not set (neither in the environment nor in `.env`): read as blank, as Compose does"),
            );
        }
        let service = entries.remove(chosen);
        let draft = Draft {
            source: self
                .shown
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.shown.display().to_string()),
            importer: "compose",
            name: manifest_name,
            service,
            dependencies: entries,
        };
        Ok(Imported {
            draft,
            report: std::mem::take(&mut self.report),
        })
    }

    /// The first pass: every service's names and `depends_on`.
    fn services<'n>(&mut self, services: Field<'n>) -> Result<Vec<ServiceInfo<'n>>, ImportError> {
        if services.value.entries().is_none() {
            return Err(self.error(
                services.value.at,
                format!(
                    "`services` must be a map of services, found {}",
                    services.value.describe()
                ),
                Some("write each service as `NAME:` with its settings under it".into()),
            ));
        }
        let mut out: Vec<ServiceInfo> = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        for f in fields(services.value) {
            if f.key.starts_with("x-") {
                continue;
            }
            if f.value.entries().is_none() {
                return Err(self.error(
                    f.value.at,
                    format!(
                        "service `{}` must be a map, found {}",
                        f.key,
                        f.value.describe()
                    ),
                    Some("give it at least `image:` or `build:`".into()),
                ));
            }
            let mut name = normalize(f.key);
            if name.is_empty() {
                name = "service".into();
            }
            if RESERVED.contains(&name.as_str()) {
                name = format!("{name}-svc");
            }
            let base = name.clone();
            let mut n = 2;
            while taken.contains(&name) {
                let suffix = format!("-{n}");
                let mut stem = base.clone();
                stem.truncate(40 - suffix.len());
                name = format!("{}{suffix}", stem.trim_end_matches('-'));
                n += 1;
            }
            taken.push(name.clone());
            if name != f.key {
                let why = if RESERVED.contains(&f.key) {
                    format!("`{}` is the sandbox's registry", f.key)
                } else if normalize(f.key) != name {
                    format!("`{}` is taken by another service", normalize(f.key))
                } else {
                    "manifest names are [a-z][a-z0-9-]{0,39}".into()
                };
                self.changed(
                    f.line(),
                    Some(f.key),
                    format!("named `{name}` in the manifest ({why})"),
                );
            }
            let mut depends_on = Vec::new();
            if let Some(d) = field(&fields(f.value), "depends_on") {
                match &d.value.value {
                    Value::Seq(items) => {
                        for item in items {
                            let Some(target) = item.text() else {
                                return Err(self.error(
                                    item.at,
                                    format!(
                                        "`depends_on` of `{}` lists {}; expected a service name",
                                        f.key,
                                        item.describe()
                                    ),
                                    None,
                                ));
                            };
                            depends_on.push((target.to_owned(), item.at, None));
                        }
                    }
                    Value::Map(_) => {
                        for dep in fields(d.value) {
                            let condition = field(&fields(dep.value), "condition")
                                .and_then(|c| c.value.text().map(str::to_owned));
                            depends_on.push((dep.key.to_owned(), dep.key_at, condition));
                        }
                    }
                    Value::Scalar { .. } if d.value.is_null() => {}
                    Value::Scalar { .. } => {
                        return Err(self.error(
                            d.value.at,
                            format!(
                                "`depends_on` of `{}` must be a list or a map, found {}",
                                f.key,
                                d.value.describe()
                            ),
                            Some("write `depends_on: [db]`".into()),
                        ));
                    }
                }
            }
            let mut aliases = Vec::new();
            for key in ["container_name", "hostname"] {
                if let Some(alias) = field(&fields(f.value), key)
                    .and_then(|a| a.value.text().map(str::to_owned))
                    .filter(|a| !a.contains('$') && *a != name)
                {
                    aliases.push((key, alias));
                }
            }
            out.push(ServiceInfo {
                compose: f.key.to_owned(),
                name,
                key_at: f.key_at,
                node: f.value,
                depends_on,
                aliases,
            });
        }
        if out.is_empty() {
            return Err(self.error(
                services.key_at,
                "`services` names no service",
                Some("add one, with `image:` or `build:`".into()),
            ));
        }
        let names: Vec<&str> = out.iter().map(|s| s.compose.as_str()).collect();
        for service in &out {
            for (target, at, _) in &service.depends_on {
                if !names.contains(&target.as_str()) {
                    let help = match close(target, &names) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("the services are: {}", names.join(", ")),
                    };
                    return Err(self.error(
                        *at,
                        format!(
                            "`{}` depends on `{target}`, which is not a service of this file",
                            service.compose
                        ),
                        Some(help),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The service under work: `--service`, else the one nothing depends on.
    fn choose(
        &self,
        services: &[ServiceInfo],
        at: Field,
        wanted: Option<&str>,
    ) -> Result<usize, ImportError> {
        let names: Vec<&str> = services.iter().map(|s| s.compose.as_str()).collect();
        if let Some(wanted) = wanted {
            return services
                .iter()
                .position(|s| s.compose == wanted)
                .or_else(|| services.iter().position(|s| s.name == wanted))
                .ok_or_else(|| {
                    let help = match close(wanted, &names) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("the services are: {}", names.join(", ")),
                    };
                    self.error(
                        at.key_at,
                        format!("there is no service `{wanted}` in the Compose file"),
                        Some(help),
                    )
                });
        }
        let depended: HashSet<&str> = services
            .iter()
            .flat_map(|s| s.depends_on.iter().map(|(t, _, _)| t.as_str()))
            .collect();
        let roots: Vec<usize> = (0..services.len())
            .filter(|i| !depended.contains(services[*i].compose.as_str()))
            .collect();
        match roots.as_slice() {
            [one] => Ok(*one),
            [] => Err(self.error(
                at.key_at,
                "every service is depended on by another (`depends_on` goes in a circle), so none is the service under work",
                Some(format!("pass `--service NAME`; the services are: {}", names.join(", "))),
            )),
            several => {
                let listed: Vec<&str> = several.iter().map(|i| services[*i].compose.as_str()).collect();
                Err(self.error(
                    at.key_at,
                    format!(
                        "{} services are in no other service's `depends_on`: {}; which is the service under work?",
                        listed.len(),
                        listed.join(", ")
                    ),
                    Some(format!(
                        "pass `--service NAME`, e.g. `sandbox import compose {} --service {}`",
                        self.shown.display(),
                        listed[0]
                    )),
                ))
            }
        }
    }

    /// One service as a manifest entry.
    fn entry(
        &mut self,
        info: &ServiceInfo,
        is_service: bool,
        needed: &HashSet<usize>,
        services: &[ServiceInfo],
        project: &str,
    ) -> Result<DraftEntry, ImportError> {
        let svc = info.compose.as_str();
        let all = fields(info.node);
        let mut entry = DraftEntry {
            name: info.name.clone(),
            ..DraftEntry::default()
        };
        let mut left_out: Vec<String> = Vec::new();
        let mut hosts = vec![info.compose.clone(), info.name.clone()];
        for f in &all {
            match f.key {
                "image" | "build" | "command" | "entrypoint" | "environment" | "env_file"
                | "ports" | "expose" | "healthcheck" => {}
                key if key.starts_with("x-") => {}
                "depends_on" => {
                    if !is_service && !info.depends_on.is_empty() {
                        let targets: Vec<&str> =
                            info.depends_on.iter().map(|(t, _, _)| t.as_str()).collect();
                        self.not_carried(
                            f.line(),
                            Some(svc),
                            format!(
                                "depends_on: {}: a sandbox starts every dependency, then the service",
                                targets.join(", "),
                            ),
                        );
                    }
                }
                key => {
                    if matches!(key, "container_name" | "hostname")
                        && let Some(host) = f.value.text()
                    {
                        hosts.push(host.to_owned());
                    }
                    left_out.push(key.to_owned());
                    self.not_carried(
                        f.line(),
                        Some(svc),
                        format!("{key}: {}", service_reason(key)),
                    );
                }
            }
        }

        // Where it comes from.
        let image = match field(&all, "image") {
            Some(f) => self.text(f.value, "image")?.map(|i| (i, f)),
            None => None,
        };
        let build = match field(&all, "build") {
            Some(f) if !f.value.is_null() => Some(self.build(f, svc)?),
            _ => None,
        };
        match (build, image) {
            (Some(Ok(source)), image) => {
                entry.source = source;
                if let Some((image, f)) = image {
                    self.not_carried(
                        f.line(),
                        Some(svc),
                        format!("image `{image}`: Compose tags the build with it; an entry is built or taken from an image, not both"),
                    );
                    entry.source_comment = Some(format!("Compose tags this build as {image}"));
                }
            }
            (Some(Err((line, context, why))), image) => {
                let (image, how) = match image {
                    Some((image, _)) => (image, "the image Compose tags it with".to_owned()),
                    None => {
                        let image = format!("{}-{}", compose_project(project), info.compose);
                        (
                            image,
                            "the name Compose gives the image it builds".to_owned(),
                        )
                    }
                };
                self.not_carried(
                    line,
                    Some(svc),
                    format!("build `{context}`: {why}; the entry takes `{image}`, {how}, instead"),
                );
                entry.source_comment = Some(format!(
                    "Compose builds it from {context} ({why}): build it first"
                ));
                entry.source = DraftSource::Image(image);
            }
            (None, Some((image, _))) => entry.source = DraftSource::Image(image),
            (None, None) => {
                let help = if field(&all, "extends").is_some() {
                    "it `extends` another service, which an import does not follow: write that service's `image` or `build` into it"
                } else {
                    "give it one: Compose needs one too"
                };
                return Err(self.error(
                    info.key_at,
                    format!("service `{svc}` has neither `image` nor `build`"),
                    Some(help.into()),
                ));
            }
        }

        self.command(&all, svc, &mut entry)?;
        self.env(&all, svc, &mut entry)?;
        let mut namer = Namer::default();
        self.ports(&all, svc, &mut entry, &mut namer)?;
        let host_refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
        self.health(&all, svc, &mut entry, &mut namer, &host_refs)?;

        // Comments that say where it came from and what it left behind.
        let origin = if info.name == info.compose {
            format!("Compose service `{svc}` (line {})", info.key_at.0)
        } else {
            format!("Compose service `{svc}` (line {}), renamed", info.key_at.0)
        };
        if is_service {
            entry
                .comments
                .push(format!("The service under work: {origin}."));
        } else {
            entry.comments.push(format!("{origin}."));
            let index = services.iter().position(|s| s.compose == info.compose);
            if index.is_some_and(|i| !needed.contains(&i)) {
                entry.comments.push(
                    "The service does not depend on it; `docker compose up` starts it too.".into(),
                );
            }
            let run_once = services.iter().any(|s| {
                s.depends_on.iter().any(|(t, _, c)| {
                    *t == info.compose && c.as_deref() == Some("service_completed_successfully")
                })
            });
            if run_once {
                entry.comments.push(
                    "Compose runs it to completion first; a sandbox keeps its dependencies running."
                        .into(),
                );
                self.not_carried(
                    info.key_at.0,
                    Some(svc),
                    "depends_on condition `service_completed_successfully`: it runs once and exits; a sandbox expects its dependencies to keep running and be healthy",
                );
            }
        }
        if is_service && entry.health.is_none() {
            entry.trailer.push(
                "health: { http: /healthz }  # Compose gave no healthcheck: add a real call".into(),
            );
        }
        if !left_out.is_empty() {
            entry.trailer.push(format!(
                "Not carried from Compose: {} (see the import report).",
                left_out.join(", ")
            ));
        }
        Ok(entry)
    }

    /// `build:` as a manifest's build, or why it cannot be one: (line,
    /// context as written, reason).
    #[allow(clippy::type_complexity)]
    fn build(
        &mut self,
        f: Field,
        svc: &str,
    ) -> Result<Result<DraftSource, (usize, String, String)>, ImportError> {
        let (context, context_line, dockerfile, args) = if f.value.entries().is_some() {
            let build_fields = fields(f.value);
            let mut context = ".".to_owned();
            let mut context_line = f.line();
            let mut dockerfile = None;
            let mut args = None;
            for b in &build_fields {
                match b.key {
                    "context" => {
                        if let Some(text) = self.text(b.value, "build.context")? {
                            context = text;
                            context_line = b.line();
                        }
                    }
                    "dockerfile" => {
                        dockerfile = self
                            .text(b.value, "build.dockerfile")?
                            .map(|d| (d, b.line()));
                    }
                    "args" => args = Some(*b),
                    key if key.starts_with("x-") => {}
                    "dockerfile_inline" => {
                        return Ok(Err((
                            b.line(),
                            "dockerfile_inline".into(),
                            "a manifest builds from a Dockerfile in the context".into(),
                        )));
                    }
                    key => self.not_carried(
                        b.line(),
                        Some(svc),
                        format!("build.{key}: {}", build_reason(key)),
                    ),
                }
            }
            (context, context_line, dockerfile, args)
        } else {
            let Some(context) = self.text(f.value, "build")? else {
                return Ok(Err((f.line(), String::new(), "it is empty".into())));
            };
            (context, f.line(), None, None)
        };
        let remote = context.contains("://") || context.starts_with("git@");
        if remote {
            return Ok(Err((
                context_line,
                context,
                "a remote build context; a manifest builds from a folder".into(),
            )));
        }
        let absolute = lexical_join(&self.dir, &context);
        let Ok(real) = absolute.canonicalize() else {
            return Ok(Err((
                context_line,
                context,
                "that folder does not exist here".into(),
            )));
        };
        if !real.is_dir() {
            return Ok(Err((context_line, context, "it is not a folder".into())));
        }
        let out = self
            .out_dir
            .canonicalize()
            .unwrap_or_else(|_| self.out_dir.clone());
        let Ok(relative) = real.strip_prefix(&out) else {
            return Ok(Err((
                context_line,
                context,
                format!(
                    "it is outside {}, the manifest's folder, and a manifest's paths stay inside it",
                    self.out_dir.display()
                ),
            )));
        };
        let written = if relative.as_os_str().is_empty() {
            ".".to_owned()
        } else {
            format!("./{}", relative.to_string_lossy())
        };
        if written != context && format!("./{context}") != written {
            self.changed(
                context_line,
                Some(svc),
                format!("build context `{context}` is `{written}` from the manifest's folder"),
            );
        }
        // Compose reads `dockerfile` relative to the context, as a manifest does.
        let dockerfile = match dockerfile {
            None => None,
            Some((name, line)) => {
                let path = Path::new(&name);
                let relative = if path.is_absolute() {
                    match path
                        .strip_prefix(&real)
                        .or_else(|_| path.strip_prefix(&absolute))
                    {
                        Ok(inside) => inside.to_string_lossy().into_owned(),
                        Err(_) => {
                            return Ok(Err((
                                line,
                                context,
                                format!("its Dockerfile `{name}` is outside the build context"),
                            )));
                        }
                    }
                } else {
                    name.clone()
                };
                Some((relative, line))
            }
        };
        let file_name = dockerfile
            .as_ref()
            .map_or("Dockerfile", |(d, _)| d.as_str());
        let file = lexical_join(&real, file_name);
        let inside = file
            .canonicalize()
            .map(|f| f.starts_with(&out) && f.is_file());
        match inside {
            Ok(true) => {}
            Ok(false) => {
                return Ok(Err((
                    dockerfile.as_ref().map_or(context_line, |(_, l)| *l),
                    context,
                    format!("its Dockerfile `{file_name}` is outside the manifest's folder"),
                )));
            }
            Err(_) => {
                return Ok(Err((
                    dockerfile.as_ref().map_or(context_line, |(_, l)| *l),
                    context,
                    format!("it has no `{file_name}` here"),
                )));
            }
        }
        let args = match args {
            Some(b) => self.pairs(&b, svc, "build.args")?,
            None => Vec::new(),
        };
        Ok(Ok(DraftSource::Build {
            context: written,
            dockerfile: dockerfile.map(|(d, _)| d),
            args,
        }))
    }

    /// `environment`-shaped settings (a list of `K=V` or a map) as pairs,
    /// with `K` alone taken from the environment. Names a manifest cannot
    /// take and values that cannot be found are listed.
    fn pairs(
        &mut self,
        f: &Field,
        svc: &str,
        what: &str,
    ) -> Result<Vec<(String, String)>, ImportError> {
        let mut raw: Vec<(String, Option<String>, At)> = Vec::new();
        match &f.value.value {
            Value::Seq(items) => {
                for item in items {
                    let Some(text) = self.text(item, what)? else {
                        continue;
                    };
                    match text.split_once('=') {
                        Some((k, v)) => raw.push((k.to_owned(), Some(v.to_owned()), item.at)),
                        None => raw.push((text, None, item.at)),
                    }
                }
            }
            Value::Map(_) => {
                for e in fields(f.value) {
                    if !matches!(e.value.value, Value::Scalar { .. }) {
                        return Err(self.error(
                            e.value.at,
                            format!(
                                "`{what}.{}` must be a single value, found {}",
                                e.key,
                                e.value.describe()
                            ),
                            None,
                        ));
                    }
                    let value = self.text(e.value, &format!("{what}.{}", e.key))?;
                    raw.push((e.key.to_owned(), value, (e.line(), e.key_at.1)));
                }
            }
            Value::Scalar { .. } if f.value.is_null() => {}
            Value::Scalar { .. } => {
                return Err(self.error(
                    f.value.at,
                    format!(
                        "`{what}` must be a list of `NAME=value` or a map, found {}",
                        f.value.describe()
                    ),
                    None,
                ));
            }
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for (name, value, at) in raw {
            if !is_env_name(&name) {
                self.not_carried(
                    at.0,
                    Some(svc),
                    format!("{what} `{name}`: not a variable name a manifest takes (letters, digits and `_`, not starting with a digit)"),
                );
                continue;
            }
            let value = match value {
                Some(value) => value,
                None => match self.passed(&name) {
                    Some((value, from)) => {
                        self.changed(at.0, Some(svc), format!("{what} `{name}` has no value in Compose, which passes it from the shell: it took the value {from}"));
                        value
                    }
                    None => {
                        self.not_carried(at.0, Some(svc), format!("{what} `{name}` has no value: Compose passes it from the shell, where it is not set; add it by hand"));
                        continue;
                    }
                },
            };
            set(&mut out, name, value);
        }
        Ok(out)
    }

    /// A variable Compose passes from the shell: its value, and where it was found.
    fn passed(&self, name: &str) -> Option<(String, &'static str)> {
        if let Some(value) = self.vars.process.get(name) {
            return Some((value.clone(), "of this shell's environment"));
        }
        self.vars
            .dotenv
            .get(name)
            .map(|v| (v.clone(), "of the `.env` file"))
    }

    fn command(
        &mut self,
        all: &[Field],
        svc: &str,
        entry: &mut DraftEntry,
    ) -> Result<(), ImportError> {
        let entrypoint = match field(all, "entrypoint") {
            Some(f) => Some((self.words(f.value, "entrypoint")?, f)),
            None => None,
        };
        let command = match field(all, "command") {
            Some(f) => self.words(f.value, "command")?,
            None => None,
        };
        match entrypoint {
            Some((Some(words), f)) if words.iter().any(|w| !w.is_empty()) => {
                let mut all_words = words.clone();
                all_words.extend(command.clone().unwrap_or_default());
                let what = if command.is_some() {
                    "entrypoint and command combined into `command`"
                } else {
                    "entrypoint carried as `command`"
                };
                self.changed(
                    f.line(),
                    Some(svc),
                    format!("{what}: a manifest has only `command`, which runs after the image's own ENTRYPOINT when it has one"),
                );
                entry.command_comment = Some(format!(
                    "Compose: entrypoint {}{}",
                    words.join(" "),
                    command
                        .map(|c| format!(", command {}", c.join(" ")))
                        .unwrap_or_default()
                ));
                entry.command = Some(all_words);
            }
            Some((_, f)) => {
                self.not_carried(
                    f.line(),
                    Some(svc),
                    "entrypoint (empty): a manifest cannot clear an image's ENTRYPOINT",
                );
                entry.command = command.filter(|c| !c.is_empty());
            }
            None => entry.command = command.filter(|c| !c.is_empty()),
        }
        Ok(())
    }

    fn env(&mut self, all: &[Field], svc: &str, entry: &mut DraftEntry) -> Result<(), ImportError> {
        let mut env: Vec<(String, String)> = Vec::new();
        if let Some(f) = field(all, "env_file") {
            let mut files: Vec<(String, bool, bool, At)> = Vec::new();
            let items: Vec<&Node> = match &f.value.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![f.value],
            };
            for item in items {
                if item.entries().is_some() {
                    let item_fields = fields(item);
                    let Some(path) = field(&item_fields, "path") else {
                        return Err(self.error(
                            item.at,
                            "an `env_file` entry has no `path`",
                            Some("write `- path: ./app.env`".into()),
                        ));
                    };
                    let Some(path) = self.text(path.value, "env_file.path")? else {
                        continue;
                    };
                    let required = field(&item_fields, "required")
                        .and_then(|r| r.value.text().map(|t| t != "false"))
                        .unwrap_or(true);
                    let raw = field(&item_fields, "format")
                        .and_then(|r| r.value.text().map(|t| t == "raw"))
                        .unwrap_or(false);
                    files.push((path, required, raw, item.at));
                } else if let Some(path) = self.text(item, "env_file")? {
                    files.push((path, true, false, item.at));
                }
            }
            for (path, required, raw, at) in files {
                let read = self.env_file(&path, raw, at, svc)?;
                match read {
                    Some(vars) => {
                        let count = vars.len();
                        for (k, v) in vars {
                            set(&mut env, k, v);
                        }
                        self.changed(
                            at.0,
                            Some(svc),
                            format!("env_file `{path}`: its {count} variable{} are written into `env` (keep secrets out of a manifest you commit)", if count == 1 { "" } else { "s" }),
                        );
                    }
                    None if required => self.not_carried(
                        at.0,
                        Some(svc),
                        format!("env_file `{path}` does not exist here: its variables are not in `env`; add them by hand"),
                    ),
                    None => {}
                }
            }
        }
        if let Some(f) = field(all, "environment") {
            for (k, v) in self.pairs(&f, svc, "environment")? {
                set(&mut env, k, v);
            }
        }
        entry.env = env;
        Ok(())
    }

    /// The variables of an env file, `None` when it does not exist.
    fn env_file(
        &mut self,
        path: &str,
        raw: bool,
        at: At,
        svc: &str,
    ) -> Result<Option<Vec<(String, String)>>, ImportError> {
        let full = lexical_join(&self.dir, path);
        if !full.is_file() {
            return Ok(None);
        }
        let shown = self.shown_beside(path);
        let text = read_text(&shown, &full)?;
        let mut out = Vec::new();
        if raw {
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some((k, v)) = line.split_once('=') {
                    out.push((k.trim().to_owned(), v.to_owned()));
                }
            }
            return Ok(Some(out));
        }
        let vars = &self.vars;
        let lookup = |name: &str| vars.get(name).map(str::to_owned);
        let mut unset = Vec::new();
        let parsed = interpolate::parse_dotenv(&text, &lookup, &mut unset).map_err(|error| {
            input(
                &shown,
                Some((error.line, 1)),
                error.message,
                Some("write `NAME=value`, one a line".into()),
            )
        })?;
        for name in unset {
            if !self.unset.iter().any(|(n, _)| *n == name) {
                self.unset.push((name, at.0));
            }
        }
        for var in parsed {
            if !is_env_name(&var.name) {
                self.not_carried(
                    at.0,
                    Some(svc),
                    format!(
                        "env_file `{path}` line {}: `{}` is not a variable name a manifest takes",
                        var.line, var.name
                    ),
                );
                continue;
            }
            match var.value.or_else(|| self.passed(&var.name).map(|(v, _)| v)) {
                Some(value) => out.push((var.name, value)),
                None => self.not_carried(
                    at.0,
                    Some(svc),
                    format!(
                        "env_file `{path}` line {}: `{}` has no value and is not set here",
                        var.line, var.name
                    ),
                ),
            }
        }
        Ok(Some(out))
    }

    fn ports(
        &mut self,
        all: &[Field],
        svc: &str,
        entry: &mut DraftEntry,
        namer: &mut Namer,
    ) -> Result<(), ImportError> {
        let mut published: Vec<String> = Vec::new();
        let mut published_line = None;
        for (key, exposed) in [("ports", false), ("expose", true)] {
            let Some(f) = field(all, key) else { continue };
            let Some(items) = f.value.items() else {
                if f.value.is_null() {
                    continue;
                }
                return Err(self.error(
                    f.value.at,
                    format!(
                        "`{key}` of `{svc}` must be a list, found {}",
                        f.value.describe()
                    ),
                    Some(format!("write `{key}: [\"8080:80\"]`")),
                ));
            };
            let mut exposed_any = false;
            for item in items {
                let port = self.port(item, key, exposed)?;
                let Some(port) = port else { continue };
                let written = match &port.published {
                    Some(p) => format!("{p}:{}", port_text(&port)),
                    None => port_text(&port),
                };
                if port.protocol != "tcp" {
                    self.not_carried(
                        item.at.0,
                        Some(svc),
                        format!(
                            "{key} `{written}/{}`: a sandbox carries TCP ports only",
                            port.protocol
                        ),
                    );
                    continue;
                }
                let Some(number) = port.single() else {
                    self.not_carried(
                        item.at.0,
                        Some(svc),
                        format!("{key} `{written}`: a range; a manifest names each port, so add the ones the service uses"),
                    );
                    continue;
                };
                if let Some(p) = &port.published {
                    published.push(p.clone());
                    published_line.get_or_insert(item.at.0);
                }
                if let Some(existing) = entry.ports.iter_mut().find(|(_, n, _)| *n == number) {
                    if let (Some(p), None) = (&port.published, &existing.2) {
                        existing.2 = Some(format!("Compose published it on {p}"));
                    }
                    continue;
                }
                let http = port
                    .app_protocol
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case("http"));
                let name = namer.name(number, &entry.name, port.name.as_deref(), http);
                let comment = match (&port.published, exposed) {
                    (Some(p), _) => Some(format!("Compose published it on {p}")),
                    (None, true) => {
                        exposed_any = true;
                        Some("Compose exposed it to the other services only".to_owned())
                    }
                    (None, false) => None,
                };
                entry.ports.push((name, number, comment));
            }
            if exposed_any {
                self.changed(
                    f.line(),
                    Some(svc),
                    "expose: carried as `ports` (a sandbox publishes every port on 127.0.0.1 only)",
                );
            }
        }
        if !published.is_empty() {
            self.changed(
                published_line.unwrap_or(0),
                Some(svc),
                format!(
                    "ports: the host ports Compose published ({}) are not kept: a sandbox publishes each port on 127.0.0.1 at a free port (`sandbox status` shows it)",
                    published.join(", ")
                ),
            );
        }
        Ok(())
    }

    /// One item of `ports` or `expose`.
    fn port(
        &mut self,
        item: &Node,
        key: &str,
        exposed: bool,
    ) -> Result<Option<ComposePort>, ImportError> {
        if item.entries().is_some() {
            let item_fields = fields(item);
            let get = |me: &mut Self, k: &str| -> Result<Option<String>, ImportError> {
                match field(&item_fields, k) {
                    Some(f) => me.text(f.value, &format!("{key}.{k}")),
                    None => Ok(None),
                }
            };
            let Some(target) = get(self, "target")? else {
                return Err(self.error(
                    item.at,
                    format!("a `{key}` entry has no `target`"),
                    Some("`target` is the port inside the container".into()),
                ));
            };
            let short = parse_port(&target).map_err(|m| self.error(item.at, m, None))?;
            let published = get(self, "published")?.filter(|p| !p.is_empty());
            let host_ip = get(self, "host_ip")?;
            return Ok(Some(ComposePort {
                container: short.container,
                protocol: get(self, "protocol")?
                    .unwrap_or_else(|| "tcp".into())
                    .to_ascii_lowercase(),
                published: published.map(|p| match host_ip {
                    Some(ip) if !ip.is_empty() => format!("{ip}:{p}"),
                    _ => p,
                }),
                name: get(self, "name")?,
                app_protocol: get(self, "app_protocol")?,
            }));
        }
        let Some(text) = self.text(item, key)? else {
            return Ok(None);
        };
        let port = if exposed {
            parse_port(&text)
        } else {
            ports::parse_short(&text)
        };
        port.map(Some).map_err(|message| {
            self.error(
                item.at,
                message,
                Some(format!("see Compose's `{key}` syntax, e.g. `\"8080:80\"`")),
            )
        })
    }

    fn health(
        &mut self,
        all: &[Field],
        svc: &str,
        entry: &mut DraftEntry,
        namer: &mut Namer,
        hosts: &[&str],
    ) -> Result<(), ImportError> {
        let Some(f) = field(all, "healthcheck") else {
            return Ok(());
        };
        if f.value.is_null() {
            return Ok(());
        }
        let check = fields(f.value);
        if f.value.entries().is_none() {
            return Err(self.error(
                f.value.at,
                format!(
                    "`healthcheck` of `{svc}` must be a map, found {}",
                    f.value.describe()
                ),
                Some("write `healthcheck: { test: [\"CMD\", ...] }`".into()),
            ));
        }
        if let Some(d) = field(&check, "disable")
            && d.value.text() == Some("true")
        {
            return Ok(());
        }
        let mut test = None;
        let mut timing: [Option<Duration>; 3] = [None; 3];
        let mut retries = None;
        let mut given = false;
        for c in &check {
            match c.key {
                "test" => test = Some(self.test(c)?),
                "interval" | "timeout" | "start_period" => {
                    given = true;
                    if let Some(text) = self.text(c.value, &format!("healthcheck.{}", c.key))? {
                        let duration = health::parse_duration(&text)
                            .map_err(|m| self.error(c.value.at, m, None))?;
                        let slot = match c.key {
                            "interval" => 0,
                            "timeout" => 1,
                            _ => 2,
                        };
                        timing[slot] = Some(duration);
                    }
                }
                "retries" => {
                    given = true;
                    if let Some(text) = self.text(c.value, "healthcheck.retries")? {
                        retries = Some(text.trim().parse::<u32>().map_err(|_| {
                            self.error(
                                c.value.at,
                                format!(
                                    "`healthcheck.retries` must be a whole number, found `{text}`"
                                ),
                                None,
                            )
                        })?);
                    }
                }
                "disable" => {}
                key if key.starts_with("x-") => {}
                key => self.not_carried(
                    c.line(),
                    Some(svc),
                    format!("healthcheck.{key}: a sandbox probes at its own pace"),
                ),
            }
        }
        let Some((test, test_line)) = test else {
            self.not_carried(
                f.line(),
                Some(svc),
                "healthcheck without `test`: it tunes the image's own check, which a manifest does not know",
            );
            return Ok(());
        };
        let Some(probe) = health::probe(&test, hosts) else {
            return Ok(());
        };
        let mut out = DraftHealth::default();
        match probe {
            Probe::Http {
                path,
                port,
                contains,
            } => {
                let name = match entry.ports.iter().find(|(_, n, _)| *n == port) {
                    Some((name, _, _)) => name.clone(),
                    None => {
                        let name = namer.name(port, &entry.name, None, true);
                        entry.ports.push((
                            name.clone(),
                            port,
                            Some("the health check calls it".into()),
                        ));
                        self.changed(
                            test_line,
                            Some(svc),
                            format!("port {port} added as `{name}`: the health check calls it"),
                        );
                        name
                    }
                };
                out.http = Some(path);
                out.port = Some(name);
                out.contains = contains;
                entry.health_comment = Some(format!("Compose: {}", describe_test(&test)));
            }
            Probe::Exec(args) => out.exec = Some(args),
        }
        if given {
            let total = health::total_wait(timing[0], timing[1], retries, timing[2]);
            out.timeout = Some(health::span(total));
        }
        entry.health = Some(out);
        Ok(())
    }

    fn test(&mut self, c: &Field) -> Result<(Test, usize), ImportError> {
        let line = c.value.at.0;
        if let Some(items) = c.value.items() {
            let mut words = Vec::new();
            for item in items {
                words.push(self.text(item, "healthcheck.test")?.unwrap_or_default());
            }
            let test = match words.split_first() {
                Some((first, rest)) if first == "CMD" => Test::Cmd(rest.to_vec()),
                Some((first, rest)) if first == "CMD-SHELL" => Test::Shell(rest.join(" ")),
                Some((first, _)) if first == "NONE" => Test::None,
                _ => {
                    return Err(self.error(
                        c.value.at,
                        "`healthcheck.test` as a list starts with `CMD`, `CMD-SHELL` or `NONE`",
                        Some(
                            "e.g. `test: [\"CMD\", \"curl\", \"-f\", \"http://localhost/health\"]`"
                                .into(),
                        ),
                    ));
                }
            };
            return Ok((test, line));
        }
        match self.text(c.value, "healthcheck.test")? {
            Some(text) => Ok((Test::Shell(text), line)),
            None => Ok((Test::None, line)),
        }
    }

    /// A renamed service is reached by its new name: say which values
    /// still name the old one.
    fn renamed(&mut self, services: &[ServiceInfo], entries: &[DraftEntry]) {
        for info in services {
            let mut names: Vec<(String, String)> = Vec::new();
            if info.compose != info.name {
                names.push((info.compose.clone(), "its Compose name".into()));
            }
            for (key, alias) in &info.aliases {
                if !names.iter().any(|(n, _)| n == alias) {
                    names.push((alias.clone(), format!("its `{key}`")));
                }
            }
            for (old, what) in names {
                let mut mentions = Vec::new();
                for entry in entries {
                    for (k, v) in &entry.env {
                        if mentions_word(v, &old) {
                            mentions.push(format!("{}.env.{k}", entry.name));
                        }
                    }
                    if entry
                        .command
                        .as_ref()
                        .is_some_and(|c| c.iter().any(|w| mentions_word(w, &old)))
                    {
                        mentions.push(format!("{}.command", entry.name));
                    }
                }
                if !mentions.is_empty() {
                    self.changed(
                        info.key_at.0,
                        Some(&info.compose),
                        format!(
                            "other entries reach it as `{}`, but these still name it `{old}` ({what}): {}",
                            info.name,
                            mentions.join(", ")
                        ),
                    );
                }
            }
        }
    }
}

/// What the service at `chosen` depends on, directly or not.
fn needed_by(services: &[ServiceInfo], chosen: usize) -> HashSet<usize> {
    let index: HashMap<&str, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.compose.as_str(), i))
        .collect();
    let mut needed = HashSet::new();
    let mut todo = vec![chosen];
    while let Some(i) = todo.pop() {
        for (target, _, _) in &services[i].depends_on {
            if let Some(&t) = index.get(target.as_str())
                && needed.insert(t)
            {
                todo.push(t);
            }
        }
    }
    needed
}

/// An `expose` item or a long-syntax `target`: a container port or range,
/// with a protocol.
fn parse_port(text: &str) -> Result<ComposePort, String> {
    if text.contains(':') {
        return Err(format!(
            "`{text}` is not a container port; expected a number such as `8080`"
        ));
    }
    ports::parse_short(text)
}

fn port_text(port: &ComposePort) -> String {
    match port.single() {
        Some(p) => p.to_string(),
        None => format!("{}-{}", port.container.0, port.container.1),
    }
}

fn describe_test(test: &Test) -> String {
    match test {
        Test::Cmd(args) => args.join(" "),
        Test::Shell(line) => line.clone(),
        Test::None => "NONE".into(),
    }
}

/// Sets `key` in an ordered list of pairs: a later value replaces an
/// earlier one in its place.
fn set(pairs: &mut Vec<(String, String)>, key: String, value: String) {
    match pairs.iter_mut().find(|(k, _)| *k == key) {
        Some(pair) => pair.1 = value,
        None => pairs.push((key, value)),
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, as a manifest takes variable names.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `text` has `word` with no name character either side.
fn mentions_word(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(|c| is_name(c) && c != '.')
    })
}

/// The closest of `names` to `word`, when it is close enough to be a typo.
fn close<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (strsim::damerau_levenshtein(word, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3) && *d < n.len().max(word.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// A Compose project name, as Compose makes it for image names: lower case,
/// letters, digits, `-` and `_`.
fn compose_project(name: &str) -> String {
    name.to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect()
}

/// `base` joined with `relative` (or `relative` when absolute), `.` and
/// `..` taken lexically.
fn lexical_join(base: &Path, relative: &str) -> PathBuf {
    let mut out = base.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::RootDir => out = PathBuf::from("/"),
            Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
        }
    }
    out
}

/// Why a top-level key is not carried.
fn top_level_reason(key: &str) -> &'static str {
    match key {
        "volumes" => {
            "no named volumes in a manifest; a sandbox's containers start from their images"
        }
        "networks" => {
            "a sandbox has one network of its own, where entries reach each other by name"
        }
        "secrets" | "configs" => {
            "no secrets or configs in a manifest: pass values through `env`, files through the image"
        }
        "include" => {
            "included files are not followed; import each one, or merge them with `docker compose config` first"
        }
        "models" => "no models in a manifest",
        _ => "not a key of the Compose specification",
    }
}

/// Why a service key is not carried.
fn service_reason(key: &str) -> &'static str {
    match key {
        "volumes" | "volumes_from" | "tmpfs" => {
            "a sandbox's containers start from their image's files; put what they need in the image (or use `watch` sync)"
        }
        "networks" | "network_mode" | "links" | "external_links" | "extra_hosts" | "dns"
        | "dns_search" | "dns_opt" | "mac_address" | "domainname" => {
            "a sandbox has one network of its own, where entries reach each other by name"
        }
        "container_name" | "hostname" => "an entry is reached by its name",
        "restart" => {
            "a sandbox starts each entry once; one that stops fails `up` and shows in `status`"
        }
        "deploy" | "scale" => "one container per entry",
        "profiles" => "a sandbox has no profiles: the service is imported like every other",
        "labels" | "annotations" | "label_file" => "a sandbox labels its containers itself",
        "secrets" | "configs" => {
            "no secrets or configs in a manifest: pass values through `env`, files through the image"
        }
        "extends" => "not followed: write the extended settings into the service",
        "pull_policy" => "an image is used when present locally, else pulled",
        "init" => "a sandbox always runs its containers with an init process",
        "user" | "working_dir" | "stop_signal" | "stop_grace_period" => {
            "set it in the image (Dockerfile `USER`, `WORKDIR`, `STOPSIGNAL`)"
        }
        "privileged"
        | "cap_add"
        | "cap_drop"
        | "security_opt"
        | "devices"
        | "device_cgroup_rules"
        | "userns_mode"
        | "pid"
        | "ipc"
        | "uts"
        | "cgroup"
        | "cgroup_parent"
        | "sysctls"
        | "use_api_socket"
        | "gpus"
        | "runtime"
        | "isolation" => "a sandbox runs containers without extra privileges or host namespaces",
        "ulimits" | "shm_size" | "mem_limit" | "mem_reservation" | "memswap_limit"
        | "mem_swappiness" | "cpus" | "cpu_shares" | "cpu_quota" | "cpu_period" | "cpuset"
        | "cpu_count" | "cpu_percent" | "cpu_rt_runtime" | "cpu_rt_period" | "pids_limit"
        | "oom_kill_disable" | "oom_score_adj" | "blkio_config" | "storage_opt" => {
            "resource settings are not part of a manifest; the engine's defaults apply"
        }
        "logging" => "a sandbox reads logs from the engine (`sandbox logs`)",
        "platform" => "the image is built or run for the engine's own platform",
        "stdin_open" | "tty" | "attach" => {
            "a sandbox's containers run detached (`sandbox exec`, `sandbox logs`)"
        }
        "develop" => "see `watch` in a manifest (`sandbox up --watch`)",
        "post_start" | "pre_stop" => "no lifecycle hooks in a manifest",
        "read_only" => "a sandbox's containers have writable file systems",
        _ => "no equivalent in a manifest",
    }
}

/// Why a `build` key is not carried.
fn build_reason(key: &str) -> &'static str {
    match key {
        "target" => {
            "a manifest builds the Dockerfile's last stage; make the stage you need the last, or another Dockerfile"
        }
        "secrets" | "ssh" => "a manifest's builds have no secrets",
        _ => "a manifest's build takes `context`, `dockerfile` and `args`",
    }
}
