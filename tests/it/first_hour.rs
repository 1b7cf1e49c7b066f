//! What a new user meets in their first hour, against the real binary: no
//! manifest yet, `init` in each kind of folder, `-f` after `logs` and
//! `calls`. No Docker needed (the engine address points nowhere).

use std::path::Path;
use std::process::{Command, Output};

use super::manifest::limit_memory;

/// Runs the binary in `dir` with `args`, no engine reachable.
fn sandbox(dir: &Path, args: &[&str]) -> Output {
    limit_memory(
        Command::new(env!("CARGO_BIN_EXE_sandbox"))
            .current_dir(dir)
            .args(args)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env_remove("SANDBOX_FILE"),
    )
    .output()
    .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn no_manifest_names_the_folder_and_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().canonicalize().unwrap();
    for args in [&["validate"][..], &["up"], &["status"], &["check"]] {
        let output = sandbox(&folder, args);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {text}");
        assert_eq!(
            text,
            format!(
                "error: there is no `sandbox.yaml` in this folder ({})\n  help: write one with `sandbox init`, or name another with `-f PATH` (or the SANDBOX_FILE variable)\n",
                folder.display()
            ),
            "{args:?}"
        );
    }
    let output = sandbox(&folder, &["validate", "--json"]);
    assert_eq!(output.status.code(), Some(2));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["valid"], false);
    let problem = &document["problems"][0];
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .starts_with("there is no `sandbox.yaml` in this folder"),
        "{problem}"
    );
    assert!(
        problem["help"].as_str().unwrap().contains("sandbox init"),
        "{problem}"
    );
}

fn dash_f_after_logs_and_calls_means_follow_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        "version: 1\nservice:\n  name: orders\n  image: orders:dev\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("manifest"), "").unwrap();
    for (args, command, entry) in [
        (&["logs", "-f", "sandbox.yaml"][..], "logs", "sandbox.yaml"),
        (&["calls", "-f", "other.yml"], "calls", "other.yml"),
        (&["logs", "--follow", "./manifest"], "logs", "./manifest"),
    ] {
        let output = sandbox(dir.path(), args);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {text}");
        assert_eq!(
            text,
            format!(
                "error: `{entry}` is not an entry: after `{command}`, `-f` means follow\n  help: name the manifest with `--file {entry}`\n"
            ),
            "{args:?}"
        );
    }
    // An entry name is taken as one (here: no engine, so exit 1).
    let output = sandbox(dir.path(), &["logs", "-f", "orders"]);
    assert!(
        !stderr(&output).contains("means follow"),
        "{}",
        stderr(&output)
    );
}

cases! {
    docker: [],
    plain: [
        no_manifest_names_the_folder_and_how_to_get_one,
        dash_f_after_logs_and_calls_means_follow_and_says_so,
    ],
}
