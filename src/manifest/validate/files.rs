//! Paths the manifest names: where they resolve, that they stay inside the
//! manifest's folder, and reading the files.

use std::path::Component;

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

    /// Resolves `relative` inside the manifest's folder, or reports why not.
    /// Existing paths are resolved through symlinks; a path that does not
    /// exist yet is checked through its nearest existing ancestor.
    pub(super) fn inside(&mut self, at: At, path: &str, relative: &str) -> Option<PathBuf> {
        if relative.trim().is_empty() {
            self.report(at, format!("`{path}` is an empty path"), None);
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
        let mut resolved = PathBuf::new();
        for component in given.components() {
            match component {
                Component::Normal(part) => resolved.push(part),
                Component::CurDir => {}
                Component::ParentDir => {
                    if !resolved.pop() {
                        self.report(
                            at,
                            format!("`{relative}` leaves the manifest's folder"),
                            Some("files must stay inside the manifest's folder; move the file or the manifest".into()),
                        );
                        return None;
                    }
                }
                Component::RootDir | Component::Prefix(_) => {}
            }
        }
        let full = self.dir.join(&resolved);
        let base = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        let mut existing = full.as_path();
        while !existing.exists() {
            match existing.parent() {
                Some(parent) => existing = parent,
                None => return Some(full),
            }
        }
        if let Ok(real) = existing.canonicalize()
            && !real.starts_with(&base)
        {
            self.report(
                at,
                format!("`{relative}` leaves the manifest's folder through a symbolic link"),
                Some(format!("it resolves to {}", real.display())),
            );
            return None;
        }
        Some(full)
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
        match std::fs::read(&full) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => {
                    self.report(at, format!("{what} `{file}` is not UTF-8 text"), None);
                    None
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                self.report(
                    at,
                    format!("{what} `{file}` does not exist"),
                    Some("paths are relative to the manifest's folder".into()),
                );
                None
            }
            Err(error) => {
                self.report(at, format!("cannot read {what} `{file}`: {error}"), None);
                None
            }
        }
    }
}
