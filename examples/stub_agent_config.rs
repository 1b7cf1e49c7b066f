//! Prints an agent configuration (JSON) that serves every stub of a
//! manifest on the host, on 127.0.0.1 from `FIRST_PORT` up in the order of
//! the manifest, with its routes (its own, then those made from its OpenAPI
//! document) and, with `validate: true`, its contract, and its gRPC routes
//! with the compiled `.proto` files: what `sandbox up`
//! would give the agent, for `benches/openapi.sh` to run the agent outside
//! Docker.
//!
//! Usage: `stub_agent_config MANIFEST ADMIN_PORT FIRST_PORT`

use sandbox::agent::config::{
    AgentConfig, CONFIG_VERSION, GrpcStubConfig, JOURNAL_CAPACITY, Mode, Served,
};
use sandbox::manifest::{self, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, manifest, admin, first] = args.as_slice() else {
        return Err("usage: stub_agent_config MANIFEST ADMIN_PORT FIRST_PORT".into());
    };
    let loaded = manifest::load(manifest.as_ref())?;
    let mut port: u16 = first.parse()?;
    let mut served = Vec::new();
    for (name, dependency) in &loaded.entries.dependencies {
        if !matches!(dependency.source, Source::Stub(_)) {
            continue;
        }
        let mut routes = loaded.stub_routes.get(name).cloned().unwrap_or_default();
        let openapi = loaded.openapi_stubs.get(name);
        if let Some(openapi) = openapi {
            routes.extend(openapi.routes.iter().cloned());
        }
        // Routes with `match.grpc` answer gRPC calls only.
        let (grpc, routes): (Vec<_>, Vec<_>) = routes
            .into_iter()
            .partition(|route| route.matcher.grpc.is_some());
        served.push(Served {
            name: name.clone(),
            port,
            private_port: 0,
            mode: Mode::Stub {
                routes,
                contract: openapi.and_then(|o| o.contract()),
                grpc: loaded.protos.get(name).map(|protos| GrpcStubConfig {
                    descriptors: base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        protos.encoded(),
                    ),
                    routes: grpc,
                }),
            },
            limits: None,
            faults: None,
        });
        port += 1;
    }
    let config = AgentConfig {
        version: CONFIG_VERSION,
        sandbox: loaded.name.clone(),
        admin_port: admin.parse()?,
        token: None,
        registry: None,
        served,
        callers: Vec::new(),
        listen: std::net::Ipv4Addr::LOCALHOST.into(),
        registry_port: 0,
        journal_capacity: JOURNAL_CAPACITY,
        threads: 0,
        host: None,
    };
    println!("{}", serde_json::to_string(&config)?);
    Ok(())
}
