//! `sandbox completions`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use crate::Result;
use crate::output;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<()> {
    let mut command = Cli::command();
    // `generate` panics when its writer fails; a Vec cannot, and the output
    // module decides what a failed write to stdout means.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "sandbox", &mut script);
    output::print_bytes(&script)
}
