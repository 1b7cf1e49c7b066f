//! Shared harness of the integration tests that drive the real binary
//! against the real Docker engine: a sandbox in a temporary folder under a
//! name of its own, removed by label when the test ends, pass or fail.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_sandbox");

/// A manifest whose service is `web` (a `shopd fixture` on :8080 with an
/// http health check), followed by the given `dependencies:` entries.
#[macro_export]
macro_rules! web_with {
    ($dependencies:literal) => {
        concat!(
            "version: 1\n",
            "service:\n",
            "  name: web\n",
            "  build: ./app\n",
            "  command: [\"/shopd\", \"fixture\", \"--port\", \"8080\"]\n",
            "  ports: { http: 8080 }\n",
            "  health: { http: /healthz }\n",
            "dependencies:\n",
            $dependencies
        )
    };
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether the engine answers (asked once per test process, with a few
/// tries: a busy engine under a parallel suite may be slow to accept).
fn engine_answers() -> bool {
    static ANSWERS: OnceLock<bool> = OnceLock::new();
    *ANSWERS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        (0..3).any(|_| runtime.block_on(sandbox::engine::Engine::connect()).is_ok())
    })
}

/// Whether the engine answers. Under `CI=true` a missing engine fails the
/// test instead of skipping it.
pub fn docker_or_skip() -> bool {
    let up = engine_answers();
    if !up {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("the Docker engine is not reachable and CI=true: these tests need it");
        }
        eprintln!("skipping: the Docker engine is not reachable");
    }
    up
}

/// The Python of the test venv (`$SANDBOX_VENV`, default
/// /opt/sandbox-venv, which `.ci/run` makes) when it can import `modules`
/// (a Python import list); `None` (a skip) outside CI when it cannot, a
/// failure under `CI=true`.
pub fn venv_python(modules: &str) -> Option<PathBuf> {
    let venv = std::env::var("SANDBOX_VENV").unwrap_or_else(|_| "/opt/sandbox-venv".into());
    let python = PathBuf::from(venv).join("bin/python");
    let ok = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if ok {
        return Some(python);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!(
            "{} cannot import {modules} and CI=true: .ci/run installs them",
            python.display()
        );
    }
    eprintln!("skipped: {} cannot import {modules}", python.display());
    None
}

/// Whether the Docker tests should run: under `CI=true` always (they fail
/// when the engine is missing), else when the engine answers.
pub fn engine_answers_or_ci() -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        return true;
    }
    let answers = engine_answers();
    if !answers {
        eprintln!("the Docker engine is not reachable: the tests that need it are skipped");
    }
    answers
}

/// Runs an async test body on a runtime of `threads` workers (1: the
/// current thread).
pub fn block_on_threads<F: std::future::Future>(threads: usize, future: F) -> F::Output {
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    runtime.expect("a test runtime").block_on(future)
}

/// The static `shopd` binary of the example, built once per test process.
pub fn shopd() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = Command::new(root().join("sandboxes/shop/build-app"))
                .output()
                .expect("run sandboxes/shop/build-app");
            assert!(
                out.status.success(),
                "building shopd failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            PathBuf::from(
                String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or_default(),
            )
        })
        .clone()
}

/// A sandbox of a test: a folder with a manifest, a unique name, and
/// cleanup by label on drop.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub name: String,
}

impl Sandbox {
    /// A sandbox whose manifest is `manifest`, with `app/` holding a
    /// Dockerfile and `shopd` (so `build: ./app` works).
    pub fn new(test: &str, manifest: &str) -> Sandbox {
        Sandbox::named(&format!("t-{test}-{}", std::process::id()), manifest)
    }

    /// Like [`Sandbox::new`], under exactly this sandbox name.
    pub fn named(name: &str, manifest: &str) -> Sandbox {
        let dir = tempfile::tempdir().expect("temporary folder");
        let app = dir.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::copy(shopd(), app.join("shopd")).expect("copy shopd");
        std::fs::write(
            app.join("Dockerfile"),
            "FROM scratch\nCOPY shopd /shopd\nENTRYPOINT [\"/shopd\"]\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("sandbox.yaml"), manifest).unwrap();
        let sandbox = Sandbox {
            dir,
            name: name.to_owned(),
        };
        sandbox.cleanup();
        sandbox
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// A command of the binary on this sandbox (`-f` and `--name` set).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .current_dir(self.dir.path())
            .arg("-f")
            .arg(self.path("sandbox.yaml"))
            .arg("--name")
            .arg(&self.name)
            .args(args)
            .env_remove("SANDBOX_FILE");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run sandbox")
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`sandbox {}` failed with {:?}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).expect("status --json is JSON")
    }

    /// The host URL of an entry, from `status --json`.
    pub fn url(&self, entry: &str) -> String {
        let status = self.status();
        status["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == entry)
            .and_then(|e| e["host_url"].as_str())
            .unwrap_or_else(|| panic!("no host_url for {entry} in {status}"))
            .to_owned()
    }

    pub fn cleanup(&self) {
        let _ = Command::new(BIN)
            .args(["down", "--name", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Containers and networks of this sandbox still on the engine.
    pub fn leftovers(&self) -> usize {
        labelled(&self.name)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// How many containers and networks carry `dev.sandbox.name=<name>`,
/// asked through the library's engine adapter.
pub fn labelled(name: &str) -> usize {
    with_engine(|engine| async move {
        let selector = sandbox::engine::labels::of_sandbox(name);
        engine.containers_with_label(&selector).await.unwrap().len()
            + engine.networks_with_label(&selector).await.unwrap().len()
    })
}

/// Runs `work` with a connection to the engine, through the library.
pub fn with_engine<F, T>(work: impl FnOnce(sandbox::engine::Engine) -> F) -> T
where
    F: std::future::Future<Output = T>,
{
    block_on_threads(1, async {
        let engine = sandbox::engine::Engine::connect().await.expect("engine");
        work(engine).await
    })
}

/// One HTTP request from the test with headers, through the library's client.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> sandbox::health::http::HttpAnswer {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    runtime
        .block_on(sandbox::health::http::request(
            method,
            url,
            &headers,
            body.map(|b| b.as_bytes().to_vec()),
            Duration::from_secs(10),
        ))
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// One HTTP request from the test: status and body text.
pub fn http(method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let headers: &[(&str, &str)] = if body.is_some() {
        &[("content-type", "application/json")]
    } else {
        &[]
    };
    let answer = request(method, url, headers, body);
    (answer.status, answer.text())
}

pub fn get(url: &str) -> (u16, String) {
    http("GET", url, None)
}

/// Polls `condition` until it holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Percent-encodes a URL for a query parameter.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}
