//! Rough edges of what a new user reads: the final message of a failed
//! health check, progress of agent-served dependencies, failure logs
//! without the probe's own requests, interruption and `run`'s summary.

use std::process::Stdio;
use std::time::Duration;

use crate::common::*;

/// A service whose health check asks a path the fixture answers 404.
const NOT_THERE: &str = r#"
version: 1
service:
  name: web
  build: ./app
  command: ["/shopd", "fixture", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /nothere, timeout: 1s }
"#;

/// The web service and one stub.
const WITH_A_STUB: &str = web_with!(
    r#"  payments:
    stub:
      routes:
        - match: { path: /charge }
          respond: { body: ok }
"#
);

fn a_short_health_timeout_ends_with_the_last_real_answer() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("edge404", NOT_THERE);
    let out = sandbox.run(&["up"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("`web` did not become healthy"), "{err}");
    assert!(
        err.contains("status 404 from GET /nothere (expected 2xx) (gave up after 1s)"),
        "the probe's last real answer: {err}"
    );
    assert!(!err.contains("0us"), "{err}");
    assert!(!err.contains("timed out"), "{err}");
    // The fixture's own line is shown, the probe's requests are counted.
    assert!(err.contains("  | listening on :8080"), "{err}");
    assert!(!err.contains("| GET /nothere"), "{err}");
    assert!(err.contains("health-probe line"), "{err}");
    assert!(err.contains("left out)"), "{err}");
    assert_eq!(sandbox.leftovers(), 0);
}

fn agent_served_dependencies_show_by_name_and_waiting_is_quiet() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("edgeserved", WITH_A_STUB);
    let out = sandbox.run(&["up"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("payments: stub served by the agent, waiting for it"),
        "{err}"
    );
    assert!(
        err.contains("payments: stub served by the agent, healthy after"),
        "{err}"
    );
    // Quick starts print no probe failures (connection errors while the
    // agent starts are normal).
    assert!(!err.contains("not ready"), "{err}");
    assert!(!err.contains("connection error"), "{err}");
}

/// Starts `up ARGS` on a service that never becomes healthy, interrupts it
/// once the service exists, and returns what `up` said on stderr.
fn interrupted_up(sandbox: &Sandbox, args: &[&str]) -> String {
    let child = sandbox
        .command(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Reaped(Some(child));
    assert!(
        eventually(Duration::from_secs(60), || {
            let out = sandbox.run(&["status", "--json"]);
            String::from_utf8_lossy(&out.stdout).contains("\"web\"")
        }),
        "up never started the service"
    );
    let process = child.0.take().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &process.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = process.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    stderr(&out)
}

fn interrupting_up_says_what_was_removed() {
    if !docker_or_skip() {
        return;
    }
    let manifest = NOT_THERE.replace("timeout: 1s", "timeout: 120s");
    let sandbox = Sandbox::new("edgeint", &manifest);
    let err = interrupted_up(&sandbox, &["up"]);
    assert!(
        err.contains(&format!(
            "interrupted: removed 2 containers and the network of sandbox `{}`",
            sandbox.name
        )),
        "{err}"
    );
    assert_eq!(sandbox.leftovers(), 0);
}

fn interrupting_up_with_keep_says_what_was_left() {
    if !docker_or_skip() {
        return;
    }
    let manifest = NOT_THERE.replace("timeout: 1s", "timeout: 120s");
    let sandbox = Sandbox::new("edgeintkeep", &manifest);
    let err = interrupted_up(&sandbox, &["up", "--keep"]);
    assert!(
        err.contains(&format!(
            "interrupted: left 2 containers and the network of sandbox `{}` in place",
            sandbox.name
        )),
        "{err}"
    );
    assert!(sandbox.leftovers() > 0);
}

fn a_failed_run_does_not_call_healthy_entries_starting() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("edgerun", WITH_A_STUB);
    let out = sandbox.run(&["run", "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(!err.contains("is starting"), "{err}");
    assert!(!err.contains("is unknown"), "{err}");
    assert!(!err.contains("its last log lines"), "{err}");
}

/// A child killed and reaped when the test ends, pass or fail.
struct Reaped(Option<std::process::Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

cases! {
    docker: [
        a_short_health_timeout_ends_with_the_last_real_answer,
        agent_served_dependencies_show_by_name_and_waiting_is_quiet,
        interrupting_up_says_what_was_removed,
        interrupting_up_with_keep_says_what_was_left,
        a_failed_run_does_not_call_healthy_entries_starting,
    ],
    plain: [],
}
