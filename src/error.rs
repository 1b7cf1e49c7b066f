//! The crate's error type and the exit codes it maps to (PRODUCT.md section 5).

use crate::engine::EngineError;
use crate::manifest::ManifestError;
use crate::runner::UpError;

/// Exit codes, in one place.
pub mod exit {
    /// Success.
    pub const SUCCESS: i32 = 0;
    /// The work failed: an entry did not become healthy, a check failed, the
    /// engine refused.
    pub const FAILURE: i32 = 1;
    /// Bad usage or a bad manifest.
    pub const USAGE: i32 = 2;
    /// Interrupted by Ctrl-C or SIGTERM.
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Up(#[from] UpError),
    #[error(transparent)]
    Tunnel(#[from] crate::tunnel::TunnelError),
    /// Bad arguments that clap could not catch.
    #[error("{0}")]
    Usage(String),
    /// The work failed; the message says what.
    #[error("{0}")]
    Failed(String),
    #[error("interrupted")]
    Interrupted,
    /// Exit with this status and print nothing (e.g. `exec` and `run` pass on
    /// the command's own status).
    #[error("exited with status {0}")]
    Status(i32),
    /// An I/O failure: `context` says what was being done; the I/O error
    /// is the `caused by:` line.
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Stdout was closed by its reader (`sandbox status --json | head -c1`):
    /// stop writing and exit 0 quietly.
    #[error("stdout was closed")]
    StdoutClosed,
    /// Writing to stdout failed otherwise (`> /dev/full`). The cause is in the
    /// message, so it is not a `#[source]`.
    #[error("cannot write to stdout: {}", crate::output::describe_io(.0))]
    Stdout(std::io::Error),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Manifest(_) | Error::Usage(_) | Error::Engine(EngineError::Selection(_)) => {
                exit::USAGE
            }
            Error::Engine(_)
            | Error::Failed(_)
            | Error::Io { .. }
            | Error::Stdout(_)
            | Error::Tunnel(_) => exit::FAILURE,
            Error::StdoutClosed => exit::SUCCESS,
            Error::Interrupted | Error::Up(UpError::Interrupted(_)) => exit::INTERRUPTED,
            Error::Up(_) => exit::FAILURE,
            Error::Status(code) => *code,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
