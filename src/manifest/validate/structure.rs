//! The manifest's structure: the top level, the service and each dependency,
//! their kinds and build contexts.

use std::path::Path;

use super::names::{RESERVED, name_help};
use super::tree::{Entry, Node, Scalar, Value};
use super::*;
use crate::manifest::model::Protocol;

impl Checker {
    pub(super) fn manifest(&mut self, root: &Node) {
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
                Some(Scalar::Str(text)) if text.trim() == "1" => self.report(
                    entry.value.at,
                    format!("`version` is the string \"{text}\"; it must be the number 1"),
                    Some("write `version: 1` without quotes".into()),
                ),
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
    pub(super) fn entry(&mut self, path: &str, entry: &Entry, is_service: bool) {
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
        let mut ports_broken = false;
        let mut declared_protocols = Vec::new();
        if let Some(e) = field(fields, "ports") {
            let here = format!("{path}.ports");
            if e.value.entries().is_none() {
                ports_broken = true;
                self.report(
                    e.value.at,
                    format!("`{here}` must be a map, found {}", e.value.describe()),
                    Some(ports_help(&e.value)),
                );
            } else if let Some(entries) = self.map(&here, &e.value, None) {
                for port in entries {
                    if port.key.is_empty() {
                        self.report(
                            port.key_at,
                            format!("`{here}` has a port with no name"),
                            None,
                        );
                    }
                    let declared = self.port(&format!("{here}.{}", port.key), &port.value);
                    declared_protocols.push(declared);
                    ports.push(port.key.clone());
                }
            }
        }
        let info = EntryInfo {
            label,
            ports: if agent { Vec::new() } else { ports },
            ports_broken,
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
        if let Some(e) = field(fields, "host")
            && !agent
        {
            self.host(&format!("{path}.host"), e);
        }
        if let Some(e) = field(fields, "watch")
            && !agent
        {
            self.watch(
                &format!("{path}.watch"),
                &e.value,
                &info,
                field(fields, "host").is_some(),
            );
        }
        if let Some(e) = field(fields, "limits") {
            self.limits(&format!("{path}.limits"), &e.value);
        }
        if let Some(e) = field(fields, "faults") {
            self.faults(&format!("{path}.faults"), &e.value);
            if !agent && !info.ports.is_empty() {
                let protocols: Vec<Protocol> = info
                    .ports
                    .iter()
                    .zip(&declared_protocols)
                    .enumerate()
                    .map(|(index, (name, declared))| {
                        declared.unwrap_or_else(|| default_protocol(name, index == 0, fields))
                    })
                    .collect();
                self.faults_for_protocols(&format!("{path}.faults"), &e.value, &protocols);
            }
        }
        if let Some(e) = field(fields, "stub") {
            self.stub(&format!("{path}.stub"), &e.value, &entry.key);
        }
        if let Some(e) = field(fields, "replay") {
            self.replay(&format!("{path}.replay"), &e.value, &entry.key);
        }
        if let Some(e) = field(fields, "record") {
            self.record(&format!("{path}.record"), &e.value, &entry.key);
        }
    }

    pub(super) fn build(&mut self, path: &str, node: &Node) {
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
}

pub(super) fn kind_of(key: &str) -> Kind {
    match key {
        "stub" => Kind::Stub,
        "replay" => Kind::Replay,
        "record" => Kind::Record,
        "build" => Kind::Build,
        _ => Kind::Image,
    }
}

/// How to write `ports` as the map it must be, from what was written: a
/// number or a list of numbers becomes `{ http: N }` (more names to add).
fn ports_help(node: &Node) -> String {
    let number = |n: &Node| match n.scalar() {
        Some(Scalar::Int(port)) => Some(port.to_string()),
        _ => None,
    };
    let first = match &node.value {
        Value::Seq(items) => items.first().and_then(number),
        _ => number(node),
    };
    let example = format!("ports: {{ http: {} }}", first.as_deref().unwrap_or("8080"));
    format!(
        "`ports` names each port: write `{example}` (name -> port inside the container); health checks and checks refer to the name"
    )
}

/// A port's protocol when `protocol:` is not written (PRODUCT.md section
/// 6.3): `http`, `web` and `api`, and a port an `http` health check or a
/// check calls, speak HTTP; `grpc` speaks gRPC; any other is raw TCP.
fn default_protocol(name: &str, first: bool, fields: &[Entry]) -> Protocol {
    let names_it = |port: Option<&Node>| match port.and_then(Node::text) {
        Some(port) => port == name,
        None => first,
    };
    let by_health = field(fields, "health")
        .and_then(|e| e.value.entries())
        .is_some_and(|health| {
            field(health, "http").is_some() && names_it(field(health, "port").map(|e| &e.value))
        });
    let by_check = field(fields, "checks")
        .and_then(|e| e.value.items())
        .is_some_and(|checks| {
            checks.iter().any(|check| {
                check
                    .entry("request")
                    .and_then(|e| e.value.entries())
                    .is_some_and(|request| names_it(field(request, "port").map(|e| &e.value)))
            })
        });
    Protocol::by_name(name, by_health || by_check)
}
