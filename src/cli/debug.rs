//! `sandbox debug`: restart an entry with its debug settings and say how to
//! attach a debugger.

use clap::Args;
use serde::Serialize;

use super::Globals;
use super::up::{UpRequest, bring_up};
use crate::output;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub struct DebugArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// The entry to debug (default: the service).
    pub entry: Option<String>,
    /// Return the entry to its normal settings.
    #[arg(long)]
    pub stop: bool,
    /// Print how to attach as JSON.
    #[arg(long)]
    pub json: bool,
}

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

pub async fn run(globals: &Globals, args: DebugArgs) -> Result<()> {
    let loaded = globals.load()?;
    let manifest = &loaded.manifest;
    let entry = args
        .entry
        .clone()
        .unwrap_or_else(|| manifest.service.name.clone());
    let debug = if entry == manifest.service.name {
        manifest.service.debug.clone()
    } else {
        match manifest.dependencies.get(&entry) {
            Some(dep) if dep.kind().is_agent() => {
                return Err(Error::Usage(format!(
                    "`{entry}` is served by the sandbox agent; only the service and real containers can be debugged"
                )));
            }
            Some(dep) => dep.debug.clone(),
            None => {
                return Err(Error::Usage(format!(
                    "no entry named `{entry}` in {}",
                    loaded.file.display()
                )));
            }
        }
    };
    let Some(debug) = debug else {
        return Err(Error::Usage(format!(
            "`{entry}` has no `debug:` settings in {}; add e.g. `debug: {{port: 2345, command: [\"/dlv\", \"exec\", \"/app\", \"--listen=:2345\", \"--headless\"]}}`",
            loaded.file.display()
        )));
    };
    let (doc, _) = bring_up(
        globals,
        UpRequest {
            record: Vec::new(),
            debug: if args.stop {
                Vec::new()
            } else {
                vec![entry.clone()]
            },
            timeout: None,
            keep: true,
            quiet: args.json,
        },
    )
    .await?;
    if args.stop {
        if args.json {
            output::print_json(&serde_json::json!({"entry": entry, "debug": false}))?;
        } else {
            output::println(&format!("{entry} runs with its normal settings again"))?;
        }
        return Ok(());
    }
    let address = doc
        .entry(&entry)
        .and_then(|e| e.debug.clone())
        .ok_or_else(|| Error::Failed(format!("the debug port of `{entry}` is not published")))?;
    let attach = Attach::new(&entry, &debug, &address);
    let port = attach.port;
    if args.json {
        output::print_json(&attach)?;
    } else {
        output::println(&format!(
            "{entry} is waiting for a debugger at 127.0.0.1:{port} (port {} in the container)",
            debug.port
        ))?;
        for line in &attach.attach {
            output::println(&format!("  {line}"))?;
        }
        output::println(&format!(
            "`sandbox debug --stop{}` returns it to its normal settings",
            args.entry
                .as_ref()
                .map(|e| format!(" {e}"))
                .unwrap_or_default()
        ))?;
    }
    Ok(())
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
