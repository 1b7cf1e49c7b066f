//! The dashboard in real headless Chromium, driven over WebDriver (Debian's
//! `chromedriver`, started by the test): every entry and its health, a call
//! appearing after it is made, a trace's waterfall, the faults form refused
//! without the token and applied with it (a call then shows the fault), and
//! the service's own output in the logs section. The screenshot is kept as
//! target/dashboard.png; the page's size and its first paint are printed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use serde_json::{Value, json};

use crate::agent::free_port;
use crate::common::*;

cases! {
    docker: [the_dashboard_in_a_browser_shows_entries_calls_traces_faults_and_logs],
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

/// How long the page may take to show what the test waits for.
const WAIT: Duration = Duration::from_secs(20);

/// Debian's Chromium and its WebDriver; `None` (a skip) outside CI when
/// either is missing.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let driver = Some(PathBuf::from("/usr/bin/chromedriver")).filter(|p| p.exists());
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "chromium or chromedriver is missing: run .ci/run"
            );
            eprintln!("skipped: no chromium or chromedriver");
            None
        }
    }
}

/// A chromedriver of this test, stopped on drop.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a free port; returns it once it answers.
fn start_driver(driver: &Path) -> (Driver, String) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        eventually(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }),
        "chromedriver did not answer on {url}"
    );
    (driver, url)
}

/// A GET from the test, on the test's runtime.
async fn call(url: &str, headers: &[(&str, &str)]) -> sandbox::health::http::HttpAnswer {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    sandbox::health::http::request("GET", url, &headers, None, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// The value of the script `expression` once it is truthy, or a panic
/// saying `what` was not seen (with the page's text).
async fn until(client: &Client, expression: &str, what: &str) -> Value {
    let script = format!("return ({expression}) || null;");
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    loop {
        interval.tick().await;
        let value = client.execute(&script, vec![]).await.expect("run a script");
        if !value.is_null() && value != json!(false) {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            let text = client
                .execute("return document.body.innerText;", vec![])
                .await
                .unwrap_or_default();
            panic!("{what} not seen on the dashboard; it shows:\n{text}");
        }
    }
}

fn the_dashboard_in_a_browser_shows_entries_calls_traces_faults_and_logs() {
    if !docker_or_skip() {
        return;
    }
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let sandbox = Sandbox::new("dashboard", MANIFEST);
    let up = sandbox.ok(&["up"]);
    let status = sandbox.status();
    let registry = status["registry_url"].as_str().unwrap().to_owned();
    assert!(up.contains(&format!("dashboard: {registry}/")), "{up}");
    assert_eq!(sandbox.ok(&["ui"]).trim(), format!("{registry}/"));
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
    let orders = sandbox.url("orders");

    let (_driver, webdriver) = start_driver(&driver);
    let profile = tempfile::tempdir().unwrap();
    block_on_threads(2, async {
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run",
                         "--window-size=1280,1500",
                         format!("--user-data-dir={}", profile.path().display())],
            }
        });
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&webdriver)
            .await
            .expect("a WebDriver session of headless Chromium");
        // Whatever happens on the page, the browser goes with the session.
        let steps = std::panic::AssertUnwindSafe(browse(&client, &registry, &orders, &token))
            .catch_unwind()
            .await;
        let _ = client.close().await;
        if let Err(panic) = steps {
            std::panic::resume_unwind(panic);
        }
    });
}

async fn browse(client: &Client, registry: &str, orders: &str, token: &str) {
    client.goto(&format!("{registry}/")).await.unwrap();

    // Every entry with its health.
    for entry in ["orders", "catalog"] {
        until(
            client,
            &format!(r#"document.querySelector('tr[data-entry="{entry}"] .health.up')"#),
            &format!("{entry} up"),
        )
        .await;
    }

    // What the page cost and when it first painted (reported, not judged
    // by time; the size is the contract's bound).
    let figures = until(
        client,
        "(() => { const n = performance.getEntriesByType('navigation')[0];
                  const p = performance.getEntriesByName('first-contentful-paint')[0];
                  return n && p && {bytes: n.encodedBodySize, paint_ms: p.startTime,
                                    dom_ms: n.domContentLoadedEventEnd}; })()",
        "the page's timings",
    )
    .await;
    eprintln!("dashboard first load: {figures}");
    assert!(figures["bytes"].as_u64().unwrap() <= 200_000, "{figures}");

    // A call made now appears, in a trace of its own.
    let trace = "5b8efff798038103d269b633813fc60c";
    let traceparent = format!("00-{trace}-eee19b7ec3c1b174-01");
    let answer = call(
        &format!("{orders}/healthz"),
        &[("traceparent", &traceparent)],
    )
    .await;
    assert_eq!(answer.status, 200);
    until(
        client,
        "[...document.querySelectorAll('#calls tr.call')].some(r => r.innerText.includes('GET /healthz'))",
        "the call",
    )
    .await;

    // The trace opens as a waterfall.
    until(
        client,
        &format!(r#"document.querySelector('tr.trace[data-id="{trace}"]')"#),
        "the trace in the list",
    )
    .await;
    client
        .find(Locator::Css(&format!(r#"tr.trace[data-id="{trace}"]"#)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        client,
        "document.querySelector('#spans').innerText.includes('catalog: GET /healthz')",
        "the trace's waterfall",
    )
    .await;

    // The faults form: refused without the token, applied with it.
    until(
        client,
        r#"document.querySelector('#fdep option[value="catalog"]')"#,
        "the faults form",
    )
    .await;
    client
        .find(Locator::Css("#fdep"))
        .await
        .unwrap()
        .select_by_value("catalog")
        .await
        .unwrap();
    let body = client.find(Locator::Css("#fbody")).await.unwrap();
    body.clear().await.unwrap();
    body.send_keys(r#"{"error_rate": 1.0, "error_status": 503}"#)
        .await
        .unwrap();
    let send = client.find(Locator::Css("#fsend")).await.unwrap();
    send.click().await.unwrap();
    until(
        client,
        "document.querySelector('#faultmsg').innerText.startsWith('refused (401)')",
        "the refusal without the token",
    )
    .await;
    until(
        client,
        r#"!document.querySelector('tr[data-dep="catalog"] .faults').innerText.includes('503')"#,
        "catalog without faults",
    )
    .await;
    client
        .find(Locator::Css("#ftoken"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    send.click().await.unwrap();
    until(
        client,
        "document.querySelector('#faultmsg').innerText === 'applied'",
        "the change applied with the token",
    )
    .await;
    until(
        client,
        r#"document.querySelector('tr[data-dep="catalog"] .faults').innerText.includes('503')"#,
        "the fault in force",
    )
    .await;
    let broken = call(&format!("{orders}/healthz"), &[]).await;
    assert_eq!(
        broken.status,
        503,
        "the fault takes effect: {}",
        broken.text()
    );
    until(
        client,
        "[...document.querySelectorAll('#calls tr.call')].some(r => r.cells[4].innerText === '503')",
        "a call answered with the fault",
    )
    .await;

    // The service's own output.
    until(
        client,
        r#"(document.querySelector('.logbox[data-entry="orders"] pre') || {}).textContent?.includes('listening on')"#,
        "the service's logs",
    )
    .await;

    let shot = root().join("target/dashboard.png");
    let png = client.screenshot().await.unwrap();
    assert!(png.len() > 10_000, "a screenshot of {} bytes", png.len());
    std::fs::write(&shot, png).unwrap();
}
