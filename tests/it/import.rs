//! `sandbox import compose` as a user runs it: stdout or `-o FILE`, the
//! report on stderr, exit codes, and a Compose file whose images build here
//! imported and brought up with `sandbox up` (PRODUCT.md 6.5).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

fn import(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(["import", "compose"])
        .args(args)
        .env_remove("SANDBOX_FILE")
        .output()
        .expect("run sandbox import")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy of tests/fixtures/compose/NAME in a temporary folder.
fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let to = temp.path().join(name);
    copy(&root().join("tests/fixtures/compose").join(name), &to);
    (temp, to)
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn validate(file: &Path) {
    let out = Command::new(BIN)
        .args(["validate", "-f"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} does not validate: {}",
        file.display(),
        text(&out.stderr)
    );
}

fn the_manifest_goes_to_stdout_and_the_report_to_stderr() {
    let (_temp, dir) = fixture("webapp");
    // Found by its default name, as Compose finds it.
    let out = import(&dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let manifest = text(&out.stdout);
    assert!(
        manifest.starts_with("# Imported from compose.yaml"),
        "{manifest}"
    );
    let err = text(&out.stderr);
    assert!(
        err.starts_with("imported compose.yaml: service `web`, dependencies: db, cache"),
        "{err}"
    );
    assert!(
        err.contains("not carried over (a manifest has no equivalent):"),
        "{err}"
    );
    assert!(err.contains("  compose.yaml:21: web: volumes: "), "{err}");
    assert!(err.contains("  compose.yaml:53: networks: "), "{err}");
    assert!(err.contains("changed on the way:"), "{err}");
    // Nothing is left behind in the folder by the check before printing.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with(".sandbox-import")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n == "sandbox.yaml"), "{names:?}");
    // What it printed is a manifest that validates there.
    std::fs::write(dir.join("sandbox.yaml"), &manifest).unwrap();
    validate(&dir.join("sandbox.yaml"));
}

fn output_files_are_never_overwritten_without_force() {
    let (_temp, dir) = fixture("anchors-env");
    let out = import(&dir, &["docker-compose.yml", "-o", "sandbox.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("wrote sandbox.yaml"), "{err}");
    let file = dir.join("sandbox.yaml");
    validate(&file);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);

    std::fs::write(&file, "mine\n").unwrap();
    let out = import(&dir, &["docker-compose.yml", "-o", "sandbox.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("sandbox.yaml already exists; pass --force to overwrite it")
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine\n");
    // A folder: its sandbox.yaml.
    let out = import(&dir, &["docker-compose.yml", "-o", ".", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    validate(&file);
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".sandbox-import")
        })
        .count();
    assert_eq!(leftovers, 0);
}

fn bad_input_exits_2_with_the_line_and_the_fix() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let out = import(dir, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("there is no Compose file in this folder"),
        "{}",
        text(&out.stderr)
    );
    let out = import(dir, &["nope.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read nope.yaml"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(
        dir.join("broken.yaml"),
        "services:\n  web:\n    image: [x\n",
    )
    .unwrap();
    let out = import(dir, &["broken.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: broken.yaml:4:1: YAML syntax error"),
        "{err}"
    );
    assert!(err.contains("help: "), "{err}");

    std::fs::write(
        dir.join("two.yaml"),
        "services:\n  web:\n    image: a\n  worker:\n    image: b\n",
    )
    .unwrap();
    let out = import(dir, &["two.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("2 services are in no other service's `depends_on`: web, worker"),
        "{err}"
    );
    assert!(err.contains("--service"), "{err}");
    let out = import(dir, &["two.yaml", "--service", "worker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("service:\n  name: worker\n"));
    // `-f` names a manifest, as everywhere; a Compose user may mean the file.
    let out = import(dir, &["-f", "two.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`sandbox import compose two.yaml`"),
        "{}",
        text(&out.stderr)
    );
    let out = import(dir, &["two.yaml", "--service", "wrk"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("there is no service `wrk`"));
}

/// The README's example: the manifest and the report it shows, word for word.
fn the_readme_example_imports_as_shown() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    std::fs::create_dir(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        crate::readme::example("compose file"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(["import", "compose", "-o", "sandbox.yaml"])
        .env_remove("LOG_LEVEL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), crate::readme::example("compose report"));
    assert_eq!(
        std::fs::read_to_string(dir.join("sandbox.yaml")).unwrap(),
        crate::readme::example("compose manifest")
    );
}

/// A Compose file whose images build here (FROM scratch and shopd): the
/// imported manifest comes up and goes down.
fn an_imported_compose_file_comes_up() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("import", "version: 1\n");
    sandbox.write(
        "compose.yaml",
        r#"x-shopd: &shopd
  build:
    context: ./app
    args: [UNUSED=1]
services:
  web:
    <<: *shopd
    command: ["/shopd", "fixture", "--port", "8080"]
    environment:
      GREETING: ${GREETING:-hello}
      ECHO_AT: echo:7000
    ports: ["127.0.0.1:18080:8080"]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8080/healthz"]
      interval: 2s
      retries: 5
    depends_on:
      echo:
        condition: service_started
    volumes: [data:/data]
  echo:
    <<: *shopd
    entrypoint: /shopd
    command: tcp-echo --port 7000
    expose: ["7000"]
    restart: unless-stopped
volumes:
  data: {}
"#,
    );
    let out = import(
        sandbox.dir.path(),
        &["compose.yaml", "-o", "sandbox.yaml", "--force"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("compose.yaml:20: web: volumes"), "{err}");
    assert!(
        err.contains("compose.yaml:23: echo: entrypoint and command combined into `command`"),
        "{err}"
    );
    let manifest = std::fs::read_to_string(sandbox.path("sandbox.yaml")).unwrap();
    assert!(
        manifest.contains("command: [\"/shopd\", \"tcp-echo\", \"--port\", \"7000\"]"),
        "{manifest}"
    );

    sandbox.ok(&["up"]);
    let status = sandbox.status();
    let entries = status["entries"].as_array().unwrap();
    let web = entries.iter().find(|e| e["name"] == "web").unwrap();
    assert_eq!(web["health"], "up", "{status}");
    let echo = entries.iter().find(|e| e["name"] == "echo").unwrap();
    assert_eq!(echo["state"], "running", "{status}");
    // The environment came across, interpolated.
    let (code, body) = get(&format!("{}/env", sandbox.url("web")));
    assert_eq!(code, 200);
    let env: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(env["GREETING"], "hello");
    assert_eq!(env["ECHO_URL"], "http://echo:7000");
    sandbox.ok(&["down"]);
    assert_eq!(sandbox.leftovers(), 0);
}

cases! {
    docker: [an_imported_compose_file_comes_up],
    plain: [
        the_manifest_goes_to_stdout_and_the_report_to_stderr,
        output_files_are_never_overwritten_without_force,
        bad_input_exits_2_with_the_line_and_the_fix,
        the_readme_example_imports_as_shown,
    ],
}
