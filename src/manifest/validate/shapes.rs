//! Generic value shapes: maps with known keys, lists, strings, numbers,
//! durations, commands and environment maps.

use std::collections::HashMap;

use super::tree::{Entry, Node, Scalar, Value};
use super::*;
use crate::manifest::model::Protocol;

impl Checker {
    /// Checks that `node` is a map whose keys are all in `allowed` (any key
    /// when `None`) and that no key repeats; returns its entries.
    pub(super) fn map<'n>(
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
        // The first entry of each key, so a wide map is checked in one pass.
        let mut seen: HashMap<&str, &Entry> = HashMap::with_capacity(entries.len());
        for entry in entries {
            if let Some(first) = seen.get(entry.key.as_str()).copied() {
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
            } else {
                seen.insert(&entry.key, entry);
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

    pub(super) fn list<'n>(&mut self, path: &str, node: &'n Node) -> Option<&'n [Node]> {
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
    pub(super) fn missing(&mut self, at: At, path: &str, key: &str, help: Option<String>) {
        self.report(at, format!("`{path}` is missing `{key}`"), help);
    }

    pub(super) fn string<'n>(&mut self, path: &str, node: &'n Node) -> Option<&'n str> {
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

    pub(super) fn integer(
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

    /// A `ports` value: a number, or `{ port: N, protocol: http|grpc|tcp }`;
    /// the declared protocol, if any.
    pub(super) fn port(&mut self, path: &str, node: &Node) -> Option<Protocol> {
        if node.entries().is_none() {
            self.port_number(path, node);
            return None;
        }
        let fields = self.map(path, node, Some(&["port", "protocol"]))?;
        match fields.iter().find(|e| e.key == "port") {
            Some(e) => {
                self.port_number(&format!("{path}.port"), &e.value);
            }
            None => self.missing(
                node.at,
                path,
                "port",
                Some("write `{ port: 9090, protocol: grpc }`".into()),
            ),
        }
        let e = fields.iter().find(|e| e.key == "protocol")?;
        let text = self.string(&format!("{path}.protocol"), &e.value)?;
        match text {
            "http" => Some(Protocol::Http),
            "grpc" => Some(Protocol::Grpc),
            "tcp" => Some(Protocol::Tcp),
            other => {
                self.report(
                    e.value.at,
                    format!("`{path}.protocol` is `{other}`; expected http, grpc or tcp"),
                    Some("a port speaks `http` (HTTP/1 and h2c), `grpc` or raw `tcp`".into()),
                );
                None
            }
        }
    }

    pub(super) fn port_number(&mut self, path: &str, node: &Node) -> Option<u16> {
        self.integer(path, node, (1, 65_535), "a port number")
            .map(|p| p as u16)
    }

    pub(super) fn status(
        &mut self,
        path: &str,
        node: &Node,
        range: (i128, i128),
        what: &str,
    ) -> Option<u16> {
        self.integer(path, node, range, what).map(|s| s as u16)
    }

    pub(super) fn share(&mut self, path: &str, node: &Node) -> Option<f64> {
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

    pub(super) fn boolean(&mut self, path: &str, node: &Node) -> Option<bool> {
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
    pub(super) fn parsed<T: std::str::FromStr<Err = String>>(
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

    pub(super) fn string_list(&mut self, path: &str, node: &Node) -> Option<Vec<String>> {
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

    pub(super) fn command(&mut self, path: &str, node: &Node) {
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
    pub(super) fn text_map(&mut self, path: &str, node: &Node) {
        if let Some(entries) = self.map(path, node, None) {
            for entry in entries {
                self.string(&format!("{path}.{}", entry.key), &entry.value);
            }
        }
    }

    pub(super) fn env(&mut self, path: &str, node: &Node) {
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
}
