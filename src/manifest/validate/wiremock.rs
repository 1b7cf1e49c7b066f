//! `stub.wiremock`: a folder of WireMock mappings, read and turned into
//! stub routes by [`crate::manifest::wiremock`]; problems inside it name
//! their own files.

use super::tree::Node;
use super::*;
use crate::manifest::wiremock;

impl Checker {
    /// The routes of the folder at `path`, or none when it has problems
    /// (reported).
    pub(super) fn wiremock(&mut self, path: &str, node: &Node) -> Vec<Route> {
        let Some(folder) = self.string(path, node) else {
            return Vec::new();
        };
        let Some(resolved) = self.inside(node.at, path, folder) else {
            return Vec::new();
        };
        if !resolved.exists() {
            self.report(
                node.at,
                format!("the WireMock folder `{folder}` does not exist"),
                Some("name a folder of mappings (`*.json`), or one with `mappings/` and `__files/` in it; paths are relative to the manifest's folder".into()),
            );
            return Vec::new();
        }
        if !resolved.is_dir() {
            self.report(
                node.at,
                format!("`{path}` must be a folder; `{folder}` is a file"),
                Some("name the folder that holds the mappings".into()),
            );
            return Vec::new();
        }
        let base = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        let read = wiremock::read(&base, &resolved, &self.shown(folder));
        self.problems.extend(read.problems);
        self.warnings.extend(read.warnings);
        read.routes
    }
}
