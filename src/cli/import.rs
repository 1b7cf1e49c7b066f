//! `sandbox import compose [FILE] [--service NAME] [-o FILE] [--force]`
//! (PRODUCT.md 6.5): a manifest from a Compose file. The manifest goes to
//! stdout, or to `-o FILE` (written atomically, never over an existing file
//! without `--force`); what was left out or changed goes to stderr. What is
//! written is first checked with the manifest's own loader: a manifest that
//! does not validate is a bug here, exit 1.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::import::{ImportError, compose};
use crate::manifest;
use crate::output;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub from: ImportFrom,
}

/// What to import from.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// Write a manifest from a Compose file.
    Compose(ComposeArgs),
}

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// The Compose file (default: compose.yaml, compose.yml,
    /// docker-compose.yaml or docker-compose.yml in this folder).
    #[arg(value_name = "FILE")]
    pub compose: Option<PathBuf>,
    /// The service under work (default: the one no other service depends on).
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Write the manifest to this file (a folder: its sandbox.yaml) instead
    /// of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file when it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(globals: &super::Globals, args: ImportArgs) -> Result<()> {
    match args.from {
        ImportFrom::Compose(args) => compose_command(globals, args),
    }
}

fn compose_command(globals: &super::Globals, args: ComposeArgs) -> Result<()> {
    // `docker compose -f FILE` names the Compose file; here `-f` names a
    // manifest, which an import does not read: say so rather than ignore it
    // (a path from SANDBOX_FILE is the environment's, not a request).
    if let Some(given) = &globals.file
        && std::env::var_os("SANDBOX_FILE").is_none_or(|env| Path::new(&env) != given)
    {
        return Err(Error::Usage(format!(
            "`-f {}` names a manifest, which `import compose` does not read\n  help: name the Compose file as an argument (`sandbox import compose {0}`) and the manifest to write with `-o`",
            given.display()
        )));
    }
    let file = match args.compose {
        Some(file) => file,
        None => default_compose_file()?,
    };
    let output = args.output.map(|mut target| {
        if target.is_dir() {
            target.push(manifest::DEFAULT_FILE);
        }
        target
    });
    if let Some(target) = &output
        && target.exists()
        && !args.force
    {
        return Err(Error::Usage(format!(
            "{} already exists; pass --force to overwrite it",
            target.display()
        )));
    }
    // The manifest's paths are relative to the folder it is written in:
    // beside the Compose file when it goes to stdout.
    let beside = |path: &Path| -> Result<PathBuf> {
        let absolute = std::path::absolute(path)
            .map_err(|e| Error::io(format!("cannot resolve {}", path.display()), e))?;
        Ok(absolute.parent().map(Path::to_path_buf).unwrap_or_default())
    };
    let out_dir = beside(output.as_deref().unwrap_or(&file))?;
    if !out_dir.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a folder; the manifest cannot be written there",
            out_dir.display()
        )));
    }
    let environment: HashMap<String, String> = std::env::vars().collect();
    let imported = compose::import(&compose::Request {
        file: &file,
        service: args.service.as_deref(),
        out_dir: &out_dir,
        environment: &environment,
    })
    .map_err(usage)?;
    let text = imported.draft.to_string();

    // Checked where it will live, so its paths resolve as they will.
    let mut staged = tempfile::Builder::new()
        .prefix(".sandbox-import-")
        .suffix(".yaml")
        .tempfile_in(&out_dir)
        .map_err(|e| {
            Error::io(
                format!(
                    "cannot check the imported manifest: no file can be written in {}",
                    out_dir.display()
                ),
                e,
            )
        })?;
    // Synced only when it is kept: a crash then leaves the old file or the
    // whole new one, never a torn one.
    staged
        .write_all(text.as_bytes())
        .and_then(|()| match output {
            Some(_) => staged.as_file().sync_all(),
            None => Ok(()),
        })
        .map_err(|e| Error::io(format!("cannot write {}", staged.path().display()), e))?;
    if let Err(error) = manifest::load(staged.path()) {
        return Err(Error::Failed(format!(
            "the manifest imported from {} does not validate, which is a bug in `sandbox import compose`; please report it with the Compose file\n{error}",
            file.display()
        )));
    }

    let shown = file.display().to_string();
    let draft = &imported.draft;
    let dependencies: Vec<&str> = draft.dependencies.iter().map(|d| d.name.as_str()).collect();
    let mut summary = format!(
        "imported {shown}: service `{}`{}",
        draft.service.name,
        if dependencies.is_empty() {
            String::new()
        } else {
            format!(", dependencies: {}", dependencies.join(", "))
        }
    );
    let report = imported.report.render(&shown);
    if !report.is_empty() {
        summary.push('\n');
        summary.push_str(report.trim_end());
    }
    match output {
        Some(target) => {
            set_mode(staged.path());
            let result = if args.force {
                staged.persist(&target).map(drop)
            } else {
                staged.persist_noclobber(&target).map(drop)
            };
            result.map_err(|e| Error::io(format!("cannot write {}", target.display()), e.error))?;
            output::eprintln(&summary);
            output::eprintln(&format!(
                "wrote {}; check it with `sandbox validate -f {0}`, start it with `sandbox up -f {0}`",
                target.display()
            ));
        }
        None => {
            output::print(&text)?;
            output::eprintln(&summary);
        }
    }
    Ok(())
}

/// A manifest is a file others read: 0644, not a temporary file's 0600.
fn set_mode(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
}

/// The Compose file in this folder, by the names Compose looks for.
fn default_compose_file() -> Result<PathBuf> {
    compose::DEFAULT_FILES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::Usage(format!(
                "there is no Compose file in this folder ({})\n  help: name one: `sandbox import compose PATH`",
                compose::DEFAULT_FILES.join(", ")
            ))
        })
}

/// Bad input is bad usage (exit 2).
fn usage(error: ImportError) -> Error {
    Error::Usage(error.to_string())
}
