//! The dashboard in real headless Chromium: every entry and its health, a
//! call made before the page loads, a trace's waterfall; fault changes
//! through the page's path need the token. The screenshot is kept as
//! target/dashboard.png.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

cases! {
    docker: [the_dashboard_shows_entries_calls_and_a_trace],
    plain: [],
}

const MANIFEST: &str = r#"
version: 1
service:
  name: orders
  build: ./app
  command: ["/shopd", "orders", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /healthz }
dependencies:
  catalog:
    stub:
      routes:
        - match: { path: /healthz }
          respond: { body: ok }
"#;

/// Debian's Chromium; `None` (a skip) outside CI when it is missing.
fn chromium() -> Option<PathBuf> {
    for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(path).exists() {
            return Some(PathBuf::from(path));
        }
    }
    assert!(
        std::env::var("CI").is_err(),
        "chromium is missing: run .ci/run"
    );
    eprintln!("skipped: no chromium");
    None
}

/// Runs headless Chromium on `url` until the page's scripts settle;
/// `--dump-dom` prints the DOM then, `--screenshot=FILE` saves it.
fn headless(chromium: &PathBuf, url: &str, mode: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1280,1000",
            "--virtual-time-budget=4000",
            mode,
            url,
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn the_dashboard_shows_entries_calls_and_a_trace() {
    if !docker_or_skip() {
        return;
    }
    let Some(chromium) = chromium() else {
        return;
    };
    let sandbox = Sandbox::new("dashboard", MANIFEST);
    let up = sandbox.ok(&["up"]);
    let status = sandbox.status();
    let registry = status["registry_url"].as_str().unwrap().to_owned();
    assert!(up.contains(&format!("dashboard: {registry}/")), "{up}");
    assert_eq!(sandbox.ok(&["ui"]).trim(), format!("{registry}/"));

    // A call through the agent, in a trace of its own.
    let trace = "5b8efff798038103d269b633813fc60c";
    let answer = request(
        "GET",
        &format!("{}/healthz", sandbox.url("orders")),
        &[("traceparent", &format!("00-{trace}-eee19b7ec3c1b174-01"))],
        None,
    );
    assert_eq!(answer.status, 200);

    let page = format!("{registry}/#trace={trace}");
    let dom = headless(&chromium, &page, "--dump-dom");
    for entry in ["orders", "catalog"] {
        let row = dom
            .split(&format!("<tr data-entry=\"{entry}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("no row for {entry}:\n{dom}"));
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains("class=\"health up\""), "{entry}: {row}");
    }
    assert!(dom.contains("<td>GET /healthz</td>"), "no call:\n{dom}");
    assert!(dom.contains(&trace[..12]), "no trace listed:\n{dom}");
    assert!(
        dom.contains("catalog: GET /healthz"),
        "the trace's waterfall is missing:\n{dom}"
    );
    let shot = root().join("target/dashboard.png");
    headless(
        &chromium,
        &page,
        &format!("--screenshot={}", shot.display()),
    );
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);

    // The page's fault form goes through the registry: refused without the
    // token, applied with it.
    let faults = format!("{registry}/_sandbox/faults/catalog");
    let body = r#"{"error_rate": 1.0, "error_status": 503}"#;
    let refused = request(
        "PUT",
        &faults,
        &[("content-type", "application/json")],
        Some(body),
    );
    assert_eq!(refused.status, 401, "{}", refused.text());
    let token = with_engine(|engine| {
        let name = sandbox.name.clone();
        async move {
            sandbox::runner::status::Found::load(&engine, &name)
                .await
                .unwrap()
                .token()
                .unwrap()
                .to_owned()
        }
    });
    let bearer = format!("Bearer {token}");
    let applied = request(
        "PUT",
        &faults,
        &[
            ("content-type", "application/json"),
            ("authorization", &bearer),
        ],
        Some(body),
    );
    assert_eq!(applied.status, 200, "{}", applied.text());
    let (_, state) = get(&format!("{registry}/_sandbox/state"));
    assert!(state.contains("\"error_status\":503"), "{state}");
    let broken = request(
        "GET",
        &format!("{}/healthz", sandbox.url("orders")),
        &[],
        None,
    );
    assert_eq!(
        broken.status,
        503,
        "the fault takes effect: {}",
        broken.text()
    );
}
