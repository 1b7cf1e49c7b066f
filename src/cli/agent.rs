//! `sandbox agent` (hidden): what runs inside the agent container.

use std::path::PathBuf;

use clap::Args;

use crate::Result;

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The agent's configuration (JSON).
    #[arg(long, default_value = crate::agent::config::CONFIG_PATH)]
    pub config: PathBuf,
    /// Connect to HOST:PORT and pass stdin and stdout through (the
    /// forwarder of a remote engine carries connections this way).
    #[arg(long, value_name = "HOST:PORT")]
    pub pipe: Option<String>,
    /// Carry many connections over stdin and stdout (see `agent::pipe`).
    #[arg(long, conflicts_with = "pipe")]
    pub mux: bool,
}

pub async fn run(args: AgentArgs) -> Result<()> {
    if let Some(address) = args.pipe {
        return pipe(&address)
            .await
            .map_err(|e| crate::Error::io(format!("connect to {address}"), e));
    }
    if args.mux {
        return crate::agent::pipe::serve(tokio::io::stdin(), tokio::io::stdout())
            .await
            .map_err(|e| crate::Error::io("carry connections over stdin and stdout", e));
    }
    crate::agent::run(&args.config).await
}

/// Splices stdin/stdout with a TCP connection to `address`.
async fn pipe(address: &str) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let stream = tokio::net::TcpStream::connect(address).await?;
    let (mut read, mut write) = stream.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut write).await;
        let _ = write.shutdown().await;
    };
    let down = async {
        let mut stdout = tokio::io::stdout();
        let _ = tokio::io::copy(&mut read, &mut stdout).await;
        let _ = stdout.flush().await;
    };
    tokio::join!(up, down);
    Ok(())
}
