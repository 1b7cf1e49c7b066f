//! The labels on every Docker object of a sandbox: all the state there is.

/// The sandbox an object belongs to (PRODUCT.md section 2).
pub const NAME: &str = "dev.sandbox.name";
/// The entry a container runs (PRODUCT.md section 2); `agent` for the agent.
pub const ENTRY: &str = "dev.sandbox.entry";
/// `service`, `dependency` or `agent`.
pub const ROLE: &str = "dev.sandbox.role";
/// `build`, `image`, `stub`, `replay`, `record`, or `proxy` for an agent in
/// front of a real container.
pub const KIND: &str = "dev.sandbox.kind";
/// A hash of everything the container was created from; a second `up`
/// keeps a container whose hash has not changed.
pub const HASH: &str = "dev.sandbox.hash";
/// The entry's named ports, JSON `{"http": 8080}`.
pub const PORTS: &str = "dev.sandbox.ports";
/// On an agent: the dependencies it serves, JSON (see `plan::ServedLabel`).
pub const SERVED: &str = "dev.sandbox.served";
/// Whether the entry runs with its debug settings, and the debug port.
pub const DEBUG: &str = "dev.sandbox.debug";
/// On a sandbox's lock container: who holds it, `HOST PID UNIX_SECONDS`.
pub const LOCK: &str = "dev.sandbox.lock";
/// On agents (the main one and proxies): the sandbox's token, which the
/// control interface asks of requests that change state (`registry::token`).
pub const TOKEN: &str = "dev.sandbox.token";
/// On the forwarder of an entry run on the host (`up --host`): the ports
/// the process listens on, on 127.0.0.1 of the machine that ran `up`, JSON
/// `{"http": 8080}`.
pub const HOST_PORTS: &str = "dev.sandbox.host-ports";
/// On images: the agent image, by the hash of the binary it holds.
pub const AGENT_IMAGE: &str = "dev.sandbox.agent";

/// The label filter that selects one sandbox's objects.
pub fn of_sandbox(name: &str) -> String {
    format!("{NAME}={name}")
}
