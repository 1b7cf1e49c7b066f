//! Validation of a manifest's text into a [`Loaded`] manifest.

use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;

use super::*;

pub(super) fn load_text(shown: &Path, absolute: &Path, text: &str) -> Result<Loaded, ManifestError> {
    let dir = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
    let problem = |at: Option<(usize, usize)>, message: String, help: Option<String>| Problem {
        file: shown.to_path_buf(),
        at,
        message,
        help,
    };
    let manifest: Manifest = serde_yaml::from_str(text).map_err(|error| ManifestError::Invalid {
        problems: vec![problem(
            error.location().map(|l| (l.line(), l.column())),
            error.to_string(),
            None,
        )],
    })?;
    let mut problems = Vec::new();
    if manifest.version != 1 {
        problems.push(problem(None, format!("version {} is not supported", manifest.version), Some("write `version: 1`".into())));
    }
    let name = manifest.name.clone().unwrap_or_else(|| name_from_folder(&dir));
    let mut stub_routes = IndexMap::new();
    let mut recordings = IndexMap::new();
    for (dep_name, dep) in &manifest.dependencies {
        let kinds = dep.kinds();
        if kinds.len() != 1 {
            problems.push(problem(None, format!("dependency `{dep_name}` must have exactly one kind, found {}", kinds.len()), Some("use one of `stub`, `replay`, `record`, `image` or `build`".into())));
        }
        if let Some(stub) = &dep.stub {
            stub_routes.insert(dep_name.clone(), stub.routes.clone());
        }
        if let Some(file) = &dep.replay {
            let path = inside(&dir, file);
            match std::fs::read_to_string(&path) {
                Ok(text) => match Recording::parse(&text) {
                    Ok(recording) => {
                        recordings.insert(dep_name.clone(), recording);
                    }
                    Err((at, message)) => problems.push(Problem { file: path, at, message, help: None }),
                },
                Err(error) => problems.push(problem(None, format!("cannot read recording {file}: {error}"), None)),
            }
        }
    }
    if !problems.is_empty() {
        return Err(ManifestError::Invalid { problems });
    }
    Ok(Loaded {
        file: absolute.to_path_buf(),
        dir,
        manifest,
        name,
        stub_routes,
        recordings,
        openapi: IndexMap::new(),
    })
}

fn inside(dir: &Path, relative: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::ParentDir => {
                path.pop();
            }
            _ => {}
        }
    }
    path
}
