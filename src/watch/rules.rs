//! Which files `sandbox up --watch` watches for each entry, and what a
//! change to one of them means (PRODUCT.md 6.2): the manifest's `watch:`
//! rules, or the defaults (a `build:` entry's context, honouring
//! `.dockerignore`; a host entry's `host.dir`, honouring `.gitignore`).
//! Editor temporary files and `.git/` never count. Pure: it reads ignore
//! files, never the engine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::engine::image::ContextFilter;
use crate::manifest::{ContainerSource, ImageRef, Loaded, Source, WatchAction};

/// What a change under one path means for one entry.
#[derive(Debug)]
pub struct Rule {
    pub entry: String,
    /// What is done; every rule of an entry run on the host means restart.
    pub action: WatchAction,
    /// The entry runs on the host (`up --host`).
    pub on_host: bool,
    /// The watched file or folder, absolute with symbolic links resolved.
    pub root: PathBuf,
    /// `root` is a file (a rule may name one).
    pub file: bool,
    /// `root` as the change line names it: relative to the manifest's folder.
    pub shown: String,
    /// `sync`: where `root`'s files go in the container.
    pub target: Option<String>,
    /// Made from no rule: the defaults.
    pub default: bool,
    /// The rule's own `ignore:` patterns, rooted at its folder.
    ignore: Option<Gitignore>,
    /// `rebuild`: the build context and what of it the engine is sent; a
    /// file the build never sees changes nothing.
    context: Option<(PathBuf, ContextFilter)>,
    /// A host entry: the `.gitignore` files that apply.
    git: Option<GitIgnores>,
}

/// Everything `up --watch` watches for a manifest.
#[derive(Debug)]
pub struct WatchSet {
    /// The manifest file: a change re-applies it.
    pub manifest: PathBuf,
    /// Files read with the manifest (stub files, recordings replayed,
    /// OpenAPI documents): a change re-applies it too.
    pub inputs: Vec<PathBuf>,
    pub rules: Vec<Rule>,
}

/// Why a watch set cannot be made.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RulesError(pub String);

/// Where to look for changes: a folder and its subfolders (those some rule
/// wants), or one folder alone (for a file rule or the manifest).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watch {
    Tree(PathBuf),
    Folder(PathBuf),
}

/// Resolves symbolic links where the path exists, so that paths compare
/// with what the watcher reports.
pub fn real(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

impl WatchSet {
    /// The watch set of `loaded`; `host` names the entries run on the host,
    /// `recording` the dependencies being recorded into their files (whose
    /// writes must not re-apply the manifest).
    pub fn new(
        loaded: &Loaded,
        host: &[String],
        recording: &[String],
    ) -> Result<WatchSet, RulesError> {
        let dir = real(&loaded.dir);
        let mut rules = Vec::new();
        let mut entries: Vec<(&str, &ContainerSource)> = vec![(
            &loaded.entries.service.name,
            &loaded.entries.service.container,
        )];
        for (name, dependency) in &loaded.entries.dependencies {
            if let Source::Container(container) = &dependency.source {
                entries.push((name, container));
            }
        }
        for (entry, container) in entries {
            let on_host = host.iter().any(|h| h == entry);
            rules.extend(entry_rules(loaded, &dir, entry, container, on_host)?);
        }
        let mut inputs = Vec::new();
        let mut api = vec![loaded.entries.service.api.as_ref()];
        for (name, dependency) in &loaded.entries.dependencies {
            api.push(dependency.api.as_ref());
            match &dependency.source {
                Source::Stub(stub) => {
                    inputs.extend(stub.files.iter().map(|f| real(&loaded.path(f))));
                }
                Source::Replay(replay) if !recording.contains(name) => {
                    inputs.push(real(&loaded.path(&replay.file)));
                }
                _ => {}
            }
        }
        for openapi in api.into_iter().flatten().filter_map(|a| a.openapi.as_ref()) {
            inputs.push(real(&loaded.path(openapi)));
        }
        Ok(WatchSet {
            manifest: real(&loaded.file),
            inputs,
            rules,
        })
    }

    /// The rules a change at `path` triggers: for each entry, the most
    /// specific rule whose path holds it (none when that rule ignores it).
    pub fn changes(&self, path: &Path, is_dir: bool) -> Vec<usize> {
        let mut best: HashMap<&str, usize> = HashMap::new();
        for (index, rule) in self.rules.iter().enumerate() {
            if !rule.covers(path) {
                continue;
            }
            match best.get(rule.entry.as_str()) {
                Some(&other)
                    if self.rules[other].root.as_os_str().len() >= rule.root.as_os_str().len() => {}
                _ => {
                    best.insert(&rule.entry, index);
                }
            }
        }
        let mut chosen: Vec<usize> = best
            .into_values()
            .filter(|&i| !self.rules[i].ignores(path, is_dir))
            .collect();
        chosen.sort_unstable();
        chosen
    }

    /// Whether a change at `path` re-applies the manifest.
    pub fn reapplies(&self, path: &Path) -> bool {
        path == self.manifest || self.inputs.iter().any(|i| i == path)
    }

    /// Whether a change at `path` matters at all.
    pub fn matters(&self, path: &Path, is_dir: bool) -> bool {
        self.reapplies(path) || !self.changes(path, is_dir).is_empty()
    }

    /// Whether the folder `dir` is watched: some rule's folder holds it
    /// and that rule does not ignore it.
    pub fn wants_dir(&self, dir: &Path) -> bool {
        self.rules
            .iter()
            .any(|r| !r.file && r.covers(dir) && !r.ignores(dir, true))
    }

    /// Where to look for changes.
    pub fn watches(&self) -> Vec<Watch> {
        let mut watches = Vec::new();
        let parent = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
        watches.push(Watch::Folder(parent(&self.manifest)));
        for input in &self.inputs {
            watches.push(Watch::Folder(parent(input)));
        }
        for rule in &self.rules {
            watches.push(if rule.file {
                Watch::Folder(parent(&rule.root))
            } else {
                Watch::Tree(rule.root.clone())
            });
        }
        watches.sort();
        watches.dedup();
        watches
    }

    /// The entries watched, with what a change does, for the first line.
    pub fn summary(&self) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for rule in &self.rules {
            let text = format!(
                "{} ({} on {})",
                rule.entry,
                rule.action.as_str(),
                rule.shown
            );
            if !lines.contains(&text) {
                lines.push(text);
            }
        }
        lines
    }
}

impl Rule {
    /// Whether `path` is the rule's file or inside its folder.
    pub fn covers(&self, path: &Path) -> bool {
        if self.file {
            path == self.root
        } else {
            path.starts_with(&self.root)
        }
    }

    /// Whether a change at `path` (which [`Rule::covers`]) is left alone.
    pub fn ignores(&self, path: &Path, is_dir: bool) -> bool {
        let base = if self.file {
            self.root.parent().unwrap_or(&self.root)
        } else {
            &self.root
        };
        let relative = path.strip_prefix(base).unwrap_or(path);
        if is_noise(relative) {
            return true;
        }
        if relative.as_os_str().is_empty() {
            return false;
        }
        if let Some(ignore) = &self.ignore
            && ignore
                .matched_path_or_any_parents(relative, is_dir)
                .is_ignore()
        {
            return true;
        }
        if let Some((context, filter)) = &self.context
            && let Ok(inside) = path.strip_prefix(context)
            && !inside.as_os_str().is_empty()
            && !filter.sends(inside, is_dir)
        {
            return true;
        }
        if let Some(git) = &self.git
            && git.ignores(path, is_dir)
        {
            return true;
        }
        false
    }

    /// Where a changed file goes in the container (`sync`).
    pub fn target_of(&self, path: &Path) -> Option<String> {
        let target = self.target.as_deref()?;
        if self.file {
            return Some(target.to_owned());
        }
        let relative = path.strip_prefix(&self.root).ok()?;
        let mut out = target.trim_end_matches('/').to_owned();
        for part in relative.components() {
            out.push('/');
            out.push_str(&part.as_os_str().to_string_lossy());
        }
        Some(out)
    }
}

/// The rules of one entry: its own, or the defaults.
fn entry_rules(
    loaded: &Loaded,
    dir: &Path,
    entry: &str,
    container: &ContainerSource,
    on_host: bool,
) -> Result<Vec<Rule>, RulesError> {
    let build = match &container.image {
        ImageRef::Build(build) => Some((
            real(&loaded.path(&build.context)),
            build
                .dockerfile
                .clone()
                .unwrap_or_else(|| "Dockerfile".into()),
        )),
        ImageRef::Image(_) => None,
    };
    let context_filter = |root: &Path| -> Result<Option<(PathBuf, ContextFilter)>, RulesError> {
        let Some((context, dockerfile)) = &build else {
            return Ok(None);
        };
        if !root.starts_with(context) && !context.starts_with(root) {
            return Ok(None);
        }
        let filter = ContextFilter::new(context, dockerfile).map_err(|e| {
            RulesError(format!(
                "cannot read the .dockerignore of `{entry}`'s build context: {e}"
            ))
        })?;
        Ok(Some((context.clone(), filter)))
    };
    let git = |root: &Path| on_host.then(|| GitIgnores::new(root, dir));
    let shown = |path: &Path| match path.strip_prefix(dir) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_owned(),
        Ok(relative) => relative.display().to_string(),
        Err(_) => path.display().to_string(),
    };
    if container.watch.is_empty() {
        if on_host {
            let root = real(
                &container
                    .host
                    .as_ref()
                    .and_then(|h| h.dir.as_ref())
                    .map(|d| loaded.path(d))
                    .unwrap_or_else(|| dir.to_path_buf()),
            );
            return Ok(vec![Rule {
                entry: entry.to_owned(),
                action: WatchAction::Restart,
                on_host,
                shown: shown(&root),
                file: false,
                target: None,
                default: true,
                ignore: None,
                context: None,
                git: git(&root),
                root,
            }]);
        }
        let Some((context, _)) = &build else {
            return Ok(Vec::new());
        };
        return Ok(vec![Rule {
            entry: entry.to_owned(),
            action: WatchAction::Rebuild,
            on_host,
            shown: shown(context),
            file: false,
            target: None,
            default: true,
            ignore: None,
            context: context_filter(context)?,
            git: None,
            root: context.clone(),
        }]);
    }
    let mut rules = Vec::new();
    for rule in &container.watch {
        let root = real(&loaded.path(&rule.path));
        let file = root.is_file();
        let action = if on_host {
            WatchAction::Restart
        } else {
            rule.action.unwrap_or(if build.is_some() {
                WatchAction::Rebuild
            } else {
                WatchAction::Restart
            })
        };
        let base = if file {
            root.parent().unwrap_or(&root).to_path_buf()
        } else {
            root.clone()
        };
        let ignore =
            if rule.ignore.is_empty() {
                None
            } else {
                let mut builder = GitignoreBuilder::new(&base);
                for pattern in &rule.ignore {
                    builder.add_line(None, pattern).map_err(|e| {
                        RulesError(format!(
                            "`{entry}`: watch pattern `{pattern}` is not valid: {e}"
                        ))
                    })?;
                }
                Some(builder.build().map_err(|e| {
                    RulesError(format!("`{entry}`: watch patterns are not valid: {e}"))
                })?)
            };
        rules.push(Rule {
            entry: entry.to_owned(),
            action,
            on_host,
            shown: shown(&root),
            file,
            target: (action == WatchAction::Sync)
                .then(|| rule.target.clone())
                .flatten(),
            default: false,
            ignore,
            context: if action == WatchAction::Rebuild {
                context_filter(&root)?
            } else {
                None
            },
            git: git(&base),
            root,
        });
    }
    Ok(rules)
}

/// Files no change of which counts, wherever they are: editors' swap,
/// backup, lock and atomic-save files, and a repository's `.git/`.
pub fn is_noise(relative: &Path) -> bool {
    if relative.components().any(|c| c.as_os_str() == ".git") {
        return true;
    }
    let Some(name) = relative.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.ends_with('~')
        || (name.starts_with('.')
            && [".swp", ".swx", ".swo", ".swn"]
                .iter()
                .any(|s| name.ends_with(s)))
        || name == "4913"
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || name.ends_with(".tmp")
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
}

/// The `.gitignore` files that apply under a folder: its own and its
/// subfolders', read when first needed, and those of the folders above it
/// up to the repository's top (or the manifest's folder outside a
/// repository), with `.git/info/exclude`.
#[derive(Debug)]
struct GitIgnores {
    /// The highest folder whose `.gitignore` counts.
    top: PathBuf,
    cache: Mutex<HashMap<PathBuf, Option<Arc<Gitignore>>>>,
}

impl GitIgnores {
    fn new(root: &Path, manifest_dir: &Path) -> GitIgnores {
        let top = root
            .ancestors()
            .find(|d| d.join(".git").exists())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| {
                if root.starts_with(manifest_dir) {
                    manifest_dir.to_path_buf()
                } else {
                    root.to_path_buf()
                }
            });
        GitIgnores {
            top,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The matcher of one folder's ignore files, if it has any.
    fn at(&self, dir: &Path) -> Option<Arc<Gitignore>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                let mut builder = GitignoreBuilder::new(dir);
                let mut any = false;
                for file in [dir.join(".gitignore"), dir.join(".git/info/exclude")] {
                    if file.is_file() {
                        // A line that is not a valid pattern is skipped, as
                        // git does.
                        let _ = builder.add(&file);
                        any = true;
                    }
                }
                any.then(|| builder.build().ok().map(Arc::new)).flatten()
            })
            .clone()
    }

    /// Whether git ignores `path`: the deepest `.gitignore` that says
    /// anything about it decides.
    fn ignores(&self, path: &Path, is_dir: bool) -> bool {
        for dir in path.ancestors().skip(1) {
            if !dir.starts_with(&self.top) {
                break;
            }
            if let Some(matcher) = self.at(dir) {
                let matched = matcher.matched_path_or_any_parents(path, is_dir);
                if matched.is_ignore() {
                    return true;
                }
                if matched.is_whitelist() {
                    return false;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(dir: &Path, yaml: &str) -> Loaded {
        std::fs::write(dir.join("sandbox.yaml"), yaml).unwrap();
        crate::manifest::load(&dir.join("sandbox.yaml")).unwrap()
    }

    fn files(dir: &Path, list: &[&str]) {
        for file in list {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
    }

    /// The entry and action a change at `relative` triggers.
    fn what(set: &WatchSet, dir: &Path, relative: &str) -> Vec<(String, &'static str)> {
        let path = real(dir).join(relative);
        let is_dir = path.is_dir();
        set.changes(&path, is_dir)
            .into_iter()
            .map(|i| (set.rules[i].entry.clone(), set.rules[i].action.as_str()))
            .collect()
    }

    #[test]
    fn editor_files_and_git_are_noise() {
        for noise in [
            "a.rs~",
            ".main.rs.swp",
            ".main.rs.swx",
            "4913",
            ".#main.rs",
            "#main.rs#",
            "main.rs.tmp",
            ".git/index",
            "sub/.git/HEAD",
            "x.rs___jb_tmp___",
        ] {
            assert!(is_noise(Path::new(noise)), "{noise}");
        }
        for real in [
            "main.rs",
            "swp",
            "a.swp",
            "#",
            "tmp/x.rs",
            ".gitignore",
            "4913.rs",
        ] {
            assert!(!is_noise(Path::new(real)), "{real}");
        }
    }

    #[test]
    fn a_build_entry_rebuilds_on_its_context_honouring_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        files(
            root,
            &[
                "app/Dockerfile",
                "app/src/main.rs",
                "app/notes.md",
                "app/target/x",
                "other/y",
            ],
        );
        std::fs::write(root.join("app/.dockerignore"), "*.md\ntarget\nDockerfile\n").unwrap();
        let loaded = load(root, "version: 1\nservice:\n  name: web\n  build: ./app\n");
        let set = WatchSet::new(&loaded, &[], &[]).unwrap();
        assert_eq!(set.rules.len(), 1);
        assert!(set.rules[0].default);
        let rebuild = vec![("web".to_owned(), "rebuild")];
        assert_eq!(what(&set, root, "app/src/main.rs"), rebuild);
        // The Dockerfile and .dockerignore are always sent, whatever they say.
        assert_eq!(what(&set, root, "app/Dockerfile"), rebuild);
        assert_eq!(what(&set, root, "app/.dockerignore"), rebuild);
        assert_eq!(what(&set, root, "app/src/new.rs"), rebuild);
        assert!(what(&set, root, "app/notes.md").is_empty());
        assert!(what(&set, root, "app/target/x").is_empty());
        assert!(what(&set, root, "app/src/.main.rs.swp").is_empty());
        assert!(what(&set, root, "other/y").is_empty());
        assert!(!set.wants_dir(&real(root).join("app/target")));
        assert!(set.wants_dir(&real(root).join("app/src")));
        // The manifest re-applies; it is watched in its folder.
        assert!(set.reapplies(&real(root).join("sandbox.yaml")));
        assert!(set.watches().contains(&Watch::Folder(real(root))));
        assert!(set.watches().contains(&Watch::Tree(real(root).join("app"))));
    }

    #[test]
    fn rules_pick_the_most_specific_path_and_their_own_ignores() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        files(
            root,
            &[
                "app/Dockerfile",
                "app/src/a.rs",
                "app/static/site.css",
                "app/config.toml",
            ],
        );
        let loaded = load(
            root,
            r#"version: 1
service:
  name: web
  build: ./app
  watch:
    - path: ./app
    - path: ./app/static
      action: sync
      target: /www/
      ignore: ["*.map"]
    - path: ./app/config.toml
      action: restart
"#,
        );
        let set = WatchSet::new(&loaded, &[], &[]).unwrap();
        assert_eq!(
            what(&set, root, "app/src/a.rs"),
            [("web".into(), "rebuild")]
        );
        assert_eq!(
            what(&set, root, "app/static/site.css"),
            [("web".into(), "sync")]
        );
        // The sync rule ignores it, and it is the rule that decides.
        assert!(what(&set, root, "app/static/site.css.map").is_empty());
        assert_eq!(
            what(&set, root, "app/config.toml"),
            [("web".into(), "restart")]
        );
        let sync = set
            .rules
            .iter()
            .find(|r| r.action == WatchAction::Sync)
            .unwrap();
        assert_eq!(
            sync.target_of(&real(root).join("app/static/css/a.css"))
                .as_deref(),
            Some("/www/css/a.css")
        );
        assert_eq!(sync.shown, "app/static");
        let restart = set.rules.iter().find(|r| r.file).unwrap();
        assert!(
            set.watches()
                .contains(&Watch::Folder(restart.root.parent().unwrap().into()))
        );
    }

    #[test]
    fn a_host_entry_restarts_on_its_dir_honouring_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".gitignore"), "target/\n*.log\n").unwrap();
        files(
            root,
            &[
                "orders/src/main.rs",
                "orders/target/debug/orders",
                "orders/run.log",
                "orders/gen/keep.log",
                "orders/gen/x",
            ],
        );
        // A deeper .gitignore overrides a shallower one.
        std::fs::write(root.join("orders/gen/.gitignore"), "!keep.log\nx\n").unwrap();
        files(root, &["app/Dockerfile"]);
        let loaded = load(
            root,
            "version: 1\nservice:\n  name: orders\n  build: ./app\n  host: { dir: ./orders }\n",
        );
        let set = WatchSet::new(&loaded, &["orders".into()], &[]).unwrap();
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.rules[0].shown, "orders");
        let restart = vec![("orders".to_owned(), "restart")];
        assert_eq!(what(&set, root, "orders/src/main.rs"), restart);
        assert!(what(&set, root, "orders/target/debug/orders").is_empty());
        assert!(what(&set, root, "orders/run.log").is_empty());
        assert_eq!(what(&set, root, "orders/gen/keep.log"), restart);
        assert!(what(&set, root, "orders/gen/x").is_empty());
        assert!(!set.wants_dir(&real(root).join("orders/target")));
        // The build context is not watched for an entry run on the host.
        assert!(what(&set, root, "app/Dockerfile").is_empty());
        // Its rules all mean restart.
        let loaded = load(
            root,
            "version: 1\nservice:\n  name: orders\n  build: ./app\n  host: { dir: ./orders }\n  watch: [{ path: ./orders/src, action: rebuild }]\n",
        );
        let set = WatchSet::new(&loaded, &["orders".into()], &[]).unwrap();
        assert_eq!(what(&set, root, "orders/src/main.rs"), restart);
    }

    #[test]
    fn stub_files_re_apply_the_manifest_and_two_entries_may_share_a_context() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        files(root, &["app/Dockerfile", "stubs/pay.yaml"]);
        std::fs::write(root.join("stubs/pay.yaml"), "[]\n").unwrap();
        let loaded = load(
            root,
            r#"version: 1
service:
  name: web
  build: ./app
dependencies:
  pay:
    stub: { files: [stubs/pay.yaml] }
  twin:
    build: ./app
"#,
        );
        let set = WatchSet::new(&loaded, &[], &[]).unwrap();
        assert!(set.reapplies(&real(root).join("stubs/pay.yaml")));
        assert_eq!(
            what(&set, root, "app/Dockerfile"),
            [("web".into(), "rebuild"), ("twin".into(), "rebuild")]
        );
    }
}
