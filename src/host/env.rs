//! The environment an entry gets (`sandbox env`, and the process `up --host`
//! starts): in its container, the sandbox's wiring with names on the
//! network; on the host, the same wiring with the host URLs of the running
//! sandbox.

use indexmap::IndexMap;

use crate::manifest::{Loaded, Source, env_stem};
use crate::plan::{self, PlanOptions, Role};
use crate::runner::status::StatusDoc;

/// Why an entry has no environment to show.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("no entry named `{entry}`; the entries are: {known}")]
    Unknown { entry: String, known: String },
    #[error(
        "`{entry}` is a {kind} dependency, served by the sandbox's agent: it runs no process of its own, so it has no environment"
    )]
    Served { entry: String, kind: String },
    #[error("{0}")]
    Plan(String),
}

/// The environment of `entry` inside its container, as the plan gives it.
pub fn container_env(loaded: &Loaded, entry: &str) -> Result<IndexMap<String, String>, EnvError> {
    let entries = &loaded.entries;
    if entry != entries.service.name {
        match entries.dependencies.get(entry).map(|d| &d.source) {
            Some(Source::Container(_)) => {}
            Some(other) => {
                return Err(EnvError::Served {
                    entry: entry.to_owned(),
                    kind: other.kind().as_str().to_owned(),
                });
            }
            None => {
                return Err(EnvError::Unknown {
                    entry: entry.to_owned(),
                    known: std::iter::once(entries.service.name.as_str())
                        .chain(entries.dependencies.keys().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    let plan =
        plan::plan(loaded, &PlanOptions::default()).map_err(|error| EnvError::Plan(error.0))?;
    let planned = plan
        .containers
        .iter()
        .find(|c| c.entry == entry && c.role != Role::Agent)
        .ok_or_else(|| EnvError::Plan(format!("the plan has no container for `{entry}`")))?;
    Ok(planned
        .spec
        .env
        .iter()
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect())
}

/// The environment of `entry` as a process on the host: its container's,
/// with every address of the network replaced by its host address in `doc`
/// (the running sandbox), then the entry's `host.env`.
pub fn host_env(
    loaded: &Loaded,
    entry: &str,
    doc: &StatusDoc,
) -> Result<IndexMap<String, String>, EnvError> {
    let mut env = container_env(loaded, entry)?;
    if let Some(registry) = &doc.registry_url {
        env.insert("SANDBOX_REGISTRY_URL".into(), registry.clone());
    }
    if let Some(otlp) = &doc.otlp_url
        && env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == Some(&plan::otlp_endpoint())
    {
        env.insert("OTEL_EXPORTER_OTLP_ENDPOINT".into(), otlp.clone());
    }
    // Each `name:port` of the network and where the host reaches it.
    let mut addresses: Vec<(String, String)> = Vec::new();
    for (name, dep) in &loaded.entries.dependencies {
        if name == entry {
            continue;
        }
        let Some(status) = doc.entry(name) else {
            continue;
        };
        let Some(first) = status.ports.values().next() else {
            continue;
        };
        let stem = env_stem(name);
        let port = first.rsplit_once(':').map_or("", |(_, p)| p);
        env.insert(format!("{stem}_URL"), format!("http://{first}"));
        env.insert(format!("{stem}_HOST"), "127.0.0.1".into());
        env.insert(format!("{stem}_PORT"), port.to_owned());
        match dep.source.container() {
            Some(container) => {
                for (port_name, port) in &container.ports {
                    if let Some(address) = status.ports.get(port_name) {
                        addresses.push((format!("{name}:{port}"), address.clone()));
                    }
                }
            }
            None => addresses.push((
                format!("{name}:{}", plan::dependency_port(&dep.source)),
                first.clone(),
            )),
        }
    }
    // Addresses the manifest wrote into values (`postgres://u:p@db:5432/x`).
    for value in env.values_mut() {
        *value = rewrite_addresses(value, &addresses);
    }
    if let Some(host) = entry_host(loaded, entry) {
        for (key, value) in &host.env {
            env.insert(key.clone(), value.0.clone());
        }
    }
    Ok(env)
}

/// The `host:` settings of an entry, if it has them.
pub fn entry_host<'l>(loaded: &'l Loaded, entry: &str) -> Option<&'l crate::manifest::Host> {
    let entries = &loaded.entries;
    if entry == entries.service.name {
        return entries.service.container.host.as_ref();
    }
    entries
        .dependencies
        .get(entry)?
        .source
        .container()?
        .host
        .as_ref()
}

/// `value` with every `name:port` of `addresses` that follows `//` or `@`
/// (a URL's authority) replaced by its host address.
fn rewrite_addresses(value: &str, addresses: &[(String, String)]) -> String {
    let mut out = value.to_owned();
    for (network, host) in addresses {
        for lead in ["//", "@"] {
            let from = format!("{lead}{network}");
            let mut at = 0;
            while let Some(found) = out[at..].find(&from) {
                let start = at + found;
                let end = start + from.len();
                // `db:5432` must not match `db:54321`.
                if out[end..].starts_with(|c: char| c.is_ascii_digit()) {
                    at = end;
                    continue;
                }
                let to = format!("{lead}{host}");
                out.replace_range(start..end, &to);
                at = start + to.len();
            }
        }
    }
    out
}

/// How `sandbox env` prints an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `KEY=value` lines, as `.env` files and IDE run settings read them.
    Dotenv,
    /// `export KEY='value'` lines for a POSIX shell (`eval "$(sandbox env --format shell)"`).
    Shell,
    /// One JSON object.
    Json,
}

/// `env` in `format`.
pub fn render(env: &IndexMap<String, String>, format: Format) -> String {
    match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(env).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Dotenv => env
            .iter()
            .map(|(key, value)| format!("{key}={}\n", dotenv_value(value)))
            .collect(),
        Format::Shell => env
            .iter()
            .map(|(key, value)| format!("export {key}='{}'\n", value.replace('\'', r"'\''")))
            .collect(),
    }
}

/// A value as a `.env` file holds it: bare when nothing in it needs
/// quoting, else double-quoted with `\`, `"`, `$` and newlines escaped.
fn dotenv_value(value: &str) -> String {
    let bare = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+,=?&~".contains(c));
    if bare {
        return value.to_owned();
    }
    let mut quoted = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '$' => quoted.push_str("\\$"),
            '\n' => quoted.push_str("\\n"),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_urls_become_host_addresses_and_only_whole_ports_match() {
        let addresses = vec![
            ("db:5432".to_owned(), "127.0.0.1:40001".to_owned()),
            ("cache:6379".to_owned(), "127.0.0.1:40002".to_owned()),
        ];
        assert_eq!(
            rewrite_addresses("postgres://u:p@db:5432/shop", &addresses),
            "postgres://u:p@127.0.0.1:40001/shop"
        );
        assert_eq!(
            rewrite_addresses("redis://cache:6379,redis://cache:6379/1", &addresses),
            "redis://127.0.0.1:40002,redis://127.0.0.1:40002/1"
        );
        assert_eq!(
            rewrite_addresses("http://db:54321 db:5432 xdb:5432", &addresses),
            "http://db:54321 db:5432 xdb:5432"
        );
    }

    #[test]
    fn each_format_round_trips_through_its_reader() {
        let env: IndexMap<String, String> = [
            ("PLAIN", "http://127.0.0.1:8080/x?a=1&b=2"),
            ("SPACED", "two words"),
            ("QUOTES", "it's \"quoted\" $HOME \\ done"),
            ("LINES", "a\nb"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let dotenv = render(&env, Format::Dotenv);
        assert!(dotenv.starts_with("PLAIN=http://127.0.0.1:8080/x?a=1&b=2\n"));
        assert!(dotenv.contains("SPACED=\"two words\"\n"));
        assert!(dotenv.contains(r#"QUOTES="it's \"quoted\" \$HOME \\ done""#));
        // A POSIX shell reads the shell form back to the same values.
        let script = format!(
            "{}printf '%s\\0' \"$PLAIN\" \"$SPACED\" \"$QUOTES\" \"$LINES\"",
            render(&env, Format::Shell)
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        let values: Vec<&str> = std::str::from_utf8(&out.stdout)
            .unwrap()
            .split('\0')
            .filter(|v| !v.is_empty())
            .collect();
        assert_eq!(values, env.values().map(String::as_str).collect::<Vec<_>>());
        let json: IndexMap<String, String> =
            serde_json::from_str(&render(&env, Format::Json)).unwrap();
        assert_eq!(json, env);
    }
}
