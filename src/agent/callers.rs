//! Who is calling: the agent resolves the sandbox's entry names on the
//! network every 2 s and names a call by its source address; an address it
//! does not know is the caller `host` (a call published to the host).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::journal;
use super::serve::Live;

const REFRESH: Duration = Duration::from_secs(2);

/// The caller of a call from an address that is no entry of the sandbox.
pub const HOST: &str = "host";

#[derive(Debug)]
pub struct Callers {
    /// The names to resolve, made lasting once (see [`journal::lasting`]).
    names: Vec<&'static str>,
    by_address: Live<HashMap<IpAddr, &'static str>>,
}

impl Callers {
    pub fn new(names: Vec<String>) -> Self {
        Callers {
            names: names.into_iter().map(journal::lasting).collect(),
            by_address: Live::new(HashMap::new()),
        }
    }

    /// The caller behind a source address.
    pub fn name(&self, address: IpAddr) -> &'static str {
        if self.names.is_empty() {
            return HOST;
        }
        let map = self.by_address.load();
        map.get(&address.to_canonical()).copied().unwrap_or(HOST)
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
        loop {
            self.refresh().await;
            tokio::time::sleep(REFRESH).await;
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
