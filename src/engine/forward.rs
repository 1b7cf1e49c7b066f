//! Published ports of an engine that does not share this machine's
//! loopback (another host, or another network namespace), made reachable on
//! this machine's 127.0.0.1.
//!
//! One forwarder per sandbox: a detached `sandbox forward --name X` process
//! that watches the sandbox's containers, listens on a 127.0.0.1 port for
//! each port the engine published, and carries each connection through the
//! engine's own API: one long-lived exec in the sandbox's agent container
//! runs `sandbox agent --mux`, and every connection is a stream of frames
//! over that exec's stdin and stdout (see [`crate::agent::pipe`]); the
//! agent connects to the entry inside the sandbox network. So any link that
//! reaches the engine (unix socket, tcp) reaches the sandbox too, and
//! nothing is opened on the remote host.
//!
//! An `ssh://` engine's ports take a faster path: the forwarder keeps an
//! ssh master connection of its own and asks it to forward each port
//! (`-L 127.0.0.1:LOCAL:TARGET`, see [`super::ssh::Master`]), so bytes go
//! through ssh and sshd, not through the engine's exec streams. The target
//! is the container's own address on the sandbox network when the remote
//! host reaches it (a Docker host does: checked once per master against
//! the agent's registry), which leaves out the engine's userland proxy;
//! otherwise (a rootless engine) the port the engine published on the
//! remote host's loopback. A port forwarded before the check passed, or
//! whose container moved to another address, is forwarded again on the
//! same local port. When the master's connection drops, a new one forwards
//! the same local ports again.
//!
//! The forwarder records its pid and its ports (engine port -> local port)
//! in a state file (see [`state_path`]); the engine adapter reads it to
//! give every caller local ports, starts the forwarder when none runs (so
//! `up` and `status` repair a dead one), and `down` stops it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Engine, labels, select};
use crate::agent::pipe;

/// What a forwarder records (version 1).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    pub version: u32,
    pub pid: u32,
    /// Engine port -> 127.0.0.1 port on this machine.
    pub ports: BTreeMap<u16, u16>,
}

/// How often the forwarder looks at the sandbox's containers without
/// being told of a change: it follows the engine's events of the
/// sandbox's containers and looks at once on each, so this only covers
/// events missed while their stream was being made again.
const WATCH_EVERY: Duration = Duration::from_secs(2);
/// How soon a look that failed is tried again.
const RETRY_EVERY: Duration = Duration::from_millis(250);
/// How long a caller waits for the forwarder to listen for a new port.
const PORT_WAIT: Duration = Duration::from_secs(5);
/// How long one look at the engine may take.
const LIST_DEADLINE: Duration = Duration::from_secs(5);
/// A forwarder whose sandbox has had no container this long ends.
const IDLE_END: Duration = Duration::from_secs(20);

/// Where the forwarder of `sandbox` on `target` records its state.
pub fn state_path(target: &select::Target, sandbox: &str) -> PathBuf {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("sandbox-forward");
    let engine = &select::context_digest(&target.host)[..12];
    base.join(format!("{engine}-{sandbox}.json"))
}

/// The recorded state, if a forwarder wrote one.
pub fn read_state(target: &select::Target, sandbox: &str) -> Option<State> {
    let text = std::fs::read_to_string(state_path(target, sandbox)).ok()?;
    serde_json::from_str(&text).ok()
}

fn alive(pid: u32) -> bool {
    pid != 0 && std::path::Path::new(&format!("/proc/{pid}")).exists() && {
        // A zombie (exited, not yet reaped) is not a forwarder.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    }
}

/// The running forwarder's state, if one runs.
pub fn running(target: &select::Target, sandbox: &str) -> Option<State> {
    read_state(target, sandbox).filter(|s| alive(s.pid))
}

/// Whether the engine's published ports are on this machine's loopback:
/// an engine behind a unix socket whose server process shares our network
/// namespace. The peer's namespace is read through the socket's
/// credentials; when it cannot be read the engine is taken as local.
pub async fn is_local(target: &select::Target) -> bool {
    let Some(path) = target.host.strip_prefix("unix://") else {
        return false;
    };
    let Ok(stream) = tokio::net::UnixStream::connect(path).await else {
        return true;
    };
    let Some(pid) = stream.peer_cred().ok().and_then(|c| c.pid()) else {
        return true;
    };
    let ours = std::fs::read_link("/proc/self/ns/net");
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net"));
    match (ours, theirs) {
        (Ok(a), Ok(b)) => a == b,
        _ => true,
    }
}

/// Starts the forwarder of `sandbox` unless one runs.
pub fn ensure(target: &select::Target, sandbox: &str) -> std::io::Result<()> {
    if running(target, sandbox).is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let mut command = std::process::Command::new(exe);
    command
        .args(["forward", "--name", sandbox])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if target.context != "default" {
        command.args(["--context", &target.context]);
    }
    use std::os::unix::process::CommandExt;
    // Its own session: Ctrl-C in the terminal that ran `up` does not end it.
    command.process_group(0);
    let child = command.spawn()?;
    // Record the pid at once so that a second caller does not start another.
    write_state(
        target,
        sandbox,
        &State {
            version: 1,
            pid: child.id(),
            ports: BTreeMap::new(),
        },
    )
}

fn write_state(target: &select::Target, sandbox: &str, state: &State) -> std::io::Result<()> {
    let path = state_path(target, sandbox);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&temporary, serde_json::to_vec(state)?)?;
    std::fs::rename(temporary, path)
}

/// Stops the forwarder of `sandbox`, if one runs, and forgets its state.
pub fn stop(target: &select::Target, sandbox: &str) {
    if let Some(state) = running(target, sandbox) {
        // SAFETY: kill(2) of the pid our own forwarder recorded.
        unsafe {
            libc::kill(state.pid as i32, libc::SIGTERM);
        }
    }
    let _ = std::fs::remove_file(state_path(target, sandbox));
}

/// Removes the recorded state of the forwarder of `sandbox` if it is this
/// process's (a newer forwarder may have replaced it).
pub fn forget(target: &select::Target, sandbox: &str) {
    if read_state(target, sandbox).is_some_and(|s| s.pid == std::process::id()) {
        let _ = std::fs::remove_file(state_path(target, sandbox));
    }
}

/// The local port for engine port `port` of `sandbox`, starting the
/// forwarder when none runs and waiting for it to listen.
pub async fn local_port(target: &select::Target, sandbox: &str, port: u16) -> Option<u16> {
    if ensure(target, sandbox).is_err() {
        return None;
    }
    let deadline = tokio::time::Instant::now() + PORT_WAIT;
    loop {
        if let Some(local) = read_state(target, sandbox).and_then(|s| s.ports.get(&port).copied()) {
            return Some(local);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One published port as the forwarder sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Published {
    engine_port: u16,
    container: String,
    container_port: u16,
}

/// The forwarder itself (`sandbox forward --name X`): runs until the
/// sandbox has had no containers for [`IDLE_END`], or it is killed.
pub async fn serve(engine: Engine, sandbox: String) -> std::io::Result<()> {
    let target = engine.target().clone();
    let remote = match target.host.strip_prefix("ssh://") {
        Some(_) => Some(super::ssh::Remote::parse(&target.host)?),
        None => None,
    };
    let mut master: Option<super::ssh::Master> = None;
    let mut direct = Direct::default();
    let mut listeners: HashMap<Published, (u16, Carrier)> = HashMap::new();
    let mut last_seen = tokio::time::Instant::now();
    let mut written: Option<State> = None;
    let mux = MuxSlot::default();
    let changed = Arc::new(tokio::sync::Notify::new());
    let events = tokio::spawn(follow_events(
        engine.clone(),
        labels::of_sandbox(&sandbox),
        changed.clone(),
    ));
    let _stop_events = AbortOnDrop(events);
    loop {
        // An engine whose link hangs (a host gone away) counts as gone.
        let listed = tokio::time::timeout(
            LIST_DEADLINE,
            engine.containers_with_label_raw(&labels::of_sandbox(&sandbox)),
        )
        .await;
        let containers = match listed {
            Ok(Ok(c)) => c,
            // An engine that stays gone ends the forwarder as an empty
            // sandbox does.
            _ if last_seen.elapsed() > IDLE_END => {
                let _ = std::fs::remove_file(state_path(&target, &sandbox));
                return Ok(());
            }
            _ => {
                tokio::time::sleep(RETRY_EVERY).await;
                continue;
            }
        };
        if !containers.is_empty() {
            last_seen = tokio::time::Instant::now();
        } else if last_seen.elapsed() > IDLE_END {
            let _ = std::fs::remove_file(state_path(&target, &sandbox));
            return Ok(());
        }
        let addresses: HashMap<&str, &str> = containers
            .iter()
            .filter(|c| c.is_running())
            .filter_map(|c| Some((c.name.as_str(), c.address.as_deref()?)))
            .collect();
        let wanted: Vec<Published> = containers
            .iter()
            .flat_map(|c| {
                c.published.iter().map(|(cp, ep)| Published {
                    engine_port: *ep,
                    container: c.name.clone(),
                    container_port: *cp,
                })
            })
            .collect();
        let gone: Vec<Published> = listeners
            .keys()
            .filter(|p| !wanted.contains(p))
            .cloned()
            .collect();
        for p in gone {
            if let Some((local, carrier)) = listeners.remove(&p) {
                match carrier {
                    Carrier::Exec(task) => task.abort(),
                    Carrier::Ssh(target) => {
                        if let Some(m) = &master {
                            let _ = m.cancel(local, &target).await;
                        }
                    }
                }
            }
        }
        // A master whose connection dropped is replaced, and the new one
        // forwards the same local ports.
        if let Some(remote) = &remote {
            if !wanted.is_empty() && !master.as_ref().is_some_and(|m| m.alive()) {
                master = super::ssh::Master::start(remote).await.ok();
                direct = Direct::default();
                if let Some(m) = &master {
                    for (local, carrier) in listeners.values() {
                        if let Carrier::Ssh(target) = carrier {
                            let _ = m.forward(*local, target).await;
                        }
                    }
                }
            }
            if let Some(m) = &master {
                let agent = containers
                    .iter()
                    .find(|c| c.is_running() && c.is_agent())
                    .and_then(|c| c.address.as_deref());
                if let Some(agent) = agent {
                    direct.check(m, agent).await;
                }
            }
        }
        let ssh_target = |p: &Published| match addresses.get(p.container.as_str()) {
            Some(address) if direct.reached == Some(true) => {
                format!("{address}:{}", p.container_port)
            }
            _ => format!("127.0.0.1:{}", p.engine_port),
        };
        // A forward whose target moved (a container made again, or its
        // address now reachable) is made again on the same local port.
        if let Some(m) = &master {
            for (p, (local, carrier)) in listeners.iter_mut() {
                let Carrier::Ssh(target) = carrier else {
                    continue;
                };
                let wanted_target = ssh_target(p);
                if !wanted.contains(p) || *target == wanted_target {
                    continue;
                }
                let _ = m.cancel(*local, target).await;
                if m.forward(*local, &wanted_target).await.is_ok() {
                    *target = wanted_target;
                } else {
                    let _ = m.forward(*local, target).await;
                }
            }
        }
        for p in wanted {
            if listeners.contains_key(&p) {
                continue;
            }
            if let Some(m) = &master {
                let target = ssh_target(&p);
                if let Some(local) = forward_over_ssh(m, &target).await {
                    listeners.insert(p, (local, Carrier::Ssh(target)));
                    continue;
                }
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let local = listener.local_addr()?.port();
            let engine = engine.clone();
            let sandbox = sandbox.clone();
            let p2 = p.clone();
            let mux = mux.clone();
            let task = tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let engine = engine.clone();
                    let sandbox = sandbox.clone();
                    let p = p2.clone();
                    let mux = mux.clone();
                    tokio::spawn(async move {
                        let _ = carry(&engine, &sandbox, &mux, &p, stream).await;
                    });
                }
            });
            listeners.insert(p, (local, Carrier::Exec(task)));
        }
        let state = State {
            version: 1,
            pid: std::process::id(),
            ports: listeners
                .iter()
                .map(|(p, (local, _))| (p.engine_port, *local))
                .collect(),
        };
        if written.as_ref() != Some(&state) {
            write_state(&target, &sandbox, &state)?;
            written = Some(state);
        }
        tokio::select! {
            _ = changed.notified() => {}
            _ = tokio::time::sleep(WATCH_EVERY) => {}
        }
    }
}

/// Notifies `changed` on every event of the containers labelled `label`,
/// following the engine's event stream again whenever it ends.
async fn follow_events(engine: Engine, label: String, changed: Arc<tokio::sync::Notify>) {
    loop {
        let mut events = std::pin::pin!(engine.container_events(&label));
        // A new stream may have missed events: look once more.
        changed.notify_one();
        while let Some(Ok(())) = events.next().await {
            changed.notify_one();
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What carries the connections of one forwarded port.
enum Carrier {
    /// A listener here whose connections go through execs in the agent.
    Exec(tokio::task::JoinHandle<()>),
    /// The ssh master's own listener (`-L`) to this target (`HOST:PORT`).
    Ssh(String),
}

/// Whether an ssh master's remote host reaches the sandbox's containers at
/// their own addresses; unknown until its agent answered through one, and
/// asked again (at most [`Direct::TRIES`] times, a second apart) while the
/// agent may still be starting.
#[derive(Default)]
struct Direct {
    reached: Option<bool>,
    tries: u32,
    last: Option<tokio::time::Instant>,
}

impl Direct {
    const TRIES: u32 = 10;
    const DEADLINE: Duration = Duration::from_secs(2);

    async fn check(&mut self, master: &super::ssh::Master, agent: &str) {
        if self.reached.is_some()
            || self
                .last
                .is_some_and(|l| l.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.last = Some(tokio::time::Instant::now());
        self.tries += 1;
        let target = format!("{agent}:{}", crate::agent::config::REGISTRY_PORT);
        if master.reaches_http(&target, Self::DEADLINE).await {
            self.reached = Some(true);
        } else if self.tries >= Self::TRIES {
            self.reached = Some(false);
        }
    }
}

/// Forwards a free local port to `target` as the remote host reaches it,
/// through `master`; the local port, or None when ssh would not.
async fn forward_over_ssh(master: &super::ssh::Master, target: &str) -> Option<u16> {
    // A port is free when the kernel hands it out; another process could
    // take it before ssh binds it, so a few are tried.
    for _ in 0..3 {
        let local = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        if master.forward(local, target).await.is_ok() {
            return Some(local);
        }
    }
    None
}

/// Connections carried over one exec of `sandbox agent --mux` in the
/// sandbox's agent container (see [`crate::agent::pipe`]): the exec is
/// made once, not per connection, and the frames of all connections share
/// its streams.
struct Mux {
    out: mpsc::Sender<pipe::Frame>,
    streams: pipe::Streams,
    next: AtomicU32,
}

/// The forwarder's multiplexed exec, made when first needed and again when
/// it ended.
#[derive(Clone, Default)]
struct MuxSlot(Arc<tokio::sync::Mutex<Option<Arc<Mux>>>>);

impl MuxSlot {
    async fn get(&self, engine: &Engine, sandbox: &str) -> Result<Arc<Mux>, String> {
        let mut slot = self.0.lock().await;
        if let Some(mux) = slot.as_ref().filter(|m| !m.out.is_closed()) {
            return Ok(mux.clone());
        }
        let mux = Arc::new(Mux::start(engine, sandbox).await?);
        *slot = Some(mux.clone());
        Ok(mux)
    }
}

impl Mux {
    async fn start(engine: &Engine, sandbox: &str) -> Result<Mux, String> {
        let containers = engine
            .containers_with_label_raw(&labels::of_sandbox(sandbox))
            .await
            .map_err(|e| e.to_string())?;
        let agent = containers
            .iter()
            .filter(|c| c.is_running() && c.is_agent())
            .map(|c| c.name.clone())
            .next()
            .ok_or("no agent container runs")?;
        let command = vec![
            crate::plan::AGENT_BINARY.to_owned(),
            "agent".into(),
            "--mux".into(),
        ];
        let (mut output, input) = engine
            .exec_pipe(&agent, &command)
            .await
            .map_err(|e| e.to_string())?;
        let (out, frames) = mpsc::channel::<pipe::Frame>(1024);
        let writer = tokio::spawn(pipe::write_frames(frames, input));
        let streams: pipe::Streams = Arc::default();
        let delivered = streams.clone();
        tokio::spawn(async move {
            let mut buffer = bytes::BytesMut::new();
            'chunks: while let Some(Ok(chunk)) = output.next().await {
                let bollard::container::LogOutput::StdOut { message } = chunk else {
                    continue;
                };
                buffer.extend_from_slice(&message);
                loop {
                    match pipe::Frame::decode(&mut buffer) {
                        Ok(Some(frame)) => {
                            pipe::deliver(&delivered, frame).await;
                        }
                        Ok(None) => break,
                        Err(_) => break 'chunks,
                    }
                }
            }
            // The exec ended: its connections end, and the next one makes
            // a new exec.
            writer.abort();
            delivered.lock().unwrap_or_else(|e| e.into_inner()).clear();
        });
        Ok(Mux {
            out,
            streams,
            next: AtomicU32::new(1),
        })
    }
}

/// Carries one connection to `p` as a stream of the forwarder's
/// multiplexed exec.
async fn carry(
    engine: &Engine,
    sandbox: &str,
    slot: &MuxSlot,
    p: &Published,
    stream: tokio::net::TcpStream,
) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let mux = slot.get(engine, sandbox).await?;
    let id = mux.next.fetch_add(1, Ordering::Relaxed);
    let (sender, incoming) = mpsc::channel(pipe::STREAM_QUEUE);
    mux.streams
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, sender);
    let address = format!("{}:{}", p.container, p.container_port);
    let open = pipe::Frame::new(id, pipe::Kind::Open, address.into_bytes());
    if mux.out.send(open).await.is_err() {
        return Err("the multiplexed exec ended".into());
    }
    pipe::carry(id, stream, incoming, mux.out.clone()).await;
    mux.streams
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    Ok(())
}
