//! gRPC stubs: `stub.proto` compiled (a problem inside a `.proto` names its
//! file and line), and each route with `match.grpc` checked against it:
//! the method exists, `match.json` fits the request message, `respond.json`
//! and `respond.stream` fit the response message, `grpc_status` is one
//! gRPC defines.

use super::tree::{Node, Scalar, Value};
use super::*;
use crate::proto::{self, Protos};

impl Checker {
    /// `proto:` of a stub and the gRPC parts of its routes.
    pub(super) fn stub_grpc(&mut self, path: &str, fields: &[tree::Entry], dependency: &str) {
        let declared = field(fields, "proto");
        let protos = declared.and_then(|e| self.protos(&format!("{path}.proto"), &e.value));
        if let Some(protos) = &protos {
            self.protos.insert(dependency.to_owned(), protos.clone());
        }
        let Some(routes) = field(fields, "routes") else {
            return;
        };
        for (i, item) in routes.value.items().unwrap_or_default().iter().enumerate() {
            let here = format!("{path}.routes[{i}]");
            let Some(route) = item.entries() else {
                continue;
            };
            let matcher = field(route, "match").and_then(|e| e.value.entries());
            let respond = field(route, "respond").and_then(|e| e.value.entries());
            let Some(grpc) = matcher.and_then(|m| field(m, "grpc")) else {
                if let Some(key) = respond.and_then(|r| {
                    ["grpc_status", "message", "stream"]
                        .iter()
                        .find_map(|k| field(r, k))
                }) {
                    self.report(
                        key.key_at,
                        format!("`{here}.respond.{}` answers gRPC, but the route matches no gRPC method", key.key),
                        Some("add `grpc: package.Service/Method` to its `match`".into()),
                    );
                }
                continue;
            };
            let Some(name) = self.string(&format!("{here}.match.grpc"), &grpc.value) else {
                continue;
            };
            if declared.is_none() {
                self.report(
                    grpc.key_at,
                    format!("`{here}.match.grpc` names a gRPC method, but the stub names no `.proto` file"),
                    Some(format!("add `proto: [service.proto]` to `{path}`")),
                );
                continue;
            }
            // Broken `.proto` files are reported already.
            let Some(protos) = &protos else {
                continue;
            };
            let method = match protos.method(name) {
                Ok(method) => method,
                Err((message, help)) => {
                    self.report(
                        grpc.value.at,
                        format!("`{here}.match.grpc`: {message}"),
                        help,
                    );
                    continue;
                }
            };
            let matcher = matcher.unwrap_or_default();
            for key in ["method", "path", "query", "headers", "body"] {
                if let Some(e) = field(matcher, key) {
                    self.report(
                        e.key_at,
                        format!("`{here}.match.{key}` cannot be used with `grpc`"),
                        Some("a gRPC route matches the method and `json`, a subset of the request message".into()),
                    );
                }
            }
            if let Some(e) = field(matcher, "json")
                && let Err(error) = proto::from_json(&method.input(), &json_of(&e.value))
            {
                self.report(
                    e.value.at,
                    format!("`{here}.match.json` {error}"),
                    Some(fields_help(&method.input())),
                );
            }
            self.grpc_respond(&here, respond.unwrap_or_default(), &method);
        }
    }

    /// The gRPC routes of a stub's `files` (read already): each checked
    /// like the manifest's own, reported at `files`.
    pub(super) fn file_grpc_routes(
        &mut self,
        path: &str,
        at: At,
        routes: &[Route],
        dependency: &str,
    ) {
        for (i, route) in routes.iter().enumerate() {
            let Some(name) = &route.matcher.grpc else {
                continue;
            };
            let here = format!("{path}: route {} (`{name}`)", i + 1);
            let Some(protos) = self.protos.get(dependency) else {
                self.report(
                    at,
                    format!(
                        "{here} names a gRPC method, but the stub has no compiled `.proto` file"
                    ),
                    Some("add `proto: [service.proto]` to the stub".into()),
                );
                continue;
            };
            let method = match protos.method(name) {
                Ok(method) => method,
                Err((message, help)) => {
                    self.report(at, format!("{here}: {message}"), help);
                    continue;
                }
            };
            let mut wrong = Vec::new();
            if let Some(json) = &route.matcher.json
                && let Err(e) = proto::from_json(&method.input(), json)
            {
                wrong.push(format!("`match.json` {e}"));
            }
            let respond = &route.respond;
            for json in respond.json.iter().chain(respond.stream.iter().flatten()) {
                if let Err(e) = proto::from_json(&method.output(), json) {
                    wrong.push(format!("the answer {e}"));
                }
            }
            if respond
                .grpc_status
                .as_ref()
                .is_some_and(|s| s.code().is_none())
            {
                wrong.push("`respond.grpc_status` is not a gRPC status".into());
            }
            for problem in wrong {
                self.report(at, format!("{here}: {problem}"), None);
            }
        }
    }

    fn grpc_respond(
        &mut self,
        here: &str,
        respond: &[tree::Entry],
        method: &prost_reflect::MethodDescriptor,
    ) {
        let output = method.output();
        for key in ["status", "headers", "body"] {
            if let Some(e) = field(respond, key) {
                self.report(
                    e.key_at,
                    format!("`{here}.respond.{key}` cannot be used in a gRPC answer"),
                    Some("answer with `json` (the response message), `stream` (several), or `grpc_status` and `message`".into()),
                );
            }
        }
        if let Some(e) = field(respond, "json")
            && let Err(error) = proto::from_json(&output, &json_of(&e.value))
        {
            self.report(
                e.value.at,
                format!("`{here}.respond.json` {error}"),
                Some(fields_help(&output)),
            );
        }
        if let Some(e) = field(respond, "stream") {
            if !method.is_server_streaming() {
                self.report(
                    e.key_at,
                    format!(
                        "`{here}.respond.stream`: `{}` answers one message, not a stream",
                        method.full_name()
                    ),
                    Some("answer with `json`".into()),
                );
            } else if let Some(items) = self.list(&format!("{here}.respond.stream"), &e.value) {
                for (i, item) in items.iter().enumerate() {
                    if let Err(error) = proto::from_json(&output, &json_of(item)) {
                        self.report(
                            item.at,
                            format!("`{here}.respond.stream[{i}]` {error}"),
                            Some(fields_help(&output)),
                        );
                    }
                }
            }
            if let Some(json) = field(respond, "json") {
                self.report(
                    json.key_at,
                    format!("`{here}.respond` has both `json` and `stream`"),
                    Some("keep one of them".into()),
                );
            }
        }
        if let Some(e) = field(respond, "grpc_status")
            && e.value.text().and_then(proto::status::parse).is_none()
        {
            self.report(
                e.value.at,
                format!(
                    "`{here}.respond.grpc_status` is {}; expected a gRPC status",
                    e.value.describe()
                ),
                Some(format!(
                    "a name such as `NOT_FOUND` or a code 0..16 (names: {})",
                    proto::status::NAMES.join(", ")
                )),
            );
        }
        if let Some(e) = field(respond, "message") {
            self.string(&format!("{here}.respond.message"), &e.value);
        }
    }

    /// `proto:` of a record dependency: compiled, so that its gRPC
    /// messages are recorded as JSON.
    pub(super) fn record_grpc(&mut self, path: &str, fields: &[tree::Entry], dependency: &str) {
        if let Some(e) = field(fields, "proto")
            && let Some(protos) = self.protos(&format!("{path}.proto"), &e.value)
        {
            self.protos.insert(dependency.to_owned(), protos);
        }
    }

    /// The `proto:` files a replayed recording names (relative to the
    /// manifest's folder), compiled; problems are reported at `at`.
    pub(super) fn replay_grpc(&mut self, path: &str, at: At, files: &[String], dependency: &str) {
        if files.is_empty() {
            return;
        }
        let listed: Vec<(String, At)> = files.iter().map(|f| (f.clone(), at)).collect();
        if let Some(protos) =
            self.compile_listed(&format!("{path}: the recording's `proto`"), at, &listed)
        {
            self.protos.insert(dependency.to_owned(), protos);
        }
    }

    /// Compiles the files of `proto:`; problems inside them name their file.
    fn protos(&mut self, path: &str, node: &Node) -> Option<Protos> {
        let files = self.string_list(path, node)?;
        let items = node.items().unwrap_or_default();
        let listed: Vec<(String, At)> = files
            .iter()
            .zip(items)
            .map(|(file, item)| (file.clone(), item.at))
            .collect();
        self.compile_listed(path, node.at, &listed)
    }

    fn compile_listed(&mut self, path: &str, at: At, listed: &[(String, At)]) -> Option<Protos> {
        let mut reals = Vec::new();
        for (file, item_at) in listed {
            self.read_file(*item_at, path, file, "`.proto` file")?;
            reals.push((self.resolved.get(file.as_str())?.clone(), self.shown(file)));
        }
        if reals.is_empty() {
            self.report(
                at,
                format!("`{path}` names no file"),
                Some("e.g. `proto: [payments.proto]`".into()),
            );
            return None;
        }
        let base = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        let sources: Vec<proto::Source<'_>> = reals
            .iter()
            .map(|(real, shown)| proto::Source {
                real,
                shown: shown.clone(),
            })
            .collect();
        match Protos::compile(&base, &self.shown_dir, &sources) {
            Ok(protos) => Some(protos),
            Err(problem) => {
                self.problems.push(Problem {
                    file: problem.file,
                    at: problem.at,
                    message: format!("the `.proto` file does not compile: {}", problem.message),
                    help: Some("fix the file; it is compiled as protoc would".into()),
                });
                None
            }
        }
    }
}

/// The fields of a message, for help.
fn fields_help(message: &prost_reflect::MessageDescriptor) -> String {
    let fields: Vec<String> = message
        .fields()
        .map(|f| format!("`{}`", f.name()))
        .collect();
    if fields.is_empty() {
        format!("`{}` has no fields", message.full_name())
    } else {
        format!(
            "the fields of `{}` are {}",
            message.full_name(),
            fields.join(", ")
        )
    }
}

/// A node as JSON, read as serde_yaml reads it.
pub(super) fn json_of(node: &Node) -> serde_json::Value {
    use serde_json::Value as Json;
    match &node.value {
        Value::Seq(items) => Json::Array(items.iter().map(json_of).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), json_of(&e.value)))
                .collect(),
        ),
        Value::Scalar { .. } => match node.scalar() {
            Some(Scalar::Null) | None => Json::Null,
            Some(Scalar::Bool(b)) => Json::Bool(b),
            Some(Scalar::Int(i)) => i64::try_from(i)
                .map(Json::from)
                .or_else(|_| u64::try_from(i).map(Json::from))
                .unwrap_or_else(|_| Json::String(i.to_string())),
            Some(Scalar::Float(f)) => serde_json::Number::from_f64(f)
                .map_or_else(|| Json::String(f.to_string()), Json::Number),
            Some(Scalar::Str(s)) => Json::String(s.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests;
