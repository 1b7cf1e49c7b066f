//! `sandbox exec` and `sandbox shell`.

use std::io::IsTerminal;

use clap::Args;

use super::Globals;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// The entry whose container runs the command.
    pub entry: String,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// The entry whose container opens the shell.
    pub entry: String,
    /// The shell to run.
    #[arg(long, default_value = "/bin/sh")]
    pub shell: String,
}

pub async fn run(globals: &Globals, args: ExecArgs) -> Result<()> {
    let code = exec(globals, &args.entry, &args.command, false).await?;
    if code == 0 {
        Ok(())
    } else {
        Err(Error::Status(code))
    }
}

pub async fn shell(globals: &Globals, args: ShellArgs) -> Result<()> {
    let code = exec(
        globals,
        &args.entry,
        std::slice::from_ref(&args.shell),
        true,
    )
    .await?;
    if code == 0 {
        Ok(())
    } else {
        Err(Error::Status(code))
    }
}

async fn exec(globals: &Globals, entry: &str, command: &[String], shell: bool) -> Result<i32> {
    let sandbox = globals.sandbox_name()?;
    let engine = super::connect().await?;
    let found = super::find_running(&engine, &sandbox).await?;
    let container = found.containers.iter().find(|c| c.entry() == Some(entry));
    let Some(container) = container else {
        if found.container_of(entry).is_some() {
            return Err(Error::Usage(format!(
                "`{entry}` is served by the sandbox agent and has no container of its own to run commands in"
            )));
        }
        return Err(Error::Usage(format!(
            "no entry named `{entry}` in sandbox `{sandbox}`; see `sandbox status`"
        )));
    };
    let tty = shell && std::io::stdin().is_terminal();
    let code = engine.exec_interactive(&container.id, command, tty).await?;
    match code {
        126 | 127 => Err(Error::Failed(format!(
            "cannot run `{}` in `{entry}` (exit {code}): the image has no such program, or it is not executable{}",
            command.join(" "),
            if shell {
                "; images built FROM scratch have no shell: use `sandbox exec ENTRY -- PROGRAM` with a program the image has"
            } else {
                ""
            }
        ))),
        code => Ok(i32::try_from(code).unwrap_or(1)),
    }
}
