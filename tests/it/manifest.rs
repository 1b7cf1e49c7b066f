//! `sandbox validate`, `schema` and `init` against the real binary: every
//! malformed fixture in `tests/fixtures/manifests/` exits 2 with the problems
//! pinned by a snapshot; valid manifests, the starter from `init` and every
//! example in `sandboxes/` pass. No Docker needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/manifests")
}

/// Address space a validating binary may take: far above what the tokio
/// runtime reserves, far below what an expanding alias bomb reaches, so a
/// regression aborts the one command instead of the machine.
pub const MEMORY_LIMIT: u64 = 2 << 30;

/// Limits the address space of a command about to be spawned to
/// [`MEMORY_LIMIT`].
pub fn limit_memory(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the
    // parent; it only lowers a limit of the child about to exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT as libc::rlim_t,
                rlim_max: MEMORY_LIMIT as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Runs the binary in `dir` with `args`, its memory bounded.
fn sandbox(dir: &Path, args: &[&str]) -> Output {
    limit_memory(
        Command::new(env!("CARGO_BIN_EXE_sandbox"))
            .current_dir(dir)
            .args(args)
            .env_remove("SANDBOX_FILE"),
    )
    .output()
    .expect("the binary runs")
}

/// stderr with the machine's absolute paths replaced, so snapshots hold anywhere.
fn redacted(bytes: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    let root = repo();
    if let Ok(real) = root.canonicalize() {
        text = text.replace(&real.display().to_string(), "[repo]");
    }
    text.replace(&root.display().to_string(), "[repo]")
}

fn check_invalid(file: &str, snapshot: &str) {
    let output = sandbox(&fixtures(), &["validate", "-f", file]);
    let stderr = redacted(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{file} should be invalid:\n{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing on stdout for {file}");
    insta::assert_snapshot!(snapshot, stderr);
}

macro_rules! invalid {
    ($($name:ident => $file:literal),* $(,)?) => {
        $(
            fn $name() {
                check_invalid($file, stringify!($name));
            }
        )*
    };
}

invalid! {
    syntax_error => "syntax-error.yaml",
    empty_file => "empty.yaml",
    not_a_map => "not-a-map.yaml",
    version_missing => "version-missing.yaml",
    version_not_one => "version-2.yaml",
    unknown_keys_suggest_the_closest => "unknown-keys.yaml",
    wrong_types => "wrong-types.yaml",
    bad_names => "bad-names.yaml",
    reserved_service_name => "reserved-names.yaml",
    dependency_named_like_the_service => "service-name-clash.yaml",
    duplicate_keys_name_both_lines => "duplicates.yaml",
    bad_units => "bad-units.yaml",
    health_and_port_names => "health-and-ports.yaml",
    kinds => "kinds.yaml",
    service_without_kind => "service-no-kind.yaml",
    service_without_name => "service-no-name.yaml",
    service_not_a_map => "service-not-a-map.yaml",
    files_missing_or_outside => "files.yaml",
    stub_file_problems_name_their_file => "stub-file-problems.yaml",
    bad_recording => "bad-recording.yaml",
    bad_openapi => "bad-openapi.yaml",
    record_upstream => "record-upstream.yaml",
    env_names => "env-names.yaml",
    alias_bomb_is_refused_at_the_alias_that_crosses_the_bound => "alias-bomb.yaml",
    record_targets_that_cannot_be_written => "record-to.yaml",
    version_as_a_string_says_so => "version-string.yaml",
    ports_as_a_list_shows_the_map_once => "ports-list.yaml",
    malformed_route_path_templates => "route-paths.yaml",
    misspelled_files_suggest_the_close_one => "misspelled-files.yaml",
}

/// An extension method is legal HTTP, so it is a warning: shown with its
/// place and the close standard method by `validate` (text and JSON) and by
/// every command that loads the manifest; the exit code is unchanged.
fn unknown_methods_are_warnings_with_a_suggestion() {
    let output = sandbox(&fixtures(), &["validate", "-f", "route-methods.yaml"]);
    let stderr = redacted(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: route-methods.yaml:9:28: `dependencies.payments.stub.routes[0].match.method` is `GTE`, which is not a standard HTTP method\n  help: did you mean `GET`?\n"),
        "{stderr}"
    );
    assert!(stderr.contains("route-methods.yaml:11:28: "), "{stderr}");
    assert!(!stderr.contains(":13:"), "lowercase `get` is GET: {stderr}");
    assert_eq!(stderr.matches("warning: ").count(), 2, "{stderr}");

    let output = sandbox(
        &fixtures(),
        &["validate", "--json", "-f", "route-methods.yaml"],
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty(), "{}", redacted(&output.stderr));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["valid"], true);
    let warnings = document["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2);
    assert_eq!(warnings[0]["line"], 9);
    assert_eq!(warnings[0]["column"], 28);
    assert_eq!(warnings[0]["help"], "did you mean `GET`?");
    let output = sandbox(&fixtures(), &["validate", "--json", "-f", "valid.yaml"]);
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["warnings"], serde_json::json!([]));

    // Any command that loads the manifest shows them (here `down`, which
    // then fails to reach an engine).
    let output = down_without_an_engine("route-methods.yaml");
    let stderr = redacted(&output.stderr);
    assert!(
        stderr.starts_with("warning: route-methods.yaml:9:28: "),
        "{stderr}"
    );
}

fn valid_manifests_pass() {
    for (file, line) in [
        (
            "valid.yaml",
            "valid.yaml: valid (sandbox `shop`, 6 entries)\n",
        ),
        (
            "minimal.yaml",
            "minimal.yaml: valid (sandbox `manifests`, 1 entry)\n",
        ),
    ] {
        let output = sandbox(&fixtures(), &["validate", "-f", file]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            redacted(&output.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout), line);
    }
}

fn a_missing_manifest_exits_2() {
    let output = sandbox(&fixtures(), &["validate", "-f", "no-such-file.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = redacted(&output.stderr);
    assert!(
        stderr.contains(
            "there is no `no-such-file.yaml` in this folder ([repo]/tests/fixtures/manifests)"
        ),
        "{stderr}"
    );
}

fn json_output_lists_entries_or_problems() {
    let output = sandbox(&fixtures(), &["validate", "--json", "-f", "valid.yaml"]);
    assert_eq!(output.status.code(), Some(0));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["valid"], true);
    assert_eq!(document["sandbox"], "shop");
    let entries = document["entries"].as_array().unwrap();
    assert_eq!(
        entries[0],
        serde_json::json!({"name": "orders", "role": "service", "kind": "build"})
    );
    assert_eq!(entries[1]["kind"], "stub");

    let output = sandbox(
        &fixtures(),
        &["validate", "--json", "-f", "unknown-keys.yaml"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stderr.is_empty(), "{}", redacted(&output.stderr));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["valid"], false);
    let first = &document["problems"][0];
    assert_eq!(first["file"], "unknown-keys.yaml");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 1);
    assert_eq!(first["help"], "did you mean `service`?");
}

fn schema_is_json_and_denies_unknown_keys() {
    let output = sandbox(&fixtures(), &["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert!(schema["$defs"]["Build"]["oneOf"].is_array());
}

fn init_writes_a_starter_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let output = sandbox(dir.path(), &["init"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        redacted(&output.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join("sandbox.yaml")).unwrap();
    assert!(written.contains("version: 1"));

    // It validates as written (every kind of folder: first_hour).
    let output = sandbox(dir.path(), &["validate"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        redacted(&output.stderr)
    );

    // It never overwrites without --force.
    let output = sandbox(dir.path(), &["init"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--force"));
    let output = sandbox(dir.path(), &["init", "--force"]);
    assert_eq!(output.status.code(), Some(0));

    // A folder argument gets a sandbox.yaml inside.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let output = sandbox(dir.path(), &["init", "sub"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(sub.join("sandbox.yaml").is_file());
}

/// Every example shipped in `sandboxes/` must validate (when there are any).
fn every_example_sandbox_validates() {
    let Ok(folders) = std::fs::read_dir(repo().join("sandboxes")) else {
        return;
    };
    let mut failures = Vec::new();
    for folder in folders.flatten() {
        let file = folder.path().join("sandbox.yaml");
        if !file.is_file() {
            continue;
        }
        let output = sandbox(&folder.path(), &["validate", "-f", "sandbox.yaml"]);
        if output.status.code() != Some(0) {
            failures.push(format!("{}:\n{}", file.display(), redacted(&output.stderr)));
        }
    }
    assert!(
        failures.is_empty(),
        "invalid examples:\n{}",
        failures.join("\n")
    );
}

fn init_in_a_folder_named_like_the_starters_stub_still_validates() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("payments");
    std::fs::create_dir_all(folder.join("app")).unwrap();
    std::fs::write(folder.join("app/Dockerfile"), "FROM scratch\n").unwrap();
    assert_eq!(sandbox(&folder, &["init"]).status.code(), Some(0));
    let output = sandbox(&folder, &["validate"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        redacted(&output.stderr)
    );
}

/// Runs `validate` on `text` written as `sandbox.yaml` in a fresh folder;
/// returns the exit code and stderr.
fn validate_text(text: &[u8]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sandbox.yaml"), text).unwrap();
    let output = sandbox(dir.path(), &["validate", "-f", "sandbox.yaml"]);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn a_manifest_over_one_mib_is_refused_with_a_line() {
    let mut text = std::fs::read(fixtures().join("minimal.yaml")).unwrap();
    let comment = format!("# {}\n", "x".repeat(1021));
    while text.len() < 1_363_149 {
        text.extend_from_slice(comment.as_bytes());
    }
    let (code, stderr) = validate_text(&text);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr
            .contains("sandbox.yaml:1:1: the manifest is 1.3 MiB; a manifest may be at most 1 MiB"),
        "{stderr}"
    );
    assert!(stderr.contains("help: "), "{stderr}");
    // Exactly 1 MiB is still read.
    text.truncate(1 << 20);
    let (code, stderr) = validate_text(&text);
    assert_eq!(code, Some(0), "{stderr}");
}

fn a_manifest_that_is_not_utf8_names_the_line_and_column_of_the_first_bad_byte() {
    let (code, stderr) = validate_text(b"version: 1\nservice:\n  name: or\xffders\n  image: x\n");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("sandbox.yaml:3:11: the manifest is not UTF-8 text"),
        "{stderr}"
    );
    // UTF-16, as some Windows editors save it.
    let utf16: Vec<u8> = "version: 1\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let (code, stderr) = validate_text(&[&[0xff, 0xfe], &utf16[..]].concat());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("sandbox.yaml:1:1: "), "{stderr}");
    assert!(stderr.contains("UTF-16"), "{stderr}");
}

fn deep_nesting_is_refused_with_a_line_not_a_stack_overflow() {
    for text in [
        format!("version: 1\nservice: {}", "[".repeat(100_000)),
        format!("version: 1\nservice: {}x", "- ".repeat(5_000)),
        format!(
            "version: 1\nservice:\n  env: {}1{}\n",
            "{a: ".repeat(3_000),
            "}".repeat(3_000)
        ),
    ] {
        let (code, stderr) = validate_text(text.as_bytes());
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("sandbox.yaml:"), "{stderr}");
        assert!(!stderr.contains("overflow"), "{stderr}");
    }
}

/// A folder with a manifest in `project/` and a folder `outside/` beside it,
/// both holding a Dockerfile, and `project/lnk` a link to `outside/inner`.
fn linked_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("inner")).unwrap();
    std::fs::create_dir_all(project.join("recordings")).unwrap();
    for folder in [&project, &outside] {
        std::fs::write(folder.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(folder.join("routes.yaml"), "[]\n").unwrap();
    }
    std::os::unix::fs::symlink(outside.join("inner"), project.join("lnk")).unwrap();
    dir
}

fn paths_are_checked_after_resolving_symbolic_links() {
    let dir = linked_project();
    let project = dir.path().join("project");
    let head = "version: 1\nservice:\n  name: orders\n";
    let cases = [
        ("  build: lnk/..\n", "sandbox.yaml:4:10: "),
        (
            "  build: { context: ., dockerfile: lnk/../Dockerfile }\n",
            "sandbox.yaml:4:36: ",
        ),
        (
            "  image: x\ndependencies:\n  p:\n    stub: { files: [lnk/../routes.yaml] }\n",
            "sandbox.yaml:7:21: ",
        ),
        (
            "  image: x\ndependencies:\n  p:\n    record: { upstream: 'http://x', to: lnk/../rec.yaml }\n",
            "sandbox.yaml:7:41: ",
        ),
    ];
    for (rest, at) in cases {
        std::fs::write(project.join("sandbox.yaml"), format!("{head}{rest}")).unwrap();
        let output = sandbox(&project, &["validate", "-f", "sandbox.yaml"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{rest}{stderr}");
        assert!(stderr.contains(at), "{rest}{stderr}");
        assert!(
            stderr.contains("leaves the manifest's folder"),
            "{rest}{stderr}"
        );
    }
    // Links that stay inside are fine.
    std::os::unix::fs::symlink(project.join("recordings"), project.join("rec")).unwrap();
    std::fs::write(
        project.join("sandbox.yaml"),
        format!("{head}  build: rec/..\ndependencies:\n  p:\n    record: {{ upstream: 'http://x', to: rec/new.yaml }}\n"),
    )
    .unwrap();
    let output = sandbox(&project, &["validate", "-f", "sandbox.yaml"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        redacted(&output.stderr)
    );
}

/// `down -f FILE` of a fixture, with no engine to reach.
fn down_without_an_engine(file: &str) -> Output {
    limit_memory(
        Command::new(env!("CARGO_BIN_EXE_sandbox"))
            .current_dir(fixtures())
            .args(["down", "-f", file])
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env_remove("SANDBOX_FILE"),
    )
    .output()
    .unwrap()
}

/// `down` and `status` read the name of a broken manifest leniently; an
/// alias bomb must not take them down either.
fn down_on_an_alias_bomb_ends_without_a_crash() {
    let output = down_without_an_engine("alias-bomb.yaml");
    let stderr = redacted(&output.stderr);
    assert!(
        matches!(output.status.code(), Some(1 | 2)),
        "{:?}\n{stderr}",
        output.status
    );
    assert!(stderr.contains("does not validate"), "{stderr}");
}

/// Files the manifest names get the same bounds, reported in their own
/// file; a pipe is refused rather than read forever.
fn named_files_are_bounded_and_reported_at_their_own_lines() {
    let dir = tempfile::tempdir().unwrap();
    let stubs = dir.path().join("stubs");
    std::fs::create_dir(&stubs).unwrap();
    std::fs::write(
        stubs.join("latin1.yaml"),
        b"- match: {}\n  respond: { body: caf\xe9 }\n",
    )
    .unwrap();
    let bomb = std::fs::read_to_string(fixtures().join("alias-bomb.yaml")).unwrap();
    std::fs::write(stubs.join("bomb.yaml"), bomb).unwrap();
    let fifo = std::ffi::CString::new(
        stubs
            .join("pipe.yaml")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    std::fs::write(
        dir.path().join("sandbox.yaml"),
        "version: 1\nservice:\n  name: orders\n  image: x\ndependencies:\n  p:\n    stub: { files: [stubs/latin1.yaml, stubs/bomb.yaml, stubs/pipe.yaml] }\n",
    )
    .unwrap();
    let output = sandbox(dir.path(), &["validate", "-f", "sandbox.yaml"]);
    let stderr = redacted(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("stubs/latin1.yaml:2:23: the stub file is not UTF-8 text"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stubs/bomb.yaml:10:12: aliases expand"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sandbox.yaml:7:57: stub file `stubs/pipe.yaml` is not a regular file"),
        "{stderr}"
    );
}

cases! {
    docker: [],
    plain: [
        valid_manifests_pass,
        a_missing_manifest_exits_2,
        json_output_lists_entries_or_problems,
        schema_is_json_and_denies_unknown_keys,
        init_writes_a_starter_that_validates,
        every_example_sandbox_validates,
        init_in_a_folder_named_like_the_starters_stub_still_validates,
        a_manifest_over_one_mib_is_refused_with_a_line,
        a_manifest_that_is_not_utf8_names_the_line_and_column_of_the_first_bad_byte,
        deep_nesting_is_refused_with_a_line_not_a_stack_overflow,
        paths_are_checked_after_resolving_symbolic_links,
        down_on_an_alias_bomb_ends_without_a_crash,
        named_files_are_bounded_and_reported_at_their_own_lines,
        syntax_error,
        empty_file,
        not_a_map,
        version_missing,
        version_not_one,
        unknown_keys_suggest_the_closest,
        wrong_types,
        bad_names,
        reserved_service_name,
        dependency_named_like_the_service,
        duplicate_keys_name_both_lines,
        bad_units,
        health_and_port_names,
        kinds,
        service_without_kind,
        service_without_name,
        service_not_a_map,
        files_missing_or_outside,
        stub_file_problems_name_their_file,
        bad_recording,
        bad_openapi,
        record_upstream,
        env_names,
        alias_bomb_is_refused_at_the_alias_that_crosses_the_bound,
        record_targets_that_cannot_be_written,
        version_as_a_string_says_so,
        ports_as_a_list_shows_the_map_once,
        malformed_route_path_templates,
        misspelled_files_suggest_the_close_one,
        unknown_methods_are_warnings_with_a_suggestion,
    ],
}
