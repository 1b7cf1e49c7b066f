//! The CLI's end of the tunnel: a [`Session`] connects out to the hub's
//! tunnel port and carries every connection the hub hands over to
//! `127.0.0.1:<host port>` (see the protocol in [`super`]).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, watch};

use super::wire::{self, ByeReason, CONNECT, Hello, ToClient, ToHub, Welcome};
use super::{Ended, GREETING_WITHIN, Holder, PING_EVERY, SILENT_AFTER, TunnelError, splice};

/// Data connections opened at once for one `more`, at most.
const MAX_MORE: u32 = 512;

/// A connected session; dropping it (or [`Session::close`]) ends it and
/// every connection it carries.
pub struct Session {
    id: String,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
}

/// Counts of what a session carried, for messages such as "nothing listens
/// on 127.0.0.1:8080 yet".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections carried to the host process so far.
    pub carried: u64,
    /// Connections the host port refused (nothing listened).
    pub refused: u64,
    /// Connections being carried now.
    pub active: usize,
}

struct Shared {
    tunnel: SocketAddr,
    token: String,
    session: String,
    /// Entry port -> port on 127.0.0.1.
    ports: HashMap<u16, u16>,
    ended: watch::Sender<Option<Ended>>,
    carried: AtomicU64,
    refused: AtomicU64,
    active: AtomicUsize,
}

enum Command {
    Holder(Option<Holder>, oneshot::Sender<std::io::Result<()>>),
    Lost(u32),
}

impl Session {
    /// Opens a session with the hub at `tunnel` for `entry`, carrying each
    /// `(entry port, host port)` of `ports` to `127.0.0.1:<host port>`, and
    /// reports `holder` as the process on the host (`None`: none yet).
    pub async fn connect(
        tunnel: SocketAddr,
        token: &str,
        entry: &str,
        ports: Vec<(u16, u16)>,
        holder: Option<Holder>,
    ) -> Result<Session, TunnelError> {
        let mut map = HashMap::new();
        for (listen, host) in &ports {
            if map.insert(*listen, *host).is_some() {
                return Err(TunnelError::Ports(format!(
                    "entry port {listen} is mapped twice"
                )));
            }
        }
        if map.is_empty() {
            return Err(TunnelError::Ports(format!(
                "`{entry}` has no port to carry"
            )));
        }
        let greeted = tokio::time::timeout(GREETING_WITHIN, async {
            let mut stream =
                TcpStream::connect(tunnel)
                    .await
                    .map_err(|source| TunnelError::Connect {
                        address: tunnel,
                        source,
                    })?;
            let _ = stream.set_nodelay(true);
            let hello = Hello::Control {
                token: Some(token.to_owned()),
                entry: entry.to_owned(),
                ports: ports.iter().map(|(listen, _)| *listen).collect(),
                holder,
            };
            let protocol = |detail: String| TunnelError::Protocol {
                address: tunnel,
                detail,
            };
            wire::write_hello(&mut stream, &hello)
                .await
                .map_err(|e| protocol(format!("cannot send the greeting: {e}")))?;
            match wire::read_frame::<_, Welcome>(&mut stream).await {
                Ok(Some(Welcome::Accepted { session })) => Ok((stream, session)),
                Ok(Some(Welcome::Refused { reason })) => Err(TunnelError::Refused {
                    address: tunnel,
                    reason,
                }),
                Ok(None) => Err(protocol(
                    "it closed the connection without answering".into(),
                )),
                Err(error) => Err(protocol(error.to_string())),
            }
        })
        .await;
        let (stream, session) = match greeted {
            Ok(result) => result?,
            Err(_) => return Err(TunnelError::TimedOut { address: tunnel }),
        };
        let shared = Arc::new(Shared {
            tunnel,
            token: token.to_owned(),
            session: session.clone(),
            ports: map,
            ended: watch::Sender::new(None),
            carried: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            active: AtomicUsize::new(0),
        });
        let (commands, inbox) = mpsc::unbounded_channel();
        let (read, write) = stream.into_split();
        tokio::spawn(read_control(shared.clone(), read, commands.clone()));
        tokio::spawn(write_control(shared.clone(), write, inbox));
        Ok(Session {
            id: session,
            shared,
            commands,
        })
    }

    /// The session's id, as the hub named it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reports the process on the host (`None`: none runs now). Returns once
    /// the report is written to the connection; the hub keeps it even if
    /// this process dies right after.
    pub async fn set_holder(&self, holder: Option<Holder>) -> Result<(), TunnelError> {
        let (done, written) = oneshot::channel();
        if self.commands.send(Command::Holder(holder, done)).is_err() {
            return Err(TunnelError::Ended(self.shared.reason()));
        }
        match written.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(TunnelError::Ended(Ended::Failed(error.to_string()))),
            Err(_) => Err(TunnelError::Ended(self.shared.reason())),
        }
    }

    /// Resolves when the session ends, with why.
    pub async fn closed(&self) -> Ended {
        self.shared.wait_ended().await
    }

    /// Why the session ended, if it has.
    pub fn ended(&self) -> Option<Ended> {
        self.shared.ended.borrow().clone()
    }

    pub fn stats(&self) -> Stats {
        Stats {
            carried: self.shared.carried.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
            active: self.shared.active.load(Ordering::Relaxed),
        }
    }

    /// Ends the session and every connection it carries.
    pub fn close(self) {}
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.end(Ended::Closed);
    }
}

impl Shared {
    /// Ends the session (the first reason stays).
    fn end(&self, why: Ended) {
        self.ended.send_if_modified(|ended| {
            if ended.is_none() {
                *ended = Some(why);
                true
            } else {
                false
            }
        });
    }

    fn reason(&self) -> Ended {
        self.ended.borrow().clone().unwrap_or(Ended::Closed)
    }

    async fn wait_ended(&self) -> Ended {
        let mut ended = self.ended.subscribe();
        let reason = match ended.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone(),
            Err(_) => None,
        };
        reason.unwrap_or(Ended::Closed)
    }
}

async fn read_control(
    shared: Arc<Shared>,
    mut read: OwnedReadHalf,
    commands: mpsc::UnboundedSender<Command>,
) {
    loop {
        let frame = tokio::select! {
            _ = shared.wait_ended() => return,
            frame = tokio::time::timeout(SILENT_AFTER, wire::read_frame::<_, ToClient>(&mut read)) => frame,
        };
        let message = match frame {
            Err(_) => return shared.end(Ended::Silent),
            Ok(Ok(None)) => return shared.end(Ended::Disconnected),
            Ok(Err(error)) => return shared.end(Ended::Failed(error.to_string())),
            Ok(Ok(Some(message))) => message,
        };
        match message {
            ToClient::Ping => {}
            ToClient::More { count } => {
                for _ in 0..count.min(MAX_MORE) {
                    tokio::spawn(data(shared.clone(), commands.clone()));
                }
            }
            ToClient::Bye { reason } => {
                return shared.end(match reason {
                    ByeReason::Replaced => Ended::Replaced,
                    ByeReason::Stopping => Ended::AgentStopped,
                });
            }
        }
    }
}

async fn write_control(
    shared: Arc<Shared>,
    mut write: OwnedWriteHalf,
    mut inbox: mpsc::UnboundedReceiver<Command>,
) {
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let message = tokio::select! {
            _ = shared.wait_ended() => return,
            command = inbox.recv() => match command {
                None => return,
                Some(Command::Lost(count)) => ToHub::Lost { count },
                Some(Command::Holder(holder, done)) => {
                    let written = wire::write_frame(&mut write, &ToHub::Holder { holder }).await;
                    let failed = written.as_ref().err().map(ToString::to_string);
                    let _ = done.send(written);
                    if let Some(error) = failed {
                        return shared.end(Ended::Failed(error));
                    }
                    continue;
                }
            },
            _ = ping.tick() => ToHub::Ping,
        };
        if let Err(error) = wire::write_frame(&mut write, &message).await {
            return shared.end(Ended::Failed(error.to_string()));
        }
    }
}

/// One data connection: opened, pooled at the hub until it hands over an
/// inbound connection, then carried to the host port.
async fn data(shared: Arc<Shared>, commands: mpsc::UnboundedSender<Command>) {
    let work = async {
        let opened = tokio::time::timeout(GREETING_WITHIN, async {
            let mut stream = TcpStream::connect(shared.tunnel).await?;
            let _ = stream.set_nodelay(true);
            let hello = Hello::Data {
                token: Some(shared.token.clone()),
                session: shared.session.clone(),
            };
            wire::write_hello(&mut stream, &hello).await?;
            Ok::<_, std::io::Error>(stream)
        })
        .await;
        let Ok(Ok(mut stream)) = opened else {
            let _ = commands.send(Command::Lost(1));
            return;
        };
        let mut header = [0u8; 3];
        if stream.read_exact(&mut header).await.is_err() || header[0] != CONNECT {
            // The hub dropped it (its session ended).
            return;
        }
        let port = u16::from_be_bytes([header[1], header[2]]);
        let Some(&host_port) = shared.ports.get(&port) else {
            return;
        };
        let host = tokio::time::timeout(
            GREETING_WITHIN,
            TcpStream::connect((Ipv4Addr::LOCALHOST, host_port)),
        )
        .await;
        let Ok(Ok(host)) = host else {
            // Dropping `stream` tells the hub: it closes the inbound connection.
            shared.refused.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let _ = host.set_nodelay(true);
        shared.carried.fetch_add(1, Ordering::Relaxed);
        shared.active.fetch_add(1, Ordering::Relaxed);
        let _active = Active(&shared);
        let _ = splice::client_side(stream, host).await;
    };
    tokio::select! {
        _ = shared.wait_ended() => {}
        () = work => {}
    }
}

/// Counts a carried connection as active while it lives.
struct Active<'a>(&'a Shared);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}
