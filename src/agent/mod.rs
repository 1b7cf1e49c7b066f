//! The agent: the `sandbox` binary running inside a container of the
//! sandbox, serving stub, replay and record dependencies, proxies with limits
//! and faults, the call journal, and (through `registry`) the registry.
//!
//! Start-up binds every port first (control API, registry, each dependency's
//! shared and private ports, proxy ports, and for an entry run on the host
//! its ports and the tunnel port) and only then reports ready on
//! `GET /_sandbox/ready`. SIGTERM or SIGINT flushes recordings and returns.
//! Requests that change state need the sandbox's token (see
//! [`crate::registry::token`]).

pub mod admin;
pub mod body;
pub mod callers;
pub mod client;
pub mod config;
pub mod faults;
pub mod grpc;
pub mod journal;
pub mod limits;
pub mod live;
pub mod logs;
pub mod pipe;
pub mod record;
pub mod replay;
pub mod serve;
pub mod stub;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use self::config::{AgentConfig, CONFIG_VERSION};
use self::serve::{Agent, Listener, PortWorker};
use crate::{Error, Result};

/// Runs the agent with the configuration at `path` until SIGTERM.
pub async fn run(path: &Path) -> Result<()> {
    // Signals first: a SIGTERM that arrives while binding must still flush.
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| Error::io("cannot watch SIGTERM", e))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| Error::io("cannot watch SIGINT", e))?;

    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(
            format!("cannot read the agent configuration {}", path.display()),
            e,
        )
    })?;
    let config: AgentConfig = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "the agent configuration {} is not valid: {e}",
            path.display()
        ))
    })?;
    if config.version != CONFIG_VERSION {
        return Err(Error::Usage(format!(
            "the agent configuration has version {}; this agent reads version {CONFIG_VERSION}",
            config.version
        )));
    }
    let (agent, listeners) = Agent::build(&config).map_err(Error::Failed)?;

    let admin = bind(&config, config.admin_port).await?;
    let registry = match &config.registry {
        Some(registry) => Some((registry.clone(), bind(&config, config.registry_port).await?)),
        None => None,
    };
    let mut sockets = Vec::new();
    for (port, listener) in listeners {
        let address = SocketAddr::new(config.listen, port);
        let socket = std::net::TcpListener::bind(address)
            .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
            .map_err(|e| Error::io(format!("cannot listen on {address}"), e))?;
        sockets.push((socket, listener));
    }
    // An agent that serves no dependency (one standing for an entry run on
    // the host) needs no serving threads.
    if !sockets.is_empty() {
        start_serving_threads(threads(&config), sockets).await?;
    }
    // An entry run on the host: its ports and the tunnel, bound before ready.
    if let (Some(host), Some(hub)) = (&config.host, &agent.tunnel) {
        let tunnel = bind(&config, host.tunnel_port).await?;
        let mut entries = Vec::new();
        for port in &host.ports {
            entries.push((port.listen, bind(&config, port.listen).await?));
        }
        hub.start(tunnel, entries);
    }

    let control = agent.clone();
    tokio::spawn(serve::serve_http(admin, move |_, request| {
        admin::handle(control.clone(), request)
    }));
    if let Some((_, _)) = &registry {
        // The engine's log driver sends every entry's output here.
        let address = SocketAddr::new(config.listen, logs::GELF_PORT);
        let gelf = tokio::net::UdpSocket::bind(address)
            .await
            .map_err(|e| Error::io(format!("cannot receive logs on udp {address}"), e))?;
        tokio::spawn(logs::receive(gelf));
        let otlp = bind(&config, self::config::OTLP_PORT).await?;
        tokio::spawn(serve::serve_http(otlp, |_, request| async move {
            let response = crate::trace::otlp::handle(request).await;
            Ok(response.map(|b| b.map_err(|never| match never {}).boxed_unsync()))
        }));
    }
    if let Some((registry, listener)) = registry {
        let token = config.token.clone();
        tokio::spawn(async move {
            let exec = crate::health::exec::EngineProber::for_probes(
                registry.entries.iter().filter_map(|e| e.probe.as_ref()),
            )
            .await;
            if let Err(error) = crate::registry::serve_with(registry, listener, exec, token).await {
                eprintln!("agent: the registry stopped: {error}");
            }
        });
    }
    for recorder in &agent.recorders {
        tokio::spawn(recorder.clone().write_forever());
    }
    // Callers are named from the first call when DNS answers quickly; a
    // slow resolver must not hold readiness back (the refresher retries).
    let _ = tokio::time::timeout(Duration::from_millis(500), agent.callers.refresh()).await;
    tokio::spawn(agent.callers.clone().refresh_forever());

    agent.ready.store(true, Ordering::Release);
    eprintln!(
        "agent: ready; control API on port {}, serving {}",
        config.admin_port,
        agent
            .deps
            .iter()
            .map(|dep| format!("{} ({})", dep.name, dep.mode))
            .chain(config.host.iter().map(|host| format!(
                "{} (on the host: {}; tunnel on port {})",
                host.entry,
                host.ports
                    .iter()
                    .map(|port| format!("{} to 127.0.0.1:{}", port.listen, port.host))
                    .collect::<Vec<_>>()
                    .join(", "),
                host.tunnel_port
            )))
            .collect::<Vec<_>>()
            .join(", ")
    );

    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    if let Some(hub) = &agent.tunnel {
        hub.stop().await;
    }
    flush(&agent);
    Ok(())
}

/// How many threads serve dependencies: `threads` from the configuration,
/// else one per CPU available to the process, at most [`DEFAULT_THREADS`].
fn threads(config: &AgentConfig) -> usize {
    if config.threads > 0 {
        config.threads
    } else {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(DEFAULT_THREADS)
    }
}

/// A sandbox's dependencies rarely need more, and each thread costs memory.
const DEFAULT_THREADS: usize = 4;

/// Starts `count` threads, each with its own single-threaded runtime, that
/// all accept on every dependency port (the same sockets): a connection is
/// then served start to end on one thread, with no hand-over between
/// threads, as nginx workers do. Returns once every thread listens.
async fn start_serving_threads(
    count: usize,
    sockets: Vec<(std::net::TcpListener, Listener)>,
) -> Result<()> {
    let (report, mut reports) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<()>>();
    for index in 0..count {
        let mut mine = Vec::new();
        for (socket, listener) in &sockets {
            let socket = socket
                .try_clone()
                .map_err(|e| Error::io("cannot share a listening socket", e))?;
            mine.push((socket, listener.clone()));
        }
        let report = report.clone();
        std::thread::Builder::new()
            .name(format!("agent-{index}"))
            .spawn(move || serving_thread(mine, report))
            .map_err(|e| Error::io("cannot start a serving thread", e))?;
    }
    drop(report);
    for _ in 0..count {
        match reports.recv().await {
            Some(Ok(())) => {}
            Some(Err(error)) => return Err(Error::io("cannot start serving", error)),
            None => return Err(Error::Failed("a serving thread stopped at start".into())),
        }
    }
    Ok(())
}

fn serving_thread(
    sockets: Vec<(std::net::TcpListener, Listener)>,
    report: tokio::sync::mpsc::UnboundedSender<std::io::Result<()>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = report.send(Err(error));
            return;
        }
    };
    runtime.block_on(async move {
        let forwarder = serve::forwarder();
        for (socket, listener) in sockets {
            let socket = match TcpListener::from_std(socket) {
                Ok(socket) => socket,
                Err(error) => {
                    let _ = report.send(Err(error));
                    return;
                }
            };
            match listener {
                Listener::Http(port) => {
                    let worker = Arc::new(PortWorker {
                        port,
                        forwarder: forwarder.clone(),
                    });
                    tokio::spawn(serve::serve_http(socket, move |remote, request| {
                        worker.clone().handle(remote, request)
                    }));
                }
                Listener::Tcp(forward) => {
                    tokio::spawn(forward.serve(socket));
                }
            }
        }
        let _ = report.send(Ok(()));
        std::future::pending::<()>().await;
    });
}

async fn bind(config: &AgentConfig, port: u16) -> Result<TcpListener> {
    let address = SocketAddr::new(config.listen, port);
    TcpListener::bind(address)
        .await
        .map_err(|e| Error::io(format!("cannot listen on {address}"), e))
}

/// Writes every recording that changed since its last write.
fn flush(agent: &Agent) {
    for recorder in &agent.recorders {
        if let Err(error) = recorder.flush(true) {
            eprintln!(
                "agent: cannot write recording {}: {error}",
                recorder.file_name()
            );
        }
    }
}
