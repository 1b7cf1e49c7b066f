//! Who is calling: the agent resolves the sandbox's entry names on the
//! network (every 250 ms while the sandbox starts, then every 2 s, and soon
//! after a call from an unknown address) and names a call by its source
//! address; an address it does not know is the caller `host` (a call
//! published to the host).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::journal;
use super::live::Live;

const REFRESH: Duration = Duration::from_secs(2);
/// While the sandbox starts, entries appear one after another.
const STARTING_REFRESH: Duration = Duration::from_millis(250);
const STARTING: Duration = Duration::from_secs(30);
/// The least time between two refreshes asked for by unknown addresses.
const MIN_REFRESH: Duration = Duration::from_millis(200);

/// The caller of a call from an address that is no entry of the sandbox.
pub const HOST: &str = "host";

#[derive(Debug)]
pub struct Callers {
    /// The names to resolve, made lasting once (see [`journal::lasting`]).
    names: Vec<&'static str>,
    by_address: Live<HashMap<IpAddr, &'static str>>,
    /// Wakes the refresher when a call came from an unknown address (a
    /// container restarted with a new one, or one started just now).
    missed: tokio::sync::Notify,
}

impl Callers {
    pub fn new(names: Vec<String>) -> Self {
        Callers {
            names: names.into_iter().map(journal::lasting).collect(),
            by_address: Live::new(HashMap::new()),
            missed: tokio::sync::Notify::new(),
        }
    }

    /// The caller behind a source address.
    pub fn name(&self, address: IpAddr) -> &'static str {
        if self.names.is_empty() {
            return HOST;
        }
        let map = self.by_address.load();
        match map.get(&address.to_canonical()) {
            Some(name) => name,
            None => {
                self.missed.notify_one();
                HOST
            }
        }
    }

    /// Resolves every name now.
    pub async fn refresh(&self) {
        let mut map = HashMap::new();
        for name in &self.names {
            if let Ok(addresses) = tokio::net::lookup_host((*name, 0)).await {
                for address in addresses {
                    map.insert(address.ip().to_canonical(), *name);
                }
            }
        }
        self.by_address.store(map);
    }

    /// Keeps the map current (containers start and restart with new
    /// addresses).
    pub async fn refresh_forever(self: Arc<Self>) {
        if self.names.is_empty() {
            return;
        }
        let started = tokio::time::Instant::now();
        loop {
            self.refresh().await;
            let period = if started.elapsed() < STARTING {
                STARTING_REFRESH
            } else {
                REFRESH
            };
            tokio::time::sleep(MIN_REFRESH).await;
            tokio::select! {
                _ = tokio::time::sleep(period.saturating_sub(MIN_REFRESH)) => {}
                _ = self.missed.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn known_names_resolve_and_the_rest_is_host() {
        let callers = Callers::new(vec!["localhost".into()]);
        callers.refresh().await;
        assert_eq!(callers.name("127.0.0.1".parse().unwrap()), "localhost");
        assert_eq!(callers.name("10.9.8.7".parse().unwrap()), "host");
        assert_eq!(
            Callers::new(Vec::new()).name("127.0.0.1".parse().unwrap()),
            "host"
        );
    }
}
