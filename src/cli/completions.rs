//! `sandbox completions`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use crate::Result;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "sandbox", &mut std::io::stdout());
    Ok(())
}
