//! `sandbox validate`, `sandbox schema` and `sandbox init`.
//!
//! `validate --json` prints one document on stdout:
//! `{"valid": true, "file", "sandbox", "entries": [{"name", "role", "kind"}],
//! "warnings": [PROBLEM]}` (a warning is legal but likely a mistake, e.g. an
//! unknown HTTP method; shaped as a problem),
//! or `{"valid": false, "file", "problems": [{"file", "line", "column",
//! "message", "help"}]}` (line, column and help may be null) and exits 2.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::Globals;
use crate::error::exit;
use crate::manifest::{self, Loaded, ManifestError, Problem, StarterSource};
use crate::output::{self, println as print_line};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the manifest: a file, or a folder to write
    /// `sandbox.yaml` in (default: ./sandbox.yaml).
    pub path: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

pub fn validate(globals: &Globals, args: ValidateArgs) -> Result<()> {
    let file = globals.manifest_path();
    if !args.json {
        let loaded = globals.load()?;
        let count = entries(&loaded).len();
        print_line(&format!(
            "{}: valid (sandbox `{}`, {count} {})",
            file.display(),
            loaded.name,
            if count == 1 { "entry" } else { "entries" }
        ))?;
        return Ok(());
    }
    match globals.load_quietly() {
        Ok(loaded) => {
            let warnings: Vec<_> = loaded.warnings.iter().map(problem_json).collect();
            let entries: Vec<_> = entries(&loaded)
                .into_iter()
                .map(|(name, role, kind)| json!({"name": name, "role": role, "kind": kind}))
                .collect();
            print_line(
                &json!({"valid": true, "file": file, "sandbox": loaded.name, "entries": entries, "warnings": warnings})
                    .to_string(),
            )
        }
        Err(Error::Manifest(ManifestError::Invalid { problems })) => {
            let problems: Vec<_> = problems.iter().map(problem_json).collect();
            print_line(&json!({"valid": false, "file": file, "problems": problems}).to_string())?;
            Err(Error::Status(exit::USAGE))
        }
        Err(Error::Manifest(ManifestError::Missing {
            file: missing,
            folder,
        })) => {
            let problem = json!({"file": missing, "line": null, "column": null, "message": manifest::missing_message(&missing, &folder), "help": manifest::MISSING_HELP});
            print_line(&json!({"valid": false, "file": file, "problems": [problem]}).to_string())?;
            Err(Error::Status(exit::USAGE))
        }
        Err(Error::Manifest(error @ ManifestError::Read { .. })) => {
            let problem = json!({"file": file, "line": null, "column": null, "message": output::one_line(&error), "help": null});
            print_line(&json!({"valid": false, "file": file, "problems": [problem]}).to_string())?;
            Err(Error::Status(exit::USAGE))
        }
        Err(other) => Err(other),
    }
}

/// Every entry as (name, role, kind), the service first.
fn entries(loaded: &Loaded) -> Vec<(String, &'static str, &'static str)> {
    let service = &loaded.entries.service;
    let mut entries = vec![(
        service.name.clone(),
        "service",
        service.container.kind().as_str(),
    )];
    for (name, dependency) in &loaded.entries.dependencies {
        entries.push((
            name.clone(),
            "dependency",
            dependency.source.kind().as_str(),
        ));
    }
    entries
}

fn problem_json(problem: &Problem) -> serde_json::Value {
    json!({
        "file": problem.file,
        "line": problem.at.map(|(line, _)| line),
        "column": problem.at.map(|(_, column)| column),
        "message": problem.message,
        "help": problem.help,
    })
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of a recording file (what `record` writes and `replay`
    /// reads) instead of the manifest's.
    #[arg(long)]
    pub recording: bool,
}

pub fn schema(args: SchemaArgs) -> Result<()> {
    let schema = if args.recording {
        manifest::schema::recording_schema()
    } else {
        manifest::schema::json_schema()
    };
    let text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    print_line(&text)
}

/// The service name the starter uses: the folder's, unless that is taken by
/// the registry or the starter's own stub.
fn starter_name(folder: &Path) -> String {
    let name = manifest::name_from_folder(folder);
    if matches!(name.as_str(), "registry" | "payments") || !manifest::is_valid_name(&name) {
        "app".to_owned()
    } else {
        name
    }
}

pub fn init(globals: &Globals, args: InitArgs) -> Result<()> {
    let mut target = args.path.unwrap_or_else(|| globals.manifest_path());
    if target.is_dir() {
        target.push(manifest::DEFAULT_FILE);
    }
    if target.exists() && !args.force {
        return Err(Error::Usage(format!(
            "{} already exists; pass --force to overwrite it",
            target.display()
        )));
    }
    let folder = std::path::absolute(&target)
        .ok()
        .and_then(|t| t.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let name = starter_name(&folder);
    let source = starter_source(&folder);
    std::fs::write(&target, manifest::starter(&name, &source))
        .map_err(|error| Error::io(format!("cannot write {}", target.display()), error))?;
    let next = match &source {
        StarterSource::Build(context) => format!(
            "the service `{name}` is built from {context}; run `sandbox validate`, then `sandbox up`"
        ),
        StarterSource::Project(marker) => format!(
            "this folder has a {marker} but no Dockerfile: add one, then replace `image:` with `build: .` (until then it uses the image `{name}:dev`)"
        ),
        StarterSource::Image => format!(
            "set `image:` to your service's image (now `{name}:dev`), or `build:` a folder with a Dockerfile; then run `sandbox up`"
        ),
    };
    output::eprintln(&format!("wrote {}; {next}", target.display()));
    Ok(())
}

/// What the starter builds or runs, from what the folder holds: its
/// Dockerfile, else a subfolder's, else a project with no Dockerfile yet,
/// else nothing.
fn starter_source(folder: &Path) -> StarterSource {
    if folder.join("Dockerfile").is_file() {
        return StarterSource::Build(".".into());
    }
    let mut subfolders: Vec<String> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("Dockerfile").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            !n.starts_with('.')
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        .collect();
    subfolders.sort();
    if let Some(sub) = subfolders.first() {
        return StarterSource::Build(format!("./{sub}"));
    }
    ["Cargo.toml", "go.mod", "package.json", "pyproject.toml"]
        .into_iter()
        .find(|marker| folder.join(marker).is_file())
        .map_or(StarterSource::Image, |marker| {
            StarterSource::Project(marker.into())
        })
}
