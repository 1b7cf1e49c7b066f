//! Rough edges of what a new user reads: the final message of a failed
//! health check, progress of agent-served dependencies, failure logs
//! without the probe's own requests, interruption and `run`'s summary.

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
    let manifest = web_with!(
        r#"  payments:
    stub:
      routes:
        - match: { path: /charge }
          respond: { body: ok }
"#
    );
    let sandbox = Sandbox::new("edgeserved", manifest);
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

cases! {
    docker: [
        a_short_health_timeout_ends_with_the_last_real_answer,
        agent_served_dependencies_show_by_name_and_waiting_is_quiet,
    ],
    plain: [],
}
