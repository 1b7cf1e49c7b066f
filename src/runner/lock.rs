//! The `up` lock of a sandbox: two `sandbox up` of one sandbox never work at
//! once. The lock lives on the engine, not in a local file, because CI jobs
//! on several hosts may share one engine (PRODUCT.md 6.1): it is a container
//! named `SANDBOX.lock` that is created and never started. The engine lets
//! only one caller create a container of a given name, so whoever creates
//! it holds the lock; removing it releases the lock. It carries the sandbox's
//! label, so `down` removes a lock that was left behind.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::{Event, Reporter, UpError};
use crate::engine::{Engine, EngineError, labels};
use crate::plan;

/// A lock whose holder cannot be checked (another host) is taken over after
/// this long: no `up` takes that long, so its holder died.
const ABANDONED_AFTER: Duration = Duration::from_secs(30 * 60);
/// How often a waiting `up` tries again.
const RETRY: Duration = Duration::from_millis(250);

/// Who holds a lock: host name, process id, the process's start time (so a
/// recycled process id is not mistaken for the holder) and when it took it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    host: String,
    pid: u32,
    started: u64,
    since: u64,
}

impl Holder {
    fn this_process() -> Holder {
        let pid = std::process::id();
        Holder {
            host: host_name(),
            pid,
            started: process_start(pid).unwrap_or(0),
            since: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }

    fn label(&self) -> String {
        format!("{} {} {} {}", self.host, self.pid, self.started, self.since)
    }

    fn parse(text: &str) -> Option<Holder> {
        let mut parts = text.split(' ');
        let holder = Holder {
            host: parts.next()?.to_owned(),
            pid: parts.next()?.parse().ok()?,
            started: parts.next()?.parse().ok()?,
            since: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(holder)
    }

    /// Whether the holder is certainly gone: a process of this host that no
    /// longer runs, or any holder past [`ABANDONED_AFTER`].
    fn is_gone(&self, now: u64) -> bool {
        if now.saturating_sub(self.since) > ABANDONED_AFTER.as_secs() {
            return true;
        }
        self.host == host_name() && process_start(self.pid) != Some(self.started)
    }
}

pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().replace(' ', "-"))
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// The start time (clock ticks since boot) of a running process, from
/// `/proc/PID/stat` field 22.
pub(crate) fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after it don't.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// A held lock; [`Lock::release`] gives it back.
pub struct Lock {
    name: String,
}

impl Lock {
    /// Takes the lock of `sandbox`, waiting (and saying so once) while
    /// another `up` holds it. `image` is any local image (the container is
    /// never started).
    pub async fn acquire(
        engine: &Engine,
        sandbox: &str,
        image: &str,
        reporter: &dyn Reporter,
        cancel: &mut watch::Receiver<bool>,
    ) -> Result<Lock, UpError> {
        let name = plan::lock_container_name(sandbox);
        let mut said = false;
        loop {
            let me = Holder::this_process();
            let container_labels = HashMap::from([
                (labels::NAME.to_owned(), sandbox.to_owned()),
                (labels::ROLE.to_owned(), "lock".to_owned()),
                (labels::LOCK.to_owned(), me.label()),
            ]);
            match engine.create_marker(&name, image, container_labels).await {
                Ok(_) => return Ok(Lock { name }),
                Err(EngineError::Conflict { .. }) => {}
                Err(other) => return Err(other.into()),
            }
            let holder = engine
                .container_labels(&name)
                .await?
                .and_then(|l| l.get(labels::LOCK).and_then(|h| Holder::parse(h)));
            match holder {
                // Released between our attempt and the look: try again now.
                None => continue,
                Some(holder) if holder.is_gone(me.since) => {
                    engine.remove_container(&name, None).await?;
                    continue;
                }
                Some(holder) => {
                    if !said {
                        said = true;
                        reporter.event(Event::LockWaiting {
                            holder: format!("process {} on {}", holder.pid, holder.host),
                        });
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(RETRY) => {}
                _ = cancel.changed() => return Err(UpError::interrupted()),
            }
        }
    }

    /// Gives the lock back. A lock already removed (by `down`) is fine.
    pub async fn release(self, engine: &Engine) {
        let _ = engine.remove_container(&self.name, None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_round_trips_through_its_label() {
        let me = Holder::this_process();
        assert_eq!(Holder::parse(&me.label()), Some(me.clone()));
        assert_eq!(Holder::parse("host 1 2"), None);
        assert_eq!(Holder::parse("host x 2 3"), None);
    }

    #[test]
    fn this_process_holds_and_a_dead_one_does_not() {
        let me = Holder::this_process();
        assert!(me.started > 0, "reads its own start time");
        assert!(!me.is_gone(me.since));
        let dead = Holder {
            started: me.started + 1,
            ..me.clone()
        };
        assert!(dead.is_gone(me.since));
        let elsewhere = Holder {
            host: "another-host".into(),
            ..me.clone()
        };
        assert!(!elsewhere.is_gone(me.since));
        assert!(elsewhere.is_gone(me.since + ABANDONED_AFTER.as_secs() + 1));
    }
}
