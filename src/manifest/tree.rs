//! A YAML document as a tree that remembers where every key and value was
//! written: the position index that validation reports problems against.
//!
//! serde_yaml (the model's deserializer) stops at the first error and keeps no
//! positions once a value is built, so the document is read a second time here
//! with yaml-rust2's event parser, which marks every event with its line and
//! column. Scalars keep their text and whether they were quoted, so that the
//! types serde_yaml would see (YAML 1.2 core schema) can be told apart.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A line and column, both 1-based.
pub type At = (usize, usize);

use super::bounds::{self, MAX_DEPTH};

/// One node of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// Where the node starts.
    pub at: At,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar's text; `plain` is false when it was quoted or a block scalar,
    /// which makes it a string whatever it reads as.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A key of a mapping with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key's text (a non-scalar key is kept as `?`).
    pub key: String,
    pub key_at: At,
    pub value: Node,
}

/// A YAML syntax error, or a document shape that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: At,
    pub message: String,
    /// How to fix it, when there is more to say than the message.
    pub help: Option<String>,
}

/// What a scalar reads as under the YAML 1.2 core schema, as serde_yaml reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(&'a str),
}

impl Node {
    /// What this node reads as, for messages: "a string", "a list", ...
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a map".into(),
            Value::Scalar { .. } => match self.scalar() {
                Some(Scalar::Null) => "nothing (null)".into(),
                Some(Scalar::Bool(b)) => format!("the boolean `{b}`"),
                Some(Scalar::Int(i)) => format!("the number `{i}`"),
                Some(Scalar::Float(f)) => format!("the number `{f}`"),
                Some(Scalar::Str(s)) => format!("the string `{}`", shorten(s)),
                None => "a value".into(),
            },
        }
    }

    /// The scalar's typed reading, or `None` for a list or a map.
    pub fn scalar(&self) -> Option<Scalar<'_>> {
        let Value::Scalar { text, plain } = &self.value else {
            return None;
        };
        if !plain {
            return Some(Scalar::Str(text));
        }
        Some(match text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
            "true" | "True" | "TRUE" => Scalar::Bool(true),
            "false" | "False" | "FALSE" => Scalar::Bool(false),
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
            "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
            ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
            t => {
                if let Some(i) = parse_int(t) {
                    Scalar::Int(i)
                } else if let Some(f) = parse_float(t) {
                    Scalar::Float(f)
                } else {
                    Scalar::Str(t)
                }
            }
        })
    }

    /// The text of any non-null scalar: serde_yaml reads numbers and booleans
    /// as strings where a string is expected.
    pub fn text(&self) -> Option<&str> {
        match (&self.value, self.scalar()) {
            (_, Some(Scalar::Null)) => None,
            (Value::Scalar { text, .. }, _) => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.scalar(), Some(Scalar::Null))
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entry under `key` of a map (the last one when a key repeats, as a
    /// deserializer would keep it).
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().rev().find(|e| e.key == key)
    }

    /// Follows a dotted path of map keys and list indexes, e.g.
    /// `dependencies.payments.health.port` or `service.checks.0.request`:
    /// the position of the last key (or list item) and the node there.
    pub fn find(&self, path: &str) -> Option<(At, &Node)> {
        let mut node = self;
        let mut key_at = self.at;
        for part in path.split('.') {
            match &node.value {
                Value::Map(_) => {
                    let entry = node.entry(part)?;
                    key_at = entry.key_at;
                    node = &entry.value;
                }
                Value::Seq(items) => {
                    node = items.get(part.parse::<usize>().ok()?)?;
                    key_at = node.at;
                }
                Value::Scalar { .. } => return None,
            }
        }
        Some((key_at, node))
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 40 {
        let short: String = text.chars().take(37).collect();
        format!("{short}...")
    } else {
        text.to_owned()
    }
}

fn parse_int(text: &str) -> Option<i128> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i128::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(sign * value)
}

fn parse_float(text: &str) -> Option<f64> {
    // The core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let ok = body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && body.chars().any(|c| c.is_ascii_digit());
    if ok { text.parse().ok() } else { None }
}

/// A parser's mark as a 1-based line and column.
pub(super) fn position(mark: &Marker) -> At {
    (mark.line().max(1), mark.col() + 1)
}

/// Parses one YAML document. `Ok(None)` for an empty document (nothing but
/// blanks and comments). The text is checked against [`bounds::check_yaml`]
/// first, so aliases cannot expand it without bound.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    bounds::check_yaml(text)?;
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
    };
    builder.document()
}

/// The text of the top-level `key: scalar` of a document, read from its
/// event stream without building anything: aliases expand nothing and a
/// syntax error after the key leaves it readable. The last one wins.
pub fn top_level_scalar(text: &str, key: &str) -> Option<String> {
    let mut parser = Parser::new_from_str(text);
    // Per open collection: whether it is a map and its next node is a key.
    let mut open: Vec<(bool, bool)> = Vec::new();
    let mut wanted = false;
    let mut found = None;
    while let Ok((event, _)) = parser.next_token() {
        let starts = match &event {
            Event::StreamEnd => break,
            Event::Scalar(..) | Event::Alias(_) => None,
            Event::MappingStart(..) => Some(true),
            Event::SequenceStart(..) => Some(false),
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
                if open.is_empty() {
                    break;
                }
                continue;
            }
            _ => continue,
        };
        if let [(true, next_is_key)] = open.as_mut_slice() {
            match (&event, *next_is_key) {
                (Event::Scalar(text, ..), true) => wanted = text == key,
                (Event::Scalar(text, ..), false) if wanted => found = Some(text.clone()),
                _ => {}
            }
            if !*next_is_key {
                wanted = false;
            }
            *next_is_key = !*next_is_key;
        }
        if let Some(is_map) = starts {
            open.push((is_map, true));
        }
    }
    found
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    anchors: HashMap<usize, Node>,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, At), SyntaxError> {
        match self.parser.next_token() {
            Ok((event, mark)) => Ok((event, position(&mark))),
            Err(error) => Err(SyntaxError {
                at: position(error.marker()),
                message: format!("YAML syntax error: {}", error.info()),
                help: None,
            }),
        }
    }

    fn document(&mut self) -> Result<Option<Node>, SyntaxError> {
        let mut root = None;
        loop {
            let (event, position) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return Ok(root),
                Event::DocumentStart => {
                    if root.is_some() {
                        return Err(SyntaxError {
                            at: position,
                            message: "a second YAML document (`---`) is not supported".into(),
                            help: None,
                        });
                    }
                    let (event, position) = self.next()?;
                    root = Some(self.node(event, position, 0)?);
                }
                other => {
                    let node = self.node(other, position, 0)?;
                    if root.is_some() {
                        return Err(SyntaxError {
                            at: node.at,
                            message: "a second YAML document is not supported".into(),
                            help: None,
                        });
                    }
                    root = Some(node);
                }
            }
        }
    }

    fn node(&mut self, event: Event, position: At, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError {
                at: position,
                message: format!("the document nests deeper than {MAX_DEPTH} levels"),
                help: None,
            });
        }
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, _tag) => (
                Node {
                    value: Value::Scalar {
                        text,
                        plain: style == TScalarStyle::Plain,
                    },
                    at: position,
                },
                anchor,
            ),
            Event::Alias(id) => {
                return self
                    .anchors
                    .get(&id)
                    .cloned()
                    .map(|mut n| {
                        n.at = position;
                        n
                    })
                    .ok_or(SyntaxError {
                        at: position,
                        message: "an alias (`*name`) refers to an unknown anchor".into(),
                        help: None,
                    });
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, item_at) = self.next()?;
                    match event {
                        Event::SequenceEnd => break,
                        event => items.push(self.node(event, item_at, depth + 1)?),
                    }
                }
                let start = items
                    .first()
                    .map_or(position, |first| position.min(first.at));
                (
                    Node {
                        value: Value::Seq(items),
                        at: start,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let mut entries = Vec::new();
                loop {
                    let (event, key_at) = self.next()?;
                    if event == Event::MappingEnd {
                        break;
                    }
                    let key_node = self.node(event, key_at, depth + 1)?;
                    let key = match &key_node.value {
                        Value::Scalar { text, .. } => text.clone(),
                        _ => "?".into(),
                    };
                    let (event, value_at) = self.next()?;
                    let value = self.node(event, value_at, depth + 1)?;
                    entries.push(Entry {
                        key,
                        key_at: key_node.at,
                        value,
                    });
                }
                let start = entries
                    .first()
                    .map_or(position, |first| position.min(first.key_at));
                (
                    Node {
                        value: Value::Map(entries),
                        at: start,
                    },
                    anchor,
                )
            }
            other => {
                return Err(SyntaxError {
                    at: position,
                    message: format!("unexpected YAML event {other:?}"),
                    help: None,
                });
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_carry_their_positions() {
        let text = "version: 1\nservice:\n  name: orders\n  ports: { http: 8080 }\n";
        let root = parse(text).unwrap().unwrap();
        let (key_at, name) = root.find("service.name").unwrap();
        assert_eq!(key_at, (3, 3));
        assert_eq!(name.at, (3, 9));
        assert_eq!(name.text(), Some("orders"));
        let (key_at, port) = root.find("service.ports.http").unwrap();
        assert_eq!(key_at, (4, 12));
        assert_eq!(port.scalar(), Some(Scalar::Int(8080)));
        assert_eq!(root.find("service").unwrap().1.at, (3, 3));
        assert!(root.find("service.nothing").is_none());
    }

    #[test]
    fn scalars_read_as_the_core_schema_says() {
        let root = parse("a: 1\nb: '1'\nc: 1.5\nd: ~\ne: true\nf: yes\ng: 0x10\nh: -3")
            .unwrap()
            .unwrap();
        let get = |k: &str| root.entry(k).unwrap().value.scalar().unwrap();
        assert_eq!(get("a"), Scalar::Int(1));
        assert_eq!(get("b"), Scalar::Str("1"));
        assert_eq!(get("c"), Scalar::Float(1.5));
        assert_eq!(get("d"), Scalar::Null);
        assert_eq!(get("e"), Scalar::Bool(true));
        assert_eq!(get("f"), Scalar::Str("yes"));
        assert_eq!(get("g"), Scalar::Int(16));
        assert_eq!(get("h"), Scalar::Int(-3));
    }

    #[test]
    fn empty_documents_and_syntax_errors() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
        let error = parse("a: b\n  c: [").unwrap_err();
        assert_eq!(error.at, (2, 4));
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn a_top_level_scalar_is_read_without_building_the_document() {
        let bomb = "a: &a [x, x]\nb: &b [*a, *a]\nname: shop\nc: [*b, *b]\nd: [1\n";
        assert_eq!(top_level_scalar(bomb, "name").as_deref(), Some("shop"));
        let nested = "service:\n  name: orders\nname: 'shop'\nlist: [name, x]\n";
        assert_eq!(top_level_scalar(nested, "name").as_deref(), Some("shop"));
        assert_eq!(top_level_scalar("service: {name: x}\n", "name"), None);
        assert_eq!(top_level_scalar("name: {a: 1}\n", "name"), None);
        assert_eq!(top_level_scalar("[name, x]\n", "name"), None);
        assert_eq!(top_level_scalar("version: [1\n", "name"), None);
    }

    #[test]
    fn aliases_copy_their_anchor_and_deep_nesting_is_refused() {
        let root = parse("a: &x {k: 1}\nb: *x\n").unwrap().unwrap();
        assert_eq!(root.find("b.k").unwrap().1.text(), Some("1"));
        let deep = "[".repeat(500);
        assert!(parse(&deep).is_err());
    }
}
