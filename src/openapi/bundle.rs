//! Reading an OpenAPI document, and every file its `$ref`s name, into one
//! bundle: the root document with the other files under
//! [`FILES_KEY`], every `$ref` rewritten to a pointer inside the bundle, and
//! the line and column of every node, so that anything found later (an
//! example, an operation) can be named by file and line.
//!
//! The files are read through a caller's function, so that the manifest's
//! checker decides what may be read (inside the manifest's folder, after
//! resolving symbolic links) and reports why not at the `$ref`'s position.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Map, Number, Value};

use crate::manifest::tree::{self, At, Node, Scalar};

/// The key under which the bundle keeps the files other than the root, by
/// their path relative to the manifest's folder.
pub const FILES_KEY: &str = "x-sandbox-files";

/// The most files one document may pull in through `$ref`s.
const MAX_FILES: usize = 1000;

/// Map keys whose written order matters (the first response, the first
/// example, properties as written): kept, since JSON maps here are sorted.
const ORDERED: &[&str] = &["responses", "examples", "content", "properties", "paths"];

/// A document with every file it refers to, and where each node was written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bundle {
    /// The documents: the root's content, with the other files under
    /// [`FILES_KEY`]. Every `$ref` is `#/...`, a pointer into this value.
    pub document: Value,
    /// Each file as shown to the user; index 0 is the root.
    pub files: Vec<PathBuf>,
    /// Where each node of `document` was written: its pointer -> (file
    /// index, line and column).
    pub positions: HashMap<String, (usize, At)>,
    /// The keys of some maps (see [`ORDERED`]) in written order, by pointer.
    pub order: HashMap<String, Vec<String>>,
}

/// A problem found while bundling, in `file` at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleProblem {
    pub file: PathBuf,
    pub at: Option<At>,
    pub message: String,
    pub help: Option<String>,
}

/// A file the bundler wants, named by a `$ref`.
pub struct Wanted<'a> {
    /// The file that holds the `$ref`, as shown.
    pub from: &'a PathBuf,
    /// Where the `$ref` is in that file.
    pub at: At,
    /// The file's path relative to the manifest's folder, as joined from the
    /// referring file's folder and the `$ref` (may hold `..`).
    pub relative: String,
}

/// A file that was read: its key (the path relative to the manifest's
/// folder, after resolving links), as shown, and its text.
pub struct Read {
    pub key: String,
    pub shown: PathBuf,
    pub text: String,
}

impl Bundle {
    /// Where the node at `pointer` (or the nearest node above it) was written.
    pub fn position(&self, pointer: &str) -> Option<(PathBuf, At)> {
        let mut pointer = pointer;
        loop {
            if let Some((file, at)) = self.positions.get(pointer) {
                return Some((self.files[*file].clone(), *at));
            }
            let cut = pointer.rfind('/')?;
            pointer = &pointer[..cut];
        }
    }

    /// The keys of the map at `pointer` in written order (sorted when the
    /// order was not kept).
    pub fn keys(&self, pointer: &str, map: &Map<String, Value>) -> Vec<String> {
        match self.order.get(pointer) {
            Some(keys) => keys.clone(),
            None => map.keys().cloned().collect(),
        }
    }
}

/// Reads the root document `root` and every file its `$ref`s name through
/// `read`, which reports (to its caller) why a file cannot be read and
/// returns `None` then. Problems inside the documents are returned.
pub fn load(
    root: Read,
    read: &mut dyn FnMut(Wanted<'_>) -> Option<Read>,
) -> Result<Bundle, Vec<BundleProblem>> {
    let mut bundle = Bundle::default();
    let mut problems = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    // Per file: its content and the `$ref`s in it (pointer, target, at).
    let mut contents: Vec<Value> = Vec::new();
    let mut refs: Vec<(usize, String, String, At)> = Vec::new();
    let mut queue = vec![root];
    let mut failed = false;
    while let Some(file) = queue.pop() {
        let index = keys.len();
        keys.push(file.key.clone());
        bundle.files.push(file.shown.clone());
        let base = if index == 0 {
            String::new()
        } else {
            format!("/{FILES_KEY}/{}", escape(&file.key))
        };
        // JSON's own parser says more about broken JSON than YAML's.
        if file.key.ends_with(".json")
            && let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(&file.text)
        {
            let message = error.to_string();
            let message = match message.rfind(" at line ") {
                Some(cut) => message[..cut].to_owned(),
                None => message,
            };
            problems.push(BundleProblem {
                file: file.shown.clone(),
                at: (error.line() > 0).then(|| (error.line(), error.column().max(1))),
                message: format!("cannot parse the OpenAPI document: {message}"),
                help: None,
            });
            failed = true;
            contents.push(Value::Null);
            continue;
        }
        let node = match tree::parse(&file.text) {
            Ok(Some(node)) => node,
            Ok(None) => {
                problems.push(BundleProblem {
                    file: file.shown.clone(),
                    at: Some((1, 1)),
                    message: "the OpenAPI document is empty".into(),
                    help: Some("the file should start with `openapi: 3.0.3`".into()),
                });
                failed = true;
                contents.push(Value::Null);
                continue;
            }
            Err(error) => {
                problems.push(BundleProblem {
                    file: file.shown.clone(),
                    at: Some(error.at),
                    message: format!("cannot parse the OpenAPI document: {}", error.message),
                    help: error.help,
                });
                failed = true;
                contents.push(Value::Null);
                continue;
            }
        };
        let mut found = Vec::new();
        let value = to_value(&node, &base, index, &mut bundle, &mut found, "");
        if index == 0 && !value.is_object() {
            problems.push(BundleProblem {
                file: file.shown.clone(),
                at: Some(node.at),
                message: format!(
                    "an OpenAPI document must be a map, found {}",
                    node.describe()
                ),
                help: Some("the file should start with `openapi: 3.0.3`".into()),
            });
            return Err(problems);
        }
        contents.push(value);
        for (pointer, target, at) in found {
            let (path, fragment) = split_ref(&target);
            let new = if path.is_empty() {
                format!("#{}{fragment}", base)
            } else if path.contains("://") {
                problems.push(BundleProblem {
                    file: file.shown.clone(),
                    at: Some(at),
                    message: format!("`$ref: {target}` names a remote document"),
                    help: Some(
                        "the sandbox reads no network: copy the document into the manifest's folder and refer to it by a relative path"
                            .into(),
                    ),
                });
                failed = true;
                continue;
            } else {
                let folder = match file.key.rfind('/') {
                    Some(cut) => &file.key[..cut + 1],
                    None => "",
                };
                let relative = if path.starts_with('/') {
                    path.clone()
                } else {
                    format!("{folder}{path}")
                };
                let key = match keys
                    .iter()
                    .chain(queue.iter().map(|q| &q.key))
                    .find(|k| normal(k) == normal(&relative))
                {
                    Some(key) => key.clone(),
                    None => {
                        if keys.len() + queue.len() >= MAX_FILES {
                            problems.push(BundleProblem {
                                file: file.shown.clone(),
                                at: Some(at),
                                message: format!(
                                    "the OpenAPI document refers to more than {MAX_FILES} files"
                                ),
                                help: None,
                            });
                            return Err(problems);
                        }
                        match read(Wanted {
                            from: &file.shown,
                            at,
                            relative: relative.clone(),
                        }) {
                            Some(next) => {
                                let key = next.key.clone();
                                if !keys.contains(&key) && !queue.iter().any(|q| q.key == key) {
                                    queue.push(next);
                                }
                                key
                            }
                            None => {
                                failed = true;
                                continue;
                            }
                        }
                    }
                };
                if key == keys[0] {
                    format!("#{fragment}")
                } else {
                    format!("#/{FILES_KEY}/{}{fragment}", escape(&key))
                }
            };
            refs.push((index, pointer, new, at));
        }
    }
    if failed {
        return Err(problems);
    }
    let mut document = contents.remove(0);
    if !contents.is_empty()
        && let Value::Object(root) = &mut document
    {
        let mut files = Map::new();
        for (key, content) in keys.iter().skip(1).zip(contents) {
            files.insert(key.clone(), content);
        }
        root.insert(FILES_KEY.into(), Value::Object(files));
    }
    for (index, pointer, target, at) in refs {
        let exists = document.pointer(&target[1..]).is_some();
        if !exists {
            problems.push(BundleProblem {
                file: bundle.files[index].clone(),
                at: Some(at),
                message: format!(
                    "`$ref` points at nothing: `{}` is not in the document",
                    shown_target(&target)
                ),
                help: Some("check the pointer after `#`, e.g. `#/components/schemas/Pet`".into()),
            });
            continue;
        }
        if let Some(slot) = document.pointer_mut(&pointer) {
            *slot = Value::String(target);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    bundle.document = document;
    Ok(bundle)
}

/// The target as the user wrote it would read inside its own file.
fn shown_target(target: &str) -> String {
    match target.strip_prefix(&format!("#/{FILES_KEY}/")) {
        Some(rest) => {
            let (file, pointer) = rest.split_once('/').unwrap_or((rest, ""));
            format!("{}#/{pointer}", unescape(file))
        }
        None => target.to_owned(),
    }
}

/// A `$ref` split into its file (percent-decoded, empty for the same
/// document) and its fragment (`/a/b`, or empty for the whole file).
fn split_ref(target: &str) -> (String, String) {
    let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|t| t.into_owned())
            .unwrap_or_else(|_| text.to_owned())
    };
    let fragment = decode(fragment);
    let fragment = if fragment.is_empty() || fragment.starts_with('/') {
        fragment
    } else {
        format!("/{fragment}")
    };
    (decode(path), fragment.trim_end_matches('/').to_owned())
}

/// A relative path without `.` segments and with `..` taken, for comparing
/// keys (the reader resolves links; this only avoids reading a file twice).
fn normal(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Escapes a key for a JSON pointer.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Undoes [`escape`].
pub fn unescape(key: &str) -> String {
    key.replace("~1", "/").replace("~0", "~")
}

/// Converts a YAML (or JSON) node into JSON, noting positions, the order of
/// some maps and every `$ref` (its pointer, target and position).
fn to_value(
    node: &Node,
    pointer: &str,
    file: usize,
    bundle: &mut Bundle,
    refs: &mut Vec<(String, String, At)>,
    key: &str,
) -> Value {
    bundle.positions.insert(pointer.to_owned(), (file, node.at));
    match &node.value {
        tree::Value::Scalar { .. } => match node.scalar() {
            Some(Scalar::Null) | None => Value::Null,
            Some(Scalar::Bool(b)) => Value::Bool(b),
            Some(Scalar::Int(i)) => i64::try_from(i)
                .map(Number::from)
                .ok()
                .or_else(|| Number::from_f64(i as f64))
                .map_or(Value::Null, Value::Number),
            Some(Scalar::Float(f)) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Some(Scalar::Str(s)) => Value::String(s.to_owned()),
        },
        tree::Value::Seq(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_value(item, &format!("{pointer}/{i}"), file, bundle, refs, ""))
                .collect(),
        ),
        tree::Value::Map(entries) => {
            let mut map = Map::new();
            let mut order = Vec::new();
            for entry in entries {
                let here = format!("{pointer}/{}", escape(&entry.key));
                // Inside an example's value or a `const`/`default`/`enum`, a
                // `$ref` key is data, not a reference.
                let data = matches!(key, "value" | "example" | "default" | "const" | "enum");
                if entry.key == "$ref"
                    && !data
                    && let Some(Scalar::Str(target)) = entry.value.scalar()
                {
                    refs.push((here.clone(), target.to_owned(), entry.value.at));
                }
                let child_key = if data { "value" } else { entry.key.as_str() };
                let value = to_value(&entry.value, &here, file, bundle, refs, child_key);
                if !map.contains_key(&entry.key) {
                    order.push(entry.key.clone());
                }
                map.insert(entry.key.clone(), value);
            }
            if ORDERED.contains(&key) {
                bundle.order.insert(pointer.to_owned(), order);
            }
            Value::Object(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_from(files: &[(&str, &str)]) -> impl FnMut(Wanted<'_>) -> Option<Read> {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |wanted: Wanted<'_>| {
            let key = normal(&wanted.relative);
            files.iter().find(|(k, _)| *k == key).map(|(k, text)| Read {
                key: k.clone(),
                shown: PathBuf::from(k),
                text: text.clone(),
            })
        }
    }

    fn root(text: &str) -> Read {
        Read {
            key: "api/openapi.yaml".into(),
            shown: "api/openapi.yaml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn refs_across_files_become_pointers_inside_the_bundle() {
        let mut read = read_from(&[
            (
                "api/paths/pets.yaml",
                "get:\n  responses:\n    '200':\n      content:\n        application/json:\n          schema: { $ref: '../schemas/pet.yaml#/Pet' }\n",
            ),
            (
                "api/schemas/pet.yaml",
                "Pet:\n  type: object\n  properties:\n    tag: { $ref: '#/Tag' }\n    owner: { $ref: '../openapi.yaml#/components/schemas/Owner' }\nTag: { type: string }\n",
            ),
        ]);
        let bundle = load(
            root("openapi: 3.0.3\npaths:\n  /pets:\n    $ref: paths/pets.yaml\ncomponents:\n  schemas:\n    Owner: { type: string }\n"),
            &mut read,
        )
        .unwrap();
        let doc = &bundle.document;
        assert_eq!(
            doc["paths"]["/pets"]["$ref"],
            "#/x-sandbox-files/api~1paths~1pets.yaml"
        );
        let pets = &doc[FILES_KEY]["api/paths/pets.yaml"];
        assert_eq!(
            pets["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/x-sandbox-files/api~1schemas~1pet.yaml/Pet"
        );
        let pet = &doc[FILES_KEY]["api/schemas/pet.yaml"]["Pet"];
        assert_eq!(
            pet["properties"]["tag"]["$ref"],
            "#/x-sandbox-files/api~1schemas~1pet.yaml/Tag"
        );
        assert_eq!(
            pet["properties"]["owner"]["$ref"],
            "#/components/schemas/Owner"
        );
        // Positions name the file each node came from.
        let (file, at) = bundle
            .position("/x-sandbox-files/api~1schemas~1pet.yaml/Tag")
            .unwrap();
        assert_eq!((file, at), (PathBuf::from("api/schemas/pet.yaml"), (6, 6)));
    }

    #[test]
    fn a_dangling_or_remote_ref_is_named_with_its_line() {
        let mut read = read_from(&[]);
        let problems = load(
            root("openapi: 3.0.3\ncomponents:\n  schemas:\n    A: { $ref: '#/components/schemas/B' }\n    C: { $ref: 'https://example.com/x.yaml' }\n"),
            &mut read,
        )
        .unwrap_err();
        let messages: Vec<String> = problems
            .iter()
            .map(|p| format!("{:?}: {}", p.at, p.message))
            .collect();
        assert_eq!(
            messages,
            ["Some((5, 16)): `$ref: https://example.com/x.yaml` names a remote document",]
        );
        let problems = load(
            root("openapi: 3.0.3\ncomponents:\n  schemas:\n    A: { $ref: '#/components/schemas/B' }\n"),
            &mut read,
        )
        .unwrap_err();
        assert_eq!(problems[0].at, Some((4, 16)));
        assert!(problems[0].message.contains("`#/components/schemas/B`"));
    }

    #[test]
    fn written_order_is_kept_for_responses_and_examples() {
        let mut read = read_from(&[]);
        let bundle = load(
            root("openapi: 3.0.3\npaths:\n  /a:\n    get:\n      responses:\n        '404': {description: x}\n        '201': {description: y}\n"),
            &mut read,
        )
        .unwrap();
        assert_eq!(
            bundle.order["/paths/~1a/get/responses"],
            vec!["404".to_owned(), "201".to_owned()]
        );
    }
}
