//! Compiling the configuration: each dependency's handler, and what listens
//! on which port.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{Agent, Dep, Handler, HttpPort, Listener, PortRoute, TcpForward, Upstream};
use crate::agent::callers::Callers;
use crate::agent::config::{AgentConfig, Mode, ProxyPort};
use crate::agent::faults::FaultState;
use crate::agent::journal::{self, Journal};
use crate::agent::limits::LimitState;
use crate::agent::live::Live;
use crate::agent::record::Recorder;
use crate::agent::replay::Replay;
use crate::agent::stub::Stub;
use crate::manifest::ReplayTiming;

impl Agent {
    /// Compiles the configuration: routes, recordings, upstreams, and what
    /// listens on which port.
    pub fn build(config: &AgentConfig) -> Result<(Arc<Agent>, BTreeMap<u16, Listener>), String> {
        let mut deps = Vec::new();
        let mut recorders = Vec::new();
        // (port, dep index, upstream) for HTTP; (port, dep index, target) for TCP.
        let mut http_routes: Vec<(u16, usize, Option<Arc<Upstream>>)> = Vec::new();
        let mut tcp_ports: Vec<(u16, usize, ProxyPort)> = Vec::new();
        for (index, served) in config.served.iter().enumerate() {
            let context = |e: String| format!("dependency `{}`: {e}", served.name);
            let grpc = crate::agent::grpc::Part::build(&served.mode).map_err(context)?;
            let (mode, handler) = match &served.mode {
                Mode::Stub {
                    routes, contract, ..
                } => (
                    "stub",
                    Handler::Stub(
                        Stub::compile(routes)
                            .and_then(|stub| stub.with_contract(contract.as_ref()))
                            .map_err(context)?,
                    ),
                ),
                Mode::Replay {
                    recording,
                    bodies,
                    timing,
                    ..
                } => (
                    "replay",
                    Handler::Replay(
                        Replay::new(recording)
                            .map(|replay| {
                                replay
                                    .with_bodies(bodies.as_deref())
                                    .paced(*timing == ReplayTiming::Recorded)
                            })
                            .map_err(context)?,
                    ),
                ),
                Mode::Record {
                    upstream,
                    to,
                    redact,
                    file,
                    grpc: grpc_record,
                } => {
                    let upstream = Arc::new(Upstream::parse(upstream).map_err(context)?);
                    let shown = file.clone().unwrap_or_else(|| to.clone());
                    let recorder = Recorder::new(to.into(), shown, redact);
                    if let Some(grpc) = grpc_record {
                        recorder.set_proto(&grpc.proto);
                    }
                    recorders.push(recorder.clone());
                    http_routes.push((served.port, index, Some(upstream.clone())));
                    http_routes.push((served.private_port, index, Some(upstream)));
                    ("record", Handler::Record(recorder))
                }
                Mode::Proxy { target, ports } => {
                    // An HTTP port's upstream: HTTP/2 to a grpc port.
                    let upstream = |port: &ProxyPort| {
                        let upstream = Upstream::parse(&format!("http://{target}:{}", port.target))
                            .map_err(context)?;
                        Ok::<_, String>(Arc::new(if port.h2 { upstream.http2() } else { upstream }))
                    };
                    for port in ports {
                        if port.http {
                            http_routes.push((port.listen, index, Some(upstream(port)?)));
                        } else {
                            tcp_ports.push((port.listen, index, port.clone()));
                        }
                    }
                    // The private port mirrors the first declared port.
                    if let Some(first) = ports.first()
                        && !ports.iter().any(|port| port.listen == served.private_port)
                    {
                        if first.http {
                            http_routes.push((served.private_port, index, Some(upstream(first)?)));
                        } else {
                            tcp_ports.push((served.private_port, index, first.clone()));
                        }
                    }
                    ("proxy", Handler::Proxy)
                }
            };
            if matches!(served.mode, Mode::Stub { .. } | Mode::Replay { .. }) {
                http_routes.push((served.port, index, None));
                http_routes.push((served.private_port, index, None));
            }
            let dep = Dep {
                name: journal::lasting(served.name.as_str()),
                mode,
                port: served.port,
                private_port: served.private_port,
                tcp_only: matches!(&served.mode, Mode::Proxy { ports, .. }
                    if !ports.is_empty() && ports.iter().all(|port| !port.http)),
                handler,
                grpc,
                limits: Live::with_activity(LimitState::new(None), false),
                faults: Live::with_activity(FaultState::new(None), false),
            };
            dep.set_limits(served.limits.clone());
            dep.set_faults(served.faults.clone());
            deps.push(Arc::new(dep));
        }
        let agent = Arc::new(Agent {
            deps,
            journal: Journal::new(config.journal_capacity),
            callers: Arc::new(Callers::new(config.callers.clone())),
            recorders,
            ready: AtomicBool::new(false),
            token: config.token.clone(),
            tunnel: config.host.as_ref().map(|host| {
                crate::tunnel::Hub::new(
                    host.entry.clone(),
                    config.token.clone(),
                    host.ports.iter().map(|port| port.listen).collect(),
                )
            }),
        });

        let mut listeners: BTreeMap<u16, Listener> = BTreeMap::new();
        for (port, index, target) in tcp_ports {
            if port == 0 {
                continue;
            }
            let dep = agent.deps[index].clone();
            if listeners.contains_key(&port) {
                return Err(format!("port {port} of `{}` is already served", dep.name));
            }
            let served = &config.served[index];
            let Mode::Proxy { target: host, .. } = &served.mode else {
                continue;
            };
            listeners.insert(
                port,
                Listener::Tcp(Arc::new(TcpForward {
                    agent: agent.clone(),
                    dep,
                    host: host.clone(),
                    port: target.target,
                    listen: port,
                    label: journal::lasting(format!("target {host}:{}", target.target)),
                })),
            );
        }
        for (port, index, upstream) in http_routes {
            if port == 0 {
                continue;
            }
            let dep = agent.deps[index].clone();
            let entry = listeners.entry(port).or_insert_with(|| {
                Listener::Http(Arc::new(HttpPort {
                    agent: agent.clone(),
                    routes: Vec::new(),
                }))
            });
            match entry {
                Listener::Tcp(other) => {
                    return Err(format!(
                        "port {port} is a TCP port of `{}` and an HTTP port of `{}`",
                        other.dep.name, dep.name
                    ));
                }
                Listener::Http(http) => {
                    // The only owner while building.
                    let Some(http) = Arc::get_mut(http) else {
                        continue;
                    };
                    if !http
                        .routes
                        .iter()
                        .any(|route| Arc::ptr_eq(&route.dep, &dep))
                    {
                        http.routes.push(PortRoute { dep, upstream });
                    }
                }
            }
        }
        // The OTLP receiver listens beside the registry.
        let otlp = config
            .registry
            .is_some()
            .then_some(super::super::config::OTLP_PORT);
        for port in [config.admin_port, config.registry_port]
            .into_iter()
            .chain(otlp)
        {
            if listeners.contains_key(&port) {
                return Err(format!(
                    "port {port} is reserved for the agent's control API, the registry or its OTLP receiver"
                ));
            }
        }
        if let Some(host) = &config.host {
            check_host_ports(config, host, &listeners)?;
        }
        Ok((agent, listeners))
    }

    pub fn dep(&self, name: &str) -> Option<&Arc<Dep>> {
        self.deps.iter().find(|dep| dep.name == name)
    }
}

/// The ports of an entry run on the host must be free in this agent: none
/// served, none reserved, none twice, and at least one.
pub(super) fn check_host_ports(
    config: &AgentConfig,
    host: &crate::agent::config::HostForward,
    listeners: &BTreeMap<u16, Listener>,
) -> Result<(), String> {
    if host.ports.is_empty() {
        return Err(format!(
            "`{}` on the host has no port to stand for",
            host.entry
        ));
    }
    let mut taken: Vec<(u16, &str)> = vec![
        (config.admin_port, "the control API"),
        (config.registry_port, "the registry"),
    ];
    taken.extend(listeners.keys().map(|port| (*port, "a served dependency")));
    for (port, what) in std::iter::once((host.tunnel_port, "the tunnel"))
        .chain(host.ports.iter().map(|port| (port.listen, "the entry")))
    {
        if let Some((_, owner)) = taken.iter().find(|(used, _)| *used == port) {
            return Err(format!(
                "port {port} of {what} of `{}` on the host is already {owner}'s",
                host.entry
            ));
        }
        taken.push((port, what));
    }
    Ok(())
}
