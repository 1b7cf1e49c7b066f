//! The README's examples are real: each block marked `<!-- example: NAME -->`
//! is run and its output compared word for word.

use std::process::Command;

use crate::common::*;

/// The fenced block that follows the marker `<!-- example: NAME -->`.
fn example(name: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let marker = format!("<!-- example: {name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("README.md has no `{marker}`"))
        .1;
    let fence = after.find("```").expect("a fenced block after the marker");
    let body = &after[fence + 3..];
    let body = &body[body.find('\n').expect("a fence line") + 1..];
    body[..body.find("```").expect("a closing fence")].to_owned()
}

fn the_validate_example_prints_what_the_readme_shows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        example("validate manifest"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("validate")
        .current_dir(dir.path())
        .env_remove("SANDBOX_FILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), example("validate output"));
}

cases! {
    docker: [],
    plain: [the_validate_example_prints_what_the_readme_shows],
}
