//! Unit tests of manifest validation: each rule, suggestions, positions in
//! named files, and garbled input that must never panic.

use std::path::Path;

use super::agent::check_upstream;
use super::*;

/// Validates `text` as `sandbox.yaml` in `dir`.
fn load_in(dir: &Path, text: &str) -> Result<Loaded, Vec<Problem>> {
    let file = dir.join("sandbox.yaml");
    load_text(Path::new("sandbox.yaml"), &file, text).map_err(|error| match error {
        ManifestError::Invalid { problems } => problems,
        other => panic!("unexpected error: {other}"),
    })
}

fn problems(text: &str) -> Vec<Problem> {
    let dir = tempfile::tempdir().unwrap();
    match load_in(dir.path(), text) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    }
}

/// The one problem `text` has, as `line:col: message`.
fn only(text: &str) -> (String, Option<String>) {
    let found = problems(text);
    assert_eq!(found.len(), 1, "expected one problem, got {found:#?}");
    let p = &found[0];
    let (line, col) = p.at.unwrap();
    (format!("{line}:{col}: {}", p.message), p.help.clone())
}

const HEAD: &str = "version: 1\nservice:\n  name: orders\n  image: orders:dev\n";

fn with(rest: &str) -> String {
    format!("{HEAD}{rest}")
}

#[test]
fn suggestions_pick_the_closest_key() {
    assert_eq!(suggest("servce", keys::TOP), Some("service"));
    assert_eq!(suggest("dependancies", keys::TOP), Some("dependencies"));
    assert_eq!(suggest("heatlh", keys::SERVICE), Some("health"));
    assert_eq!(suggest("respnd", keys::ROUTE), Some("respond"));
    assert_eq!(suggest("Image", keys::SERVICE), Some("image"));
    assert_eq!(suggest("zzzzzz", keys::FAULTS), None);
    assert_eq!(suggest("x", &["y"]), None);
}

#[test]
fn a_minimal_manifest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_in(dir.path(), HEAD).unwrap();
    assert_eq!(loaded.manifest.service.name, "orders");
    assert_eq!(loaded.name, name_from_folder(dir.path()));
}

#[test]
fn version_must_be_one() {
    let (message, help) = only("service:\n  name: orders\n  image: x\n");
    assert_eq!(message, "1:1: the manifest has no `version`");
    assert_eq!(help.as_deref(), Some("write `version: 1` at the top"));
    let (message, help) = only("version: '1'\nservice:\n  name: orders\n  image: x\n");
    assert_eq!(
        message,
        "1:10: `version` is the string \"1\"; it must be the number 1"
    );
    assert_eq!(help.as_deref(), Some("write `version: 1` without quotes"));
}

#[test]
fn empty_and_non_map_documents() {
    assert_eq!(only("").0, "1:1: the manifest is empty");
    assert_eq!(
        only("just text").0,
        "1:1: the manifest must be a map, found the string `just text`"
    );
    assert!(only("a: [").0.contains("YAML syntax error"));
}

#[test]
fn unknown_keys_are_reported_at_every_level() {
    let found = problems(&with(
        "  heatlh: {}\ndependencies:\n  p:\n    stub:\n      routes:\n        - match: {}\n          respnd: {}\n          respond: {}\n",
    ));
    let messages: Vec<_> = found
        .iter()
        .map(|p| (p.at, p.message.as_str(), p.help.as_deref()))
        .collect();
    assert_eq!(
        messages,
        vec![
            (
                Some((5, 3)),
                "unknown key `heatlh` in `service`",
                Some("did you mean `health`?")
            ),
            (
                Some((11, 11)),
                "unknown key `respnd` in `dependencies.p.stub.routes[0]`",
                Some("did you mean `respond`?")
            ),
        ]
    );
}

#[test]
fn names_are_checked() {
    assert!(
        only("version: 1\nname: Shop\nservice:\n  name: orders\n  image: x\n")
            .0
            .contains("sandbox name `Shop`")
    );
    assert!(
        only("version: 1\nservice:\n  name: -x\n  image: x\n")
            .0
            .contains("service name `-x`")
    );
    assert!(
        only(&with("dependencies:\n  registry: { image: r }\n"))
            .0
            .contains("reserved")
    );
    assert!(
        only(&with("dependencies:\n  orders: { image: r }\n"))
            .0
            .contains("same name as the service")
    );
    let (message, _) = only(&with(
        "dependencies:\n  a: { image: r }\n  a: { image: s }\n",
    ));
    assert_eq!(
        message,
        "7:3: `a` appears twice in `dependencies`, here and at line 6"
    );
}

#[test]
fn kinds_must_be_exactly_one() {
    assert!(
        only(&with("dependencies:\n  a: { owner: me }\n"))
            .0
            .contains("has no kind")
    );
    let (message, help) = only(&with("dependencies:\n  a: { image: r, stub: {} }\n"));
    assert!(message.contains("2 kinds: `stub`, `image`"), "{message}");
    assert!(help.unwrap().contains("`stub`"));
    let found = problems("version: 1\nservice:\n  name: o\n  image: x\n  build: .\n");
    assert!(found[0].message.contains("2 kinds"), "{found:#?}");
    let (message, _) = only(&with("dependencies:\n  a: { stub: {}, env: { A: b } }\n"));
    assert!(
        message.contains("`env` does not apply to dependency `a`, a stub dependency"),
        "{message}"
    );
}

#[test]
fn ports_named_by_health_and_checks_must_exist() {
    let entry = "  ports: { http: 8080 }\n";
    assert!(
        only(&with(&format!(
            "{entry}  health: {{ http: /h, port: htp }}\n"
        )))
        .1
        .unwrap()
        .contains("`http`")
    );
    assert!(
        only(&with(&format!("{entry}  health: {{ tcp: pg }}\n")))
            .0
            .contains("port `pg`")
    );
    assert!(
        only(&with("  health: { http: /h }\n"))
            .0
            .contains("declares no `ports`")
    );
    assert!(
        only(&with(&format!(
            "{entry}  health: {{ http: /h, tcp: http }}\n"
        )))
        .0
        .contains("exactly one")
    );
    assert!(
        only(&with(&format!("{entry}  health: {{ exec: [] }}\n")))
            .0
            .contains("empty list")
    );
    assert!(
        only(&with(&format!("{entry}  health: {{ timeout: 5s }}\n")))
            .0
            .contains("needs one of")
    );
    let check = "  checks:\n    - name: c\n      request: { path: /x, port: admin }\n";
    assert!(
        only(&with(&format!("{entry}{check}")))
            .0
            .contains("port `admin`")
    );
}

#[test]
fn values_are_range_checked() {
    let cases = [
        ("  ports: { http: 0 }\n", "is 0; expected a port number"),
        ("  ports: { http: 65536 }\n", "65536"),
        ("  ports: { http: '80' }\n", "found the string `80`"),
        (
            "  ports: { http: 80 }\n  health: { http: /, status: 600 }\n",
            "600",
        ),
        ("  debug: { port: 70000 }\n", "70000"),
        (
            "  health: { exec: [x], timeout: 5 }\n",
            "found the number `5`",
        ),
        ("  faults: { latency: 5 parsecs }\n", "parsecs"),
        ("  faults: { jitter: -1s }\n", "negative"),
        ("  faults: { error_rate: 2 }\n", "from 0 to 1"),
        ("  faults: { reset_rate: -0.5 }\n", "from 0 to 1"),
        ("  faults: { error_status: 302 }\n", "4xx or 5xx"),
        ("  faults: { bandwidth: 1MB }\n", "not a bandwidth"),
        ("  limits: { rate: ten/s }\n", "not a number"),
        ("  limits: { burst: 0 }\n", "is 0"),
        ("  limits: { concurrency: 0 }\n", "is 0"),
        ("  env: [A=b]\n", "must be a map, found a list"),
        (
            "  env: { 1A: b }\n",
            "not a valid environment variable name",
        ),
        ("  command: run\n", "must be a list"),
    ];
    for (rest, expected) in cases {
        let (message, _) = only(&with(rest));
        assert!(message.contains(expected), "{rest:?}: {message}");
    }
}

#[test]
fn record_upstreams_are_plain_http() {
    assert!(check_upstream("http://catalog:8080").is_ok());
    assert!(check_upstream("http://catalog.example/").is_ok());
    assert!(check_upstream("http://[::1]:8080").is_ok());
    assert!(
        check_upstream("https://catalog")
            .unwrap_err()
            .0
            .contains("https")
    );
    assert!(check_upstream("catalog:80").is_err());
    assert!(check_upstream("http://catalog/v1").is_err());
    assert!(check_upstream("http://catalog:0").is_err());
    assert!(check_upstream("http://").is_err());
}

#[test]
fn env_names() {
    assert!(is_env_name("LOG_LEVEL"));
    assert!(is_env_name("_x1"));
    assert!(!is_env_name("1X"));
    assert!(!is_env_name("A-B"));
    assert!(!is_env_name(""));
}

#[test]
fn files_are_read_into_the_loaded_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("stubs")).unwrap();
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::write(root.join("app/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        root.join("stubs/a.yaml"),
        "- match: { path: /a }\n  respond: { status: 201 }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("stubs/b.yaml"),
        "routes:\n  - match: { path: /b }\n    respond: {}\n",
    )
    .unwrap();
    std::fs::write(root.join("rec.yaml"), "version: 1\ninteractions: []\n").unwrap();
    std::fs::write(root.join("api.json"), r#"{"openapi": "3.0.0"}"#).unwrap();
    let text = "version: 1\nservice:\n  name: orders\n  build: ./app\n  api: { openapi: api.json }\ndependencies:\n  pay:\n    stub:\n      routes:\n        - match: { path: /first }\n          respond: {}\n      files: [stubs/a.yaml, stubs/b.yaml]\n  inv:\n    replay: rec.yaml\n";
    let loaded = load_in(root, text).unwrap();
    let paths: Vec<_> = loaded.stub_routes["pay"]
        .iter()
        .map(|r| r.matcher.path.clone().unwrap())
        .collect();
    assert_eq!(paths, ["/first", "/a", "/b"]);
    assert!(loaded.recordings.contains_key("inv"));
    assert_eq!(loaded.openapi["orders"]["openapi"], "3.0.0");
    // The typed view says what each entry is.
    assert!(matches!(
        &loaded.entries.service.container.image,
        ImageRef::Build(build) if build.context == "./app"
    ));
    assert!(matches!(
        &loaded.entries.dependencies["pay"].source,
        Source::Stub(stub) if stub.files.len() == 2
    ));
    assert_eq!(
        loaded.entries.dependencies["inv"].source,
        Source::Replay(ReplaySource {
            file: "rec.yaml".into(),
            timing: crate::manifest::ReplayTiming::None,
        })
    );
}

/// The typed view is made after the walk, which reports every entry
/// without exactly one kind; were one to slip through, it is reported at
/// the entry's key, never given a kind by default.
#[test]
fn an_entry_the_walk_let_through_untyped_is_reported_not_guessed() {
    let text = "version: 1\nservice:\n  name: orders\n  image: x\ndependencies:\n  db: { image: pg }\n  pay: { stub: {} }\n";
    let root = tree::parse(text).unwrap().unwrap();
    let mut manifest: Manifest = serde_yaml::from_str(text).unwrap();
    let mut checker = Checker::new(Path::new("sandbox.yaml"), Path::new("."));
    assert!(checker.entries(&root, &manifest).is_some());
    assert!(checker.problems.is_empty());

    manifest.dependencies["db"].image = None;
    manifest.dependencies["pay"].replay = Some("r.yaml".into());
    manifest.service.build = Some(Build {
        context: ".".into(),
        dockerfile: None,
        args: IndexMap::new(),
    });
    assert!(checker.entries(&root, &manifest).is_none());
    let found: Vec<_> = checker
        .problems
        .iter()
        .map(|p| (p.at.unwrap(), p.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ((2, 1), "the service has 2 kinds: `build`, `image`"),
            ((6, 3), "dependency `db` has no kind"),
            ((7, 3), "dependency `pay` has 2 kinds: `stub`, `replay`"),
        ]
    );
}

#[test]
fn problems_in_named_files_carry_that_files_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "- match: {}\n  respond: { stauts: 200 }\n",
    )
    .unwrap();
    let found = load_in(
        dir.path(),
        &with("dependencies:\n  p:\n    stub: { files: [s.yaml] }\n"),
    )
    .unwrap_err();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].file, Path::new("s.yaml"));
    assert_eq!(found[0].at, Some((2, 14)));
    assert_eq!(found[0].help.as_deref(), Some("did you mean `status`?"));
}

#[test]
fn paths_must_stay_inside_the_manifests_folder() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(dir.path().join("outside.yaml"), "version: 1\n").unwrap();
    let escapes = [
        ("replay: ../outside.yaml", "leaves the manifest's folder"),
        ("replay: /etc/hosts", "absolute path"),
        (
            "record: { upstream: 'http://x', to: ../new.yaml }",
            "leaves the manifest's folder",
        ),
        ("replay: missing.yaml", "does not exist"),
    ];
    for (kind, expected) in escapes {
        let found =
            load_in(&inner, &with(&format!("dependencies:\n  d:\n    {kind}\n"))).unwrap_err();
        assert!(found[0].message.contains(expected), "{kind}: {found:#?}");
    }
    // A record target need not exist yet, but its folder must.
    let record =
        with("dependencies:\n  d:\n    record: { upstream: 'http://x', to: rec/new.yaml }\n");
    let found = load_in(&inner, &record).unwrap_err();
    assert!(
        found[0].message.contains("the folder `rec` does not exist"),
        "{found:#?}"
    );
    assert_eq!(
        found[0].help.as_deref(),
        Some("create the folder: `mkdir -p rec`")
    );
    std::fs::create_dir(inner.join("rec")).unwrap();
    let loaded = load_in(&inner, &record).unwrap();
    assert_eq!(
        loaded.path("rec/new.yaml"),
        inner.canonicalize().unwrap().join("rec/new.yaml")
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("..", inner.join("up")).unwrap();
        let found = load_in(
            &inner,
            &with("dependencies:\n  d:\n    replay: up/outside.yaml\n"),
        )
        .unwrap_err();
        assert!(found[0].message.contains("symbolic link"), "{found:#?}");
    }
}

/// Truncated and garbled versions of a full manifest never panic, and every
/// problem has a position.
#[test]
fn garbled_manifests_never_panic() {
    let text = include_str!("../../../tests/fixtures/manifests/valid.yaml");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifests");
    let mut inputs: Vec<String> = Vec::new();
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .collect();
    for &cut in boundaries.iter().step_by(7) {
        inputs.push(text[..cut].to_owned());
    }
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let noise = [
        ":", "- ", "{", "}", "[", "]", "\"", "'", "&a ", "*a", "\n", "  ", "\t", "~", "0", "-1",
        "!!x ", "? ", "|", "#",
    ];
    for _ in 0..400 {
        let mut garbled = text.to_owned();
        for _ in 0..(next() % 4 + 1) {
            let at = boundaries[(next() as usize) % boundaries.len()].min(garbled.len());
            let at = (0..=at)
                .rev()
                .find(|i| garbled.is_char_boundary(*i))
                .unwrap_or(0);
            garbled.insert_str(at, noise[(next() as usize) % noise.len()]);
        }
        inputs.push(garbled);
    }
    for input in inputs {
        let result = load_text(Path::new("sandbox.yaml"), &dir.join("sandbox.yaml"), &input);
        if let Err(ManifestError::Invalid { problems }) = result {
            assert!(
                !problems.is_empty(),
                "an invalid manifest has problems: {input:?}"
            );
        }
    }
}

#[test]
fn a_build_that_reads_as_a_number_is_reported_not_passed_to_serde() {
    let (message, _) = only("version: 1\nservice:\n  name: o\n  build: 5\n");
    assert_eq!(
        message,
        "4:10: `service.build` must be a folder, found the number `5`"
    );
}

#[test]
fn named_files_are_shown_beside_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("stubs")).unwrap();
    std::fs::write(dir.path().join("stubs/s.yaml"), "[").unwrap();
    let shown = Path::new("some/where/sandbox.yaml");
    let text = with("dependencies:\n  p:\n    stub: { files: [./stubs/s.yaml] }\n");
    let Err(ManifestError::Invalid { problems }) =
        load_text(shown, &dir.path().join("sandbox.yaml"), &text)
    else {
        panic!("a torn stub file is a problem");
    };
    assert_eq!(problems[0].file, Path::new("some/where/stubs/s.yaml"));
}

#[test]
fn route_templates_take_whole_segment_identifiers() {
    use super::settings::check_template;
    for good in ["/", "/x/{id}", "/x/{ id }/{_v2}/y", "/a//b"] {
        assert_eq!(check_template(good), Ok(()), "{good}");
    }
    for (bad, help) in [
        ("/x/{id", "close it: `/x/{id}`"),
        (
            "/x/id}",
            "a parameter is a whole segment in braces: `/x/{id}`",
        ),
        (
            "/x/{}",
            "name it, e.g. `/x/{id}`; a response reads it as `{{path.id}}`",
        ),
        (
            "/x/{1st}",
            "use letters, digits and `_`, starting with a letter, e.g. `/x/{p1st}`",
        ),
    ] {
        assert_eq!(check_template(bad).unwrap_err().1, help, "{bad}");
    }
}

#[test]
fn host_and_watch_settings_are_checked_where_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("orders/src")).unwrap();
    std::fs::write(dir.path().join("orders/Dockerfile"), "FROM scratch\n").unwrap();
    let head = "version: 1\nservice:\n  name: orders\n  build: ./orders\n  ports: { http: 8080 }\n";
    let ok = format!(
        "{head}  host: {{ command: [cargo, run], dir: ./orders, port: 9090, env: {{ RUST_LOG: debug }} }}\n  watch:\n    - path: ./orders/src\n    - path: ./orders\n      action: sync\n      target: /app\n      ignore: ['*.tmp']\n"
    );
    let loaded = load_in(dir.path(), &ok).unwrap();
    let container = &loaded.entries.service.container;
    let host = container.host.as_ref().unwrap();
    assert_eq!(host.port, Some(9090));
    assert_eq!(
        host.command.as_deref(),
        Some(&["cargo".to_owned(), "run".to_owned()][..])
    );
    assert_eq!(container.watch.len(), 2);
    assert_eq!(container.watch[0].action, None);
    assert_eq!(container.watch[1].action, Some(WatchAction::Sync));

    let one = |rest: &str| {
        let found = match load_in(dir.path(), &format!("{head}{rest}")) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        };
        assert_eq!(found.len(), 1, "expected one problem, got {found:#?}");
        let p = &found[0];
        let (line, col) = p.at.unwrap();
        format!("{line}:{col}: {}", p.message)
    };
    assert_eq!(
        one("  watch:\n    - path: ./missing\n"),
        "7:13: `service.watch[0].path`: `./missing` does not exist"
    );
    assert_eq!(
        one("  watch:\n    - path: ../elsewhere\n"),
        "7:13: `../elsewhere` leaves the manifest's folder"
    );
    assert_eq!(
        one("  watch:\n    - path: ./orders\n      action: rebiuld\n"),
        "8:15: `service.watch[0].action` is `rebiuld`, not an action"
    );
    assert_eq!(
        one("  watch:\n    - path: ./orders\n      action: sync\n"),
        "7:7: `service.watch[0]` is missing `target`"
    );
    assert_eq!(
        one("  watch:\n    - path: ./orders\n      target: /app\n"),
        "8:7: `service.watch[0].target` only applies to `action: sync`"
    );
    assert_eq!(
        one("  host: { dir: ./nowhere }\n"),
        "6:16: `service.host.dir`: `./nowhere` does not exist"
    );
    assert_eq!(
        one("  host: { cmd: [x] }\n"),
        "6:11: unknown key `cmd` in `service.host`"
    );
    // Rebuilding needs a build context; an image runs as it is.
    let image = "version: 1\nservice:\n  name: orders\n  image: orders:dev\n";
    let found = load_in(
        dir.path(),
        &format!("{image}  watch:\n    - path: ./orders\n"),
    )
    .unwrap_err();
    assert!(
        found[0]
            .message
            .contains("applies to entries with `build:` or `host:`"),
        "{found:#?}"
    );
    let found = load_in(
        dir.path(),
        &format!("{image}  host: {{}}\n  watch:\n    - path: ./orders\n      action: rebuild\n"),
    )
    .unwrap_err();
    assert!(
        found[0].message.contains("needs an entry with `build:`"),
        "{found:#?}"
    );
    // Agent-served kinds run no process of their own.
    let stub = format!("{head}dependencies:\n  pay:\n    stub: {{}}\n    host: {{}}\n");
    let found = load_in(dir.path(), &stub).unwrap_err();
    assert!(
        found[0]
            .message
            .contains("`host` does not apply to dependency"),
        "{found:#?}"
    );
}

#[test]
fn a_har_file_is_replayed_and_checked_like_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = with("dependencies:\n  api:\n    replay: traffic/api.HAR\n");
    std::fs::create_dir(dir.path().join("traffic")).unwrap();
    let har = dir.path().join("traffic/api.HAR");
    std::fs::write(
        &har,
        r#"{"log": {"entries": [
  {"request": {"method": "GET", "url": "https://a.example/x?t=1&t=2"}, "response": {"status": 200, "content": {"text": "one"}}},
  {"request": {"method": "GET", "url": "https://b.example/y"}, "response": {"status": 204}}
]}}"#,
    )
    .unwrap();
    let loaded = load_in(dir.path(), &manifest).unwrap();
    let recording = &loaded.recordings["api"];
    assert_eq!(recording.interactions.len(), 2);
    assert_eq!(
        recording.interactions[0].request.query["t"].values(),
        ["1", "2"]
    );
    assert_eq!(loaded.warnings.len(), 1, "{:#?}", loaded.warnings);
    let warning = &loaded.warnings[0];
    assert_eq!(warning.file, Path::new("traffic/api.HAR"));
    assert_eq!(warning.at, Some((3, 3)));
    assert!(
        warning
            .message
            .starts_with("the HAR holds requests to 2 hosts (a.example, b.example)"),
        "{warning}"
    );

    // A broken one is a problem in its own file, with line and column.
    std::fs::write(&har, "{\"log\": {\"entries\": [\n  {\"request\": {\"method\": \"GET\", \"url\": \"/\"}, \"response\": {}}]}}").unwrap();
    let found = load_in(dir.path(), &manifest).unwrap_err();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].file, Path::new("traffic/api.HAR"));
    assert_eq!(found[0].at, Some((2, 59)));
    assert_eq!(
        found[0].message,
        "invalid HAR: entry 1 (`log.entries[0]`): missing field `status`"
    );
    assert!(
        found[0]
            .help
            .as_deref()
            .unwrap()
            .contains("Save all as HAR")
    );

    // A HAR named `.json` is read as a recording; the help says what to do.
    std::fs::write(dir.path().join("api.json"), "{\"log\": {\"entries\": []}}").unwrap();
    let found = load_in(
        dir.path(),
        &with("dependencies:\n  api:\n    replay: api.json\n"),
    )
    .unwrap_err();
    assert_eq!(
        found[0].help.as_deref(),
        Some("this looks like a HAR file: name it `.har` to replay it as one")
    );
}

#[test]
fn ports_declare_protocols_and_faults_must_fit_them() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_in(
        dir.path(),
        &with(
            "  ports: { http: 80, h2: 81, rpc: { port: 9090, protocol: grpc }, grpc: 9091, metrics: 9100 }\n  health: { http: /healthz }\n",
        ),
    )
    .unwrap();
    let protocols: Vec<(&str, &str)> = loaded
        .entries
        .service
        .container
        .protocols
        .iter()
        .map(|(name, protocol)| (name.as_str(), protocol.as_str()))
        .collect();
    // The health check calls the first port only; a port named neither
    // http, web, api nor grpc is raw TCP.
    assert_eq!(
        protocols,
        [
            ("http", "http"),
            ("h2", "tcp"),
            ("rpc", "grpc"),
            ("grpc", "grpc"),
            ("metrics", "tcp")
        ]
    );
    assert_eq!(loaded.entries.service.container.ports["rpc"], 9090);

    let (message, help) = only(&with(
        "  ports: { cache: 6379 }\n  faults: { latency: 5ms, error_rate: 1 }\n",
    ));
    assert!(
        message.starts_with("6:27: `service.faults.error_rate` cannot apply"),
        "{message}"
    );
    assert!(help.unwrap().contains("protocol: http"));
    // The same fault on an HTTP port is fine, declared or by name.
    assert!(
        problems(&with(
            "  ports: { cache: { port: 6379, protocol: http } }\n  faults: { error_rate: 1 }\n"
        ))
        .is_empty()
    );
    assert!(
        problems(&with(
            "  ports: { api: 6379 }\n  faults: { error_rate: 1 }\n"
        ))
        .is_empty()
    );

    let (message, _) = only(&with("  ports: { rpc: { port: 9090, protocol: quic } }\n"));
    assert!(
        message.starts_with("5:41: `service.ports.rpc.protocol` is `quic`"),
        "{message}"
    );
    let (message, _) = only(&with("  ports: { rpc: { protocol: grpc } }\n"));
    assert!(message.contains("is missing `port`"), "{message}");
    let (message, help) = only(&with("  ports: { rpc: { port: 9090, protcol: grpc } }\n"));
    assert!(message.contains("unknown key `protcol`"), "{message}");
    assert_eq!(help.as_deref(), Some("did you mean `protocol`?"));
}

#[test]
fn a_replay_is_a_file_or_a_map_with_its_timing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yaml"), "version: 1\n").unwrap();
    let loaded = load_in(
        dir.path(),
        &with("dependencies:\n  d:\n    replay: { file: r.yaml, timing: recorded }\n"),
    )
    .unwrap();
    assert_eq!(
        loaded.entries.dependencies["d"].source,
        Source::Replay(ReplaySource {
            file: "r.yaml".into(),
            timing: crate::manifest::ReplayTiming::Recorded,
        })
    );
    let bad = [
        (
            "replay: { file: r.yaml, timing: real }",
            "7:37: `dependencies.d.replay.timing` is `real`; expected recorded or none",
        ),
        (
            "replay: { file: r.yaml, pace: recorded }",
            "7:29: unknown key `pace` in `dependencies.d.replay`",
        ),
        (
            "replay: { timing: none }",
            "7:13: `dependencies.d.replay` is missing `file`",
        ),
        (
            "replay: { file: gone.yaml }",
            "7:21: recording `gone.yaml` does not exist",
        ),
    ];
    for (replay, expected) in bad {
        let found = load_in(
            dir.path(),
            &with(&format!("dependencies:\n  d:\n    {replay}\n")),
        )
        .unwrap_err();
        assert_eq!(found.len(), 1, "{replay}: {found:#?}");
        let (line, col) = found[0].at.unwrap();
        assert_eq!(
            format!("{line}:{col}: {}", found[0].message),
            expected,
            "{replay}"
        );
    }
}

#[test]
fn every_body_file_of_a_recording_must_be_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rec/bodies")).unwrap();
    std::fs::write(dir.path().join("rec/bodies/aa"), "x").unwrap();
    let recording = "version: 1\ninteractions:\n  - request: { method: GET, path: /a }\n    response:\n      status: 200\n      body_file: bodies/aa\n  - request: { method: GET, path: /b }\n    response:\n      status: 200\n      body_file: bodies/bb\n  - request: { method: GET, path: /c }\n    response: { status: 200, body_file: ../../etc/passwd }\n";
    std::fs::write(dir.path().join("rec/r.yaml"), recording).unwrap();
    let found = load_in(
        dir.path(),
        &with("dependencies:\n  d:\n    replay: rec/r.yaml\n"),
    )
    .unwrap_err();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].file, Path::new("rec/r.yaml"));
    assert_eq!(found[0].at, Some((10, 18)));
    assert_eq!(
        found[0].message,
        "interaction 2: `response.body_file` `bodies/bb` does not exist"
    );
    assert!(
        found[0]
            .help
            .as_deref()
            .unwrap()
            .contains("`bodies` folder"),
        "{found:#?}"
    );
    assert_eq!(found[1].at, Some((12, 41)));
    assert!(found[1].message.contains("inside the recording's folder"));
    std::fs::write(dir.path().join("rec/bodies/bb"), "y").unwrap();
    std::fs::write(
        dir.path().join("rec/r.yaml"),
        recording.replace("../../etc/passwd", "bodies/aa"),
    )
    .unwrap();
    load_in(
        dir.path(),
        &with("dependencies:\n  d:\n    replay: rec/r.yaml\n"),
    )
    .unwrap();
}
