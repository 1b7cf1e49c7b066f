//! The agent-served kinds: stub routes and route files, replay recordings and
//! record targets.

use std::path::Path;

use super::tree::{Node, Value};
use super::*;
use crate::manifest::har;

/// Whether a replayed file is a HAR (by its extension, as `sandbox convert`
/// tells formats apart).
pub(crate) fn is_har(file: &str) -> bool {
    Path::new(file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("har"))
}

impl Checker {
    /// The port of a dependency the agent serves: a port number, and none
    /// of the ports the same agent listens on for itself.
    fn served_port(&mut self, path: &str, node: &Node) {
        use crate::agent::config::{ADMIN_PORT, OTLP_PORT, REGISTRY_PORT};
        let what = match self.port_number(path, node) {
            Some(OTLP_PORT) => "the registry's OTLP receiver (`http://registry:4318`)",
            Some(REGISTRY_PORT) => "the registry",
            Some(ADMIN_PORT) => "the agent's control API",
            _ => return,
        };
        self.report(
            node.at,
            format!("`{path}` is the port of {what}, which the same agent serves"),
            Some("choose another port, e.g. 8080".to_owned()),
        );
    }

    pub(super) fn stub(&mut self, path: &str, node: &Node, dependency: &str) {
        let Some(fields) = self.map(path, node, Some(keys::STUB)) else {
            return;
        };
        if let Some(e) = field(fields, "port") {
            self.served_port(&format!("{path}.port"), &e.value);
        }
        if let Some(e) = field(fields, "routes") {
            self.routes(&format!("{path}.routes"), &e.value);
        }
        self.stub_openapi(path, fields, dependency);
        self.stub_grpc(path, fields, dependency);
        let mut routes = Vec::new();
        if let Some(e) = field(fields, "files")
            && let Some(files) = self.string_list(&format!("{path}.files"), &e.value)
        {
            let items = e.value.items().unwrap_or_default();
            for (file, item) in files.iter().zip(items) {
                if let Some(more) = self.route_file(&format!("{path}.files"), item.at, file) {
                    routes.extend(more);
                }
            }
        }
        if let Some(e) = field(fields, "files") {
            self.file_grpc_routes(&format!("{path}.files"), e.key_at, &routes, dependency);
        }
        if let Some(e) = field(fields, "wiremock") {
            routes.extend(self.wiremock(&format!("{path}.wiremock"), &e.value));
        }
        self.file_routes.insert(dependency.to_owned(), routes);
    }

    /// `openapi:` and `validate:` of a stub.
    fn stub_openapi(&mut self, path: &str, fields: &[tree::Entry], dependency: &str) {
        let validate = match field(fields, "validate") {
            Some(e) => self
                .boolean(&format!("{path}.validate"), &e.value)
                .map(|on| (on, e.key_at)),
            None => None,
        };
        let Some(e) = field(fields, "openapi") else {
            if let Some((true, at)) = validate {
                self.report(
                    at,
                    format!("`{path}.validate` checks requests against an OpenAPI document, but the stub names none"),
                    Some("add `openapi: ./api.yaml` beside it".into()),
                );
            }
            return;
        };
        let here = format!("{path}.openapi");
        let Some(file) = self.string(&here, &e.value) else {
            return;
        };
        if let Some(spec) = self.openapi_spec(e.value.at, &here, file) {
            let validate = validate.is_some_and(|(on, _)| on);
            self.openapi_stubs.insert(
                dependency.to_owned(),
                crate::openapi::OpenApiStub::new(spec, validate),
            );
        }
    }

    pub(super) fn routes(&mut self, path: &str, node: &Node) {
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
                        self.request_fields(&there, m, true);
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
    pub(super) fn route_file(&mut self, path: &str, at: At, file: &str) -> Option<Vec<Route>> {
        let text = self.read_file(at, path, file, "stub file")?;
        let shown = self.shown(file);
        let outer = std::mem::replace(&mut self.file, shown);
        let before = self.problems.len();
        let routes = self.route_file_text(&text);
        let routes = routes.filter(|_| self.problems.len() == before);
        self.file = outer;
        routes
    }

    pub(super) fn route_file_text(&mut self, text: &str) -> Option<Vec<Route>> {
        let before = self.problems.len();
        let root = match tree::parse(text) {
            Ok(Some(root)) => root,
            Ok(None) => return Some(Vec::new()),
            Err(error) => {
                self.report(error.at, error.message, error.help);
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

    pub(super) fn replay(&mut self, path: &str, node: &Node, dependency: &str) {
        // `replay: FILE`, or `{ file: FILE, timing: recorded | none }`.
        let (file, file_path, node) = match &node.value {
            Value::Map(_) => {
                let Some(fields) = self.map(path, node, Some(keys::REPLAY)) else {
                    return;
                };
                if let Some(e) = field(fields, "timing")
                    && let Some(text) = self.string(&format!("{path}.timing"), &e.value)
                    && !matches!(text, "recorded" | "none")
                {
                    self.report(
                        e.value.at,
                        format!("`{path}.timing` is `{text}`; expected recorded or none"),
                        Some(
                            "`timing: recorded` replays the recorded time to first byte and the gaps between chunks; `none` (the default) answers at once"
                                .into(),
                        ),
                    );
                }
                let Some(e) = field(fields, "file") else {
                    self.missing(
                        node.at,
                        path,
                        "file",
                        Some("name the recording, e.g. `replay: { file: recordings/api.yaml, timing: recorded }`".into()),
                    );
                    return;
                };
                let file_path = format!("{path}.file");
                let Some(file) = self.string(&file_path, &e.value) else {
                    return;
                };
                (file, file_path, &e.value)
            }
            _ => {
                let Some(file) = self.string(path, node) else {
                    return;
                };
                (file, path.to_owned(), node)
            }
        };
        let path = file_path.as_str();
        let har = is_har(file);
        let what = if har { "HAR file" } else { "recording" };
        let Some(text) = self.read_file(node.at, path, file, what) else {
            return;
        };
        if har {
            self.replay_har(file, &text, dependency);
            return;
        }
        match Recording::parse(&text) {
            Ok(recording) => {
                if let Some(real) = self.inside(node.at, path, file) {
                    self.replay_bodies(file, &real, &text, &recording);
                }
                self.replay_grpc(path, node.at, &recording.proto, dependency);
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
                let help = if message.contains("unknown field `log`") {
                    "this looks like a HAR file: name it `.har` to replay it as one"
                } else {
                    "a recording is `version: 1` and `interactions: [{request, response}]`"
                };
                self.problems.push(Problem {
                    file: self.shown(file),
                    at,
                    message: format!("invalid recording: {}", without_position(&message)),
                    help: Some(help.into()),
                });
            }
        }
    }

    /// Every `body_file` a recording names is a file beside it (looked
    /// at, never read): a replay would otherwise fail on the call, long
    /// after `up`.
    fn replay_bodies(&mut self, file: &str, real: &Path, text: &str, recording: &Recording) {
        let folder = real.parent().unwrap_or_else(|| Path::new("."));
        let mut root = None;
        let files = recording
            .interactions
            .iter()
            .enumerate()
            .flat_map(|(index, interaction)| {
                [
                    ("request", interaction.request.body_file.as_deref()),
                    ("response", interaction.response.body_file.as_deref()),
                ]
                .into_iter()
                .filter_map(move |(side, file)| Some((index, side, file?)))
            });
        for (index, side, body) in files {
            let relative = Path::new(body);
            let escapes = relative.is_absolute()
                || relative
                    .components()
                    .any(|part| !matches!(part, std::path::Component::Normal(_)));
            let problem = if escapes {
                Some((
                    format!(
                        "interaction {}: `{side}.body_file` `{body}` must be a path inside the recording's folder",
                        index + 1
                    ),
                    "a recording names its large bodies `bodies/<sha256>`, beside it".to_owned(),
                ))
            } else if !folder.join(relative).is_file() {
                Some((
                    format!(
                        "interaction {}: `{side}.body_file` `{body}` does not exist",
                        index + 1
                    ),
                    format!(
                        "copy the `{}` folder beside the recording along with it, or record again",
                        relative
                            .components()
                            .next()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .unwrap_or_default()
                    ),
                ))
            } else {
                None
            };
            let Some((message, help)) = problem else {
                continue;
            };
            // Where the field is: the position tree is made only for a
            // recording that has a problem.
            let root = root.get_or_insert_with(|| tree::parse(text).ok().flatten());
            let at = root.as_ref().and_then(|root| {
                let item = root.entry("interactions")?.value.items()?.get(index)?;
                let field = item.entry(side)?.value.entry("body_file")?;
                Some(field.value.at)
            });
            self.problems.push(Problem {
                file: self.shown(file),
                at,
                message,
                help: Some(help),
            });
        }
    }

    /// A HAR replayed: read into a recording; what it leaves out or holds
    /// that a replay answers differently is a warning naming the HAR.
    fn replay_har(&mut self, file: &str, text: &str, dependency: &str) {
        let shown = self.shown(file);
        match har::read(text) {
            Ok(imported) => {
                for note in imported.notes {
                    self.warnings.push(Problem {
                        file: shown.clone(),
                        at: note.at,
                        message: note.message,
                        help: note.help,
                    });
                }
                self.recordings
                    .insert(dependency.to_owned(), imported.recording);
            }
            Err(error) => self.problems.push(Problem {
                file: shown,
                at: error.at,
                message: format!("invalid HAR: {}", error.message),
                help: Some(har::HAR_HELP.into()),
            }),
        }
    }

    pub(super) fn record(&mut self, path: &str, node: &Node, dependency: &str) {
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
                {
                    self.record_target(&format!("{path}.to"), e.value.at, file, &target);
                }
            }
        }
        if let Some(e) = field(fields, "redact") {
            self.string_list(&format!("{path}.redact"), &e.value);
        }
        if let Some(e) = field(fields, "port") {
            self.served_port(&format!("{path}.port"), &e.value);
        }
        self.record_grpc(path, fields, dependency);
    }

    /// A record target must be a file that can be created: not a folder, in
    /// a folder that exists. A missing folder is not created at `up` (Docker
    /// would create it owned by root); the user creates it.
    fn record_target(&mut self, path: &str, at: At, file: &str, target: &Path) {
        if target.is_dir() || target.file_name().is_none() {
            self.report(
                at,
                format!("`{path}` names the folder `{file}`; expected a file"),
                Some(format!(
                    "e.g. `{}/recording.yaml`",
                    file.trim_end_matches('/')
                )),
            );
            return;
        }
        let folder = Path::new(file)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| ".".to_owned(), |p| p.display().to_string());
        match target.parent().map(std::fs::metadata) {
            Some(Ok(meta)) if meta.is_dir() => {}
            Some(Ok(_)) => self.report(
                at,
                format!("`{path}`: `{folder}` is a file, so nothing can be written inside it"),
                Some("write the recording into a folder, e.g. `recordings/catalog.yaml`".into()),
            ),
            _ => self.report(
                at,
                format!("`{path}`: the folder `{folder}` does not exist"),
                Some(format!("create the folder: `mkdir -p {folder}`")),
            ),
        }
    }
}

/// Checks a record upstream: `http://host[:port]`, nothing else.
pub(super) fn check_upstream(url: &str) -> Result<(), (String, String)> {
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
