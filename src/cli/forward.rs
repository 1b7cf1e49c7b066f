//! `sandbox forward` (hidden): the forwarder of a sandbox on an engine whose
//! published ports are not on this machine's loopback (see
//! `engine::forward`). Started by the engine adapter, stopped by `down`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct ForwardArgs {}

pub async fn run(
    globals: &Globals,
    _args: ForwardArgs,
    interrupt: &super::Interrupt,
) -> Result<()> {
    let sandbox = globals.sandbox_name()?;
    let engine = super::connect().await?;
    let target = engine.target().clone();
    tokio::select! {
        served = crate::engine::forward::serve(engine, sandbox.clone()) => {
            served.map_err(|e| crate::Error::io("forward the sandbox's ports", e))
        }
        // SIGTERM or SIGINT (`down`, or a user's kill): forget the state.
        _ = interrupt.wait() => {
            crate::engine::forward::forget(&target, &sandbox);
            Ok(())
        }
    }
}
