//! The `sandbox` binary: parse arguments, run the command, map the error to an
//! exit code. Errors are printed by `output::report` (never `eprintln!`,
//! which panics on a full stderr).

use std::process::ExitCode;

use clap::Parser;
use sandbox::cli::Cli;
use sandbox::output;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = if cli.one_thread() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            output::eprintln(&format!("error: cannot start the async runtime: {error}"));
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        let interrupt = match sandbox::cli::Interrupt::listen() {
            Ok(interrupt) => interrupt,
            Err(error) => {
                return Err(sandbox::Error::io(
                    "cannot listen for Ctrl-C and SIGTERM",
                    error,
                ));
            }
        };
        sandbox::cli::run(cli, interrupt).await
    });
    // Background tasks (log followers, probes) must not keep the process alive.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::report(&error);
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
    }
}
