//! The tunnel that stands an entry run on the host into the sandbox
//! network (PRODUCT.md 6.2): an agent standing for `orders` (as a process
//! on 127.0.0.1, and as a container aliased `orders` on a network of its
//! own), a session from the test, and an HTTP server in the test on
//! 127.0.0.1 as the process on the host.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use sandbox::agent::config::{
    ADMIN_PORT, AgentConfig, CONFIG_PATH, CONFIG_VERSION, HostForward, HostPort, JOURNAL_CAPACITY,
    Mode, ProxyPort, REGISTRY_PORT, Served, TUNNEL_PORT,
};
use sandbox::engine::{ContainerSpec, Engine, image, labels};
use sandbox::tunnel::{Ended, Holder, HostState, Session};

use crate::common::{BIN, block_on_threads, docker_or_skip, labelled};

fn free_port() -> u16 {
    crate::agent::free_port()
}

/// The process on the host: an HTTP/1.1 server on 127.0.0.1 answering
/// `hello from the host PATH`.
async fn host_process() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |request: http::Request<hyper::body::Incoming>| async move {
                        let body = format!("hello from the host {}", request.uri().path());
                        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(body))))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    port
}

/// An agent configuration with nothing served.
fn config(sandbox: &str, admin: u16, token: &str, listen: std::net::IpAddr) -> AgentConfig {
    AgentConfig {
        version: CONFIG_VERSION,
        sandbox: sandbox.to_owned(),
        admin_port: admin,
        token: Some(token.to_owned()),
        registry: None,
        served: Vec::new(),
        callers: Vec::new(),
        listen,
        registry_port: REGISTRY_PORT,
        journal_capacity: JOURNAL_CAPACITY,
        threads: 1,
        host: None,
    }
}

async fn get(url: &str, token: Option<&str>) -> Result<sandbox::health::http::HttpAnswer, String> {
    let headers: Vec<(String, String)> = token
        .map(sandbox::registry::token::header)
        .into_iter()
        .collect();
    sandbox::health::http::request("GET", url, &headers, None, Duration::from_secs(10)).await
}

/// Polls until `GET url` answers 200, within `limit`.
async fn until_ready(url: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if get(url, None)
            .await
            .is_ok_and(|answer| answer.status == 200)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer 200 within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the agent's `GET /_sandbox/host` until `connected` is `expected`.
async fn until_connected(admin: &str, token: &str, expected: bool) -> HostState {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let state = sandbox::agent::client::host_state(admin, Some(token))
            .await
            .unwrap();
        if state.connected == expected {
            return state;
        }
        assert!(Instant::now() < deadline, "connected stayed {}", !expected);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A running `sandbox agent`, killed when dropped.
struct AgentProcess {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sandbox agent` as a process on 127.0.0.1 standing for `orders`: its
/// control API and tunnel answer, GET /_sandbox/host needs the token and
/// names the holder after the session ends, and SIGTERM tells the session.
fn an_agent_process_stands_for_an_entry_on_the_host() {
    block_on_threads(2, async {
        let (admin, tunnel, entry) = (free_port(), free_port(), free_port());
        let host = host_process().await;
        let token = sandbox::registry::token::generate();
        let mut config = config("test", admin, &token, [127, 0, 0, 1].into());
        config.host = Some(HostForward {
            entry: "orders".into(),
            tunnel_port: tunnel,
            ports: vec![HostPort {
                listen: entry,
                host,
            }],
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.json");
        std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
        let child = Command::new(BIN)
            .args(["agent", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut agent = AgentProcess { child, _dir: dir };
        let admin_url = format!("http://127.0.0.1:{admin}");
        until_ready(
            &format!("{admin_url}/_sandbox/ready"),
            Duration::from_secs(20),
        )
        .await;

        let unknown = sandbox::agent::client::holder(&admin_url, Some(&token)).await;
        assert_eq!(unknown, Ok(None), "no session has said anything yet");
        let without_token = get(&format!("{admin_url}/_sandbox/host"), None)
            .await
            .unwrap();
        assert_eq!(without_token.status, 401, "{}", without_token.text());

        let holder = Holder::of_process(std::process::id(), "orders");
        let tunnel_address: SocketAddr = ([127, 0, 0, 1], tunnel).into();
        let session = Session::connect(
            tunnel_address,
            &token,
            "orders",
            vec![(entry, host)],
            Some(holder.clone()),
        )
        .await
        .unwrap();
        let answer = get(&format!("http://127.0.0.1:{entry}/orders/7"), None)
            .await
            .unwrap();
        assert_eq!(answer.text(), "hello from the host /orders/7");
        let state = until_connected(&admin_url, &token, true).await;
        assert_eq!(state.holder.as_ref(), Some(&holder));

        // The process killed with its `up --host`: the agent still names it.
        drop(session);
        let state = until_connected(&admin_url, &token, false).await;
        assert_eq!(state.holder.as_ref(), Some(&holder));
        assert_eq!(
            sandbox::agent::client::holder(&admin_url, Some(&token)).await,
            Ok(Some(holder.clone()))
        );
        assert!(
            get(&format!("http://127.0.0.1:{entry}/"), None)
                .await
                .is_err(),
            "without a session the entry port closes connections"
        );

        // SIGTERM (the container being removed) tells a connected session.
        let session = Session::connect(tunnel_address, &token, "orders", vec![(entry, host)], None)
            .await
            .unwrap();
        let killed = Command::new("kill")
            .args(["-TERM", &agent.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let reason = tokio::time::timeout(Duration::from_secs(5), session.closed())
            .await
            .expect("the session learns the agent stopped");
        assert_eq!(reason, Ended::AgentStopped);
        let status = agent.child.wait().unwrap();
        assert!(status.success(), "{status}");
    });
}

/// What a test leaves on the engine, removed by label when it ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .args(["down", "--name", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The agent image of the binary under test, as `sandbox up` would make
/// it (the test process is not that binary, so it cannot ask the runner).
async fn agent_image(engine: &Engine) -> String {
    let (tar, hash) = tokio::task::spawn_blocking(|| {
        let name = sandbox::plan::AGENT_BINARY.trim_start_matches('/');
        let dir = sandbox::plan::AGENT_DIR.trim_start_matches('/');
        image::binary_rootfs(std::path::Path::new(BIN), name, &[dir])
    })
    .await
    .unwrap()
    .expect("pack the agent image");
    let tag = format!("sandbox-agent:{}", &hash[..16]);
    if !engine.image_exists(&tag).await.unwrap() {
        let changes = vec![
            format!("ENTRYPOINT [\"{}\"]", sandbox::plan::AGENT_BINARY),
            format!("LABEL {}={}", labels::AGENT_IMAGE, &hash[..16]),
        ];
        engine.import_image(tar, &tag, &changes).await.unwrap();
    }
    tag
}

/// Creates, configures and starts an agent container; its published ports.
async fn start_agent(
    engine: &Engine,
    spec: &ContainerSpec,
    config: &AgentConfig,
) -> HashMap<u16, u16> {
    let id = engine.create_container(spec).await.unwrap();
    let json = serde_json::to_vec(config).unwrap();
    let (folder, file) = CONFIG_PATH.rsplit_once('/').unwrap();
    engine
        .upload_files(&id, folder, &[(file, json.as_slice())])
        .await
        .unwrap();
    engine.start_container(&id).await.unwrap();
    let (running, _, published) = engine.inspect_container(&id).await.unwrap();
    assert!(running, "{} is not running", spec.name);
    published
}

/// A container on the sandbox network calls `http://orders:8080` and
/// reaches the HTTP server in this test on 127.0.0.1, through an agent
/// container aliased `orders` whose tunnel port is published on 127.0.0.1
/// only. The caller is an agent proxying to `orders:8080`, published on
/// 127.0.0.1 so the test can drive it.
fn a_container_reaches_a_host_process_by_the_entry_name() {
    if !docker_or_skip() {
        return;
    }
    let name = format!("t-tunnel-{}", std::process::id());
    let _cleanup = Cleanup(name.clone());
    block_on_threads(2, async {
        let engine = Engine::connect().await.unwrap();
        let image = agent_image(&engine).await;
        let label = BTreeMap::from([(labels::NAME.to_owned(), name.clone())]);
        let network = format!("{name}-net");
        engine
            .ensure_network(&network, label.clone().into_iter().collect())
            .await
            .unwrap();
        let token = sandbox::registry::token::generate();
        let host = host_process().await;
        let everywhere = std::net::Ipv4Addr::UNSPECIFIED.into();
        let command = Some(vec![
            "agent".to_owned(),
            "--config".to_owned(),
            CONFIG_PATH.to_owned(),
        ]);

        // The entry's stand-in: an agent aliased `orders` on port 8080.
        let mut orders = config(&name, ADMIN_PORT, &token, everywhere);
        orders.host = Some(HostForward {
            entry: "orders".into(),
            tunnel_port: TUNNEL_PORT,
            ports: vec![HostPort { listen: 8080, host }],
        });
        let spec = ContainerSpec {
            name: format!("{name}-orders"),
            image: image.clone(),
            command: command.clone(),
            labels: label.clone(),
            network: network.clone(),
            aliases: vec!["orders".into()],
            publish: vec![ADMIN_PORT, TUNNEL_PORT],
            ..Default::default()
        };
        let published = start_agent(&engine, &spec, &orders).await;
        let admin_url = format!("http://127.0.0.1:{}", published[&ADMIN_PORT]);
        until_ready(
            &format!("{admin_url}/_sandbox/ready"),
            Duration::from_secs(30),
        )
        .await;
        let holder = Holder::of_process(std::process::id(), "orders");
        let session = Session::connect(
            ([127, 0, 0, 1], published[&TUNNEL_PORT]).into(),
            &token,
            "orders",
            vec![(8080, host)],
            Some(holder.clone()),
        )
        .await
        .unwrap();

        // The caller: a container that calls http://orders:8080.
        let mut caller = config(&name, ADMIN_PORT, &token, everywhere);
        caller.served = vec![Served {
            name: "caller".into(),
            port: 9000,
            private_port: 0,
            mode: Mode::Proxy {
                target: "orders".into(),
                ports: vec![ProxyPort {
                    listen: 9000,
                    target: 8080,
                    http: true,
                    h2: false,
                }],
            },
            limits: None,
            faults: None,
        }];
        let spec = ContainerSpec {
            name: format!("{name}-caller"),
            image,
            command,
            labels: label,
            network,
            aliases: vec!["caller".into()],
            publish: vec![ADMIN_PORT, 9000],
            ..Default::default()
        };
        let published = start_agent(&engine, &spec, &caller).await;
        until_ready(
            &format!("http://127.0.0.1:{}/_sandbox/ready", published[&ADMIN_PORT]),
            Duration::from_secs(30),
        )
        .await;
        let through = format!("http://127.0.0.1:{}", published[&9000]);
        for path in ["/orders/1", "/healthz"] {
            let answer = get(&format!("{through}{path}"), None).await.unwrap();
            assert_eq!(answer.status, 200, "{}", answer.text());
            assert_eq!(answer.text(), format!("hello from the host {path}"));
        }
        assert_eq!(session.stats().refused, 0);
        assert_eq!(
            sandbox::agent::client::holder(&admin_url, Some(&token)).await,
            Ok(Some(holder))
        );

        // Without the session, calls to orders:8080 fail at once.
        drop(session);
        until_connected(&admin_url, &token, false).await;
        let started = Instant::now();
        let answer = get(&format!("{through}/gone"), None).await.unwrap();
        assert_eq!(answer.status, 502, "{}", answer.text());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    });
    drop(_cleanup);
    assert_eq!(labelled(&name), 0, "the test left objects behind");
}

cases! {
    docker: [a_container_reaches_a_host_process_by_the_entry_name],
    plain: [an_agent_process_stands_for_an_entry_on_the_host],
}
