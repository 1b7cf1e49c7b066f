//! The tunnel that keeps an entry run on the host (`sandbox up --host`,
//! PRODUCT.md 6.2) reachable inside the sandbox network under its own name
//! and ports, though the process listens on 127.0.0.1 only.
//!
//! Two ends, and nothing opened beyond loopback and the sandbox network:
//!
//! - the [`Hub`] runs in an agent container named like the entry (network
//!   alias `orders`). It listens on the entry's ports inside the network and
//!   on the tunnel port ([`crate::agent::config::TUNNEL_PORT`]), which is
//!   published on the engine's 127.0.0.1 only.
//! - the [`Session`] runs in the CLI. It connects *out* to the tunnel port
//!   (through the engine's loopback, or later a forwarder to a remote
//!   engine) and carries each connection the hub accepted to
//!   `127.0.0.1:<host port>`.
//!
//! # Protocol (version 1)
//!
//! Every connection to the tunnel port starts with the four bytes `SBT1`
//! and a hello frame (a big-endian `u32` length, then JSON; see [`wire`]).
//!
//! - **Control** (one per session, opened first): hello `{"role":
//!   "control", "token", "entry", "ports": [entry ports], "holder": HOLDER |
//!   null}`. The hub checks the sandbox's token (a wrong one is answered
//!   `{"type": "refused", "reason"}`, closed, and logged in one line), the
//!   entry's name and its ports, then answers `{"type": "accepted",
//!   "session": ID}`. A newer session replaces an older one (the older gets
//!   `{"type": "bye", "reason": "replaced"}`). Then frames both ways:
//!   client → hub `{"type": "holder", "holder": HOLDER | null}` (the process
//!   changed, or none runs), `{"type": "lost", "count"}` (asked-for data
//!   connections that could not be opened), `{"type": "ping"}`; hub →
//!   client `{"type": "more", "count"}` (open this many data connections),
//!   `{"type": "ping"}`, `{"type": "bye", "reason": "replaced" |
//!   "stopping"}`. Either side pings every [`PING_EVERY`] and gives up after
//!   [`SILENT_AFTER`] without a frame. When the control connection closes,
//!   the session ends at once: pooled data connections are dropped.
//! - **Data**: hello `{"role": "data", "token", "session": ID}`, and then
//!   no frames: the connection waits, idle, in the hub's pool. To carry an
//!   inbound connection the hub sends three bytes, `C` and the entry port
//!   (`u16`, big-endian), and from then on passes raw bytes. The client
//!   connects to `127.0.0.1:<host port>`, answers one byte `1`, and splices;
//!   if the host port refuses it closes instead, and the hub closes the
//!   inbound connection. Half-closes are passed on both ways.
//!
//! The hub keeps [`POOL`] idle data connections plus one per waiting inbound
//! connection, asking for more (`more`) as it uses them, so a connection is
//! carried without a round trip. An inbound connection is closed at once
//! when no session is connected (health probes fail fast), and after
//! [`WAIT_FOR_DATA`] when the pool stays empty.
//!
//! `HOLDER` = `{"host", "pid", "started", "entry"}` ([`Holder`]): the host
//! process, which the hub remembers after the session ends so that `sandbox
//! down` can stop a process left behind by a killed `up --host` (see
//! `GET /_sandbox/host` in [`crate::agent::admin`]).

mod client;
mod hub;
mod splice;
pub mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::runner::lock::{host_name, process_start};

pub use client::{Session, Stats};
pub use hub::{HostState, Hub};

/// Idle data connections the hub keeps ready.
pub const POOL: usize = 4;
/// How long an inbound connection waits for a data connection when a
/// session is connected but its pool is empty.
pub const WAIT_FOR_DATA: Duration = Duration::from_secs(5);
/// How often each side of a control connection says it is alive.
pub const PING_EVERY: Duration = Duration::from_secs(5);
/// A control connection silent for this long is dead.
pub const SILENT_AFTER: Duration = Duration::from_secs(20);
/// How long a new connection may take to connect and greet.
pub const GREETING_WITHIN: Duration = Duration::from_secs(5);

/// The process on the host that serves an entry, as the CLI reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The host's name (`/proc/sys/kernel/hostname`).
    pub host: String,
    pub pid: u32,
    /// The process's start time (opaque: clock ticks since boot on Linux),
    /// so that a recycled process id is never taken for it.
    pub started: u64,
    /// The entry it serves.
    pub entry: String,
}

impl Holder {
    /// The record of process `pid` of this host serving `entry`; `started`
    /// is 0 when the process cannot be read (it already ended).
    pub fn of_process(pid: u32, entry: &str) -> Holder {
        Holder {
            host: host_name(),
            pid,
            started: process_start(pid).unwrap_or(0),
            entry: entry.to_owned(),
        }
    }

    /// Whether this very process still runs on this host (same id, same
    /// start time): only then may it be stopped.
    pub fn is_running_here(&self) -> bool {
        self.host == host_name()
            && self.started != 0
            && process_start(self.pid) == Some(self.started)
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} on {}", self.pid, self.host)
    }
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ended {
    #[error("it was closed on this side")]
    Closed,
    #[error("a newer session for the same entry took over")]
    Replaced,
    #[error("the agent is stopping (its container is being removed)")]
    AgentStopped,
    #[error(
        "the tunnel connection was closed by the other side (the sandbox's container for this entry is gone?)"
    )]
    Disconnected,
    #[error("nothing was heard from the agent for {}s", SILENT_AFTER.as_secs())]
    Silent,
    #[error("the tunnel connection failed: {0}")]
    Failed(String),
}

/// What can go wrong opening or using a session.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error("cannot reach the tunnel at {address} (is the sandbox up?)")]
    Connect {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the tunnel at {address} did not answer within {}s", GREETING_WITHIN.as_secs())]
    TimedOut { address: SocketAddr },
    #[error("the tunnel at {address} refused the session: {reason}")]
    Refused { address: SocketAddr, reason: String },
    #[error("the tunnel at {address} does not speak the tunnel protocol: {detail}")]
    Protocol { address: SocketAddr, detail: String },
    #[error("the tunnel's port mapping is not valid: {0}")]
    Ports(String),
    #[error("the tunnel session has ended: {0}")]
    Ended(Ended),
}

#[cfg(test)]
mod tests;
