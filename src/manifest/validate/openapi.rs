//! OpenAPI documents the manifest names (`api.openapi`, `stub.openapi`):
//! read with every file their `$ref`s name, each checked like any path of
//! the manifest (inside its folder, after resolving links); a problem in a
//! document or a `$ref` names that file and line.

use std::sync::Arc;

use crate::openapi::bundle::{self, Read, Wanted};
use crate::openapi::{Bundle, Spec};

use super::*;

impl Checker {
    /// Reads the document `file` (named at `at` by `path`) and the files it
    /// refers to, once per file however often it is named.
    pub(super) fn openapi_spec(&mut self, at: At, path: &str, file: &str) -> Option<Spec> {
        if let Some(done) = self.specs.get(file) {
            return done.clone();
        }
        let spec = self.read_spec(at, path, file);
        self.specs.insert(file.to_owned(), spec.clone());
        spec
    }

    fn read_spec(&mut self, at: At, path: &str, file: &str) -> Option<Spec> {
        let text = self.read_file(at, path, file, "OpenAPI document")?;
        let base = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        let key = |real: &Path| {
            real.strip_prefix(&base)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_else(|_| real.to_string_lossy().into_owned())
        };
        let real = self.resolved.get(file)?.clone();
        let root = Read {
            key: key(&real),
            shown: self.shown(file),
            text,
        };
        let outer = self.file.clone();
        let result: Result<Bundle, _> = bundle::load(root, &mut |wanted: Wanted<'_>| {
            // A file that cannot be read is reported at the `$ref`.
            self.file = wanted.from.clone();
            let text = self.read_file(wanted.at, "$ref", &wanted.relative, "OpenAPI document")?;
            let real = self.resolved.get(&wanted.relative)?.clone();
            Some(Read {
                key: key(&real),
                shown: self.shown(&wanted.relative),
                text,
            })
        });
        self.file = outer;
        match result {
            Ok(bundle) => Some(Spec {
                file: file.to_owned(),
                bundle: Arc::new(bundle),
            }),
            Err(problems) => {
                for problem in problems {
                    self.problems.push(Problem {
                        file: problem.file,
                        at: problem.at,
                        message: problem.message,
                        help: problem.help,
                    });
                }
                None
            }
        }
    }
}
