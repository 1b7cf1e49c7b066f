//! `sandbox up --watch` (PRODUCT.md 6.2): the real binary in the
//! foreground against the real engine, files changed under it.

use std::time::Duration;

use crate::common::*;
use crate::host::Foreground;

/// A service that serves the files of `/www`, baked into its image from
/// `app/www` (so a rebuild changes what it answers), with `watch` rules.
fn manifest(watch: &str) -> String {
    format!(
        r#"version: 1
service:
  name: web
  build: ./app
  command: ["/shopd", "static", "--dir", "/www", "--port", "8080"]
  ports: {{ http: 8080 }}
  health: {{ http: /healthz }}
{watch}"#
    )
}

const DOCKERFILE: &str =
    "FROM scratch\nCOPY shopd /shopd\nCOPY www /www\nENTRYPOINT [\"/shopd\"]\n";

fn sandbox(test: &str, watch: &str) -> Sandbox {
    let sandbox = Sandbox::new(test, &manifest(watch));
    sandbox.write("app/Dockerfile", DOCKERFILE);
    sandbox.write("app/www/index.html", &version(1));
    sandbox
}

/// Content no earlier run wrote: images are tagged by their content, so a
/// run must not find the last run's image built already.
fn version(n: u32) -> String {
    static RUN: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    let run = RUN.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    });
    format!("v{n} of run {run}")
}

/// The change lines printed so far (`ENTRY: ... -> ...` or `FILE changed -> ...`).
fn changes(up: &Foreground) -> Vec<String> {
    up.output()
        .lines()
        .filter(|l| l.contains(" -> ") && !l.contains(" | "))
        .map(str::to_owned)
        .collect()
}

/// Waits until `n` change lines are printed; returns the last one.
fn wait_changes(up: &Foreground, n: usize) -> String {
    let printed = eventually(Duration::from_secs(90), || changes(up).len() >= n);
    let lines = changes(up);
    assert!(
        printed,
        "{} change lines of {n}; output:\n{}",
        lines.len(),
        up.output()
    );
    lines[n - 1].clone()
}

/// What the service answers for `/index.html` (or `path`).
fn served(sandbox: &Sandbox, path: &str) -> String {
    let (status, body) = get(&format!("{}/{path}", sandbox.url("web")));
    format!("{status} {body}")
}

fn started(sandbox: &Sandbox) -> (String, String) {
    let name = format!("{}_web", sandbox.name);
    with_engine(|engine| async move {
        engine
            .container_started(&name)
            .await
            .unwrap()
            .expect("the container of web")
    })
}

fn a_change_in_a_build_context_rebuilds_and_a_broken_build_keeps_the_old_container() {
    let sandbox = sandbox("watch-rebuild", "");
    let mut up = Foreground::start(sandbox.command(&["up", "--watch"]));
    up.wait_for("Ctrl-C stops watching", Duration::from_secs(120));
    assert_eq!(
        served(&sandbox, "index.html"),
        format!("200 {}", version(1))
    );

    // An editor's burst: 20 writes within ~100 ms, to the file and its
    // backup, is one change and one rebuild.
    for i in 0..20 {
        sandbox.write("app/www/index.html", &format!("{} draft {i}", version(2)));
        sandbox.write("app/www/index.html~", "backup");
        std::thread::sleep(Duration::from_millis(5));
    }
    sandbox.write("app/www/index.html", &version(2));
    let line = wait_changes(&up, 1);
    assert!(
        line.starts_with(
            "web: 1 file changed in app (app/www/index.html) -> rebuilt and replaced in "
        ),
        "{}",
        up.output()
    );
    assert!(line.contains("; now at http://127.0.0.1:"), "{line}");
    assert_eq!(
        served(&sandbox, "index.html"),
        format!("200 {}", version(2))
    );
    // The new container's logs are followed, without the health probe's
    // requests (the registry sends one every 2 s).
    up.wait_for("web   | listening on :8080", Duration::from_secs(10));
    up.wait_for("web   | GET /index.html 200", Duration::from_secs(10));
    assert!(!up.output().contains("| GET /healthz"), "{}", up.output());

    // A broken Dockerfile: the build error is printed, and the running
    // container answers as before, at the same address.
    let url = sandbox.url("web");
    sandbox.write(
        "app/Dockerfile",
        "FROM scratch\nCOPY shopd /shopd\nCOPY no-such-file /x\n",
    );
    let line = wait_changes(&up, 2);
    assert!(
        line.contains("(app/Dockerfile) -> build failed; web keeps running as it was"),
        "{line}"
    );
    let output = up.output();
    assert!(
        output.contains("error: failed to build the image of `web` at `")
            && output.contains("COPY no-such-file /x`: ")
            && output.contains("not found"),
        "{output}"
    );
    // Exactly these two: the burst made one change.
    assert_eq!(changes(&up).len(), 2, "{output}");
    assert_eq!(sandbox.url("web"), url);
    assert_eq!(
        served(&sandbox, "index.html"),
        format!("200 {}", version(2))
    );

    // Fixed, with new content: rebuilt again.
    sandbox.write("app/www/index.html", &version(3));
    sandbox.write("app/Dockerfile", DOCKERFILE);
    let line = wait_changes(&up, 3);
    assert!(
        line.contains("-> rebuilt and replaced in"),
        "{}",
        up.output()
    );
    assert_eq!(
        served(&sandbox, "index.html"),
        format!("200 {}", version(3))
    );

    // Ctrl-C stops watching; the sandbox stays up.
    let exit = up.interrupt();
    assert_eq!(exit.code(), Some(130), "{}", up.output());
    assert!(up.output().contains("stays up"), "{}", up.output());
    assert_eq!(
        served(&sandbox, "index.html"),
        format!("200 {}", version(3))
    );
    sandbox.ok(&["down"]);
    assert_eq!(sandbox.leftovers(), 0);
}

fn sync_copies_into_the_running_container_and_the_manifest_is_re_applied() {
    let watch = r#"  watch:
    - path: ./app/www
      action: sync
      target: /www
    - path: ./app/restart.txt
      action: restart
"#;
    let sandbox = sandbox("watch-sync", watch);
    sandbox.write("app/restart.txt", "1");
    let mut up = Foreground::start(sandbox.command(&["up", "--watch"]));
    up.wait_for("Ctrl-C stops watching", Duration::from_secs(120));
    let url = sandbox.url("web");
    let before = started(&sandbox);

    // Changed and new files (in a new folder) reach the running container;
    // it is neither replaced nor restarted.
    sandbox.write("app/www/index.html", "synced");
    sandbox.write("app/www/sub/new.txt", "new");
    let line = wait_changes(&up, 1);
    assert!(
        line.starts_with("web: 2 files changed in app/www ("),
        "{}",
        up.output()
    );
    assert!(line.contains("-> synced to /www in "), "{}", up.output());
    assert_eq!(served(&sandbox, "index.html"), "200 synced");
    assert_eq!(served(&sandbox, "sub/new.txt"), "200 new");
    assert_eq!(started(&sandbox), before, "{}", up.output());
    assert_eq!(sandbox.url("web"), url);

    // A FROM scratch image has no `rm`: the deletion is said, not made.
    std::fs::remove_file(sandbox.path("app/www/sub/new.txt")).unwrap();
    let line = wait_changes(&up, 2);
    assert!(
        line.contains("(1 deletion not synced: the image has no `rm`)"),
        "{}",
        up.output()
    );

    // `restart`: the same container, started again.
    sandbox.write("app/restart.txt", "2");
    let line = wait_changes(&up, 3);
    assert!(
        line.starts_with(
            "web: 1 file changed in app/restart.txt (app/restart.txt) -> restarted in "
        ),
        "{}",
        up.output()
    );
    let after = started(&sandbox);
    assert_eq!(after.0, before.0);
    assert_ne!(after.1, before.1);
    // The engine may publish a restarted container on another port: the
    // line says where, and the registry knows.
    let moved = sandbox.url("web");
    if moved != url {
        assert!(line.ends_with(&format!("; now at {moved}")), "{line}");
    }
    let registry = sandbox.status()["registry_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, entry) = get(&format!("{registry}/services/web"));
    let entry: serde_json::Value = serde_json::from_str(&entry).unwrap();
    assert_eq!(entry["host_url"], moved.as_str(), "{entry}");
    assert_eq!(served(&sandbox, "index.html"), "200 synced");

    // The manifest changed: re-applied, web replaced.
    sandbox.write(
        "sandbox.yaml",
        &manifest(&format!("  env: {{ GREETING: hello }}\n{watch}")),
    );
    let line = wait_changes(&up, 4);
    assert!(
        line.starts_with("sandbox.yaml changed -> re-applied in "),
        "{}",
        up.output()
    );
    assert!(line.ends_with(": started web"), "{}", up.output());
    assert_ne!(started(&sandbox).0, before.0);
    // One that does not validate: its errors, and watching goes on.
    sandbox.write("sandbox.yaml", "version: 2\n");
    let line = wait_changes(&up, 5);
    assert!(
        line.contains("-> not applied; watching goes on with the manifest as it was"),
        "{line}"
    );
    assert!(up.output().contains("invalid manifest"), "{}", up.output());
    sandbox.write("app/www/index.html", "still watching");
    let line = wait_changes(&up, 6);
    assert!(line.contains("-> synced to /www"), "{}", up.output());

    assert_eq!(up.interrupt().code(), Some(130), "{}", up.output());
    assert_eq!(served(&sandbox, "index.html"), "200 still watching");
}

fn a_watch_path_outside_the_folder_or_missing_is_refused() {
    let sandbox = Sandbox::new(
        "watch-bad",
        &manifest("  watch:\n    - path: ../elsewhere\n    - path: ./app/missing\n"),
    );
    for args in [&["validate"][..], &["up", "--watch"]] {
        let out = sandbox.run(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("sandbox.yaml:9:13: `../elsewhere` leaves the manifest's folder"),
            "{err}"
        );
        assert!(
            err.contains(
                "sandbox.yaml:10:13: `service.watch[1].path`: `./app/missing` does not exist"
            ),
            "{err}"
        );
    }
    // --watch prints logs on stdout, which --json keeps for one document.
    let out = sandbox.run(&["up", "--watch", "--json"]);
    assert_eq!(out.status.code(), Some(2));
}

cases! {
    docker: [
        a_change_in_a_build_context_rebuilds_and_a_broken_build_keeps_the_old_container,
        sync_copies_into_the_running_container_and_the_manifest_is_re_applied,
    ],
    plain: [a_watch_path_outside_the_folder_or_missing_is_refused],
}
