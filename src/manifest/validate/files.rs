//! Paths the manifest names: where they resolve, that they stay inside the
//! manifest's folder, and reading the files.

use std::path::Component;

use super::super::bounds;

/// The longest file name (one path component) Linux and macOS file systems
/// take, in bytes.
const MAX_NAME_BYTES: usize = 255;
/// Linux's `PATH_MAX`, with its terminating NUL.
const MAX_PATH_BYTES: usize = 4096;

use super::*;

impl Checker {
    /// The path of `file` as shown to the user, beside the manifest.
    pub(super) fn shown(&self, file: &str) -> PathBuf {
        let mut shown = self.shown_dir.clone();
        for component in Path::new(file).components() {
            match component {
                Component::CurDir => {}
                other => shown.push(other),
            }
        }
        shown
    }

    /// Resolves `relative` inside the manifest's folder as the system will
    /// (through every symbolic link, `..` taken after the link it follows),
    /// or reports why it cannot. The part of a path that does not exist yet
    /// is taken as written. The resolved path is remembered for
    /// [`Loaded::path`].
    pub(super) fn inside(&mut self, at: At, path: &str, relative: &str) -> Option<PathBuf> {
        if relative.trim().is_empty() {
            self.report(at, format!("`{path}` is an empty path"), None);
            return None;
        }
        if relative.contains('\0') {
            self.report(
                at,
                format!("`{path}` contains a NUL character, which no file name can"),
                Some("remove it from the path".into()),
            );
            return None;
        }
        let given = Path::new(relative);
        if given.is_absolute() || given.has_root() {
            self.report(
                at,
                format!("`{relative}` is an absolute path"),
                Some(
                    "write a path relative to the manifest's folder; files must stay inside it"
                        .into(),
                ),
            );
            return None;
        }
        // As written: no more `..` than folders before them.
        let mut depth = 0usize;
        for component in given.components() {
            match component {
                Component::Normal(part) => {
                    if part.len() > MAX_NAME_BYTES {
                        let shown: String = part.to_string_lossy().chars().take(20).collect();
                        self.report(
                            at,
                            format!(
                                "`{path}` has a name of {} bytes (`{shown}...`); a file name may be at most {MAX_NAME_BYTES}",
                                part.len()
                            ),
                            Some("choose a shorter name".into()),
                        );
                        return None;
                    }
                    depth += 1;
                }
                Component::ParentDir => {
                    if depth == 0 {
                        self.report(
                            at,
                            format!("`{relative}` leaves the manifest's folder"),
                            Some("files must stay inside the manifest's folder; move the file or the manifest".into()),
                        );
                        return None;
                    }
                    depth -= 1;
                }
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        // As the system resolves it.
        let base = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        let mut real = base.clone();
        let mut exists = true;
        for component in given.components() {
            match component {
                Component::Normal(part) => {
                    real.push(part);
                    if exists && real.symlink_metadata().is_ok() {
                        match real.canonicalize() {
                            Ok(resolved) => real = resolved,
                            Err(error) => {
                                self.report(
                                    at,
                                    format!("`{relative}` cannot be resolved: {error}"),
                                    Some("a symbolic link on the way is broken or loops".into()),
                                );
                                return None;
                            }
                        }
                    } else {
                        exists = false;
                    }
                }
                Component::ParentDir => {
                    real.pop();
                }
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        if !real.starts_with(&base) {
            self.report(
                at,
                format!("`{relative}` leaves the manifest's folder through a symbolic link"),
                Some(format!("it resolves to {}", real.display())),
            );
            return None;
        }
        if real.as_os_str().len() >= MAX_PATH_BYTES {
            self.report(
                at,
                format!(
                    "`{path}` resolves to a path of {} bytes; a path may be at most {}",
                    real.as_os_str().len(),
                    MAX_PATH_BYTES - 1
                ),
                Some("choose shorter names, or move the manifest's folder".into()),
            );
            return None;
        }
        self.resolved.insert(relative.to_owned(), real.clone());
        Some(real)
    }

    /// Reads a file the manifest names, or reports why it cannot.
    pub(super) fn read_file(
        &mut self,
        at: At,
        path: &str,
        file: &str,
        what: &str,
    ) -> Option<String> {
        let full = self.inside(at, path, file)?;
        if full.is_dir() {
            self.report(
                at,
                format!("{what} `{file}` is a folder; expected a file"),
                None,
            );
            return None;
        }
        // A pipe or a device would be read forever.
        if let Ok(meta) = std::fs::metadata(&full)
            && !meta.is_file()
        {
            self.report(
                at,
                format!("{what} `{file}` is not a regular file"),
                Some("name a file (a pipe or a device cannot be read as one)".into()),
            );
            return None;
        }
        match bounds::read_named(&full, &format!("the {what}")) {
            Ok(read) => match read {
                Ok(text) => Some(text),
                Err(refused) => {
                    self.problems.push(Problem {
                        file: self.shown(file),
                        at: Some(refused.at),
                        message: refused.message,
                        help: refused.help,
                    });
                    None
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let help = match close_file(&full, file) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "paths are relative to the manifest's folder".into(),
                };
                self.report(at, format!("{what} `{file}` does not exist"), Some(help));
                None
            }
            Err(error) => {
                self.report(at, format!("cannot read {what} `{file}`: {error}"), None);
                None
            }
        }
    }
}

/// A file beside the missing `full` whose name is close to its name, as
/// `written` would name it: `recordings/inventory.yaml` for
/// `recordings/inventroy.yaml`.
fn close_file(full: &Path, written: &str) -> Option<String> {
    let name = full.file_name()?.to_str()?;
    let names: Vec<String> = std::fs::read_dir(full.parent()?)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    // Tighter than key suggestions: file names share much (`.yaml`).
    let limit = if name.len() >= 8 { 2 } else { 1 };
    let close = names
        .iter()
        .map(|n| (strsim::damerau_levenshtein(name, n), n))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, n)| n)?;
    let folder = written.rsplit_once('/').map(|(folder, _)| folder);
    Some(match folder {
        Some(folder) => format!("{folder}/{close}"),
        None => close.to_owned(),
    })
}
