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

/// `init` in a folder holding `files`: the manifest written, stderr; the
/// manifest must validate as written, its trailing comments in one column.
fn init_in(folder_name: &str, files: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(folder_name);
    for file in files {
        let path = folder.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "FROM scratch\n").unwrap();
    }
    std::fs::create_dir_all(&folder).unwrap();
    let output = sandbox(&folder, &["init"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written = std::fs::read_to_string(folder.join("sandbox.yaml")).unwrap();
    let validated = sandbox(&folder, &["validate"]);
    assert_eq!(
        validated.status.code(),
        Some(0),
        "{files:?}:\n{written}\n{}",
        stderr(&validated)
    );
    let columns: std::collections::BTreeSet<usize> = written
        .lines()
        .filter_map(|l| {
            let start = l.len() - l.trim_start().len();
            let from = if l[start..].starts_with("# ") {
                start + 2
            } else {
                start
            };
            l[from..].find("  # ").map(|i| from + i + 2)
        })
        .collect();
    assert_eq!(columns.len(), 1, "comments not aligned:\n{written}");
    (written, stderr(&output))
}

fn init_writes_a_manifest_that_validates_in_every_kind_of_folder() {
    let (written, said) = init_in("shop", &["Dockerfile", "Cargo.toml"]);
    assert!(written.contains("\n  build: .  "), "{written}");
    assert!(said.contains("built from ."), "{said}");

    let (written, _) = init_in("shop", &["api/Dockerfile"]);
    assert!(written.contains("\n  build: ./api  "), "{written}");

    for marker in ["Cargo.toml", "go.mod", "package.json", "pyproject.toml"] {
        let (written, said) = init_in("shop", &[marker]);
        assert!(
            written.contains(&format!("has a {marker} but no Dockerfile")),
            "{written}"
        );
        assert!(written.contains("\n  image: shop:dev  "), "{written}");
        assert!(
            said.contains(&format!(
                "this folder has a {marker} but no Dockerfile: add one"
            )),
            "{said}"
        );
    }

    let (written, said) = init_in("shop", &[]);
    assert!(written.contains("\n  image: shop:dev  "), "{written}");
    assert!(said.contains("set `image:`"), "{said}");

    // A long name pushes every comment out, all to one column (checked in
    // `init_in`).
    let long = "a-service-with-a-name-of-forty-chars-xyz";
    let (written, _) = init_in(long, &[]);
    assert!(written.contains(&format!("  name: {long}  ")), "{written}");
}

cases! {
    docker: [],
    plain: [
        no_manifest_names_the_folder_and_how_to_get_one,
        dash_f_after_logs_and_calls_means_follow_and_says_so,
        init_writes_a_manifest_that_validates_in_every_kind_of_folder,
    ],
}
