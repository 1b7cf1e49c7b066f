//! The Compose importer end to end: the fixtures of tests/fixtures/compose
//! and small Compose files import into manifests that the manifest's own
//! loader accepts; what was carried and what was listed is checked.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::compose::{Imported, Request, import};
use super::{ImportError, ItemKind};
use crate::manifest::{self, EnvValue, Loaded, ProbeKind};

/// A copy of a fixture folder in a temporary folder: (temp, its copy).
fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compose")
        .join(name);
    let to = temp.path().join(name);
    copy(&from, &to);
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

/// Imports `file` in `dir` (the manifest beside it) and loads the result.
fn run(
    dir: &Path,
    file: &str,
    service: Option<&str>,
    env: &[(&str, &str)],
) -> Result<(Imported, Loaded, String), ImportError> {
    let environment: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let compose = dir.join(file);
    let imported = import(&Request {
        file: &compose,
        service,
        out_dir: dir,
        environment: &environment,
    })?;
    let text = imported.draft.to_string();
    let target = dir.join("sandbox.yaml");
    std::fs::write(&target, &text).unwrap();
    let loaded = manifest::load(&target)
        .unwrap_or_else(|e| panic!("the imported manifest does not validate:\n{e}\n---\n{text}"));
    Ok((imported, loaded, text))
}

fn inline(text: &str) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("compose.yaml"), text).unwrap();
    let dir = temp.path().to_path_buf();
    (temp, dir)
}

fn env_of(loaded: &Loaded, entry: &str) -> HashMap<String, String> {
    let container = if loaded.entries.service.name == entry {
        loaded.entries.service.container.clone()
    } else {
        match &loaded.entries.dependencies[entry].source {
            manifest::Source::Container(c) => (**c).clone(),
            other => panic!("{entry} is {other:?}"),
        }
    };
    container
        .env
        .into_iter()
        .map(|(k, EnvValue(v))| (k, v))
        .collect()
}

fn container(loaded: &Loaded, entry: &str) -> manifest::ContainerSource {
    if loaded.entries.service.name == entry {
        return loaded.entries.service.container.clone();
    }
    match &loaded.entries.dependencies[entry].source {
        manifest::Source::Container(c) => (**c).clone(),
        other => panic!("{entry} is {other:?}"),
    }
}

/// The report's lines as text: `LINE ENTRY: text`.
fn listed(imported: &Imported, kind: ItemKind) -> Vec<String> {
    imported
        .report
        .items
        .iter()
        .filter(|i| i.kind == kind)
        .map(|i| {
            format!(
                "{} {}: {}",
                i.line.unwrap_or(0),
                i.entry.as_deref().unwrap_or("-"),
                i.text
            )
        })
        .collect()
}

fn has(lines: &[String], wanted: &str) -> bool {
    lines.iter().any(|l| l.contains(wanted))
}

#[test]
fn a_web_app_with_a_database_and_a_cache() {
    let (_temp, dir) = fixture("webapp");
    let (imported, loaded, text) = run(&dir, "compose.yaml", None, &[]).unwrap();
    // `web` depends on the others: it is the service under work.
    assert_eq!(loaded.entries.service.name, "web");
    let names: Vec<&str> = loaded
        .entries
        .dependencies
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["db", "cache"]);
    let web = container(&loaded, "web");
    assert!(
        matches!(web.image, manifest::ImageRef::Build(ref b) if b.context == "."),
        "{:?}",
        web.image
    );
    assert_eq!(
        web.command.as_deref().unwrap(),
        ["bundle", "exec", "puma", "-C", "config/puma.rb"]
    );
    assert_eq!(web.ports["http"], 3000);
    assert_eq!(web.ports["p9394"], 9394);
    let health = web.health.unwrap();
    assert_eq!(health.probe(), Some(ProbeKind::Http("/health".into())));
    assert_eq!(health.port.as_deref(), Some("http"));
    assert_eq!(health.contains.as_deref(), Some("OK"));
    // env_file first, `environment` after it.
    let env = env_of(&loaded, "web");
    assert_eq!(env["RAILS_ENV"], "development");
    assert_eq!(env["SECRET_KEY_BASE"], "dev-only-secret");
    assert_eq!(env["WEB_CONCURRENCY"], "2");
    assert_eq!(
        env["DATABASE_URL"],
        "postgres://postgres:postgres@db:5432/shop"
    );
    assert!(!env.contains_key("RAILS_LOG_TO_STDOUT"));
    let db = container(&loaded, "db");
    assert_eq!(
        db.health.unwrap().probe(),
        Some(ProbeKind::Exec(vec![
            "pg_isready".into(),
            "-U".into(),
            "postgres".into()
        ]))
    );
    let cache = container(&loaded, "cache");
    assert_eq!(cache.ports["cache"], 6379);
    assert_eq!(
        cache.command.unwrap(),
        ["redis-server", "--save", "", "--appendonly", "no"]
    );

    let not_carried = listed(&imported, ItemKind::NotCarried);
    for wanted in [
        "21 web: volumes",
        "23 web: restart",
        "24 web: networks",
        "36 db: volumes",
        "38 db: shm_size",
        "50 -: volumes",
        "53 -: networks",
        "6 web: image `shop/web:dev`",
        "12 web: environment `RAILS_LOG_TO_STDOUT` has no value",
    ] {
        assert!(
            has(&not_carried, wanted),
            "{wanted} not in {not_carried:#?}"
        );
    }
    let changed = listed(&imported, ItemKind::Changed);
    assert!(
        has(&changed, "8 web: env_file `.env.web`: its 3 variables"),
        "{changed:#?}"
    );
    assert!(
        has(&changed, "44 cache: expose: carried as `ports`"),
        "{changed:#?}"
    );
    assert!(
        has(&changed, "(127.0.0.1:3000) are not kept"),
        "{changed:#?}"
    );
    // The file says where each entry came from and what it left behind.
    assert!(text.starts_with("# Imported from compose.yaml by `sandbox import compose`."));
    assert!(text.contains("# The service under work: Compose service `web` (line 4)."));
    assert!(text.contains("# Not carried from Compose: volumes, restart, networks"));
    assert!(text.contains("http: 3000  # Compose published it on 127.0.0.1:3000"));

    // A variable Compose passes from the shell is taken from it.
    let (imported, loaded, _) =
        run(&dir, "compose.yaml", None, &[("RAILS_LOG_TO_STDOUT", "1")]).unwrap();
    assert_eq!(env_of(&loaded, "web")["RAILS_LOG_TO_STDOUT"], "1");
    assert!(has(
        &listed(&imported, ItemKind::Changed),
        "took the value of this shell's environment"
    ));
}

#[test]
fn builds_with_arguments_and_every_kind_of_healthcheck() {
    let (temp, dir) = fixture("build-health");
    // `tools` builds from a folder beside the project: outside the manifest's.
    std::fs::create_dir_all(temp.path().join("tools")).unwrap();
    std::fs::write(temp.path().join("tools/Dockerfile"), "FROM scratch\n").unwrap();
    let (imported, loaded, _) = run(&dir, "compose.yaml", None, &[]).unwrap();
    assert_eq!(loaded.entries.service.name, "gateway");
    let gateway = container(&loaded, "gateway");
    // Every syntax: the container port is kept, named; udp and ranges are listed.
    let ports: Vec<(&str, u16)> = gateway
        .ports
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(ports, [("http", 80), ("gateway", 443), ("admin", 8081)]);
    let health = gateway.health.unwrap();
    assert_eq!(health.probe(), Some(ProbeKind::Http("/health".into())));
    // 15s + 10 x (5s + 2s).
    assert_eq!(health.timeout.unwrap().0.as_secs(), 85);

    let api = container(&loaded, "api");
    let manifest::ImageRef::Build(build) = &api.image else {
        panic!("{:?}", api.image)
    };
    assert_eq!(build.context, "./api");
    assert_eq!(build.dockerfile.as_deref(), Some("Dockerfile.dev"));
    assert_eq!(
        build.args.get("GO_VERSION").map(|v| v.0.as_str()),
        Some("1.22")
    );
    assert_eq!(
        api.command.unwrap(),
        ["/usr/local/bin/api", "--listen", ":8080"]
    );
    // The health check's port was not declared: it is added.
    assert_eq!(api.ports["http"], 8080);
    assert_eq!(api.health.unwrap().port.as_deref(), Some("http"));
    let env = env_of(&loaded, "api");
    assert_eq!(
        (env["DEBUG"].as_str(), env["WORKERS"].as_str()),
        ("true", "4")
    );

    let worker = container(&loaded, "worker");
    let manifest::ImageRef::Build(build) = &worker.image else {
        panic!("{:?}", worker.image)
    };
    assert_eq!(build.context, "./worker");
    assert_eq!(
        build.args.get("CONCURRENCY").map(|v| v.0.as_str()),
        Some("8")
    );
    let health = worker.health.unwrap();
    assert_eq!(
        health.probe(),
        Some(ProbeKind::Exec(vec![
            "sh".into(),
            "-c".into(),
            "test -f /tmp/ready".into()
        ]))
    );
    assert_eq!(health.timeout.unwrap().0.as_secs(), 180);

    // Outside the manifest's folder: the image Compose tags it with.
    let tools = container(&loaded, "tools");
    assert!(
        matches!(tools.image, manifest::ImageRef::Image(ref i) if i == "acme/tools:dev"),
        "{:?}",
        tools.image
    );
    assert!(tools.health.is_none());
    assert!(container(&loaded, "docs").health.is_none());

    let not_carried = listed(&imported, ItemKind::NotCarried);
    for wanted in [
        "9 gateway: ports `6060:6060/udp`: a sandbox carries TCP ports only",
        "10 gateway: ports `9000-9001:9000-9001`: a range",
        "35 api: build.target",
        "38 api: build.args `BUILD_TAGS` has no value",
        "47 api: healthcheck.start_interval",
        "61 tools: build `../tools`: it is outside",
    ] {
        assert!(
            has(&not_carried, wanted),
            "{wanted} not in {not_carried:#?}"
        );
    }
    let changed = listed(&imported, ItemKind::Changed);
    assert!(
        has(
            &changed,
            "39 api: entrypoint and command combined into `command`"
        ),
        "{changed:#?}"
    );
    assert!(
        has(&changed, "46 api: port 8080 added as `http`"),
        "{changed:#?}"
    );

    // Without the folder, the build cannot be made either.
    std::fs::remove_dir_all(temp.path().join("tools")).unwrap();
    let (imported, _, _) = run(&dir, "compose.yaml", None, &[]).unwrap();
    assert!(has(
        &listed(&imported, ItemKind::NotCarried),
        "that folder does not exist here"
    ));
}

#[test]
fn anchors_extension_fields_and_interpolation() {
    let (_temp, dir) = fixture("anchors-env");
    let (imported, loaded, text) = run(&dir, "docker-compose.yml", None, &[]).unwrap();
    assert_eq!(loaded.manifest.name.as_deref(), Some("billing-stack"));
    assert_eq!(loaded.entries.service.name, "billing-api");
    let api = container(&loaded, "billing-api");
    // `${REGISTRY-...}` and `${TAG:-latest}` with TAG from .env.
    assert!(
        matches!(api.image, manifest::ImageRef::Image(ref i) if i == "registry.example.com/billing-api:1.4.2"),
        "{:?}",
        api.image
    );
    let env = env_of(&loaded, "billing-api");
    // Merged from `*common-env`, then the service's own.
    let keys: Vec<&str> = loaded
        .manifest
        .service
        .env
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "LOG_LEVEL",
            "TZ",
            "DB_HOST",
            "DB_PASSWORD",
            "PRICE_FORMAT",
            "FEATURE_FLAGS"
        ]
    );
    assert_eq!(env["LOG_LEVEL"], "info");
    assert_eq!(env["DB_PASSWORD"], "s3cret");
    assert_eq!(env["PRICE_FORMAT"], "$amount EUR");
    assert_eq!(env["FEATURE_FLAGS"], "");
    let health = api.health.unwrap();
    // The check calls the service by its own name: an http check.
    assert_eq!(health.probe(), Some(ProbeKind::Http("/healthz".into())));
    // Merged healthcheck defaults: 10s + 3 x (5s + 3s).
    assert_eq!(health.timeout.unwrap().0.as_secs(), 34);
    let db = container(&loaded, "billing-db");
    assert!(matches!(db.image, manifest::ImageRef::Image(ref i) if i == "postgres:16.4"));
    assert_eq!(db.ports["billing-db"], 5432);
    assert_eq!(db.health.unwrap().timeout.unwrap().0.as_secs(), 34);

    let all: Vec<String> = listed(&imported, ItemKind::NotCarried)
        .into_iter()
        .chain(listed(&imported, ItemKind::Changed))
        .collect();
    // `x-` fields are Compose's own comments: never listed.
    assert!(!all.iter().any(|l| l.contains("x-")), "{all:#?}");
    for wanted in [
        "11 billing_api: restart",
        "12 billing_api: logging",
        "61 migrate: profiles",
        "55 migrate: depends_on condition `service_completed_successfully`",
        "3 -: name `Billing_Stack` is `billing-stack`",
        "24 billing_api: named `billing-api`",
        "32 -: variable `FEATURE_FLAGS` is not set",
        "45 billing_db: other entries reach it as `billing-db`, but these still name it `billing_db` (its Compose name): billing-api.env.DB_HOST, migrate.env.DB_HOST",
    ] {
        assert!(has(&all, wanted), "{wanted} not in {all:#?}");
    }
    // What several services merge is one line naming them all.
    let report = imported.report.render("docker-compose.yml");
    assert!(
        report.contains("docker-compose.yml:11: billing_api, billing_db: restart"),
        "{report}"
    );
    assert!(text.contains("# Compose service `billing_db` (line 45), renamed."));

    // The process environment wins over .env; a default gives way to a value.
    let (_, loaded, _) = run(
        &dir,
        "docker-compose.yml",
        None,
        &[("TAG", "2.0"), ("LOG_LEVEL", "debug")],
    )
    .unwrap();
    let api = container(&loaded, "billing-api");
    assert!(matches!(api.image, manifest::ImageRef::Image(ref i) if i.ends_with(":2.0")));
    assert_eq!(env_of(&loaded, "billing-api")["LOG_LEVEL"], "debug");

    // A required variable that is not set is bad input, with its line.
    std::fs::remove_file(dir.join(".env")).unwrap();
    let error = run(&dir, "docker-compose.yml", None, &[]).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("docker-compose.yml:30:20:"), "{text}");
    assert!(
        text.contains("`DB_PASSWORD` is required but not set: set DB_PASSWORD in .env"),
        "{text}"
    );
}

#[test]
fn the_service_under_work_is_the_one_nothing_depends_on() {
    let (_temp, dir) = inline(
        "services:\n  a:\n    image: a\n  b:\n    image: b\n    depends_on: [c]\n  c:\n    image: c\n",
    );
    let error = run(&dir, "compose.yaml", None, &[])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("compose.yaml:1:1: 2 services are in no other service's `depends_on`: a, b"),
        "{error}"
    );
    assert!(error.contains("pass `--service NAME`"), "{error}");
    let (_, loaded, _) = run(&dir, "compose.yaml", Some("b"), &[]).unwrap();
    assert_eq!(loaded.entries.service.name, "b");
    let error = run(&dir, "compose.yaml", Some("bb"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("there is no service `bb`") && error.contains("did you mean `b`?"),
        "{error}"
    );

    let (_temp, dir) = inline(
        "services:\n  a:\n    image: a\n    depends_on: [b]\n  b:\n    image: b\n    depends_on:\n      a: {condition: service_started}\n",
    );
    let error = run(&dir, "compose.yaml", None, &[])
        .unwrap_err()
        .to_string();
    assert!(error.contains("goes in a circle"), "{error}");
    let (_temp, dir) =
        inline("services:\n  a:\n    image: a\n    depends_on: [bee]\n  b:\n    image: b\n");
    let error = run(&dir, "compose.yaml", None, &[])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("compose.yaml:4:18: `a` depends on `bee`"),
        "{error}"
    );
}

#[test]
fn bad_compose_files_name_the_line_and_the_fix() {
    for (text, wanted) in [
        ("services:\n  a: [\n", "compose.yaml:3:1: YAML syntax error"),
        ("", "the Compose file is empty"),
        ("- a\n", "a Compose file is a map"),
        ("version: '3'\n", "has no `services:`"),
        (
            "services:\n  a:\n    command: x\n",
            "compose.yaml:2:3: service `a` has neither `image` nor `build`",
        ),
        ("services:\n  a: nginx\n", "service `a` must be a map"),
        (
            "services:\n  a:\n    extends: {file: base.yaml, service: a}\n",
            "it `extends` another service, which an import does not follow",
        ),
        (
            "services:\n  a:\n    image: $(x)\n",
            "compose.yaml:3:12: `$(x)` has a `$` that starts no variable",
        ),
        (
            "services:\n  a:\n    image: x\n    ports: ['80:http']\n",
            "compose.yaml:4:13: `80:http` has `http` as its container port",
        ),
        (
            "services:\n  a:\n    image: x\n    healthcheck:\n      test: [CURL, x]\n",
            "starts with `CMD`, `CMD-SHELL` or `NONE`",
        ),
        (
            "services:\n  a:\n    image: x\n    healthcheck:\n      test: x\n      interval: 10\n",
            "`10` is not a duration",
        ),
        (
            "x: &a 1\nservices:\n  a:\n    <<: *a\n    image: x\n",
            "compose.yaml:4:5: `<<` must merge a map",
        ),
    ] {
        let (_temp, dir) = inline(text);
        let error = match run(&dir, "compose.yaml", None, &[]) {
            Ok(_) => panic!("{text:?} imported"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains(wanted), "{text:?}: {error}");
        assert!(error.contains("compose.yaml"), "{error}");
    }
    let temp = tempfile::tempdir().unwrap();
    let error = run(temp.path(), "missing.yaml", None, &[]).unwrap_err();
    assert!(matches!(error, ImportError::Read { .. }), "{error}");
}

#[test]
fn names_are_made_valid_unique_and_never_the_registry() {
    let (_temp, dir) = inline(
        "services:\n  Web_App:\n    image: x\n    depends_on: [my_db, my-db, registry]\n    environment: [DB=my_db:5432]\n  my_db:\n    image: pg\n  my-db:\n    image: pg\n  registry:\n    image: r\n",
    );
    let (imported, loaded, _) = run(&dir, "compose.yaml", None, &[]).unwrap();
    assert_eq!(loaded.entries.service.name, "web-app");
    let names: Vec<&str> = loaded
        .entries
        .dependencies
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["my-db", "my-db-2", "registry-svc"]);
    let changed = listed(&imported, ItemKind::Changed);
    assert!(has(&changed, "2 Web_App: named `web-app`"), "{changed:#?}");
    assert!(
        has(
            &changed,
            "8 my-db: named `my-db-2` in the manifest (`my-db` is taken by another service)"
        ),
        "{changed:#?}"
    );
    assert!(
        has(
            &changed,
            "10 registry: named `registry-svc` in the manifest (`registry` is the sandbox's registry)"
        ),
        "{changed:#?}"
    );
    assert!(
        has(
            &changed,
            "still name it `my_db` (its Compose name): web-app.env.DB"
        ),
        "{changed:#?}"
    );

    // Compose also answers to `container_name`; a sandbox does not.
    let (_temp, dir) = inline(
        "services:\n  web:\n    image: x\n    depends_on: [es]\n    environment: {ES_URL: 'http://elastic:9200'}\n  es:\n    image: e\n    container_name: elastic\n",
    );
    let (imported, _, _) = run(&dir, "compose.yaml", None, &[]).unwrap();
    let changed = listed(&imported, ItemKind::Changed);
    assert!(
        has(
            &changed,
            "6 es: other entries reach it as `es`, but these still name it `elastic` (its `container_name`): web.env.ES_URL"
        ),
        "{changed:#?}"
    );
}

#[test]
fn flow_lists_indented_as_compose_allows_and_entrypoints() {
    // libyaml (Compose's reader) takes a `]` left of its key's value.
    let (_temp, dir) = inline(
        "services:\n  a:\n    image: x\n    healthcheck:\n      test: [\n          \"CMD-SHELL\",\n          # a comment\n          \"curl -f http://localhost:81/ || exit 1\"\n      ]\n    entrypoint: []\n    command: [serve]\n    ports:\n      - target: 81\n        app_protocol: http\n      - 9000\n",
    );
    let (imported, loaded, _) = run(&dir, "compose.yaml", None, &[]).unwrap();
    let a = container(&loaded, "a");
    assert_eq!(a.health.unwrap().probe(), Some(ProbeKind::Http("/".into())));
    assert_eq!(a.ports["http"], 81);
    assert_eq!(a.ports["a"], 9000);
    assert_eq!(a.command.unwrap(), ["serve"]);
    assert!(has(
        &listed(&imported, ItemKind::NotCarried),
        "10 a: entrypoint (empty)"
    ));
}

#[test]
fn paths_are_relative_to_the_manifests_folder() {
    // The Compose file in deploy/, the manifest one folder up.
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    std::fs::create_dir_all(root.join("deploy")).unwrap();
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::write(root.join("app/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        root.join("deploy/compose.yaml"),
        "services:\n  app:\n    build: ../app\n    env_file: [app.env, {path: missing.env, required: false}]\n",
    )
    .unwrap();
    std::fs::write(root.join("deploy/app.env"), "A=1\n").unwrap();
    let environment = HashMap::new();
    let imported = import(&Request {
        file: &root.join("deploy/compose.yaml"),
        service: None,
        out_dir: root,
        environment: &environment,
    })
    .unwrap();
    std::fs::write(root.join("sandbox.yaml"), imported.draft.to_string()).unwrap();
    let loaded = manifest::load(&root.join("sandbox.yaml")).unwrap();
    let app = container(&loaded, "app");
    assert!(
        matches!(app.image, manifest::ImageRef::Build(ref b) if b.context == "./app"),
        "{:?}",
        app.image
    );
    assert_eq!(env_of(&loaded, "app")["A"], "1");
    let changed = listed(&imported, ItemKind::Changed);
    assert!(
        has(
            &changed,
            "build context `../app` is `./app` from the manifest's folder"
        ),
        "{changed:#?}"
    );
    // A missing optional env_file is not worth a line.
    assert!(!has(
        &listed(&imported, ItemKind::NotCarried),
        "missing.env"
    ));
}

/// Whatever a Compose file says, the import either fails with a line or
/// writes a manifest that validates: mutations of the fixtures (lines
/// dropped, duplicated or cut, characters changed) never make it write one
/// that does not, nor panic.
#[test]
fn a_mutated_compose_file_imports_into_a_valid_manifest_or_fails_cleanly() {
    let mut seed: u64 = 0x5eed_c0de;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut imported = 0;
    let mut refused = 0;
    for (name, file) in [
        ("webapp", "compose.yaml"),
        ("build-health", "compose.yaml"),
        ("anchors-env", "docker-compose.yml"),
    ] {
        let (_temp, dir) = fixture(name);
        let original = std::fs::read_to_string(dir.join(file)).unwrap();
        let lines: Vec<&str> = original.lines().collect();
        for _ in 0..120 {
            let mut mutated: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            for _ in 0..(1 + next() % 3) {
                let at = (next() as usize) % mutated.len();
                match next() % 5 {
                    0 => {
                        mutated.remove(at);
                    }
                    1 => {
                        let copy = mutated[at].clone();
                        mutated.insert(at, copy);
                    }
                    2 => {
                        let line = &mutated[at];
                        let cut = (next() as usize) % (line.len() + 1);
                        let cut = (0..=cut)
                            .rev()
                            .find(|c| line.is_char_boundary(*c))
                            .unwrap_or(0);
                        mutated[at] = line[..cut].to_owned();
                    }
                    3 => {
                        let chars = [
                            "$",
                            "{",
                            "-",
                            ":",
                            "*",
                            "&",
                            "<<: *common",
                            "'",
                            "\"",
                            " ",
                            "80:",
                            "x_Y",
                        ];
                        let insert = chars[(next() as usize) % chars.len()];
                        let line = &mutated[at];
                        let pos = (next() as usize) % (line.len() + 1);
                        let pos = (0..=pos)
                            .rev()
                            .find(|c| line.is_char_boundary(*c))
                            .unwrap_or(0);
                        mutated[at] = format!("{}{insert}{}", &line[..pos], &line[pos..]);
                    }
                    _ => {
                        let other = lines[(next() as usize) % lines.len()].to_owned();
                        mutated[at] = other;
                    }
                }
                if mutated.is_empty() {
                    break;
                }
            }
            std::fs::write(dir.join(file), mutated.join("\n")).unwrap();
            let service = ["web", "gateway", "billing_api"][(next() % 3) as usize];
            let service = (next() % 2 == 0).then_some(service);
            // `run` panics when what was written does not validate.
            match run(&dir, file, service, &[]) {
                Ok(_) => imported += 1,
                Err(ImportError::Input { .. }) => refused += 1,
                Err(other) => panic!("{other}"),
            }
        }
    }
    assert!(
        imported > 50 && refused > 50,
        "imported {imported}, refused {refused}"
    );
}
