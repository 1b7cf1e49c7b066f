//! The link between a host entry's process and its forwarder: the tunnel
//! session `up --host` keeps open, and the record of the process it leaves
//! with the forwarder for `down`.

use super::run::{HostEntry, Link};
pub use crate::tunnel::Holder;

/// A tunnel session for one host entry.
pub struct Session {
    inner: crate::tunnel::Session,
}

/// Opens the tunnel of `entry` to its forwarder.
pub async fn open(link: &Link, entry: &HostEntry) -> Result<Session, crate::tunnel::TunnelError> {
    let inner = crate::tunnel::Session::connect(
        link.tunnel,
        link.token.as_deref().unwrap_or_default(),
        &entry.entry,
        entry.forward.clone(),
        None,
    )
    .await?;
    Ok(Session { inner })
}

impl Session {
    /// Tells the forwarder which process serves the entry now (`None`:
    /// none). A failure is not fatal: the link's end is reported by
    /// [`Session::closed`].
    pub async fn set_holder(&mut self, holder: Option<Holder>) {
        let _ = self.inner.set_holder(holder).await;
    }

    /// Resolves when the link ends, with why.
    pub async fn closed(&self) -> String {
        self.inner.closed().await.to_string()
    }
}

pub use crate::agent::client::holder;
