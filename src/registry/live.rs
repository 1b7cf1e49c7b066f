//! The registry's state while it runs: each entry's latest health and host
//! URL, the probe count, and the serialized documents, rebuilt only when
//! something in them changed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::{ApiDoc, EntryDoc, HealthDoc, HealthStatus, RegistryConfig, RegistryEntry};

/// An entry's health as last found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Health {
    pub status: HealthStatus,
    pub checked_at: Option<SystemTime>,
    pub detail: String,
}

impl Health {
    /// Before any probe ran.
    pub fn starting() -> Health {
        Health {
            status: HealthStatus::Starting,
            checked_at: None,
            detail: "not probed yet".to_owned(),
        }
    }

    /// Up without a probe, for the reason given.
    pub fn unprobed(detail: &str) -> Health {
        Health {
            status: HealthStatus::Up,
            checked_at: None,
            detail: detail.to_owned(),
        }
    }

    /// The health after a probe at `at` gave `result`: an entry is
    /// `starting` until its first success, then `up` or `down` per the
    /// latest result.
    pub fn after(&self, result: Result<String, String>, at: SystemTime) -> Health {
        let (status, detail) = match (self.status, result) {
            (_, Ok(detail)) => (HealthStatus::Up, detail),
            (HealthStatus::Starting, Err(reason)) => (HealthStatus::Starting, reason),
            (_, Err(reason)) => (HealthStatus::Down, reason),
        };
        Health {
            status,
            checked_at: Some(at),
            detail,
        }
    }
}

struct Live {
    host_url: Option<String>,
    health: Health,
}

struct Cache {
    generation: u64,
    services: Bytes,
    entries: Vec<Bytes>,
}

pub(crate) struct State {
    pub sandbox: String,
    pub entries: Vec<RegistryEntry>,
    index: HashMap<String, usize>,
    live: Vec<Mutex<Live>>,
    /// Serialized OpenAPI documents, by entry index.
    openapi: Vec<Option<Bytes>>,
    /// Bumped on every change to `live`; the cache is current when equal.
    generation: AtomicU64,
    cache: RwLock<Cache>,
    probes: AtomicU64,
    started: Instant,
    /// The sandbox's token, asked of `PUT /_sandbox/hosts` (none: open).
    pub token: Option<String>,
}

impl State {
    pub fn new(config: RegistryConfig, initial: Vec<Health>) -> State {
        let index = config
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        let live = config
            .entries
            .iter()
            .zip(initial)
            .map(|(e, health)| {
                Mutex::new(Live {
                    host_url: e.host_url.clone(),
                    health,
                })
            })
            .collect();
        let openapi = config
            .entries
            .iter()
            .map(|e| {
                let doc = e.api.as_ref()?.openapi.as_ref()?;
                Some(Bytes::from(serde_json::to_vec(doc).ok()?))
            })
            .collect();
        let state = State {
            token: None,
            sandbox: config.sandbox,
            entries: config.entries,
            index,
            live,
            openapi,
            generation: AtomicU64::new(1),
            cache: RwLock::new(Cache {
                generation: 0,
                services: Bytes::new(),
                entries: Vec::new(),
            }),
            probes: AtomicU64::new(0),
            started: Instant::now(),
        };
        state.rebuild();
        state
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    pub fn openapi(&self, i: usize) -> Option<Bytes> {
        self.openapi[i].clone()
    }

    /// Records a probe's result for entry `i`.
    pub fn record(&self, i: usize, result: Result<String, String>, at: SystemTime) {
        self.probes.fetch_add(1, Ordering::Relaxed);
        {
            let mut live = lock(&self.live[i]);
            live.health = live.health.after(result, at);
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Marks entries that `up` just saw pass their readiness check as up,
    /// unless the registry's own probes already decided.
    pub fn set_healthy(&self, entries: &[usize], at: SystemTime) {
        for i in entries {
            let mut live = lock(&self.live[*i]);
            if live.health.status == HealthStatus::Starting {
                live.health = Health {
                    status: HealthStatus::Up,
                    checked_at: Some(at),
                    detail: "passed its readiness check in `sandbox up`".to_owned(),
                };
            }
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Sets host URLs (`None` clears one); indexes are already checked.
    pub fn set_hosts(&self, hosts: &[(usize, Option<String>)]) {
        for (i, url) in hosts {
            lock(&self.live[*i]).host_url = url.clone();
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }

    pub fn uptime_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The `/services` document, serialized.
    pub fn services_doc(&self) -> Bytes {
        self.current(|cache| cache.services.clone())
    }

    /// Entry `i`'s document, serialized.
    pub fn entry_doc(&self, i: usize) -> Bytes {
        self.current(|cache| cache.entries[i].clone())
    }

    fn current(&self, read: impl Fn(&Cache) -> Bytes) -> Bytes {
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if cache.generation == self.generation.load(Ordering::Acquire) {
                return read(&cache);
            }
        }
        self.rebuild();
        read(&self.cache.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn rebuild(&self) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        // Read the generation before the entries: a change made while
        // building bumps it again, so the next reader rebuilds.
        let generation = self.generation.load(Ordering::Acquire);
        if cache.generation == generation {
            return;
        }
        let entries: Vec<Bytes> = (0..self.entries.len())
            .map(|i| Bytes::from(serde_json::to_vec(&self.doc(i)).expect("entries serialize")))
            .collect();
        let mut services =
            Vec::with_capacity(64 + entries.iter().map(|e| e.len() + 1).sum::<usize>());
        services.extend_from_slice(b"{\"sandbox\":");
        services.extend_from_slice(&serde_json::to_vec(&self.sandbox).expect("strings serialize"));
        services.extend_from_slice(b",\"services\":[");
        for (n, entry) in entries.iter().enumerate() {
            if n > 0 {
                services.push(b',');
            }
            services.extend_from_slice(entry);
        }
        services.extend_from_slice(b"]}");
        *cache = Cache {
            generation,
            services: Bytes::from(services),
            entries,
        };
    }

    /// Entry `i` as the registry shows it.
    pub fn doc(&self, i: usize) -> EntryDoc {
        let entry = &self.entries[i];
        let (host_url, health) = {
            let live = lock(&self.live[i]);
            (live.host_url.clone(), live.health.clone())
        };
        EntryDoc {
            name: entry.name.clone(),
            role: entry.role.clone(),
            kind: entry.kind,
            owner: entry.owner.clone(),
            internal_url: entry.internal_url.clone(),
            host_url,
            api: entry.api.as_ref().map(|api| ApiDoc {
                description: api.description.clone(),
                openapi: api
                    .openapi
                    .as_ref()
                    .map(|_| format!("/services/{}/openapi", entry.name)),
            }),
            health: HealthDoc {
                status: health.status,
                checked_at: health.checked_at.map(rfc3339_millis),
                detail: health.detail,
            },
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `2026-11-25T16:07:03.042Z` (RFC 3339, UTC, milliseconds).
pub(crate) fn rfc3339_millis(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days to civil date: Howard Hinnant's `civil_from_days`.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn starting_until_the_first_success() {
        let at = UNIX_EPOCH + Duration::from_secs(1);
        let h = Health::starting();
        let h = h.after(Err("connection refused to orders:8080".into()), at);
        assert_eq!(h.status, HealthStatus::Starting);
        assert_eq!(h.detail, "connection refused to orders:8080");
        assert_eq!(h.checked_at, Some(at));
        let h = h.after(Ok("GET /healthz answered 200".into()), at);
        assert_eq!(h.status, HealthStatus::Up);
        let h = h.after(Err("timed out after 1500ms".into()), at);
        assert_eq!(
            (h.status, h.detail.as_str()),
            (HealthStatus::Down, "timed out after 1500ms")
        );
        let h = h.after(Err("still".into()), at);
        assert_eq!(h.status, HealthStatus::Down);
        let h = h.after(Ok("back".into()), at);
        assert_eq!(h.status, HealthStatus::Up);
    }

    #[test]
    fn times_are_rfc3339_utc_with_millis() {
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_622_823_042);
        assert_eq!(rfc3339_millis(t), "2026-11-25T16:07:03.042Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_millis(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn documents_are_rebuilt_only_on_change() {
        let config: RegistryConfig = serde_json::from_value(serde_json::json!({
            "sandbox": "shop",
            "entries": [{"name": "orders", "role": "service", "kind": "build"}]
        }))
        .unwrap();
        let state = State::new(config, vec![Health::starting()]);
        let a = state.services_doc();
        let b = state.services_doc();
        assert_eq!(a.as_ptr(), b.as_ptr(), "served from the cache");
        state.record(0, Ok("GET / answered 200".into()), UNIX_EPOCH);
        let c = state.services_doc();
        assert_ne!(a, c);
        let doc: serde_json::Value = serde_json::from_slice(&c).unwrap();
        assert_eq!(doc["services"][0]["health"]["status"], "up");
        assert_eq!(doc["services"][0]["owner"], serde_json::Value::Null);
        let entry: serde_json::Value = serde_json::from_slice(&state.entry_doc(0)).unwrap();
        assert_eq!(entry, doc["services"][0]);
    }
}
