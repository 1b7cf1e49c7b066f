//! Output: a closed stdout ends a command quietly (exit 0, nothing on
//! stderr), a failed write is one error line and exit 1, a closed or full
//! stderr never crashes a command, SIGTERM ends the following commands with
//! 130, and an error prints its cause once.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;

/// Runs `command` with its stdout a pipe whose reading end is closed before
/// the command writes: every write gets EPIPE.
fn with_closed_stdout(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sandbox");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for sandbox")
}

/// Runs `command` with stdout on /dev/full: every write gets ENOSPC.
fn with_full_stdout(mut command: Command) -> Output {
    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    command
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run sandbox")
}

fn bin(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("SANDBOX_FILE");
    command
}

/// Asserts a quiet end: exit 0 and nothing on stderr.
fn assert_quiet(what: &str, out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what} to a closed stdout: {}",
        stderr(out)
    );
    assert_eq!(stderr(out), "", "{what} to a closed stdout says nothing");
}

fn assert_cannot_write(what: &str, out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what} > /dev/full: {}",
        stderr(out)
    );
    assert_eq!(
        stderr(out),
        "error: cannot write to stdout: No space left on device\n",
        "{what} > /dev/full"
    );
}

/// `sh -c 'sandbox ARGS | head -c1'` with pipefail: sandbox's own status.
fn piped_to_head(args: &str) -> std::process::ExitStatus {
    Command::new("bash")
        .args(["-o", "pipefail", "-c"])
        .arg(format!("\"$0\" {args} | head -c1 >/dev/null"))
        .arg(BIN)
        .env_remove("SANDBOX_FILE")
        .status()
        .expect("run bash")
}

fn schema_and_completions_end_quietly_on_a_closed_stdout() {
    for args in [
        &["schema"][..],
        &["completions", "bash"],
        &["completions", "zsh"],
    ] {
        let what = args.join(" ");
        assert_quiet(&what, &with_closed_stdout(bin(args)));
        assert_eq!(piped_to_head(&what).code(), Some(0), "{what} | head -c1");
    }
}

fn a_full_stdout_is_one_error_line_and_exit_1() {
    for args in [&["schema"][..], &["completions", "bash"]] {
        assert_cannot_write(&args.join(" "), &with_full_stdout(bin(args)));
    }
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("sandbox.yaml");
    std::fs::write(
        &manifest,
        "version: 1\nservice:\n  name: web\n  image: nginx:1\n",
    )
    .unwrap();
    let manifest = manifest.to_str().unwrap();
    assert_cannot_write(
        "validate --json",
        &with_full_stdout(bin(&["-f", manifest, "validate", "--json"])),
    );
}

fn a_closed_or_full_stderr_does_not_crash_a_command() {
    // The error of a missing manifest goes to a full stderr: still exit 2.
    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    let status = bin(&["-f", "no-such-file.yaml", "validate"])
        .stderr(full)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2), "validate 2>/dev/full");
    let status = Command::new("sh")
        .arg("-c")
        .arg("exec 2>&-; exec \"$0\" -f no-such-file.yaml validate")
        .arg(BIN)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2), "validate 2>&-");
    // `init` reports what it wrote on stderr.
    let dir = tempfile::tempdir().unwrap();
    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    let status = bin(&["init"])
        .arg(dir.path())
        .stderr(full)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "init 2>/dev/full");
    assert!(dir.path().join("sandbox.yaml").exists());
}

fn a_manifest_that_cannot_be_read_names_its_cause_once() {
    // A folder where the manifest should be: reading it fails.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().to_str().unwrap().to_owned();
    let out = bin(&["-f", &folder, "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot read manifest {folder}")),
        "{err}"
    );
    assert_eq!(err.matches("Is a directory").count(), 1, "{err}");
    // `validate --json` keeps the cause in its one-line message.
    let out = bin(&["-f", &folder, "validate", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = doc["problems"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("cannot read manifest {folder}: Is a directory")),
        "{message}"
    );
}

fn a_file_that_cannot_be_written_names_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no-such-folder").join("sandbox.yaml");
    let out = bin(&["init"]).arg(&target).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: cannot write "), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

fn down_and_status_end_quietly_on_a_closed_or_full_stdout() {
    if !docker_or_skip() {
        return;
    }
    // Nothing runs under this name: both still print a document.
    let name = format!("t-outpipe-{}", std::process::id());
    for args in [["down", "--json"], ["status", "--json"]] {
        let what = args.join(" ");
        let command = || {
            let mut command = bin(&args);
            command.args(["--name", &name]);
            command
        };
        assert_quiet(&what, &with_closed_stdout(command()));
        assert_cannot_write(&what, &with_full_stdout(command()));
        assert_eq!(
            piped_to_head(&format!("{what} --name {name}")).code(),
            Some(0),
            "{what} | head -c1"
        );
    }
}

const STUBBED: &str = web_with!(
    r#"  payments:
    stub:
      routes:
        - match: { path: /ok }
          respond: { body: ok }
"#
);

/// The lines a child prints on stdout, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Sends SIGTERM to `child` and asserts it ends promptly with 130 and says
/// nothing on stderr.
fn terminate(what: &str, mut child: Child) {
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut status = None;
    let ended = eventually(Duration::from_secs(5), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    if !ended {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what} still runs 5s after SIGTERM");
    }
    let mut err = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut err);
    }
    assert_eq!(status.unwrap().code(), Some(130), "{what}: {err}");
    assert_eq!(err, "", "{what} ends quietly on SIGTERM");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A child that is killed when the test fails before it ends.
struct Reaped(Option<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn following_commands_end_on_sigterm_and_calls_on_a_closed_stdout() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("outfollow", STUBBED);
    sandbox.ok(&["up"]);
    let payments = sandbox.url("payments");
    let web = sandbox.url("web");
    assert_eq!(get(&format!("{payments}/ok")).0, 200);

    // `calls --json` and `logs` to a closed stdout.
    assert_quiet(
        "calls --json",
        &with_closed_stdout(sandbox.command(&["calls", "--json"])),
    );
    assert_quiet("logs", &with_closed_stdout(sandbox.command(&["logs"])));
    let command = format!(
        "-f {} --name {} calls --json",
        sandbox.path("sandbox.yaml").display(),
        sandbox.name
    );
    assert_eq!(
        piped_to_head(&command).code(),
        Some(0),
        "calls --json | head -c1"
    );

    // `logs -f`: once it streams (a request to web makes a line), SIGTERM.
    let mut logs = Reaped(Some(
        sandbox
            .command(&["logs", "-f", "web", "--tail", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let lines = lines_of(logs.0.as_mut().unwrap());
    let streaming = eventually(Duration::from_secs(30), || {
        get(&format!("{web}/env"));
        lines.recv_timeout(Duration::from_millis(500)).is_ok()
    });
    assert!(streaming, "logs -f printed nothing");
    terminate("logs -f", logs.0.take().unwrap());

    // `calls -f`: once it printed its header, SIGTERM.
    let mut calls = Reaped(Some(
        sandbox
            .command(&["calls", "-f"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let lines = lines_of(calls.0.as_mut().unwrap());
    let header = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("calls -f prints its header");
    assert!(header.starts_with("TIME"), "{header}");
    terminate("calls -f", calls.0.take().unwrap());
}

cases! {
    docker: [
        down_and_status_end_quietly_on_a_closed_or_full_stdout,
        following_commands_end_on_sigterm_and_calls_on_a_closed_stdout,
    ],
    plain: [
        schema_and_completions_end_quietly_on_a_closed_stdout,
        a_full_stdout_is_one_error_line_and_exit_1,
        a_closed_or_full_stderr_does_not_crash_a_command,
        a_manifest_that_cannot_be_read_names_its_cause_once,
        a_file_that_cannot_be_written_names_its_cause_once,
    ],
}
