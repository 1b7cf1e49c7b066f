//! The integration tests, in one binary so the suite links once: the real
//! `sandbox` binary driven against a real Docker engine (and, for the
//! manifest, fuzz, agent and registry modules, without one).
//!
//! The binary is its own harness (libtest-mimic, with libtest's command
//! line, so `cargo test` and `cargo nextest run` drive it as usual): each
//! module lists its tests with [`cases!`], saying which need the engine.
//! When no engine answers, those are reported as ignored ("skipped" by
//! nextest), not passed; under `CI=true` they run and fail instead.

use std::process::ExitCode;

/// One test: its name (`module::function`), whether it needs the Docker
/// engine, and its body.
pub struct Case {
    pub name: String,
    pub docker: bool,
    pub run: fn(),
}

/// Lists a module's tests: `cases! { docker: [a, b], plain: [c] }`.
macro_rules! cases {
    (docker: [$($docker:ident),* $(,)?], plain: [$($plain:ident),* $(,)?] $(,)?) => {
        pub fn cases() -> Vec<crate::Case> {
            let module = module_path!().trim_start_matches("it::");
            let mut cases = Vec::new();
            $(cases.push(crate::Case {
                name: format!("{module}::{}", stringify!($docker)),
                docker: true,
                run: $docker,
            });)*
            $(cases.push(crate::Case {
                name: format!("{module}::{}", stringify!($plain)),
                docker: false,
                run: $plain,
            });)*
            cases
        }
    };
}

#[macro_use]
mod common;

mod agent;
mod connections;
mod dashboard;
mod faults;
mod fidelity;
mod first_hour;
mod fuzz;
mod grpc;
mod grpc_streams;
mod har;
mod host;
mod import;
mod manifest;
mod openapi;
mod output;
mod output_edges;
mod protocols;
mod readme;
mod registry;
mod registry_live;
mod remote;
mod shared_engine;
mod stubs;
mod traces;
mod trust;
mod tunnel;
mod up;
mod watch;
mod wiremock;
mod workflows;

fn main() -> ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let cases: Vec<Case> = [
        agent::cases(),
        connections::cases(),
        dashboard::cases(),
        faults::cases(),
        fidelity::cases(),
        first_hour::cases(),
        fuzz::cases(),
        grpc::cases(),
        grpc_streams::cases(),
        har::cases(),
        host::cases(),
        import::cases(),
        manifest::cases(),
        openapi::cases(),
        output::cases(),
        protocols::cases(),
        output_edges::cases(),
        readme::cases(),
        registry::cases(),
        registry_live::cases(),
        remote::cases(),
        shared_engine::cases(),
        stubs::cases(),
        traces::cases(),
        trust::cases(),
        tunnel::cases(),
        up::cases(),
        watch::cases(),
        wiremock::cases(),
        workflows::cases(),
        vec![Case {
            name: "harness::every_test_is_listed".into(),
            docker: false,
            run: every_test_is_listed,
        }],
    ]
    .into_iter()
    .flatten()
    .collect();
    // Running one named test (as nextest does): the test decides for itself.
    // Listing or running many: ask the engine once.
    let engine = args.exact || common::engine_answers_or_ci();
    let trials = cases
        .into_iter()
        .map(|case| {
            let run = case.run;
            libtest_mimic::Trial::test(case.name, move || {
                run();
                Ok(())
            })
            .with_ignored_flag(case.docker && !engine)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// A `#[test]` attribute in this binary would never run (it has its own
/// harness), and a function missing from a module's `cases!` neither: both
/// are caught here.
fn every_test_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for attribute in ["#[test]", "#[tokio::test"] {
            assert!(
                !text.lines().any(|l| l.trim_start().starts_with(attribute)),
                "{} uses {attribute}, which this harness never runs: list the function in its module's `cases!` instead",
                path.display()
            );
        }
    }
}
