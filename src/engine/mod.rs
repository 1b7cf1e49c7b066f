//! The Docker engine adapter: the only module that speaks to the engine
//! (through bollard).

/// Something the engine refused or could not do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine cannot be reached at all.
    #[error("cannot reach the Docker engine at {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    /// An operation failed; `operation` names it ("create container orders").
    #[error("failed to {operation}: {message}")]
    Operation { operation: String, message: String },
}
