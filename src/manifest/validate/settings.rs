//! An entry's settings: health checks, semantic checks, its API, debug
//! settings, limits and faults.

use super::tree::{Entry, Node};
use super::*;
use crate::manifest::model::Protocol;

impl Checker {
    pub(super) fn health(&mut self, path: &str, entry: &Entry, info: &EntryInfo) {
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

    pub(super) fn http_only(&mut self, path: &str, entry: &Entry, probe: Option<&str>) {
        if matches!(probe, Some("tcp" | "exec")) {
            self.report(
                entry.key_at,
                format!("`{path}` only applies to an `http` health check"),
                Some("remove it".into()),
            );
        }
    }

    /// Whether the entry has ports; reports at `entry` when it has none.
    pub(super) fn needs_ports(&mut self, entry: &Entry, info: &EntryInfo, what: &str) -> bool {
        if info.ports_broken {
            return false;
        }
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

    pub(super) fn port_name(&mut self, path: &str, node: &Node, port: &str, info: &EntryInfo) {
        if info.ports_broken || info.ports.iter().any(|p| p == port) {
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

    pub(super) fn checks(&mut self, path: &str, node: &Node, info: &EntryInfo) {
        let Some(items) = self.list(path, node) else {
            return;
        };
        let mut names: std::collections::HashMap<String, usize> = Default::default();
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
                        if let Some(line) = names.get(name) {
                            self.report(
                                e.value.at,
                                format!("check `{name}` appears twice, here and at line {line}"),
                                Some("give every check its own name".into()),
                            );
                        }
                        names.entry(name.to_owned()).or_insert(e.value.at.0);
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

    pub(super) fn check_request(&mut self, path: &str, node: &Node, info: &EntryInfo) {
        let Some(fields) = self.map(path, node, Some(keys::CHECK_REQUEST)) else {
            return;
        };
        self.request_fields(path, fields, false);
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
            && !info.ports_broken
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
    /// In a route match (`route`), `path` is a template: `{name}` segments
    /// capture.
    pub(super) fn request_fields(&mut self, path: &str, fields: &[Entry], route: bool) {
        for e in fields {
            let here = format!("{path}.{}", e.key);
            match e.key.as_str() {
                "method" => {
                    if let Some(method) = self.string(&here, &e.value) {
                        if method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()) {
                            self.report(
                                e.value.at,
                                format!(
                                    "`{here}` is `{method}`; expected an HTTP method such as `GET`"
                                ),
                                None,
                            );
                        } else if !STANDARD_METHODS.contains(&method.to_ascii_uppercase().as_str())
                        {
                            let help = match close_method(method) {
                                Some(close) => format!("did you mean `{close}`?"),
                                None => format!(
                                    "the standard methods are {}; an extension method is sent as written",
                                    STANDARD_METHODS.join(", ")
                                ),
                            };
                            self.warn(
                                e.value.at,
                                format!(
                                    "`{here}` is `{method}`, which is not a standard HTTP method"
                                ),
                                Some(help),
                            );
                        }
                    }
                }
                "path" => {
                    if let Some(text) = self.string(&here, &e.value) {
                        if !text.starts_with('/') {
                            self.report(
                                e.value.at,
                                format!("`{here}` must start with `/`, found `{text}`"),
                                Some(format!("write `/{text}`")),
                            );
                        } else if route && let Err((message, help)) = check_template(text) {
                            self.report(
                                e.value.at,
                                format!("`{here}` is `{text}`: {message}"),
                                Some(help),
                            );
                        }
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

    pub(super) fn api(
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
        let entry_name = if is_service {
            field(entry_fields, "name")
                .and_then(|e| e.value.text())
                .unwrap_or(name)
                .to_owned()
        } else {
            name.to_owned()
        };
        if let Some(spec) = self.openapi_spec(e.value.at, path, file) {
            self.openapi
                .insert(entry_name.clone(), spec.bundle.document.clone());
            self.entry_specs.insert(entry_name, spec);
        }
    }

    pub(super) fn debug(&mut self, path: &str, entry: &Entry) {
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

    pub(super) fn host(&mut self, path: &str, entry: &Entry) {
        let Some(fields) = self.map(path, &entry.value, Some(keys::HOST)) else {
            return;
        };
        for e in fields {
            if e.value.is_null() {
                continue;
            }
            let here = format!("{path}.{}", e.key);
            match e.key.as_str() {
                "command" => self.command(&here, &e.value),
                "env" => self.env(&here, &e.value),
                "port" => {
                    self.port_number(&here, &e.value);
                }
                "dir" => {
                    if let Some(dir) = self.string(&here, &e.value)
                        && let Some(full) = self.inside(e.value.at, &here, dir)
                        && !full.is_dir()
                    {
                        let what = if full.exists() {
                            "is not a folder"
                        } else {
                            "does not exist"
                        };
                        self.report(
                            e.value.at,
                            format!("`{here}`: `{dir}` {what}"),
                            Some("name the folder the command runs in, relative to the manifest's folder".into()),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// `watch:` rules; `has_host` says whether the entry has `host:`.
    pub(super) fn watch(&mut self, path: &str, node: &Node, info: &EntryInfo, has_host: bool) {
        let Some(rules) = self.list(path, node) else {
            return;
        };
        let builds = info.kind == Some(Kind::Build);
        if !builds && !has_host {
            self.report(
                node.at,
                format!("`{path}` applies to entries with `build:` or `host:`"),
                Some(format!(
                    "{} runs an image as it is; give it `build:` or `host:`, or remove `watch:`",
                    info.label
                )),
            );
            return;
        }
        for (i, rule) in rules.iter().enumerate() {
            let here = format!("{path}[{i}]");
            let Some(fields) = self.map(&here, rule, Some(keys::WATCH)) else {
                continue;
            };
            match field(fields, "path") {
                None => self.missing(
                    rule.at,
                    &here,
                    "path",
                    Some("name a file or folder to watch, e.g. `path: ./src`".into()),
                ),
                Some(e) => {
                    let at = e.value.at;
                    if let Some(text) = self.string(&format!("{here}.path"), &e.value)
                        && let Some(full) = self.inside(at, &format!("{here}.path"), text)
                        && !full.exists()
                    {
                        self.report(
                            at,
                            format!("`{here}.path`: `{text}` does not exist"),
                            Some("paths are relative to the manifest's folder".into()),
                        );
                    }
                }
            }
            let action = match field(fields, "action") {
                None => None,
                Some(e) => match self.string(&format!("{here}.action"), &e.value) {
                    Some(text @ ("rebuild" | "sync" | "restart")) => Some((text, e)),
                    Some(other) => {
                        let help = match suggest(other, &["rebuild", "sync", "restart"]) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => "expected one of: `rebuild`, `sync`, `restart`".into(),
                        };
                        self.report(
                            e.value.at,
                            format!("`{here}.action` is `{other}`, not an action"),
                            Some(help),
                        );
                        continue;
                    }
                    None => continue,
                },
            };
            if let Some(("rebuild", e)) = action
                && !builds
            {
                self.report(
                    e.value.at,
                    format!("`{here}.action: rebuild` needs an entry with `build:`"),
                    Some(format!(
                        "{} has no build context; use `restart` (its host command) instead",
                        info.label
                    )),
                );
            }
            let target = field(fields, "target");
            match (action.map(|(a, _)| a), target) {
                (Some("sync"), None) => self.missing(
                    rule.at,
                    &here,
                    "target",
                    Some("name the folder in the container that receives the files, e.g. `target: /app/static`".into()),
                ),
                (Some("sync"), Some(e)) => {
                    if let Some(text) = self.string(&format!("{here}.target"), &e.value)
                        && !text.starts_with('/')
                    {
                        self.report(
                            e.value.at,
                            format!("`{here}.target` is `{text}`, a relative path"),
                            Some(format!("write the folder in the container as an absolute path, e.g. `/{}`", text.trim_start_matches("./"))),
                        );
                    }
                }
                (_, Some(e)) => self.report(
                    e.key_at,
                    format!("`{here}.target` only applies to `action: sync`"),
                    Some("remove `target`, or set `action: sync`".into()),
                ),
                _ => {}
            }
            if let Some(e) = field(fields, "ignore")
                && let Some(patterns) = self.string_list(&format!("{here}.ignore"), &e.value)
            {
                let mut builder = ignore::gitignore::GitignoreBuilder::new("/");
                for pattern in patterns {
                    if let Err(error) = builder.add_line(None, &pattern) {
                        self.report(
                            e.value.at,
                            format!("`{here}.ignore`: `{pattern}` is not a valid pattern: {error}"),
                            Some(
                                "patterns use `.gitignore` syntax, e.g. `*.tmp` or `build/`".into(),
                            ),
                        );
                    }
                }
            }
        }
    }

    pub(super) fn limits(&mut self, path: &str, node: &Node) {
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

    /// Refuses the faults that cannot apply to any of an entry's ports: an
    /// error status needs an HTTP or gRPC port to answer on.
    pub(super) fn faults_for_protocols(&mut self, path: &str, node: &Node, protocols: &[Protocol]) {
        if protocols.iter().any(|protocol| protocol.is_http()) {
            return;
        }
        let Some(fields) = node.entries() else {
            return;
        };
        for key in ["error_rate", "error_status"] {
            if let Some(e) = fields.iter().find(|e| e.key == key && !e.value.is_null()) {
                self.report(
                    e.key_at,
                    format!(
                        "`{path}.{key}` cannot apply: every port of this entry is raw TCP, where there is no status to answer with"
                    ),
                    Some(
                        "remove it and use `reset_rate`, `latency` or `bandwidth`, or mark an HTTP port: `ports: { NAME: { port: N, protocol: http } }`"
                            .into(),
                    ),
                );
            }
        }
    }

    pub(super) fn faults(&mut self, path: &str, node: &Node) {
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
}

/// The methods of RFC 9110 and PATCH (RFC 5789).
const STANDARD_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The standard method `method` is probably a typo of: one edit away (two
/// for the longer names).
fn close_method(method: &str) -> Option<&'static str> {
    let upper = method.to_ascii_uppercase();
    STANDARD_METHODS
        .iter()
        .map(|m| (strsim::damerau_levenshtein(&upper, m), *m))
        .filter(|(distance, m)| *distance <= if m.len() >= 6 { 2 } else { 1 })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, m)| m)
}

/// Checks a route's path template: each `{name}` is a whole segment and
/// `name` an identifier; every other segment has no braces.
pub(super) fn check_template(path: &str) -> Result<(), (String, String)> {
    let segments: Vec<&str> = path.split('/').collect();
    // The path with segment `i` replaced by `{name}`.
    let fixed = |i: usize, name: &str| {
        let mut fixed: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
        fixed[i] = format!("{{{name}}}");
        fixed.join("/")
    };
    for (i, segment) in segments.iter().copied().enumerate() {
        if !segment.contains(['{', '}']) {
            continue;
        }
        let Some(inner) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            let opens = segment.matches('{').count();
            let closes = segment.matches('}').count();
            let name: String = segment
                .split(['{', '}'])
                .find(|part| !part.is_empty() && segment.contains(&format!("{{{part}")))
                .unwrap_or(segment)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let name = if name.is_empty() { "id".into() } else { name };
            let example = fixed(i, &name);
            return Err(if opens > closes {
                (
                    format!("`{segment}` opens a `{{` it never closes"),
                    format!("close it: `{example}`"),
                )
            } else if closes > opens {
                (
                    format!("`{segment}` closes a `}}` it never opened"),
                    format!("a parameter is a whole segment in braces: `{example}`"),
                )
            } else {
                (
                    format!("`{segment}` has a parameter that is not a whole segment"),
                    format!(
                        "a parameter matches a whole segment, e.g. `{example}`; part of a segment cannot be matched"
                    ),
                )
            });
        };
        let name = inner.trim();
        if name.is_empty() {
            return Err((
                "`{}` is a parameter with no name".into(),
                format!(
                    "name it, e.g. `{}`; a response reads it as `{{{{path.id}}}}`",
                    fixed(i, "id")
                ),
            ));
        }
        let mut chars = name.chars();
        let identifier = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            let fixed_name: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let fixed_name = if fixed_name.starts_with(|c: char| c.is_ascii_digit()) {
                format!("p{fixed_name}")
            } else {
                fixed_name
            };
            return Err((
                format!("`{name}` is not a parameter name"),
                format!(
                    "use letters, digits and `_`, starting with a letter, e.g. `{}`",
                    fixed(i, &fixed_name)
                ),
            ));
        }
    }
    Ok(())
}
