//! The foreground of `sandbox up --host`: for each entry run on the host,
//! open the tunnel to its forwarder, start its command (or wait for the
//! user to start it), wait for its health check, tell the registry, and
//! supervise it until Ctrl-C, restarting it on request (`up --watch`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use tokio::sync::{mpsc, oneshot};

use super::process::{self, HostProcess, Launch, Sink};
use crate::health::{self, ProbeSpec};
use crate::manifest::{Loaded, ProbeKind};
use crate::runner::status::StatusDoc;

/// How long one health probe of a host process may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Time between health probes while a host process starts.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// One entry to run on the host, as the manifest and the running sandbox
/// say.
#[derive(Debug, Clone)]
pub struct HostEntry {
    pub entry: String,
    /// What to start; `None`: the user starts it (from an IDE).
    pub launch: Option<Launch>,
    /// Where the process listens on 127.0.0.1, by port name.
    pub ports: IndexMap<String, u16>,
    /// Each port in the network and the port on 127.0.0.1 it is carried to.
    pub forward: Vec<(u16, u16)>,
    /// Its health check, made from the host.
    pub probe: ProbeSpec,
    /// How long a started command may take to pass it.
    pub timeout: Duration,
}

/// Why an entry cannot run on the host.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

/// The entries of `names` as they run on the host, with the environment
/// the running sandbox (`doc`) gives them.
pub fn prepare(
    loaded: &Loaded,
    doc: &StatusDoc,
    names: &[String],
    default_timeout: Duration,
) -> Result<Vec<HostEntry>, HostError> {
    let mut prepared = Vec::new();
    for name in names {
        let container = if *name == loaded.entries.service.name {
            &loaded.entries.service.container
        } else {
            loaded
                .entries
                .dependencies
                .get(name)
                .and_then(|d| d.source.container())
                .ok_or_else(|| HostError(format!("`{name}` cannot run on the host")))?
        };
        let ports = crate::plan::host_ports(container);
        let first = *ports
            .values()
            .next()
            .ok_or_else(|| HostError(format!("`{name}` declares no port")))?;
        let port_of = |port_name: Option<&str>| {
            port_name
                .and_then(|n| ports.get(n).copied())
                .unwrap_or(first)
        };
        let health = container.health.as_ref();
        let probe = match health.and_then(|h| h.probe()) {
            Some(ProbeKind::Http(path)) => ProbeSpec::Http {
                host: "127.0.0.1".into(),
                port: port_of(health.and_then(|h| h.port.as_deref())),
                path,
                status: health.and_then(|h| h.status),
                contains: health.and_then(|h| h.contains.clone()),
            },
            Some(ProbeKind::Tcp(port_name)) => ProbeSpec::Tcp {
                host: "127.0.0.1".into(),
                port: port_of(Some(&port_name)),
            },
            // An exec check runs in the entry's container; on the host,
            // its first port answering is the check.
            Some(ProbeKind::Exec(_)) | None => ProbeSpec::Tcp {
                host: "127.0.0.1".into(),
                port: first,
            },
        };
        let host = container.host.clone().unwrap_or_default();
        let launch = match host.command {
            Some(command) => Some(Launch {
                entry: name.clone(),
                command,
                dir: host
                    .dir
                    .as_deref()
                    .map(|d| loaded.path(d))
                    .unwrap_or_else(|| loaded.dir.clone()),
                env: super::env::host_env(loaded, name, doc)
                    .map_err(|e| HostError(e.to_string()))?,
            }),
            None => None,
        };
        prepared.push(HostEntry {
            entry: name.clone(),
            launch,
            forward: crate::plan::host_forward(container)
                .into_iter()
                .map(|p| (p.listen, p.host))
                .collect(),
            ports,
            probe,
            timeout: health
                .and_then(|h| h.timeout.map(|t| t.0))
                .unwrap_or(default_timeout),
        });
    }
    Ok(prepared)
}

/// Something that happened to a host entry.
#[derive(Debug)]
pub enum HostEvent {
    /// The user is to start the process; it is awaited on `port`.
    Waiting { entry: String, port: u16 },
    /// The process passed its health check this long after it started.
    Healthy { entry: String, after: Duration },
    /// The process could not be started or did not become healthy.
    Failed {
        entry: String,
        message: String,
        last_lines: Vec<String>,
    },
    /// The process ended by itself.
    Exited {
        entry: String,
        how: String,
        last_lines: Vec<String>,
    },
    /// The link to the forwarder ended (the sandbox was taken down).
    Disconnected { entry: String, reason: String },
}

enum Order {
    Restart(oneshot::Sender<Result<Duration, String>>),
    Stop(oneshot::Sender<()>),
}

/// The host entries of one `up --host`, each supervised by a task of its
/// own: what happens to them arrives on `events`; `control` restarts and
/// stops them.
pub struct Supervisor {
    pub control: Control,
    pub events: mpsc::UnboundedReceiver<HostEvent>,
}

/// Restarts and stops the processes of a [`Supervisor`]; cheap to clone.
#[derive(Clone)]
pub struct Control {
    orders: Arc<HashMap<String, mpsc::Sender<Order>>>,
    /// The entries whose command this supervisor starts (the others are
    /// started by hand, from an IDE).
    started_here: Arc<Vec<String>>,
}

/// How a host entry reaches its forwarder.
pub struct Link {
    /// The forwarder's tunnel port.
    pub tunnel: std::net::SocketAddr,
    pub token: Option<String>,
}

impl Supervisor {
    /// Opens every entry's tunnel, then starts each (or waits for it).
    pub async fn start(
        entries: Vec<(HostEntry, Link)>,
        sink: Sink,
    ) -> Result<Supervisor, HostError> {
        let (events_to, events) = mpsc::unbounded_channel();
        let mut orders = HashMap::new();
        let mut started_here = Vec::new();
        for (entry, link) in entries {
            let session = super::link::open(&link, &entry)
                .await
                .map_err(|e| HostError(format!("{}: {e}", entry.entry)))?;
            let (order_to, order_from) = mpsc::channel(4);
            orders.insert(entry.entry.clone(), order_to);
            if entry.launch.is_some() {
                started_here.push(entry.entry.clone());
            }
            // The registry probes every 2 s: its requests in the process's
            // access log are left out, as `up` leaves them out of logs.
            let sink = match crate::runner::probe_request(Some(&entry.probe)) {
                Some((method, path)) => {
                    let inner = sink.clone();
                    Arc::new(move |line: &str| {
                        if !crate::runner::is_probe_line(line, &method, &path) {
                            inner(line);
                        }
                    }) as Sink
                }
                None => sink.clone(),
            };
            tokio::spawn(supervise(
                entry,
                session,
                order_from,
                events_to.clone(),
                sink,
            ));
        }
        Ok(Supervisor {
            control: Control {
                orders: Arc::new(orders),
                started_here: Arc::new(started_here),
            },
            events,
        })
    }
}

impl Control {
    /// The entries supervised.
    pub fn entries(&self) -> Vec<String> {
        self.orders.keys().cloned().collect()
    }

    /// Restarts `entry`'s command; resolves once it is healthy again, with
    /// how long that took.
    pub async fn restart(&self, entry: &str) -> Result<Duration, String> {
        let orders = self
            .orders
            .get(entry)
            .ok_or_else(|| format!("`{entry}` does not run on the host"))?;
        if !self.started_here.iter().any(|e| e == entry) {
            return Err(format!(
                "`{entry}` was started by hand (it has no `host.command`); restart it where it runs"
            ));
        }
        let (reply, answer) = oneshot::channel();
        orders
            .send(Order::Restart(reply))
            .await
            .map_err(|_| format!("`{entry}` is no longer supervised"))?;
        answer
            .await
            .map_err(|_| format!("`{entry}` is no longer supervised"))?
    }

    /// Stops every process started here.
    pub async fn stop(&self) {
        let mut waits = Vec::new();
        for orders in self.orders.values() {
            let (reply, answer) = oneshot::channel();
            if orders.send(Order::Stop(reply)).await.is_ok() {
                waits.push(answer);
            }
        }
        for wait in waits {
            let _ = wait.await;
        }
    }
}

impl crate::watch::HostControl for Control {
    fn entries(&self) -> Vec<String> {
        Control::entries(self)
    }

    fn restart<'a>(
        &'a self,
        entry: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move { Control::restart(self, entry).await.map(drop) })
    }
}

/// One host entry's life: start, await health, watch for its end, obey
/// orders.
async fn supervise(
    entry: HostEntry,
    mut session: super::link::Session,
    mut orders: mpsc::Receiver<Order>,
    events: mpsc::UnboundedSender<HostEvent>,
    sink: Sink,
) {
    let name = entry.entry.clone();
    let prefix = format!("{name} | ");
    let mut running: Option<HostProcess> = None;
    let mut pending_reply: Option<oneshot::Sender<Result<Duration, String>>> = None;
    let mut start_now = true;
    loop {
        if start_now {
            start_now = false;
            let started = Instant::now();
            let result = match start(&entry, &mut session, &prefix, &sink, &events).await {
                Err(message) => {
                    let _ = events.send(HostEvent::Failed {
                        entry: name.clone(),
                        message: message.clone(),
                        last_lines: Vec::new(),
                    });
                    Err(message)
                }
                Ok(process) => {
                    running = process;
                    // Health is awaited while orders and the link are watched.
                    let healthy = tokio::select! {
                        result = await_health(&entry, running.as_mut()) => result,
                        reason = session.closed() => {
                            let _ = events.send(HostEvent::Disconnected { entry: name.clone(), reason });
                            stop_process(&mut running).await;
                            return;
                        }
                        order = orders.recv() => {
                            // A stop or a restart while starting: stop first.
                            stop_process(&mut running).await;
                            if let Some(reply) = pending_reply.take() {
                                let _ = reply.send(Err("restarted again".into()));
                            }
                            match order {
                                Some(Order::Restart(reply)) => {
                                    pending_reply = Some(reply);
                                    start_now = true;
                                    continue;
                                }
                                Some(Order::Stop(done)) => {
                                    session.set_holder(None).await;
                                    let _ = done.send(());
                                }
                                None => {}
                            }
                            return;
                        }
                    };
                    match healthy {
                        Ok(()) => {
                            let after = started.elapsed();
                            let _ = events.send(HostEvent::Healthy {
                                entry: name.clone(),
                                after,
                            });
                            Ok(after)
                        }
                        Err(message) => {
                            let last_lines =
                                running.as_ref().map(|p| p.last_lines()).unwrap_or_default();
                            stop_process(&mut running).await;
                            session.set_holder(None).await;
                            let _ = events.send(HostEvent::Failed {
                                entry: name.clone(),
                                message: message.clone(),
                                last_lines,
                            });
                            Err(message)
                        }
                    }
                }
            };
            if let Some(reply) = pending_reply.take() {
                let _ = reply.send(result);
            }
        }
        let exited = async {
            match running.as_mut() {
                Some(process) => process.wait().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            status = exited => {
                let last_lines = running.as_ref().map(|p| p.last_lines()).unwrap_or_default();
                running = None;
                session.set_holder(None).await;
                let _ = events.send(HostEvent::Exited {
                    entry: name.clone(),
                    how: process::describe_exit(status),
                    last_lines,
                });
            }
            reason = session.closed() => {
                stop_process(&mut running).await;
                let _ = events.send(HostEvent::Disconnected { entry: name.clone(), reason });
                return;
            }
            order = orders.recv() => match order {
                Some(Order::Restart(reply)) => {
                    stop_process(&mut running).await;
                    pending_reply = Some(reply);
                    start_now = true;
                }
                Some(Order::Stop(done)) => {
                    stop_process(&mut running).await;
                    session.set_holder(None).await;
                    let _ = done.send(());
                    return;
                }
                None => {
                    stop_process(&mut running).await;
                    return;
                }
            },
        }
    }
}

/// Starts `entry`'s command, or tells that the user is to start it.
async fn start(
    entry: &HostEntry,
    session: &mut super::link::Session,
    prefix: &str,
    sink: &Sink,
    events: &mpsc::UnboundedSender<HostEvent>,
) -> Result<Option<HostProcess>, String> {
    let port = entry.ports.values().next().copied().unwrap_or_default();
    let Some(launch) = &entry.launch else {
        let _ = events.send(HostEvent::Waiting {
            entry: entry.entry.clone(),
            port,
        });
        return Ok(None);
    };
    for port in entry.ports.values() {
        if super::port::is_taken(*port) {
            return Err(format!(
                "{}; stop it, or set `host.port` of `{}` to a free port",
                super::port::describe_taken(*port),
                entry.entry
            ));
        }
    }
    let process =
        HostProcess::spawn(launch, prefix.to_owned(), sink.clone()).map_err(|e| e.to_string())?;
    session
        .set_holder(Some(holder_of(&entry.entry, process.pid())))
        .await;
    Ok(Some(process))
}

/// The record of a process that `sandbox down` can find and stop.
pub fn holder_of(entry: &str, pid: u32) -> super::link::Holder {
    super::link::Holder::of_process(pid, entry)
}

/// Waits until `entry`'s health check passes. A process started here must
/// pass it within the entry's timeout and before it exits; one the user
/// starts is waited for as long as it takes.
async fn await_health(entry: &HostEntry, process: Option<&mut HostProcess>) -> Result<(), String> {
    let deadline = process.as_ref().map(|_| Instant::now() + entry.timeout);
    let probing = async {
        loop {
            let last = match health::probe(&entry.probe, PROBE_TIMEOUT).await {
                Ok(()) => return Ok(()),
                Err(reason) => reason,
            };
            if deadline.is_some_and(|d| Instant::now() + PROBE_INTERVAL >= d) {
                return Err(format!(
                    "did not pass its health check within {}s: {last}",
                    entry.timeout.as_secs()
                ));
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    };
    match process {
        None => probing.await,
        Some(process) => tokio::select! {
            result = probing => result,
            status = process.wait() => Err(format!(
                "`{}` {} before it passed its health check",
                entry.launch.as_ref().map(|l| l.command.join(" ")).unwrap_or_default(),
                process::describe_exit(status)
            )),
        },
    }
}

async fn stop_process(running: &mut Option<HostProcess>) {
    if let Some(mut process) = running.take() {
        process.stop(process::STOP_GRACE).await;
    }
}

/// The sink that prints host process output: to stdout, or to stderr when
/// stdout carries a JSON document.
pub fn output_sink(to_stderr: bool) -> Sink {
    Arc::new(move |line: &str| {
        if to_stderr {
            crate::output::eprintln(line);
        } else {
            let _ = crate::output::println(line);
        }
    })
}
