//! The `sandbox` binary: parse arguments, run the command, map the error to an
//! exit code.

use std::process::ExitCode;

use clap::Parser;
use sandbox::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(sandbox::cli::run(cli));
    // Background tasks (log followers, probes) must not keep the process alive.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = error.exit_code();
            if !matches!(error, sandbox::Error::Status(_)) {
                eprintln!("error: {error}");
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    eprintln!("caused by: {cause}");
                    source = cause.source();
                }
            }
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
