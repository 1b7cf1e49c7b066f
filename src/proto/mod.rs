//! Protocol Buffers for gRPC stubs: `.proto` files compiled at run time in
//! pure Rust (protox, no `protoc`), methods looked up by `pkg.Service/Method`,
//! and messages converted between JSON (protobuf's canonical JSON mapping)
//! and their binary encoding.
//!
//! The CLI compiles the files a manifest names (each inside the manifest's
//! folder, imports taken relative to the importing file's folder) and hands
//! the agent the compiled descriptors ([`Protos::encoded`]), so the agent
//! needs neither the files nor a compiler.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use miette::Diagnostic;
use prost_reflect::prost::Message;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor, MethodDescriptor,
    SerializeOptions,
};
use protox::file::{File, FileResolver, GoogleFileResolver};
use serde_json::Value;

pub mod status;

/// Compiled `.proto` files.
#[derive(Debug, Clone)]
pub struct Protos {
    pub pool: DescriptorPool,
}

/// What is wrong with a `.proto` file, at its line and column when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoProblem {
    /// The file as shown to the user.
    pub file: PathBuf,
    pub at: Option<(usize, usize)>,
    pub message: String,
}

/// One `.proto` file to compile.
pub struct Source<'a> {
    /// The file, resolved (through links) inside `base`.
    pub real: &'a Path,
    /// The file as shown to the user.
    pub shown: PathBuf,
}

impl Protos {
    /// Compiles `files`; every file they import must resolve inside `base`
    /// (the manifest's folder, resolved), looked up relative to the folder
    /// of each listed file. `shown_base` is how `base` is shown.
    pub fn compile(
        base: &Path,
        shown_base: &Path,
        files: &[Source<'_>],
    ) -> Result<Protos, ProtoProblem> {
        let roots: Vec<PathBuf> = files
            .iter()
            .filter_map(|f| f.real.parent().map(Path::to_path_buf))
            .collect();
        let seen = Rc::new(RefCell::new(BTreeMap::new()));
        let resolver = Inside {
            base: base.to_path_buf(),
            shown_base: shown_base.to_path_buf(),
            roots,
            seen: seen.clone(),
        };
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        for file in files {
            let name = file
                .real
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Err(error) = compiler.open_file(&name) {
                return Err(problem(&error, &seen.borrow(), &file.shown));
            }
        }
        Ok(Protos {
            pool: compiler.descriptor_pool(),
        })
    }

    /// The compiled descriptors, as the agent's configuration carries them.
    pub fn encoded(&self) -> Vec<u8> {
        self.pool.encode_to_vec()
    }

    /// Descriptors from [`Protos::encoded`].
    pub fn decode(bytes: &[u8]) -> Result<Protos, String> {
        DescriptorPool::decode(bytes)
            .map(|pool| Protos { pool })
            .map_err(|e| format!("invalid compiled .proto descriptors: {e}"))
    }

    /// The method named `pkg.Service/Method` (a leading `/` allowed), or
    /// why not, with the closest name.
    pub fn method(&self, name: &str) -> Result<MethodDescriptor, (String, Option<String>)> {
        let name = name.trim_start_matches('/');
        let Some((service, method)) = name.rsplit_once('/') else {
            return Err((
                format!("`{name}` is not a gRPC method name"),
                Some("write `package.Service/Method`, e.g. `payments.v1.Payments/Get`".into()),
            ));
        };
        if let Some(found) = self
            .pool
            .get_service_by_name(service)
            .and_then(|s| s.methods().find(|m| m.name() == method))
        {
            return Ok(found);
        }
        let all = self.method_names();
        let closest = closest(name, &all);
        let help = match closest {
            Some(near) => format!("did you mean `{near}`?"),
            None if all.is_empty() => "the `.proto` files define no service".to_owned(),
            None => format!("the methods are: {}", all.join(", ")),
        };
        Err((
            format!("the `.proto` files define no method `{name}`"),
            Some(help),
        ))
    }

    /// Every method, as `pkg.Service/Method`.
    pub fn method_names(&self) -> Vec<String> {
        self.pool
            .services()
            .flat_map(|s| {
                s.methods()
                    .map(|m| format!("{}/{}", s.full_name(), m.name()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// The name in `names` closest to `name`, when it is close enough to be a
/// likely typo or a near miss.
pub fn closest(name: &str, names: &[String]) -> Option<String> {
    names
        .iter()
        .map(|n| (strsim::jaro_winkler(name, n), n))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n.clone())
}

/// A message of type `descriptor` from its JSON form (field names as in
/// the `.proto` or in lowerCamelCase); unknown fields are refused.
pub fn from_json(descriptor: &MessageDescriptor, json: &Value) -> Result<DynamicMessage, String> {
    DynamicMessage::deserialize_with_options(
        descriptor.clone(),
        json,
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
    .map_err(|e| format!("does not fit the message `{}`: {e}", descriptor.full_name()))
}

/// The binary encoding of the JSON form of a `descriptor` message.
pub fn encode_json(descriptor: &MessageDescriptor, json: &Value) -> Result<Vec<u8>, String> {
    from_json(descriptor, json).map(|m| m.encode_to_vec())
}

/// A binary message of type `descriptor` decoded into its JSON form, with
/// every field (defaults too) so that matchers can find them.
pub fn decode_to_json(descriptor: &MessageDescriptor, bytes: &[u8]) -> Result<Value, String> {
    let message = DynamicMessage::decode(descriptor.clone(), bytes)
        .map_err(|e| format!("not a `{}` message: {e}", descriptor.full_name()))?;
    Ok(to_json(&message, false))
}

/// The JSON form of a message; `skip_defaults` leaves out fields at their
/// default value (as protobuf's JSON mapping does).
pub fn to_json(message: &DynamicMessage, skip_defaults: bool) -> Value {
    let options = SerializeOptions::new().skip_default_fields(skip_defaults);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(Value::Null)
}

/// A matcher's JSON in the form requests are compared in (field names in
/// lowerCamelCase, numbers as protobuf's JSON mapping writes them).
pub fn normalize(descriptor: &MessageDescriptor, json: &Value) -> Result<Value, String> {
    from_json(descriptor, json).map(|m| to_json(&m, true))
}

/// Resolves imports relative to the listed files' folders, never outside
/// the manifest's folder; `google/protobuf/*.proto` are built in.
struct Inside {
    base: PathBuf,
    shown_base: PathBuf,
    roots: Vec<PathBuf>,
    /// Each file opened: name -> (shown path, text), for error positions.
    seen: Rc<RefCell<BTreeMap<String, (PathBuf, String)>>>,
}

impl FileResolver for Inside {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        for root in &self.roots {
            let candidate = root.join(name);
            let Ok(real) = candidate.canonicalize() else {
                continue;
            };
            let Ok(relative) = real.strip_prefix(&self.base) else {
                return Err(protox::Error::new(format!(
                    "`{name}` resolves to {}, outside the manifest's folder; .proto files and their imports must stay inside it",
                    real.display()
                )));
            };
            let text = std::fs::read_to_string(&real)
                .map_err(|e| protox::Error::new(format!("cannot read {}: {e}", real.display())))?;
            self.seen.borrow_mut().insert(
                name.to_owned(),
                (self.shown_base.join(relative), text.clone()),
            );
            return File::from_source(name, &text);
        }
        if name.starts_with("google/protobuf/") {
            return GoogleFileResolver::new().open_file(name);
        }
        Err(protox::Error::file_not_found(name))
    }
}

/// A compile error as a problem at the file and line it names.
fn problem(
    error: &protox::Error,
    seen: &BTreeMap<String, (PathBuf, String)>,
    listed: &Path,
) -> ProtoProblem {
    let in_file = error.file().and_then(|name| seen.get(name));
    let file = in_file.map_or_else(|| listed.to_path_buf(), |(shown, _)| shown.clone());
    let offset = error
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    let at = match (in_file, offset) {
        (Some((_, text)), Some(offset)) => Some(line_column(text, offset)),
        _ => None,
    };
    let mut message = error.to_string();
    if let Some(help) = error.help() {
        message.push_str(&format!(" ({help})"));
    }
    ProtoProblem { file, at, message }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
