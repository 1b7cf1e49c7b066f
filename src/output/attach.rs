//! How to attach a debugger to an entry that runs with its debug settings
//! (`sandbox debug`, `up --debug`): the address and ready command lines.

use serde::Serialize;

/// How to attach to a debugged entry.
#[derive(Debug, Serialize)]
pub struct Attach {
    pub entry: String,
    pub host: String,
    pub port: u16,
    /// The debug port inside the container.
    pub container_port: u16,
    /// Ready command lines for the debuggers the debug command names.
    pub attach: Vec<String>,
}

impl Attach {
    /// How to attach to `entry`, running with `debug`, whose debug port is
    /// published at `address` (`127.0.0.1:P`).
    pub fn new(entry: &str, debug: &crate::manifest::Debug, address: &str) -> Attach {
        let port = address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let command = debug.command.clone().unwrap_or_default().join(" ");
        Attach {
            entry: entry.to_owned(),
            host: "127.0.0.1".into(),
            port,
            container_port: debug.port,
            attach: attach_commands(&command, port),
        }
    }
}

/// Command lines that attach the debuggers a debug command names.
pub fn attach_commands(command: &str, port: u16) -> Vec<String> {
    let at = format!("127.0.0.1:{port}");
    let mut lines = Vec::new();
    if command.contains("dlv") {
        lines.push(format!("dlv connect {at}"));
    }
    if command.contains("gdbserver") {
        lines.push(format!("gdb -ex 'target remote {at}' <the binary>"));
    }
    if command.contains("lldb") {
        lines.push(format!("lldb -o 'gdb-remote {at}'"));
    }
    if command.contains("jdwp") || command.contains("java") {
        lines.push(format!("jdb -attach {at}"));
    }
    if command.contains("debugpy") {
        lines.push(format!(
            "VS Code launch.json: {{\"type\": \"debugpy\", \"request\": \"attach\", \"connect\": {{\"host\": \"127.0.0.1\", \"port\": {port}}}}}"
        ));
    }
    if command.contains("--inspect") || command.contains("node") {
        lines.push(format!(
            "node inspect {at}   (or chrome://inspect, target {at})"
        ));
    }
    if lines.is_empty() {
        lines.push(format!("connect your debugger to {at}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_lines_follow_the_debugger_named() {
        assert_eq!(
            attach_commands("/dlv exec /app --listen=:2345 --headless", 5),
            vec!["dlv connect 127.0.0.1:5"]
        );
        assert!(
            attach_commands("gdbserver :2345 /app", 5)[0]
                .starts_with("gdb -ex 'target remote 127.0.0.1:5'")
        );
        assert!(
            attach_commands("java -agentlib:jdwp=transport=dt_socket", 5)[0]
                .starts_with("jdb -attach")
        );
        assert!(
            attach_commands("python -m debugpy --listen 0.0.0.0:5678", 5)[0].contains("debugpy")
        );
        assert!(
            attach_commands("node --inspect=0.0.0.0:9229 app.js", 5)[0].starts_with("node inspect")
        );
        assert_eq!(
            attach_commands("/app", 5),
            vec!["connect your debugger to 127.0.0.1:5"]
        );
    }
}
