//! The manifest: its model, loading from `sandbox.yaml`, and validation that
//! reports every problem with file, line and column. This module is the only
//! reader of the manifest's YAML.
//!
//! Validation also makes [`Entries`], the typed view read downstream: each
//! entry's kind is an enum ([`Source`], [`ImageRef`]), never re-derived.

pub mod bounds;
pub mod converted;
pub mod entries;
pub mod har;
pub mod model;
pub mod recording;
pub mod schema;
pub mod tree;
pub mod units;
mod validate;
pub mod wiremock;

use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

pub use entries::{
    ContainerSource, DependencyEntry, Entries, ImageRef, ReplaySource, ServiceEntry, Source,
};
pub use model::*;
pub use recording::Recording;
pub use units::{ByteRate, Rate, Span};
pub(crate) use validate::without_position;

/// The default manifest file name.
pub const DEFAULT_FILE: &str = "sandbox.yaml";

/// A manifest that passed validation, with every file it refers to read.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The manifest file, absolute.
    pub file: PathBuf,
    /// The manifest's folder, absolute; every path in the manifest is inside it.
    pub dir: PathBuf,
    /// The manifest as parsed (for its settings outside [`Entries`]).
    pub manifest: Manifest,
    /// The typed view of the entries: what each one is, as an enum.
    pub entries: Entries,
    /// The sandbox name: `name:` or the folder's name.
    pub name: String,
    /// Every stub's routes: the manifest's own, then those of its `files`.
    pub stub_routes: IndexMap<String, Vec<Route>>,
    /// Every replay dependency's recording.
    pub recordings: IndexMap<String, Recording>,
    /// Every declared OpenAPI document, by entry name, as JSON.
    pub openapi: IndexMap<String, serde_json::Value>,
    /// The OpenAPI document of each entry that has one (`api.openapi`,
    /// else its stub's `openapi`), read with the files it refers to.
    pub specs: IndexMap<String, crate::openapi::Spec>,
    /// Every stub with `openapi:`: the routes made from the document
    /// (served after the stub's own routes) and whether it validates.
    pub openapi_stubs: IndexMap<String, crate::openapi::OpenApiStub>,
    /// Every path the manifest names (build contexts, Dockerfiles, stub
    /// files, recordings, record targets, OpenAPI documents), as written ->
    /// absolute with every symbolic link resolved; each is inside the
    /// manifest's folder. Read them through [`Loaded::path`].
    pub paths: IndexMap<String, PathBuf>,
    /// What is legal but likely a mistake (an unknown HTTP method): shown
    /// as `warning: FILE:L:C: ...` by every command, never fatal.
    pub warnings: Vec<Problem>,
    /// Every stub with `proto:`: its compiled `.proto` files.
    pub protos: IndexMap<String, crate::proto::Protos>,
}

impl Loaded {
    /// Where a path the manifest names really is: resolved through symbolic
    /// links as validation checked it, so what is used is what was checked.
    /// A path the manifest does not name is taken beside the manifest.
    pub fn path(&self, written: &str) -> PathBuf {
        self.paths
            .get(written)
            .cloned()
            .unwrap_or_else(|| self.dir.join(written))
    }
}

/// Where a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
}

/// One thing wrong with a manifest or a file it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// Line and column, 1-based, when known.
    pub at: Option<(usize, usize)>,
    /// What is wrong, e.g. "unknown key `servce`".
    pub message: String,
    /// How to fix it, e.g. "did you mean `service`?".
    pub help: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.file.display(),
                self.message
            )?,
            None => write!(f, "{}: {}", self.file.display(), self.message)?,
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The cause is in the message (not a `#[source]` too, which would
    /// print it twice).
    #[error("cannot read manifest {}: {cause}", file.display())]
    Read {
        file: PathBuf,
        cause: std::io::Error,
    },
    /// There is no manifest where one was looked for.
    #[error("{}\n  help: {}", missing_message(file, folder), MISSING_HELP)]
    Missing {
        /// The manifest's path as given.
        file: PathBuf,
        /// Its folder, absolute.
        folder: PathBuf,
    },
    #[error("{}", render_problems(problems))]
    Invalid { problems: Vec<Problem> },
}

/// How to get a manifest when there is none.
pub const MISSING_HELP: &str =
    "write one with `sandbox init`, or name another with `-f PATH` (or the SANDBOX_FILE variable)";

/// `there is no `sandbox.yaml` in this folder (/abs)`.
pub fn missing_message(file: &Path, folder: &Path) -> String {
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let here = file
        .parent()
        .is_none_or(|p| p.as_os_str().is_empty() || p == Path::new("."));
    if here {
        format!("there is no `{name}` in this folder ({})", folder.display())
    } else {
        format!("there is no `{name}` in {}", folder.display())
    }
}

fn render_problems(problems: &[Problem]) -> String {
    let mut text = format!(
        "invalid manifest: {} problem{}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        text.push('\n');
        text.push_str(&problem.to_string());
    }
    text
}

/// Reads and validates a manifest and every file it names.
pub fn load(file: &Path) -> Result<Loaded, ManifestError> {
    let absolute = std::path::absolute(file).map_err(|cause| ManifestError::Read {
        file: file.to_path_buf(),
        cause,
    })?;
    let text = bounds::read_manifest(&absolute).map_err(|cause| {
        if cause.kind() == std::io::ErrorKind::NotFound {
            ManifestError::Missing {
                file: file.to_path_buf(),
                folder: absolute.parent().map(Path::to_path_buf).unwrap_or_default(),
            }
        } else {
            ManifestError::Read {
                file: file.to_path_buf(),
                cause,
            }
        }
    })?;
    match text {
        Ok(text) => validate::load_text(file, &absolute, &text),
        Err(refused) => Err(ManifestError::Invalid {
            problems: vec![Problem {
                file: file.to_path_buf(),
                at: Some(refused.at),
                message: refused.message,
                help: refused.help,
            }],
        }),
    }
}

/// Where the starter's service comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StarterSource {
    /// `build:` this folder (`.` or `./sub`), which has a Dockerfile.
    Build(String),
    /// A project (its marker file, e.g. `Cargo.toml`) with no Dockerfile
    /// yet: `image:` until one is added.
    Project(String),
    /// Nothing to build: `image:`.
    Image,
}

/// A commented starter manifest for a service called `name` (what
/// `sandbox init` writes). It validates as written; comments are aligned in
/// one column whatever the name's length.
pub fn starter(name: &str, source: &StarterSource) -> String {
    let lines = match source {
        StarterSource::Build(context) => format!(
            "  build: {context}  # a folder with a Dockerfile inside\n  # image: {{{{name}}}}:dev  # ... or an image already present locally"
        ),
        StarterSource::Project(marker) => format!(
            "  # This folder has a {marker} but no Dockerfile: add one, then replace\n  # `image:` below with `build: .`.\n  image: {{{{name}}}}:dev  # until then: an image already present locally"
        ),
        StarterSource::Image => "  image: {{name}}:dev  # an image already present locally\n  # build: ./app  # ... or a folder with a Dockerfile inside".to_owned(),
    };
    let text = include_str!("starter.yaml")
        .replace("{{source}}", &lines)
        .replace("{{name}}", name);
    align_comments(&text)
}

/// Puts every trailing comment (`code  # comment`) in one column: at least
/// 32, else two past the longest code.
fn align_comments(text: &str) -> String {
    let split = |line: &str| -> Option<(usize, usize)> {
        let start = line.len() - line.trim_start().len();
        // A commented-out line may have its own comment: `  # key: x  # ...`.
        let from = if line[start..].starts_with("# ") {
            start + 2
        } else {
            start
        };
        let hash = from + line[from..].find("  # ")? + 2;
        let code = line[..hash].trim_end();
        (!code.trim().is_empty()).then_some((code.len(), hash))
    };
    let column = text
        .lines()
        .filter_map(split)
        .map(|(code, _)| code + 2)
        .max()
        .unwrap_or(0)
        .max(32);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match split(line) {
            Some((code, hash)) => {
                out.push_str(&format!("{:<column$}{}", &line[..code], &line[hash..]));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The sandbox name of a manifest that may not validate: its `name:` when
/// that can be read, else its folder's. Lets `down` and `status` find a
/// running sandbox after its manifest was broken by an edit. The same size
/// and encoding bounds apply as to [`load`]; the name is read from the YAML
/// events alone, so aliases expand nothing and a syntax error further down
/// does not hide it.
pub fn lenient_name(file: &Path) -> Option<String> {
    let absolute = std::path::absolute(file).ok()?;
    let declared = bounds::read_manifest(&absolute)
        .ok()
        .and_then(Result::ok)
        .and_then(|text| tree::top_level_scalar(&text, "name"))
        .filter(|name| is_valid_name(name));
    declared.or_else(|| absolute.parent().map(name_from_folder))
}

/// Turns a folder name into a valid sandbox name.
pub fn name_from_folder(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name = name.trim_matches('-').to_owned();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = format!("sandbox-{name}").trim_end_matches('-').to_owned();
    }
    name.truncate(40);
    name
}

/// Whether `name` is a valid entry or sandbox name: `[a-z][a-z0-9-]{0,39}`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 40
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
}

/// The environment-variable stem of an entry: upper-cased, `-` becomes `_`.
pub fn env_stem(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

#[cfg(test)]
mod lenient_tests {
    use super::*;

    #[test]
    fn a_broken_manifest_still_names_its_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sandbox.yaml");
        std::fs::write(&file, "version: 1\nname: shop\nservce: {}\n").unwrap();
        assert!(load(&file).is_err());
        assert_eq!(lenient_name(&file).as_deref(), Some("shop"));
        std::fs::write(&file, "version: [1\n").unwrap();
        assert_eq!(lenient_name(&file), Some(name_from_folder(dir.path())));
        let bomb = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/manifests/alias-bomb.yaml"
        ))
        .unwrap();
        std::fs::write(&file, format!("name: shop\n{bomb}")).unwrap();
        assert_eq!(lenient_name(&file).as_deref(), Some("shop"));
    }
}
