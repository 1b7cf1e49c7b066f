//! The agent's end of the tunnel: accepts sessions and data connections on
//! the tunnel port, and carries every connection to the entry's ports over
//! a pooled data connection (see the protocol in [`super`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::wire::{self, ByeReason, Hello, ToClient, ToHub, Welcome};
use super::{GREETING_WITHIN, Holder, PING_EVERY, POOL, SILENT_AFTER, WAIT_FOR_DATA, splice};
use crate::registry::token;

/// Idle data connections kept at most; more are closed.
const MAX_IDLE: usize = 256;
/// Data connections asked for and not yet arrived, at most.
const MAX_REQUESTED: usize = 512;
/// How long [`Hub::stop`] waits for the client to be told.
const BYE_WITHIN: Duration = Duration::from_millis(500);

/// The hub of one entry run on the host.
pub struct Hub {
    entry: String,
    token: Option<String>,
    /// The entry ports it listens on, sorted.
    ports: Vec<u16>,
    state: Mutex<State>,
    generations: AtomicU64,
}

#[derive(Default)]
struct State {
    session: Option<Live>,
    /// The last process the CLI reported, kept after its session ends.
    holder: Option<Holder>,
}

/// The connected session.
struct Live {
    generation: u64,
    id: String,
    peer: SocketAddr,
    idle: VecDeque<TcpStream>,
    waiters: VecDeque<oneshot::Sender<TcpStream>>,
    /// Data connections asked for that have not arrived yet.
    requested: usize,
    control: mpsc::UnboundedSender<ToClient>,
    writer: Option<JoinHandle<()>>,
    /// Dropped with the session: its control reader stops.
    _stop: oneshot::Sender<()>,
}

/// What `GET /_sandbox/host` answers: the last process the CLI reported
/// (kept after its session ends; `null` when it said none runs) and whether
/// a session is connected now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostState {
    pub holder: Option<Holder>,
    pub connected: bool,
}

impl Hub {
    /// A hub for `entry` listening on entry `ports`; sessions must carry
    /// `token` (with none, any is accepted, as for the control API).
    pub fn new(entry: impl Into<String>, token: Option<String>, ports: Vec<u16>) -> Arc<Hub> {
        let mut ports = ports;
        ports.sort_unstable();
        ports.dedup();
        Arc::new(Hub {
            entry: entry.into(),
            token,
            ports,
            state: Mutex::new(State::default()),
            generations: AtomicU64::new(0),
        })
    }

    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// The last holder reported and whether a session is connected.
    pub fn state(&self) -> HostState {
        let state = self.lock();
        HostState {
            holder: state.holder.clone(),
            connected: state.session.is_some(),
        }
    }

    /// Serves the tunnel port and every entry port (each listener with the
    /// entry port it stands for) on background tasks.
    pub fn start(self: &Arc<Self>, tunnel: TcpListener, entries: Vec<(u16, TcpListener)>) {
        tokio::spawn(self.clone().accept_tunnel(tunnel));
        for (port, listener) in entries {
            tokio::spawn(self.clone().accept_entry(port, listener));
        }
    }

    /// Ends the session, telling the client the agent is stopping (waits
    /// briefly for that to be sent).
    pub async fn stop(&self) {
        let live = self.lock().session.take();
        if let Some(mut live) = live {
            let _ = live.control.send(ToClient::Bye {
                reason: ByeReason::Stopping,
            });
            let writer = live.writer.take();
            drop(live);
            if let Some(writer) = writer {
                let _ = tokio::time::timeout(BYE_WITHIN, writer).await;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock; recover anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn accept_tunnel(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of descriptors or reset before accept: wait, don't spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(self.clone().greet(stream, peer));
        }
    }

    async fn accept_entry(self: Arc<Self>, port: u16, listener: TcpListener) {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let hub = self.clone();
            tokio::spawn(async move {
                // Without a data connection the inbound one is dropped: closed.
                if let Some(data) = hub.take().await {
                    let _ = splice::hub_side(stream, data, port).await;
                }
            });
        }
    }

    /// A new connection on the tunnel port: a session or a data connection.
    async fn greet(self: Arc<Self>, mut stream: TcpStream, peer: SocketAddr) {
        let hello = match tokio::time::timeout(GREETING_WITHIN, wire::read_hello(&mut stream)).await
        {
            Ok(Ok(hello)) => hello,
            Ok(Err(wire::FrameError::Closed)) => return,
            Ok(Err(error)) => {
                log(&format!(
                    "closed a connection to the tunnel port from {peer}: {error}"
                ));
                return;
            }
            Err(_) => {
                log(&format!(
                    "closed a connection to the tunnel port from {peer}: no greeting within {}s",
                    GREETING_WITHIN.as_secs()
                ));
                return;
            }
        };
        match hello {
            Hello::Control {
                token: given,
                entry,
                ports,
                holder,
            } => {
                let refusal = if !token::matches(given.as_deref(), self.token.as_deref()) {
                    Some("wrong token (the sandbox's token is in the label dev.sandbox.token of its agent containers)".to_owned())
                } else {
                    self.check(&entry, &ports).err()
                };
                if let Some(reason) = refusal {
                    log(&format!("refused a tunnel session from {peer}: {reason}"));
                    let _ = wire::write_frame(&mut stream, &Welcome::Refused { reason }).await;
                    return;
                }
                self.open(stream, peer, holder).await;
            }
            Hello::Data {
                token: given,
                session,
            } => {
                if !token::matches(given.as_deref(), self.token.as_deref()) {
                    log(&format!(
                        "refused a tunnel data connection from {peer}: wrong token"
                    ));
                    return;
                }
                self.deliver(&session, stream);
            }
        }
    }

    /// Whether a session for `entry` carrying `ports` fits this hub.
    fn check(&self, entry: &str, ports: &[u16]) -> Result<(), String> {
        if entry != self.entry {
            return Err(format!(
                "this tunnel carries `{}`, not `{entry}`",
                self.entry
            ));
        }
        let mut given = ports.to_vec();
        given.sort_unstable();
        given.dedup();
        if given != self.ports {
            return Err(format!(
                "`{}` listens on ports {:?} here, and the session maps {:?}",
                self.entry, self.ports, given
            ));
        }
        Ok(())
    }

    /// Runs an accepted session until its control connection ends.
    async fn open(self: Arc<Self>, stream: TcpStream, peer: SocketAddr, holder: Option<Holder>) {
        let id = token::generate();
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let (read, mut write) = stream.into_split();
        let welcome = Welcome::Accepted {
            session: id.clone(),
        };
        let (control, outbox) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel();
        // The session is in force before the client hears it is accepted:
        // a connection that arrives right after waits for its data
        // connection instead of being closed for want of a session. A
        // welcome that cannot be written ends the control connection, and
        // with it the session.
        let writer = tokio::spawn(async move {
            if wire::write_frame(&mut write, &welcome).await.is_ok() {
                write_control(write, outbox).await;
            }
        });
        let described = describe(holder.as_ref());
        let replaced = {
            let mut state = self.lock();
            let replaced = state.session.take();
            state.holder = holder;
            let mut live = Live {
                generation,
                id,
                peer,
                idle: VecDeque::new(),
                waiters: VecDeque::new(),
                requested: 0,
                control,
                writer: Some(writer),
                _stop: stop,
            };
            live.replenish();
            state.session = Some(live);
            replaced
        };
        if let Some(old) = replaced {
            let _ = old.control.send(ToClient::Bye {
                reason: ByeReason::Replaced,
            });
            log(&format!(
                "the tunnel session of `{}` from {} is replaced by a newer one",
                self.entry, old.peer
            ));
        }
        log(&format!(
            "`{}` on the host is connected through the tunnel from {peer} ({described})",
            self.entry
        ));
        let reason = self.read_control(read, stopped, generation).await;
        self.end(generation, &reason);
    }

    /// Reads control frames until the connection ends; returns why.
    async fn read_control(
        &self,
        mut read: OwnedReadHalf,
        mut stopped: oneshot::Receiver<()>,
        generation: u64,
    ) -> String {
        loop {
            let frame = tokio::select! {
                _ = &mut stopped => return "the session was replaced or stopped".to_owned(),
                frame = tokio::time::timeout(SILENT_AFTER, wire::read_frame::<_, ToHub>(&mut read)) => frame,
            };
            let message = match frame {
                Err(_) => return format!("nothing heard for {}s", SILENT_AFTER.as_secs()),
                Ok(Ok(None)) => return "the CLI closed the connection".to_owned(),
                Ok(Err(error)) => return error.to_string(),
                Ok(Ok(Some(message))) => message,
            };
            match message {
                ToHub::Ping => {}
                ToHub::Holder { holder } => {
                    let described = describe(holder.as_ref());
                    {
                        let mut state = self.lock();
                        if state
                            .session
                            .as_ref()
                            .is_none_or(|live| live.generation != generation)
                        {
                            continue;
                        }
                        state.holder = holder;
                    }
                    log(&format!("`{}` on the host: {described}", self.entry));
                }
                ToHub::Lost { count } => {
                    let mut state = self.lock();
                    if let Some(live) = state
                        .session
                        .as_mut()
                        .filter(|live| live.generation == generation)
                    {
                        live.requested = live.requested.saturating_sub(count as usize);
                        live.replenish();
                    }
                }
            }
        }
    }

    /// Ends session `generation` if it is still the current one.
    fn end(&self, generation: u64, reason: &str) {
        let ended = {
            let mut state = self.lock();
            if state
                .session
                .as_ref()
                .is_some_and(|live| live.generation == generation)
            {
                state.session.take()
            } else {
                None
            }
        };
        if let Some(live) = ended {
            log(&format!(
                "the tunnel session of `{}` from {} ended: {reason}",
                self.entry, live.peer
            ));
        }
    }

    /// A data connection arrived for session `session`: hand it to a waiting
    /// inbound connection, or pool it.
    fn deliver(&self, session: &str, stream: TcpStream) {
        let mut state = self.lock();
        let Some(live) = state.session.as_mut().filter(|live| live.id == session) else {
            // An old session's: dropped.
            return;
        };
        live.requested = live.requested.saturating_sub(1);
        let mut stream = stream;
        while let Some(waiter) = live.waiters.pop_front() {
            match waiter.send(stream) {
                Ok(()) => {
                    live.replenish();
                    return;
                }
                Err(back) => stream = back,
            }
        }
        if live.idle.len() < MAX_IDLE {
            live.idle.push_back(stream);
        }
        live.replenish();
    }

    /// A data connection for an inbound one: from the pool, else the next
    /// to arrive within [`WAIT_FOR_DATA`]; `None` at once without a session.
    async fn take(&self) -> Option<TcpStream> {
        let waiting = {
            let mut state = self.lock();
            let live = state.session.as_mut()?;
            while let Some(stream) = live.idle.pop_front() {
                if is_open(&stream) {
                    live.replenish();
                    return Some(stream);
                }
            }
            let (sender, receiver) = oneshot::channel();
            live.waiters.push_back(sender);
            live.replenish();
            receiver
        };
        match tokio::time::timeout(WAIT_FOR_DATA, waiting).await {
            Ok(Ok(stream)) => Some(stream),
            // Timed out, or the session ended meanwhile.
            _ => None,
        }
    }
}

impl Live {
    /// Asks the client for data connections: [`POOL`] idle ones plus one per
    /// waiting inbound connection, counting those already on their way.
    fn replenish(&mut self) {
        self.waiters.retain(|waiter| !waiter.is_closed());
        let wanted = POOL + self.waiters.len();
        let coming = self.idle.len() + self.requested;
        if wanted > coming && self.requested < MAX_REQUESTED {
            let count = (wanted - coming).min(MAX_REQUESTED - self.requested);
            self.requested += count;
            let _ = self.control.send(ToClient::More {
                count: count as u32,
            });
        }
    }
}

/// Sends control frames (and a ping every [`PING_EVERY`]) until the session
/// drops its sender or says bye; dropping the write half then sends FIN.
async fn write_control(mut write: OwnedWriteHalf, mut outbox: mpsc::UnboundedReceiver<ToClient>) {
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let mut message = tokio::select! {
            message = outbox.recv() => match message {
                Some(message) => message,
                None => break,
            },
            _ = ping.tick() => ToClient::Ping,
        };
        // Under a burst, one `more` for everything asked so far.
        while let ToClient::More { count } = message {
            match outbox.try_recv() {
                Ok(ToClient::More { count: next }) => {
                    message = ToClient::More {
                        count: count.saturating_add(next),
                    };
                }
                Ok(other) => {
                    if wire::write_frame(&mut write, &message).await.is_err() {
                        return;
                    }
                    message = other;
                }
                Err(_) => break,
            }
        }
        let bye = matches!(message, ToClient::Bye { .. });
        if wire::write_frame(&mut write, &message).await.is_err() || bye {
            break;
        }
    }
}

/// Whether an idle data connection is still open: the client never sends
/// on one, so anything readable means it closed.
fn is_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

fn describe(holder: Option<&Holder>) -> String {
    match holder {
        Some(holder) => holder.to_string(),
        None => "no process".to_owned(),
    }
}

/// One line on the agent's stderr (its container's log).
fn log(line: &str) {
    crate::output::eprintln(&format!("agent: {line}"));
}
