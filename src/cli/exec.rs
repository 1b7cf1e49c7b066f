//! `sandbox exec` and `sandbox shell`.

use clap::Args;

use super::Globals;
use crate::Result;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The entry whose container runs the command.
    pub entry: String,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The entry whose container opens the shell.
    pub entry: String,
    /// The shell to run.
    #[arg(long, default_value = "/bin/sh")]
    pub shell: String,
}

pub async fn run(_globals: &Globals, _args: ExecArgs) -> Result<()> {
    Err(crate::Error::Failed("exec: not available yet".into()))
}

pub async fn shell(_globals: &Globals, _args: ShellArgs) -> Result<()> {
    Err(crate::Error::Failed("shell: not available yet".into()))
}
