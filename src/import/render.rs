//! Writes a [`Draft`] as a commented `sandbox.yaml`: the service first,
//! then the dependencies, block style, comments where the import changed
//! or left out something. Scalars are written plain only when they read
//! back as the same string; otherwise double-quoted with YAML's escapes.

use super::{Draft, DraftEntry, DraftHealth, DraftSource};
use crate::manifest::tree::{Node, Scalar, Value};

pub(super) fn draft(draft: &Draft) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Imported from {} by `sandbox import {}`.\n",
        one_line(&draft.source),
        draft.importer
    ));
    out.push_str(
        "# What it could not carry over was listed when it was imported, and is noted\n\
         # below at each entry. Check it with `sandbox validate`; start it with `sandbox up`.\n",
    );
    out.push_str("version: 1\n");
    if let Some(name) = &draft.name {
        out.push_str(&format!("name: {}\n", scalar(name)));
    }
    out.push('\n');
    for comment in &draft.service.comments {
        out.push_str(&format!("# {comment}\n"));
    }
    out.push_str("service:\n");
    out.push_str(&format!("  name: {}\n", scalar(&draft.service.name)));
    entry_body(&mut out, &draft.service, "  ");
    if !draft.dependencies.is_empty() {
        out.push_str("\ndependencies:\n");
        for (i, dependency) in draft.dependencies.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            for comment in &dependency.comments {
                out.push_str(&format!("  # {comment}\n"));
            }
            out.push_str(&format!("  {}:\n", scalar(&dependency.name)));
            entry_body(&mut out, dependency, "    ");
        }
    }
    out
}

fn entry_body(out: &mut String, entry: &DraftEntry, pad: &str) {
    let trailing = |comment: &Option<String>| match comment {
        Some(c) => format!("  # {}", one_line(c)),
        None => String::new(),
    };
    match &entry.source {
        DraftSource::Image(image) => {
            out.push_str(&format!(
                "{pad}image: {}{}\n",
                scalar(image),
                trailing(&entry.source_comment)
            ));
        }
        DraftSource::Build {
            context,
            dockerfile,
            args,
        } if dockerfile.is_none() && args.is_empty() => {
            out.push_str(&format!(
                "{pad}build: {}{}\n",
                scalar(context),
                trailing(&entry.source_comment)
            ));
        }
        DraftSource::Build {
            context,
            dockerfile,
            args,
        } => {
            out.push_str(&format!("{pad}build:{}\n", trailing(&entry.source_comment)));
            out.push_str(&format!("{pad}  context: {}\n", scalar(context)));
            if let Some(dockerfile) = dockerfile {
                out.push_str(&format!("{pad}  dockerfile: {}\n", scalar(dockerfile)));
            }
            if !args.is_empty() {
                out.push_str(&format!("{pad}  args:\n"));
                for (key, value) in args {
                    out.push_str(&format!("{pad}    {}: {}\n", scalar(key), scalar(value)));
                }
            }
        }
    }
    if let Some(command) = &entry.command {
        out.push_str(&format!(
            "{pad}command: {}{}\n",
            flow(command),
            trailing(&entry.command_comment)
        ));
    }
    if !entry.env.is_empty() {
        out.push_str(&format!("{pad}env:\n"));
        for (key, value) in &entry.env {
            out.push_str(&format!("{pad}  {}: {}\n", scalar(key), scalar(value)));
        }
    }
    if !entry.ports.is_empty() {
        out.push_str(&format!("{pad}ports:\n"));
        for (name, port, comment) in &entry.ports {
            out.push_str(&format!(
                "{pad}  {}: {port}{}\n",
                scalar(name),
                trailing(comment)
            ));
        }
    }
    if let Some(health) = &entry.health {
        health_block(out, health, pad, &trailing(&entry.health_comment));
    }
    for line in &entry.trailer {
        out.push_str(&format!("{pad}# {}\n", one_line(line)));
    }
}

fn health_block(out: &mut String, health: &DraftHealth, pad: &str, comment: &str) {
    out.push_str(&format!("{pad}health:{comment}\n"));
    if let Some(path) = &health.http {
        out.push_str(&format!("{pad}  http: {}\n", scalar(path)));
    }
    if let Some(exec) = &health.exec {
        out.push_str(&format!("{pad}  exec: {}\n", flow(exec)));
    }
    if let Some(port) = &health.port {
        out.push_str(&format!("{pad}  port: {}\n", scalar(port)));
    }
    if let Some(contains) = &health.contains {
        out.push_str(&format!("{pad}  contains: {}\n", scalar(contains)));
    }
    if let Some(timeout) = &health.timeout {
        out.push_str(&format!("{pad}  timeout: {}\n", scalar(timeout)));
    }
}

/// A list in flow style, every item quoted: `["a", "b"]`.
fn flow(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    format!("[{}]", items.join(", "))
}

/// A comment's text on one line.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// A string as a YAML scalar that reads back as that same string: plain
/// when it is a simple word that no reader takes for a number, boolean or
/// null, else double-quoted.
pub(super) fn scalar(text: &str) -> String {
    let simple = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_'))
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | ':' | '@' | '+' | '=' | '-')
        })
        && !text.ends_with(':')
        && !text.contains("://");
    let reads_as_string = {
        let node = Node {
            value: Value::Scalar {
                text: text.to_owned(),
                plain: true,
            },
            at: (1, 1),
        };
        matches!(node.scalar(), Some(Scalar::Str(_)))
    };
    // YAML 1.1 readers take these for booleans; quoting costs nothing.
    let ambiguous = matches!(
        text.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off"
    );
    if simple && reads_as_string && !ambiguous {
        text.to_owned()
    } else {
        quoted(text)
    }
}

/// A double-quoted YAML scalar.
pub(super) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f || (0x80..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            '\u{2028}' | '\u{2029}' | '\u{feff}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tree;

    fn reads_back(text: &str) {
        let yaml = format!("k: {}\n", scalar(text));
        let root = tree::parse(&yaml).unwrap().unwrap();
        let node = &root.entry("k").unwrap().value;
        assert_eq!(node.scalar(), Some(Scalar::Str(text)), "{yaml}");
        let parsed: std::collections::HashMap<String, String> =
            serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(parsed["k"], text, "{yaml}");
    }

    #[test]
    fn every_string_reads_back_as_itself() {
        for text in [
            "postgres:16",
            "ghcr.io/getsentry/sentry:nightly",
            "./app",
            "8080",
            "0x10",
            "1e3",
            "true",
            "null",
            "~",
            "",
            "yes",
            "No",
            "a b",
            "key: value",
            "a #b",
            "-x",
            "*x",
            "&x",
            "!x",
            "%x",
            "@x",
            "`x",
            "'x",
            "\"x\"",
            "[x]",
            "{x}",
            "x:",
            "http://registry:80",
            "line\nbreak",
            "tab\there",
            "back\\slash",
            "é ü",
            "\u{7f}",
            "\u{85}",
            "\u{2028}",
            "\u{1}",
            ".inf",
            "-.5",
            "+1",
            "0o17",
            "<<",
            "=",
            "?",
            "|",
            ">",
            "a, b",
        ] {
            reads_back(text);
        }
        assert_eq!(scalar("postgres:16"), "postgres:16");
        assert_eq!(scalar("8080"), "\"8080\"");
        assert_eq!(scalar("./app"), "./app");
    }
}
