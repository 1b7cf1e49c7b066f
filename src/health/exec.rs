//! Exec health probes run through the engine: the registry in the agent
//! uses this when some entry declares an exec check (the agent then has the
//! engine's socket mounted, see `plan`).

use crate::engine::Engine;
use crate::health::ProbeSpec;

/// The first non-empty line of a command's output, as `: LINE`, or nothing.
pub fn first_line(output: &str) -> String {
    match output.lines().find(|l| !l.trim().is_empty()) {
        Some(line) => format!(": {}", line.trim()),
        None => String::new(),
    }
}

/// Runs exec health probes through the engine, for the registry inside the
/// agent (which then has the engine's socket mounted, see `plan`).
pub struct EngineProber {
    engine: Engine,
}

impl EngineProber {
    /// A prober when one of `probes` is an exec probe and the engine
    /// answers; otherwise the registry falls back to its own probes.
    pub async fn for_probes<'a>(
        mut probes: impl Iterator<Item = &'a ProbeSpec>,
    ) -> Option<std::sync::Arc<dyn super::ExecProber>> {
        if !probes.any(|p| matches!(p, ProbeSpec::Exec { .. })) {
            return None;
        }
        match Engine::connect().await {
            Ok(engine) => Some(std::sync::Arc::new(EngineProber { engine })),
            // An engine that is not behind a unix socket of the machine
            // that runs it (ssh://, tcp://) is not given to the agent:
            // `up` runs exec probes through the command line's
            // own engine connection, the registry watches such an entry's
            // port over TCP instead.
            Err(_) if !std::path::Path::new("/var/run/docker.sock").exists() => {
                eprintln!(
                    "agent: exec health checks are not run by the registry: the engine is remote \
                     (ssh:// or tcp://) and this container has no engine socket; the registry \
                     checks those entries' ports over TCP, `sandbox up` runs the exec checks \
                     through its own engine connection"
                );
                None
            }
            Err(error) => {
                eprintln!("agent: exec probes fall back to tcp: {error}");
                None
            }
        }
    }
}

impl super::ExecProber for EngineProber {
    fn exec<'a>(
        &'a self,
        container: &'a str,
        command: &'a [String],
    ) -> super::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            match self.engine.exec_capture(container, command).await {
                Ok((0, _)) => Ok(()),
                Ok((code, output)) => Err(format!("exit status {code}{}", first_line(&output))),
                Err(error) => Err(error.to_string()),
            }
        })
    }
}
