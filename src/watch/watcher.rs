//! The file watcher of `up --watch`: a folder watch (through `notify`) on
//! every folder some rule wants, and none on what rules ignore (a `target/`
//! or `node_modules/` full of build output is never watched), debounced so
//! that an editor's save burst is one change. Reads are not changes: a
//! build reading its context must not set off another build.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_full::notify::event::{AccessKind, AccessMode, ModifyKind};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::rules::{Watch, WatchSet};

/// How long the debouncer holds an event: it reports each event this long
/// after it happened, the events of one path and kind that fell within
/// one of its ticks (a quarter of this) as one.
pub const DEBOUNCE: Duration = Duration::from_millis(50);
/// How long no change may come for a change to be complete. The debouncer
/// reports events as they age, so the writes of one burst (an editor's
/// save, a formatter, a `git checkout`) arrive in several reports, as far
/// apart as the writes were: reports less than this apart are one change.
/// With [`DEBOUNCE`], a single write is applied about 250 ms after it.
pub const SETTLE: Duration = Duration::from_millis(180);
/// A change is applied after this long even if files keep changing.
const LONGEST: Duration = Duration::from_secs(2);

/// What changed between two quiet moments.
#[derive(Debug, Default)]
pub struct Batch {
    /// Changed paths that matter (created, written, removed or renamed),
    /// in the order first seen.
    pub paths: Vec<PathBuf>,
}

pub struct Watcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    /// Folders watched (each on its own, not recursively).
    watched: BTreeSet<PathBuf>,
    reports: mpsc::UnboundedReceiver<DebounceEventResult>,
}

impl Watcher {
    pub fn new() -> Result<Watcher, String> {
        let (sender, reports) = mpsc::unbounded_channel();
        let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            let _ = sender.send(result);
        })
        .map_err(|e| format!("cannot watch files: {e}"))?;
        Ok(Watcher {
            debouncer,
            watched: BTreeSet::new(),
            reports,
        })
    }

    /// How many folders are watched.
    pub fn folders(&self) -> usize {
        self.watched.len()
    }

    /// Watches what `set` needs and no more; returns the folders that could
    /// not be watched, with the reason.
    pub fn follow(&mut self, set: &WatchSet) -> Vec<String> {
        let mut wanted = BTreeSet::new();
        for watch in set.watches() {
            match watch {
                Watch::Folder(dir) => {
                    if dir.is_dir() {
                        wanted.insert(dir);
                    }
                }
                Watch::Tree(root) => folders(&root, set, &mut wanted),
            }
        }
        let gone: Vec<PathBuf> = self.watched.difference(&wanted).cloned().collect();
        for dir in gone {
            // A folder removed from disk is no longer watched anyway.
            let _ = self.debouncer.unwatch(&dir);
            self.watched.remove(&dir);
        }
        let mut problems = Vec::new();
        for dir in wanted {
            if !self.watched.contains(&dir) {
                match self.debouncer.watch(&dir, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        self.watched.insert(dir);
                    }
                    Err(e) => problems.push(format!("cannot watch {}: {e}", dir.display())),
                }
            }
        }
        problems
    }

    /// Waits for the next change that matters to `set`: the paths reported
    /// until no more come for [`SETTLE`]. A new folder is watched at once,
    /// and the files already in it count as changed (they may have been
    /// written before its watch began). Fails only when the watcher stopped.
    pub async fn next(&mut self, set: &WatchSet) -> Result<Batch, String> {
        let mut batch = Batch::default();
        let mut seen = BTreeSet::new();
        let mut first: Option<Instant> = None;
        let mut quiet_at: Option<Instant> = None;
        loop {
            let report = match quiet_at {
                None => self.reports.recv().await,
                Some(deadline) => {
                    let deadline = deadline.min(first.unwrap_or(deadline) + LONGEST);
                    match tokio::time::timeout_at(deadline, self.reports.recv()).await {
                        Ok(report) => report,
                        Err(_) => return Ok(batch),
                    }
                }
            };
            let Some(report) = report else {
                return Err("the file watcher stopped".into());
            };
            let events = match report {
                Ok(events) => events,
                Err(errors) => {
                    // A folder that could not be read, say; the rest is
                    // still watched.
                    for error in errors {
                        crate::output::eprintln(&format!("warning: watching files: {error}"));
                    }
                    continue;
                }
            };
            let before = batch.paths.len();
            for event in events {
                if !is_change(&event.kind) {
                    continue;
                }
                for path in event.paths.iter() {
                    self.take(set, path.clone(), &mut batch, &mut seen);
                }
            }
            if batch.paths.len() > before {
                let now = Instant::now();
                first.get_or_insert(now);
                quiet_at = Some(now + SETTLE);
            }
        }
    }

    /// Adds a reported path to the batch when it matters; a new folder is
    /// watched and its files taken.
    fn take(
        &mut self,
        set: &WatchSet,
        path: PathBuf,
        batch: &mut Batch,
        seen: &mut BTreeSet<PathBuf>,
    ) {
        let is_dir = path.is_dir();
        if is_dir {
            // A folder's own event says nothing its files' events do not,
            // unless it is new.
            if self.watched.contains(&path) || !set.wants_dir(&path) {
                return;
            }
            let mut found = BTreeSet::new();
            folders(&path, set, &mut found);
            for dir in found {
                if self.watched.contains(&dir) {
                    continue;
                }
                if self
                    .debouncer
                    .watch(&dir, RecursiveMode::NonRecursive)
                    .is_ok()
                {
                    self.watched.insert(dir.clone());
                }
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let file = entry.path();
                    if !file.is_dir() && set.matters(&file, false) && seen.insert(file.clone()) {
                        batch.paths.push(file);
                    }
                }
            }
            return;
        }
        if !path.exists() {
            // A folder that was removed: forget its watches (the system
            // dropped them) so that one made again under its name is watched.
            let under: Vec<PathBuf> = self
                .watched
                .iter()
                .filter(|w| w.starts_with(&path))
                .cloned()
                .collect();
            for dir in under {
                let _ = self.debouncer.unwatch(&dir);
                self.watched.remove(&dir);
            }
        }
        if set.matters(&path, false) && seen.insert(path.clone()) {
            batch.paths.push(path);
        }
    }
}

/// Whether an event says something changed: a file read (opened, closed
/// after reading, as a build reads its context) or touched changes nothing.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        EventKind::Any | EventKind::Other => true,
    }
}

/// `root` and every folder under it that `set` wants, into `found`.
fn folders(root: &Path, set: &WatchSet, found: &mut BTreeSet<PathBuf>) {
    if !root.is_dir() || !set.wants_dir(root) {
        return;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if !found.insert(dir.clone()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // Symbolic links to folders are not followed: their target may
            // be anywhere, or hold the link itself.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let path = entry.path();
                if set.wants_dir(&path) {
                    stack.push(path);
                }
            }
        }
    }
}
