//! The CLI's end of the tunnel on its own, for `benches/tunnel.sh`: opens a
//! session with the hub at `TUNNEL` (an agent standing for `ENTRY`) and
//! carries each entry port to a port on 127.0.0.1 until killed or until
//! the session ends. Prints `connected SESSION` once carrying.
//!
//! Usage: `tunnel_session TUNNEL TOKEN ENTRY LISTEN:HOST...`
//! (for example `tunnel_session 127.0.0.1:7702 secret orders 8080:18080`)

use std::net::SocketAddr;
use std::process::ExitCode;

use sandbox::tunnel::{Holder, Session};

fn main() -> ExitCode {
    let runtime = if std::env::var("TUNNEL_RUNTIME").as_deref() == Ok("multi") {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    runtime.expect("a runtime").block_on(run())
}

async fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tunnel, token, entry, ports @ ..] = args.as_slice() else {
        eprintln!("usage: tunnel_session TUNNEL TOKEN ENTRY LISTEN:HOST...");
        return ExitCode::from(2);
    };
    let Ok(tunnel) = tunnel.parse::<SocketAddr>() else {
        eprintln!("tunnel_session: {tunnel} is not an address such as 127.0.0.1:7702");
        return ExitCode::from(2);
    };
    let mut mapped = Vec::new();
    for pair in ports {
        let parsed = pair
            .split_once(':')
            .and_then(|(listen, host)| Some((listen.parse().ok()?, host.parse().ok()?)));
        let Some(pair) = parsed else {
            eprintln!("tunnel_session: {pair} is not LISTEN:HOST, such as 8080:18080");
            return ExitCode::from(2);
        };
        mapped.push(pair);
    }
    let holder = Holder::of_process(std::process::id(), entry);
    let session = match Session::connect(tunnel, token, entry, mapped, Some(holder)).await {
        Ok(session) => session,
        Err(error) => {
            eprintln!("tunnel_session: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("connected {}", session.id());
    let reason = session.closed().await;
    eprintln!("tunnel_session: the session ended: {reason}");
    ExitCode::FAILURE
}
