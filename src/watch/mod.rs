//! `sandbox up --watch` (PRODUCT.md 6.2): after `up`, stays in the
//! foreground, streams every entry's logs, and applies the manifest's
//! `watch` rules when files change: `rebuild` re-plans and brings the
//! sandbox to the manifest's state again (images are content-addressed, so
//! only the changed entry is replaced, and a failed build replaces
//! nothing), `sync` copies the changed files into the running container,
//! `restart` restarts it (or, for an entry run on the host, its process).
//! A change to the manifest re-applies it. One line per change.

pub mod logs;
pub mod report;
pub mod rules;
pub mod watcher;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use tokio::sync::watch;

use crate::engine::Engine;
use crate::error::exit;
use crate::manifest::{self, Loaded, WatchAction};
use crate::output;
use crate::plan::{self, PlanOptions};
use crate::runner::{self, Event, Reporter, UpError, UpOptions};
use crate::{Error, Result};

use report::{Changed, Done};
use rules::{Rule, WatchSet, real};

/// How long a restarted container's process is given to stop.
const RESTART_GRACE: Duration = Duration::from_secs(5);

/// Restarts the processes of entries run on the host (`up --host`); the
/// host supervisor implements it.
pub trait HostControl: Send + Sync {
    /// The entries whose processes it runs.
    fn entries(&self) -> Vec<String>;
    /// Stops an entry's process and starts it again; the error says why it
    /// could not (e.g. the process was started by hand, from an IDE).
    fn restart<'a>(
        &'a self,
        entry: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send + 'a>>;
}

/// What the watch loop works on.
pub struct WatchContext<'a> {
    pub engine: &'a Engine,
    /// The manifest as the command was given it (`-f`), reloaded on change.
    pub manifest_file: PathBuf,
    /// The manifest as `up` loaded it; its `name` (after `--name`) is kept
    /// across reloads.
    pub loaded: Loaded,
    /// The options `up` planned with, used again for every re-plan.
    pub options: PlanOptions,
    pub up: UpOptions,
    /// The host processes, when entries run on the host; without it such
    /// entries are not watched.
    pub host: Option<Arc<dyn HostControl>>,
    /// Turns true on Ctrl-C or SIGTERM.
    pub cancel: watch::Receiver<bool>,
}

/// Watches until Ctrl-C, which returns `Error::Status(130)`; the sandbox
/// stays up. Only a watcher that cannot start is an error: a failed change
/// is printed and watching goes on.
pub async fn run(ctx: WatchContext<'_>) -> Result<()> {
    let mut session = Session::new(ctx)?;
    // Where each entry is now, to say when a change moves one.
    let found = runner::status::Found::load(session.engine, &session.loaded.name).await?;
    session.urls = found
        .entries(&HashMap::new())
        .into_iter()
        .map(|e| (e.name, e.host_url))
        .collect();
    let mut watcher = watcher::Watcher::new().map_err(Error::Failed)?;
    for problem in watcher.follow(&session.set) {
        output::eprintln(&format!("warning: {problem}"));
    }
    let follower = logs::Follower::start(
        session.engine.clone(),
        session.loaded.name.clone(),
        session.probes.clone(),
    );
    session.announce(watcher.folders());
    let mut cancel = session.cancel.clone();
    loop {
        let batch = tokio::select! {
            batch = watcher.next(&session.set) => batch,
            _ = cancel.wait_for(|stop| *stop) => return Err(session.stopped()),
        };
        let batch = batch.map_err(Error::Failed)?;
        if batch.paths.is_empty() {
            continue;
        }
        let outcome = session.apply(batch.paths).await;
        if session.set_changed {
            session.set_changed = false;
            for problem in watcher.follow(&session.set) {
                output::eprintln(&format!("warning: {problem}"));
            }
        }
        follower.refresh();
        if outcome.is_err() {
            return Err(session.stopped());
        }
    }
}

/// The state of one watch: the manifest in force and what it watches.
struct Session<'a> {
    engine: &'a Engine,
    manifest_file: PathBuf,
    loaded: Loaded,
    /// The manifest's folder, symbolic links resolved: paths are shown
    /// relative to it.
    dir: PathBuf,
    options: PlanOptions,
    up: UpOptions,
    host: Option<Arc<dyn HostControl>>,
    cancel: watch::Receiver<bool>,
    set: WatchSet,
    /// The set was remade (the manifest or an ignore file changed).
    set_changed: bool,
    /// Each entry's host URL as last seen, to say when one moves.
    urls: HashMap<String, Option<String>>,
    /// Each entry's HTTP health check path, for the log follower.
    probes: logs::Probes,
}

/// Ctrl-C came while a change was applied.
struct Interrupted;

impl<'a> Session<'a> {
    fn new(ctx: WatchContext<'a>) -> Result<Session<'a>> {
        let dir = real(&ctx.loaded.dir);
        let set = watch_set(&ctx.loaded, &ctx.options, ctx.host.as_deref())
            .map_err(|e| Error::Failed(e.0))?;
        let probes = Arc::new(Mutex::new(probe_paths(&ctx.loaded)));
        Ok(Session {
            engine: ctx.engine,
            manifest_file: ctx.manifest_file,
            loaded: ctx.loaded,
            dir,
            options: ctx.options,
            up: ctx.up,
            host: ctx.host,
            cancel: ctx.cancel,
            set,
            set_changed: false,
            urls: HashMap::new(),
            probes,
        })
    }

    /// The first line: what is watched, and how to stop.
    fn announce(&self, folders: usize) {
        let summary = self.set.summary();
        let watched = if summary.is_empty() {
            "only the manifest (no entry has `build:` or `watch:` rules)".to_owned()
        } else {
            summary.join(", ")
        };
        output::eprintln(&format!(
            "watching {watched} in {folders} folder{}; Ctrl-C stops watching, the sandbox stays up",
            if folders == 1 { "" } else { "s" }
        ));
        let unwatched: Vec<&String> = self
            .options
            .host
            .iter()
            .filter(|e| !self.host.as_ref().is_some_and(|h| h.entries().contains(e)))
            .collect();
        if !unwatched.is_empty() {
            output::eprintln(&format!(
                "note: not watching {} (run on the host without a supervisor to restart it)",
                unwatched
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }

    /// The error `run` returns on Ctrl-C, after saying what stays.
    fn stopped(&self) -> Error {
        output::eprintln(&format!(
            "stopped watching; sandbox `{0}` stays up (`sandbox down --name {0}` removes it)",
            self.loaded.name
        ));
        Error::Status(exit::INTERRUPTED)
    }

    /// A change to the manifest (or a file it reads), for its line.
    fn manifest_change(&self, files: &[String]) -> Changed {
        Changed {
            entry: None,
            rule: self.shown(&self.set.manifest),
            files: files.to_vec(),
        }
    }

    fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.dir)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string())
    }

    /// Applies one change: prints a line per entry touched.
    async fn apply(&mut self, paths: Vec<PathBuf>) -> std::result::Result<(), Interrupted> {
        let mut manifest_files = Vec::new();
        // Entry -> rule -> files.
        let mut touched: IndexMap<String, IndexMap<usize, Vec<PathBuf>>> = IndexMap::new();
        let mut ignore_files = false;
        for path in &paths {
            if self.set.reapplies(path) {
                manifest_files.push(self.shown(path));
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            ignore_files |= name == ".dockerignore" || name == ".gitignore";
            for rule in self.set.changes(path, false) {
                touched
                    .entry(self.set.rules[rule].entry.clone())
                    .or_default()
                    .entry(rule)
                    .or_default()
                    .push(path.clone());
            }
        }
        // What each entry gets: a rebuild covers all its changes; else its
        // syncs, then a restart.
        let mut rebuilds: Vec<(String, Changed)> = Vec::new();
        let mut syncs: Vec<(String, usize, Vec<PathBuf>)> = Vec::new();
        let mut restarts: Vec<(String, Changed, bool)> = Vec::new();
        for (entry, by_rule) in &touched {
            let all: Vec<PathBuf> = by_rule.values().flatten().cloned().collect();
            let action_of = |i: &usize| self.set.rules[*i].action;
            if let Some(rule) = by_rule
                .keys()
                .find(|i| action_of(i) == WatchAction::Rebuild)
            {
                rebuilds.push((entry.clone(), self.changed(entry, *rule, &all)));
                continue;
            }
            for (rule, files) in by_rule {
                if action_of(rule) == WatchAction::Sync {
                    syncs.push((entry.clone(), *rule, files.clone()));
                }
            }
            if let Some(rule) = by_rule
                .keys()
                .find(|i| action_of(i) == WatchAction::Restart)
            {
                let files: Vec<PathBuf> = by_rule
                    .iter()
                    .filter(|(i, _)| action_of(i) == WatchAction::Restart)
                    .flat_map(|(_, f)| f.clone())
                    .collect();
                let on_host = self.set.rules[*rule].on_host;
                restarts.push((entry.clone(), self.changed(entry, *rule, &files), on_host));
            }
        }

        // The manifest first: a valid one is applied with the rebuilds.
        let started = Instant::now();
        let mut reloaded = false;
        if !manifest_files.is_empty() {
            match self.reload() {
                Ok(()) => reloaded = true,
                Err(message) => {
                    let changed = self.manifest_change(&manifest_files);
                    output::eprintln(&report::line(
                        &changed,
                        &Done::Failed {
                            what: "not applied; watching goes on with the manifest as it was"
                                .into(),
                        },
                        started.elapsed(),
                    ));
                    output::eprintln(&report::error_lines(&message));
                }
            }
        } else if ignore_files {
            self.remake_set();
        }
        let mut replaced: Vec<String> = Vec::new();
        if reloaded || !rebuilds.is_empty() {
            let result = self.bring_up().await;
            let took = started.elapsed();
            match result {
                Ok(seen) => {
                    if reloaded {
                        let changed = self.manifest_change(&manifest_files);
                        output::eprintln(&report::line(
                            &changed,
                            &Done::Reapplied {
                                replaced: seen.started.clone(),
                                removed: seen
                                    .removed
                                    .iter()
                                    .filter(|r| !seen.started.contains(r))
                                    .cloned()
                                    .collect(),
                            },
                            took,
                        ));
                    }
                    for (entry, changed) in &rebuilds {
                        let done = Done::Rebuilt {
                            built: seen.built.contains(entry),
                            replaced: seen.started.contains(entry),
                            url: seen.moved.get(entry).cloned(),
                        };
                        output::eprintln(&report::line(changed, &done, took));
                    }
                    replaced = seen.started;
                }
                Err(UpError::Interrupted(_)) => return Err(Interrupted),
                Err(error) => {
                    let failed_build = match &error {
                        UpError::Build { entry, .. } | UpError::Image { entry, .. } => {
                            Some(entry.clone())
                        }
                        _ => None,
                    };
                    for (entry, changed) in &rebuilds {
                        let what = match &failed_build {
                            Some(failed) if failed == entry => {
                                format!("build failed; {entry} keeps running as it was")
                            }
                            Some(failed) => format!(
                                "not applied: the build of `{failed}` failed; {entry} keeps running as it was"
                            ),
                            None => "failed; the next change tries again".to_owned(),
                        };
                        output::eprintln(&report::line(changed, &Done::Failed { what }, took));
                    }
                    if rebuilds.is_empty() {
                        let changed = self.manifest_change(&manifest_files);
                        output::eprintln(&report::line(
                            &changed,
                            &Done::Failed {
                                what: "re-applying failed; the next change tries again".into(),
                            },
                            took,
                        ));
                    }
                    output::eprintln(&report::error_lines(&format!("error: {error}")));
                }
            }
        }

        for (entry, rule, files) in syncs {
            let started = Instant::now();
            let changed = self.changed(&entry, rule, &files);
            let rule = &self.set.rules[rule];
            let container = plan::container_name(&self.loaded.name, &entry);
            let synced = tokio::select! {
                synced = sync(self.engine, &container, rule, &files) => synced,
                _ = self.cancel.wait_for(|stop| *stop) => return Err(Interrupted),
            };
            let done = match synced {
                Ok(done) => done,
                Err(message) => {
                    output::eprintln(&report::line(
                        &changed,
                        &Done::Failed {
                            what: "not synced".into(),
                        },
                        started.elapsed(),
                    ));
                    output::eprintln(&report::error_lines(&format!("error: {message}")));
                    continue;
                }
            };
            output::eprintln(&report::line(&changed, &done, started.elapsed()));
        }

        let mut containers = Vec::new();
        for (entry, changed, on_host) in restarts {
            if replaced.contains(&entry) {
                continue;
            }
            let started = Instant::now();
            if on_host {
                let Some(host) = self.host.clone() else {
                    continue;
                };
                let restarted = tokio::select! {
                    restarted = host.restart(&entry) => restarted,
                    _ = self.cancel.wait_for(|stop| *stop) => return Err(Interrupted),
                };
                let done = match restarted {
                    Ok(()) => Done::Restarted { url: None },
                    Err(message) => Done::Failed {
                        what: format!("not restarted: {message}"),
                    },
                };
                output::eprintln(&report::line(&changed, &done, started.elapsed()));
                continue;
            }
            let container = plan::container_name(&self.loaded.name, &entry);
            let restarted = tokio::select! {
                restarted = self.engine.restart_container(&container, RESTART_GRACE) => restarted,
                _ = self.cancel.wait_for(|stop| *stop) => return Err(Interrupted),
            };
            match restarted {
                Ok(()) => containers.push((entry, changed, started)),
                Err(error) => {
                    output::eprintln(&report::line(
                        &changed,
                        &Done::Failed {
                            what: "not restarted".into(),
                        },
                        started.elapsed(),
                    ));
                    output::eprintln(&report::error_lines(&format!("error: {error}")));
                }
            }
        }
        for (entry, changed, started) in containers {
            let mut cancel = self.cancel.clone();
            let waited = tokio::select! {
                waited = self.wait_restarted(&entry) => waited,
                _ = cancel.wait_for(|stop| *stop) => return Err(Interrupted),
            };
            let done = match waited {
                Ok(url) => Done::Restarted { url },
                Err(message) => Done::Failed {
                    what: format!("restarted, but it did not become healthy: {message}"),
                },
            };
            output::eprintln(&report::line(&changed, &done, started.elapsed()));
        }
        Ok(())
    }

    /// What changed for an entry, for its line.
    fn changed(&self, entry: &str, rule: usize, files: &[PathBuf]) -> Changed {
        Changed {
            entry: Some(entry.to_owned()),
            rule: self.set.rules[rule].shown.clone(),
            files: files.iter().map(|f| self.shown(f)).collect(),
        }
    }

    /// Loads the manifest again; on success it is the one in force.
    fn reload(&mut self) -> std::result::Result<(), String> {
        let mut loaded = manifest::load(&self.manifest_file).map_err(|e| e.to_string())?;
        if !loaded.warnings.is_empty() {
            output::eprintln(&crate::cli::render_warnings(&loaded.warnings));
        }
        loaded.name = self.loaded.name.clone();
        let set = watch_set(&loaded, &self.options, self.host.as_deref()).map_err(|e| e.0)?;
        // Check the options against it now, so a manifest that no longer
        // fits them (a `--record` dependency removed) is not taken.
        plan::plan(&loaded, &self.options).map_err(|e| e.0)?;
        *self.probes.lock().unwrap_or_else(|e| e.into_inner()) = probe_paths(&loaded);
        self.loaded = loaded;
        self.set = set;
        self.set_changed = true;
        Ok(())
    }

    /// Remakes the watch set (an ignore file changed).
    fn remake_set(&mut self) {
        match watch_set(&self.loaded, &self.options, self.host.as_deref()) {
            Ok(set) => {
                self.set = set;
                self.set_changed = true;
            }
            Err(e) => output::eprintln(&format!("warning: {}", e.0)),
        }
    }

    /// After a restart: waits until the entry's container passes its
    /// readiness probe, then tells the registry it is healthy and where it
    /// is (a restart may move its published port); returns the new URL
    /// when it moved. Not `runner::up`: that would also rebuild an image
    /// whose context a `sync` changed, and replace what was only restarted.
    async fn wait_restarted(&mut self, entry: &str) -> std::result::Result<Option<String>, String> {
        let plan = plan::plan(&self.loaded, &self.options).map_err(|e| e.0)?;
        let planned = plan
            .containers
            .iter()
            .find(|c| c.entry == entry && c.role != plan::Role::Agent)
            .ok_or_else(|| format!("`{entry}` has no container in the plan"))?;
        let container = planned.spec.name.clone();
        let limit = self
            .up
            .timeout
            .or_else(|| planned.health.as_ref().and_then(|h| h.timeout.map(|t| t.0)))
            .unwrap_or(runner::DEFAULT_HEALTH_TIMEOUT);
        let deadline = Instant::now() + limit;
        loop {
            let (running, exit_code, published) = self
                .engine
                .inspect_container(&container)
                .await
                .map_err(|e| e.to_string())?;
            if !running {
                let (logs, left_out) = runner::failure_logs(self.engine, &container, None).await;
                return Err(format!(
                    "the container exited{}{}",
                    exit_code
                        .map(|c| format!(" with code {c}"))
                        .unwrap_or_default(),
                    runner::render_logs(&logs, left_out)
                ));
            }
            let passed = match planned.readiness(&published) {
                None => Ok(()),
                Some(crate::health::ProbeSpec::Exec { command, .. }) => {
                    match self.engine.exec_capture(&container, &command).await {
                        Ok((0, _)) => Ok(()),
                        Ok((code, _)) => {
                            Err(format!("`{}` exited with code {code}", command.join(" ")))
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
                Some(spec) => crate::health::probe(&spec, Duration::from_secs(2)).await,
            };
            match passed {
                Ok(()) => break,
                Err(reason) if Instant::now() >= deadline => return Err(reason),
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let found = runner::status::Found::load(self.engine, &self.loaded.name)
            .await
            .map_err(|e| e.to_string())?;
        let url = found
            .entries(&HashMap::new())
            .into_iter()
            .find(|e| e.name == entry)
            .and_then(|e| e.host_url);
        if let Some(registry) = found.registry_url() {
            let token = found.token();
            let mut told =
                vec![crate::registry::put_healthy(&registry, token, &[entry.to_owned()]).await];
            if let Some(url) = &url {
                told.push(
                    crate::registry::put_hosts(
                        &registry,
                        token,
                        &[(entry.to_owned(), url.clone())],
                    )
                    .await,
                );
            }
            for message in told.into_iter().filter_map(|r| r.err()) {
                output::eprintln(&format!("warning: {message}"));
            }
        }
        let before = self.urls.insert(entry.to_owned(), url.clone()).flatten();
        Ok(url.filter(|now| before.as_ref().is_some_and(|b| b != now)))
    }

    /// Plans the manifest in force and brings the sandbox to it.
    async fn bring_up(&mut self) -> std::result::Result<Seen, UpError> {
        let plan = plan::plan(&self.loaded, &self.options).map_err(|e| UpError::Image {
            entry: "sandbox".into(),
            message: e.0,
        })?;
        let collector = Collector::default();
        let brought =
            runner::up(self.engine, plan, &self.up, &collector, self.cancel.clone()).await?;
        let mut seen = collector.take();
        for entry in brought.status.entries {
            let before = self.urls.insert(entry.name.clone(), entry.host_url.clone());
            if let (Some(Some(before)), Some(now)) = (before, &entry.host_url)
                && &before != now
            {
                seen.moved.insert(entry.name, now.clone());
            }
        }
        Ok(seen)
    }
}

/// Each real entry's HTTP health check path (with its leading `/`).
fn probe_paths(loaded: &Loaded) -> HashMap<String, String> {
    let mut entries = vec![(
        &loaded.entries.service.name,
        &loaded.entries.service.container,
    )];
    for (name, dependency) in &loaded.entries.dependencies {
        if let crate::manifest::Source::Container(container) = &dependency.source {
            entries.push((name, container));
        }
    }
    entries
        .into_iter()
        .filter_map(
            |(name, container)| match container.health.as_ref()?.probe()? {
                crate::manifest::ProbeKind::Http(path) if path.starts_with('/') => {
                    Some((name.clone(), path))
                }
                crate::manifest::ProbeKind::Http(path) => Some((name.clone(), format!("/{path}"))),
                _ => None,
            },
        )
        .collect()
}

/// The watch set of a manifest under `options`; entries run on the host
/// are watched only when there is a supervisor to restart them.
fn watch_set(
    loaded: &Loaded,
    options: &PlanOptions,
    host: Option<&dyn HostControl>,
) -> std::result::Result<WatchSet, rules::RulesError> {
    let supervised = host.map(|h| h.entries()).unwrap_or_default();
    let recording: Vec<String> = options.record.keys().cloned().collect();
    let mut set = WatchSet::new(loaded, &options.host, &recording)?;
    set.rules
        .retain(|r| !r.on_host || supervised.contains(&r.entry));
    Ok(set)
}

/// What one `runner::up` did, as its events said.
#[derive(Default)]
struct Seen {
    started: Vec<String>,
    removed: Vec<String>,
    /// Entries whose image was built (not found built).
    built: Vec<String>,
    /// Entries whose host URL moved, with the new one.
    moved: HashMap<String, String>,
}

/// Collects a `runner::up`'s events; says warnings at once.
#[derive(Default)]
struct Collector(Mutex<Seen>);

impl Collector {
    fn take(self) -> Seen {
        self.0.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl Reporter for Collector {
    fn event(&self, event: Event) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::EntryStarted { entry } => seen.started.push(entry),
            Event::EntryRemoved { entry } => seen.removed.push(entry),
            Event::ImageBuilt {
                entry,
                cached: false,
            } => seen.built.push(entry),
            Event::Warning { message } => output::eprintln(&format!("warning: {message}")),
            Event::LockWaiting { holder } => output::eprintln(&format!(
                "waiting: another `sandbox up` of this sandbox is at work ({holder})"
            )),
            _ => {}
        }
    }
}

/// Copies `files` (changed under a `sync` rule) into the running
/// container, and removes those that were deleted where the image has
/// `rm`.
async fn sync(
    engine: &Engine,
    container: &str,
    rule: &Rule,
    files: &[PathBuf],
) -> std::result::Result<Done, String> {
    let target = rule.target.clone().unwrap_or_default();
    let mut copied = 0;
    let mut gone = Vec::new();
    let mut archive = tar::Builder::new(Vec::new());
    archive.follow_symlinks(false);
    for path in files {
        let Some(inside) = rule.target_of(path) else {
            continue;
        };
        let name = inside.trim_start_matches('/');
        let metadata = match std::fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                gone.push(inside);
                continue;
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&metadata);
        // Owned by the container's root, as `docker cp` does.
        header.set_uid(0);
        header.set_gid(0);
        let packed = if metadata.file_type().is_symlink() {
            std::fs::read_link(path).and_then(|to| archive.append_link(&mut header, name, to))
        } else if metadata.is_file() {
            std::fs::read(path).and_then(|data| {
                header.set_size(data.len() as u64);
                header.set_cksum();
                archive.append_data(&mut header, name, data.as_slice())
            })
        } else {
            continue;
        };
        packed.map_err(|e| format!("cannot pack {}: {e}", path.display()))?;
        copied += 1;
    }
    let tar = archive
        .into_inner()
        .map_err(|e| format!("cannot pack the changed files: {e}"))?;
    if copied > 0 {
        engine
            .upload_tar(container, "/", tar)
            .await
            .map_err(|e| e.to_string())?;
    }
    let (mut deleted, mut not_deleted) = (0, 0);
    if !gone.is_empty() {
        let mut command = vec!["rm".to_owned(), "-rf".to_owned(), "--".to_owned()];
        command.extend(gone.iter().cloned());
        match engine.exec_capture(container, &command).await {
            Ok((0, _)) => deleted = gone.len(),
            // No `rm` in the image (a FROM scratch one): said in the line.
            Ok((126 | 127, _)) => not_deleted = gone.len(),
            Ok((code, output)) => {
                return Err(format!(
                    "`rm` of {} exited with code {code}: {}",
                    gone.join(" "),
                    output.trim()
                ));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(Done::Synced {
        target,
        copied,
        deleted,
        not_deleted,
    })
}
