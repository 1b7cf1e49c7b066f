//! Command-line interface: clap types, one file per subcommand.

mod agent;
mod calls;
mod check;
mod completions;
mod convert;
mod debug;
mod down;
mod env;
mod exec;
mod faults;
mod forward;
mod host;
mod import;
mod logs;
mod registry;
mod run;
mod status;
mod traces;
mod ui;
mod up;
mod validate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::Result;
use crate::manifest::{self, Loaded};

/// Run a service and its dependencies the same way everywhere.
#[derive(Debug, Parser)]
#[command(name = "sandbox", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub struct Globals {
    /// The manifest to use.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        env = "SANDBOX_FILE",
        value_name = "PATH"
    )]
    pub file: Option<PathBuf>,
    /// Run or address a copy of the sandbox under another name.
    #[arg(long, global = true, value_name = "NAME")]
    pub name: Option<String>,
    /// The docker context whose engine to use (default: as the docker CLI chooses).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The process's interrupt token (set by [`run`]).
    #[arg(skip)]
    pub interrupt: Option<Interrupt>,
}

/// `-f/--file` after a subcommand.
#[derive(Debug, Clone, Args)]
pub struct FileArg {
    /// The manifest to use (default: ./sandbox.yaml).
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// `--file` after `logs` and `calls`, whose `-f` means follow.
#[derive(Debug, Clone, Args)]
pub struct FileLong {
    /// The manifest to use (default: ./sandbox.yaml).
    #[arg(long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build, start and wait until every entry is healthy.
    Up(up::UpArgs),
    /// Remove every container, network and volume of the sandbox.
    Down(down::DownArgs),
    /// The environment an entry gets (host URLs with --host), for IDEs and shells.
    Env(env::EnvArgs),
    /// Entries, state, health and host URLs.
    #[command(visible_alias = "ps")]
    Status(status::StatusArgs),
    /// Logs of the sandbox's entries, prefixed with the entry name.
    Logs(logs::LogsArgs),
    /// Run a command in an entry's container.
    Exec(exec::ExecArgs),
    /// Open a shell in an entry's container.
    Shell(exec::ShellArgs),
    /// What the sandbox's registry answers.
    Registry(registry::RegistryArgs),
    /// The call journal: every call to a stubbed, replayed or recorded dependency.
    Calls(calls::CallsArgs),
    /// Recent traces across entries, or one trace as a tree.
    Traces(traces::TracesArgs),
    /// Print the dashboard's URL (`--open` opens a browser on it).
    Ui(ui::UiArgs),
    /// Run the manifest's semantic checks against the running sandbox.
    Check(check::CheckArgs),
    /// Bring the sandbox up, run a command against it, tear it down.
    Run(run::RunArgs),
    /// Restart an entry with its debug settings and print how to attach.
    Debug(debug::DebugArgs),
    /// Change the faults of a running dependency.
    Faults(faults::FaultsArgs),
    /// Change the limits of a running dependency.
    Limits(faults::LimitsArgs),
    /// Check the manifest; start nothing.
    Validate(validate::ValidateArgs),
    /// Print the manifest's JSON Schema (or a recording's).
    Schema(validate::SchemaArgs),
    /// Write a commented starter sandbox.yaml.
    Init(validate::InitArgs),
    /// Write a sandbox.yaml from what a team already has (a Compose file).
    Import(import::ImportArgs),
    /// Turn a recording into a HAR file and back (by the files' extensions).
    Convert(convert::ConvertArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
    /// Serve stubs, recordings, proxies and the registry inside a sandbox.
    #[command(hide = true)]
    Agent(agent::AgentArgs),
    /// Forward a sandbox's published ports from a remote engine to 127.0.0.1.
    #[command(hide = true)]
    Forward(forward::ForwardArgs),
}

impl Command {
    /// The manifest path given after the subcommand, if any.
    fn file(&self) -> Option<PathBuf> {
        match self {
            Command::Up(a) => a.manifest.file.clone(),
            Command::Down(a) => a.manifest.file.clone(),
            Command::Status(a) => a.manifest.file.clone(),
            Command::Env(a) => a.manifest.file.clone(),
            Command::Logs(a) => a.manifest.file.clone(),
            Command::Exec(a) => a.manifest.file.clone(),
            Command::Shell(a) => a.manifest.file.clone(),
            Command::Registry(a) => a.manifest.file.clone(),
            Command::Calls(a) => a.manifest.file.clone(),
            Command::Traces(a) => a.manifest.file.clone(),
            Command::Ui(a) => a.manifest.file.clone(),
            Command::Check(a) => a.manifest.file.clone(),
            Command::Run(a) => a.manifest.file.clone(),
            Command::Debug(a) => a.manifest.file.clone(),
            Command::Faults(a) => a.manifest.file.clone(),
            Command::Limits(a) => a.manifest.file.clone(),
            Command::Validate(a) => a.manifest.file.clone(),
            Command::Schema(_)
            | Command::Init(_)
            | Command::Import(_)
            | Command::Convert(_)
            | Command::Completions(_)
            | Command::Agent(_)
            | Command::Forward(_) => None,
        }
    }
}

impl Cli {
    /// Whether the command runs best on one thread: the carriers of
    /// forwarded connections (`forward`, `agent --mux`) copy bytes between
    /// sockets and pipes, where a second worker thread adds only wake-ups
    /// across threads, not throughput.
    pub fn one_thread(&self) -> bool {
        match &self.command {
            Command::Forward(_) => true,
            Command::Agent(args) => args.mux,
            _ => false,
        }
    }
}

/// Runs a command. `interrupt` is the process's Ctrl-C/SIGTERM token.
pub async fn run(cli: Cli, interrupt: Interrupt) -> Result<()> {
    let mut globals = cli.globals;
    if let Some(file) = cli.command.file() {
        globals.file = Some(file);
    }
    globals.interrupt = Some(interrupt.clone());
    if let Some(context) = &globals.context {
        crate::engine::select::set_context_flag(context);
    }
    match cli.command {
        // These watch the token themselves: they clean up or stop on it.
        Command::Up(args) => up::run(&globals, args).await,
        Command::Run(args) => run::run(&globals, args).await,
        Command::Debug(args) => debug::run(&globals, args).await,
        Command::Logs(args) => logs::run(&globals, args).await,
        Command::Calls(args) => calls::run(&globals, args).await,
        Command::Agent(args) => agent::run(args).await,
        Command::Forward(args) => forward::run(&globals, args, &interrupt).await,
        other => {
            tokio::select! {
                result = run_simple(&globals, other) => result,
                _ = interrupt.wait() => Err(crate::Error::Interrupted),
            }
        }
    }
}

/// The commands that hold nothing to clean up when interrupted.
async fn run_simple(globals: &Globals, command: Command) -> Result<()> {
    let globals = globals.clone();
    match command {
        Command::Up(_)
        | Command::Run(_)
        | Command::Debug(_)
        | Command::Logs(_)
        | Command::Calls(_)
        | Command::Agent(_)
        | Command::Forward(_) => unreachable!("dispatched by `run`"),
        Command::Down(args) => down::run(&globals, args).await,
        Command::Status(args) => status::run(&globals, args).await,
        Command::Env(args) => env::run(&globals, args).await,
        Command::Exec(args) => exec::run(&globals, args).await,
        Command::Shell(args) => exec::shell(&globals, args).await,
        Command::Registry(args) => registry::run(&globals, args).await,
        Command::Check(args) => check::run(&globals, args).await,
        Command::Traces(args) => traces::run(&globals, args).await,
        Command::Ui(args) => ui::run(&globals, args).await,
        Command::Faults(args) => faults::faults(&globals, args).await,
        Command::Limits(args) => faults::limits(&globals, args).await,
        Command::Validate(args) => validate::validate(&globals, args),
        Command::Schema(args) => validate::schema(args),
        Command::Init(args) => validate::init(&globals, args),
        Command::Import(args) => import::run(&globals, args),
        Command::Convert(args) => convert::run(args),
        Command::Completions(args) => completions::run(args),
    }
}

impl Globals {
    /// A receiver of the process's interrupt token.
    pub(crate) fn interrupted(&self) -> tokio::sync::watch::Receiver<bool> {
        match &self.interrupt {
            Some(interrupt) => interrupt.receiver(),
            // Outside `run` (a library caller): nothing interrupts. The
            // sender is kept, or receivers would see a closed channel.
            None => {
                let (sender, receiver) = tokio::sync::watch::channel(false);
                std::mem::forget(sender);
                receiver
            }
        }
    }

    /// The manifest path: `-f`, `SANDBOX_FILE`, or `./sandbox.yaml`.
    pub fn manifest_path(&self) -> PathBuf {
        self.file
            .clone()
            .unwrap_or_else(|| PathBuf::from(manifest::DEFAULT_FILE))
    }

    /// Loads and validates the manifest, applying `--name`; its warnings
    /// go to stderr. Each command loads it once.
    pub fn load(&self) -> Result<Loaded> {
        let loaded = self.load_quietly()?;
        if !loaded.warnings.is_empty() {
            crate::output::eprintln(&render_warnings(&loaded.warnings));
        }
        Ok(loaded)
    }

    /// [`Globals::load`] without printing the warnings (for a caller that
    /// shows them otherwise, as `validate --json` does).
    pub fn load_quietly(&self) -> Result<Loaded> {
        let mut loaded = manifest::load(&self.manifest_path())?;
        if let Some(name) = &self.name {
            if !manifest::is_valid_name(name) {
                return Err(crate::Error::Usage(format!(
                    "`{name}` is not a valid sandbox name; use lowercase letters, digits and `-`, starting with a letter, at most 40 characters"
                )));
            }
            loaded.name = name.clone();
        }
        Ok(loaded)
    }

    /// The sandbox name without requiring a valid manifest when `--name` is
    /// given (so `down --name x` works from anywhere).
    pub fn sandbox_name(&self) -> Result<String> {
        if let Some(name) = &self.name {
            return Ok(name.clone());
        }
        match self.load() {
            Ok(loaded) => Ok(loaded.name),
            // A manifest broken by an edit must not keep its running sandbox
            // from being shown or removed.
            Err(crate::Error::Manifest(manifest::ManifestError::Invalid { problems })) => {
                let path = self.manifest_path();
                let name = manifest::lenient_name(&path).ok_or(crate::Error::Manifest(
                    manifest::ManifestError::Invalid { problems },
                ))?;
                crate::output::eprintln(&format!(
                    "warning: {} does not validate (`sandbox validate` says why); using the sandbox name `{name}`",
                    path.display()
                ));
                Ok(name)
            }
            Err(other) => Err(other),
        }
    }
}

/// After `logs` and `calls`, `-f` means follow, so `logs -f sandbox.yaml`
/// takes the manifest for an entry name: say so when the entry argument
/// cannot be an entry and names a file or a YAML file name.
pub(crate) fn follow_not_file(command: &str, follow: bool, entry: Option<&str>) -> Result<()> {
    let Some(entry) = entry.filter(|_| follow) else {
        return Ok(());
    };
    let yaml = entry.ends_with(".yaml") || entry.ends_with(".yml");
    if manifest::is_valid_name(entry) || !(yaml || std::path::Path::new(entry).is_file()) {
        return Ok(());
    }
    Err(crate::Error::Usage(format!(
        "`{entry}` is not an entry: after `{command}`, `-f` means follow\n  help: name the manifest with `--file {entry}`"
    )))
}

/// Warnings as `warning: FILE:L:C: message` lines, each with its help line.
pub(crate) fn render_warnings(warnings: &[manifest::Problem]) -> String {
    warnings
        .iter()
        .map(|w| format!("warning: {w}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Connects to the engine (one line naming the socket when it can't).
pub(crate) async fn connect() -> Result<crate::engine::Engine> {
    Ok(crate::engine::Engine::connect().await?)
}

/// Ctrl-C or SIGTERM: one token for the whole process, created in `main`
/// before any work starts. Commands that must clean up when interrupted
/// (`up`, `run`, `debug`) or that run until stopped (`logs -f`, `calls -f`)
/// watch it themselves; every other command is raced against it by
/// [`run`], so Ctrl-C always ends the process with 130.
#[derive(Debug, Clone)]
pub struct Interrupt(tokio::sync::watch::Receiver<bool>);

impl Interrupt {
    /// Starts listening for SIGINT and SIGTERM; call inside the runtime.
    pub fn listen() -> std::io::Result<Interrupt> {
        use tokio::signal::unix::{SignalKind, signal};
        // Registered now, not on first poll, so an early signal is not lost.
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let (sender, receiver) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            let _ = sender.send(true);
            // Keep the sender alive so receivers see `true`, not a closed channel.
            std::future::pending::<()>().await;
        });
        Ok(Interrupt(receiver))
    }

    /// A receiver that turns true on the signal.
    pub fn receiver(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.clone()
    }

    /// Resolves once the signal came.
    pub async fn wait(&self) {
        let mut receiver = self.0.clone();
        let _ = receiver.wait_for(|stop| *stop).await;
    }
}

/// The sandbox's entries as the engine shows them, with health from the
/// registry when it answers; fails when nothing of the sandbox runs.
pub(crate) async fn find_running(
    engine: &crate::engine::Engine,
    sandbox: &str,
) -> Result<crate::runner::status::Found> {
    let found = crate::runner::status::Found::load(engine, sandbox).await?;
    if found.is_empty() {
        return Err(crate::Error::Failed(format!(
            "sandbox `{sandbox}` is not running; start it with `sandbox up`"
        )));
    }
    Ok(found)
}

/// Each entry's health as the registry reports it; empty when the registry
/// does not answer.
pub(crate) async fn registry_health(
    found: &crate::runner::status::Found,
) -> std::collections::HashMap<String, String> {
    let Some(url) = found.registry_url() else {
        return Default::default();
    };
    crate::registry::health_by_entry(&url)
        .await
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_file_may_come_before_or_after_the_subcommand() {
        let cli = Cli::try_parse_from(["sandbox", "-f", "a.yaml", "logs", "-f"]).unwrap();
        assert_eq!(cli.globals.file, Some(PathBuf::from("a.yaml")));
        assert!(matches!(cli.command, Command::Logs(ref l) if l.follow));
        let cli = Cli::try_parse_from(["sandbox", "up", "-f", "b.yaml"]).unwrap();
        assert_eq!(cli.command.file(), Some(PathBuf::from("b.yaml")));
        // The Compose file of `import compose` is not the manifest.
        let cli = Cli::try_parse_from(["sandbox", "import", "compose", "c.yaml"]).unwrap();
        assert_eq!(cli.globals.file, None);
    }
}
