//! `sandbox convert IN OUT`: a recording (YAML) into a HAR 1.2 file and
//! back (PRODUCT.md 6.5). Each file's format is told by its extension:
//! `.har`, or `.yaml`/`.yml`. Reading a HAR redacts and leaves out what a
//! `replay:` of it would (see [`crate::manifest::har`]); writing is atomic (a
//! temporary file in OUT's folder, renamed over it) and never replaces an
//! existing OUT without `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::manifest::{Problem, Recording, bounds, har, tree, without_position};
use crate::{Error, Result, output};

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The file to read: a recording (`.yaml`, `.yml`) or a HAR file (`.har`).
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// The file to write, in the other format (told by its extension).
    #[arg(value_name = "OUT")]
    pub output: PathBuf,
    /// Replace OUT when it exists.
    #[arg(long)]
    pub force: bool,
}

/// A file format `convert` reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Recording,
    Har,
}

impl Format {
    fn of(path: &Path) -> Result<Format> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("har") => Ok(Format::Har),
            Some("yaml" | "yml") => Ok(Format::Recording),
            _ => Err(Error::Usage(format!(
                "cannot tell the format of {} from its name\n  help: name a HAR file `.har` and a recording `.yaml` or `.yml`",
                path.display()
            ))),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Format::Recording => "a recording",
            Format::Har => "a HAR file",
        }
    }
}

pub fn run(args: ConvertArgs) -> Result<()> {
    let from = Format::of(&args.input)?;
    let to = Format::of(&args.output)?;
    if from == to {
        return Err(Error::Usage(format!(
            "{} and {} are both {}; `convert` turns a recording into a HAR file and back\n  help: name OUT `.{}`",
            args.input.display(),
            args.output.display(),
            match from {
                Format::Recording => "recordings",
                Format::Har => "HAR files",
            },
            match from {
                Format::Recording => "har",
                Format::Har => "yaml",
            }
        )));
    }
    if args.output.exists() && !args.force {
        return Err(exists(&args.output));
    }
    let folder = match args.output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(Error::Usage(format!(
            "cannot write {}: the folder {} does not exist\n  help: create it first: `mkdir -p {}`",
            args.output.display(),
            folder.display(),
            folder.display()
        )));
    }

    let text = read(&args.input, from)?;
    let (recording, notes) = match from {
        Format::Har => {
            let imported = har::read(&text).map_err(|error| {
                invalid(
                    &args.input,
                    error.at,
                    format!("invalid HAR: {}", error.message),
                    har::HAR_HELP,
                )
            })?;
            (imported.recording, imported.notes)
        }
        Format::Recording => (parse_recording(&args.input, &text)?, Vec::new()),
    };
    for note in &notes {
        let warning = Problem {
            file: args.input.clone(),
            at: note.at,
            message: note.message.clone(),
            help: note.help.clone(),
        };
        output::eprintln(&format!("warning: {warning}"));
    }
    let written = match to {
        Format::Har => har::write(&recording)
            .map_err(|message| Error::Failed(format!("cannot write a HAR: {message}")))?,
        Format::Recording => recording.to_yaml(),
    };
    write_atomically(&args.output, &folder, written.as_bytes(), args.force)?;
    let count = recording.interactions.len();
    output::eprintln(&format!(
        "wrote {} ({} interaction{}) from {}",
        args.output.display(),
        count,
        if count == 1 { "" } else { "s" },
        args.input.display()
    ));
    Ok(())
}

fn exists(path: &Path) -> Error {
    Error::Usage(format!(
        "{} already exists; pass --force to replace it",
        path.display()
    ))
}

/// A bad input: `FILE:L:C: message` and its help, exit 2.
fn invalid(file: &Path, at: Option<(usize, usize)>, message: String, help: &str) -> Error {
    Error::Usage(
        Problem {
            file: file.to_path_buf(),
            at,
            message,
            help: Some(help.to_owned()),
        }
        .to_string(),
    )
}

/// The input's text, bounded as files a manifest names are.
fn read(path: &Path, format: Format) -> Result<String> {
    let what = match format {
        Format::Recording => "the recording",
        Format::Har => "the HAR file",
    };
    match bounds::read_named(path, what) {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(refused)) => Err(Error::Usage(
            Problem {
                file: path.to_path_buf(),
                at: Some(refused.at),
                message: refused.message,
                help: refused.help,
            }
            .to_string(),
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(Error::Usage(format!(
            "{} does not exist\n  help: name {} to convert",
            path.display(),
            format.describe()
        ))),
        Err(error) => Err(Error::Usage(format!(
            "cannot read {}: {error}",
            path.display()
        ))),
    }
}

fn parse_recording(path: &Path, text: &str) -> Result<Recording> {
    Recording::parse(text).map_err(|(at, message)| {
        // The version check has no position of its own: find it.
        let at = at.or_else(|| {
            tree::parse(text)
                .ok()
                .flatten()
                .and_then(|root| root.find("version").map(|(_, n)| n.at))
        });
        let help = if message.contains("unknown field `log`") {
            "this looks like a HAR file: name it `.har`"
        } else {
            "a recording is `version: 1` and `interactions: [{request, response}]` (`sandbox schema --recording`)"
        };
        invalid(
            path,
            at,
            format!("invalid recording: {}", without_position(&message)),
            help,
        )
    })
}

/// A temporary file in `folder`, synced, mode 0644, renamed over `path`
/// (or, without `force`, linked there only if nothing is: a file that
/// appeared meanwhile is not replaced).
fn write_atomically(path: &Path, folder: &Path, bytes: &[u8], force: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let failed =
        |error: std::io::Error| Error::io(format!("cannot write {}", path.display()), error);
    let mut file = tempfile::Builder::new()
        .prefix(".sandbox-convert-")
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(failed)?;
    let persisted = if force {
        file.persist(path)
    } else {
        file.persist_noclobber(path)
    };
    match persisted {
        Ok(_) => Ok(()),
        Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => Err(exists(path)),
        Err(error) => Err(failed(error.error)),
    }
}
