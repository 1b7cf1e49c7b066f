//! A deterministic fuzzer of the manifest loader, run against the real
//! binary: hundreds of manifests (and files they name) mutated from the
//! fixtures and the shop example, each validated with a time limit and a
//! bounded address space. Whatever the input, `validate` exits 0 or 2, never
//! panics, and every problem report points at a line. No Docker needed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::manifest::limit_memory;

/// Cases generated; every one runs. `SANDBOX_FUZZ_CASES` asks for more.
const CASES: usize = 600;
/// The generator's seed: the same cases on every run, unless
/// `SANDBOX_FUZZ_SEED` picks another (for a longer hunt by hand).
const SEED: u64 = 0x5a9d_b0c5;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
/// A case taking longer than this has hung, or checks something in
/// quadratic time (a 1 MiB manifest validates in about a second).
const CASE_TIMEOUT: Duration = Duration::from_secs(15);
/// Cases run on this many threads.
const WORKERS: usize = 4;
/// The name each case is written as.
const CASE_FILE: &str = "fuzz-case.yaml";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A folder whose manifests the cases start from, copied per worker so
/// that the files the manifests name are present.
struct Base {
    /// Where the originals are.
    source: PathBuf,
    /// The manifests (relative to `source`) the cases mutate.
    manifests: Vec<String>,
    /// Files named by those manifests, mutated in some cases instead.
    named: Vec<&'static str>,
}

fn bases() -> Vec<Base> {
    let fixtures = repo().join("tests/fixtures/manifests");
    let mut manifests: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "alias-bomb.yaml")
        .collect();
    manifests.sort();
    // The valid ones count most: they reach every rule.
    for _ in 0..6 {
        manifests.push("valid.yaml".into());
    }
    vec![
        Base {
            source: fixtures,
            manifests,
            named: vec![
                "stubs/payments.yaml",
                "stubs/wrapped.yaml",
                "recordings/inventory.yaml",
                "api/orders.yaml",
            ],
        },
        Base {
            source: repo().join("sandboxes/shop"),
            manifests: vec!["sandbox.yaml".into()],
            named: vec![
                "stubs/payments-extra.yaml",
                "recordings/inventory.yaml",
                "orders/openapi.yaml",
            ],
        },
    ]
}

/// One generated input.
struct Case {
    index: usize,
    base: usize,
    /// The manifest the case validates (relative to the base).
    manifest: String,
    /// Which file gets `bytes`: the manifest (as [`CASE_FILE`]) or a
    /// named file, replaced for this case only.
    target: Target,
    bytes: Vec<u8>,
    what: String,
}

enum Target {
    Manifest,
    Named(&'static str),
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let kind = entry.file_type().unwrap();
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ---- the generator ------------------------------------------------------

const VALUES: &[&str] = &[
    "[a, b]",
    "{x: 1}",
    "{}",
    "[]",
    "42",
    "-1",
    "0",
    "\"text\"",
    "''",
    "~",
    "true",
    "1.5",
    ".nan",
    "-.inf",
    "99999999999999999999999999999999999999999",
    "-170141183460469231731687303715884105729",
    "18446744073709551616",
    "1e400",
    "0x7fffffffffffffffffffffffffffffff",
    "0o777777777777777777777777777777777777777777777",
    "!!binary aGVsbG8=",
    "!custom x",
    "&anchor value",
    "*nowhere",
    "|\n  block\n  text",
    ">-\n  folded",
    "? complex\n: key",
    "\"\\u0000\\x01\\uFFFF\"",
    "'''",
    "\"unterminated",
    "[unclosed",
    "{unclosed: 1",
    "- item",
    "http://[::1]:99999",
    "../../etc/passwd",
    "/etc/passwd",
    "lnk/..",
    "\"a\\0b\"",
];

const INSERTS: &[&str] = &[
    "\u{0}",
    "\u{1}",
    "\u{7}",
    "\u{1b}[31m",
    "\u{7f}",
    "\t",
    "\r",
    "\r\n",
    "\u{feff}",
    "\u{202e}",
    "\u{2028}",
    "\u{85}",
    "é",
    "日本",
    "😀",
    "\u{10ffff}",
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "&a ",
    "*a",
    "!!str ",
    "? ",
    "|",
    ">",
    "#",
    "%YAML 1.2\n---\n",
    "---\n",
    "...\n",
    "<<: *a\n",
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.join(&b'\n')
}

/// `levels` of nesting in one of YAML's ways, around a scalar.
fn nested(rng: &mut StdRng, levels: usize) -> String {
    match rng.random_range(0..4) {
        0 => format!("{}1{}", "[".repeat(levels), "]".repeat(levels)),
        1 => format!("{}1{}", "{a: ".repeat(levels), "}".repeat(levels)),
        2 => {
            let mut text = String::from("\n");
            for level in 0..levels {
                text.push_str(&" ".repeat(level + 4));
                text.push_str("- \n");
            }
            text
        }
        _ => format!("{}1", "[".repeat(levels)),
    }
}

/// A billion-laughs block of `depth` levels of `width` aliases each, as
/// lines indented by `indent`.
fn bomb(indent: usize, width: usize, depth: usize, flow: bool) -> String {
    let pad = " ".repeat(indent);
    let mut text = format!("{pad}L0: &l0 [{}]\n", vec!["lol"; width].join(", "));
    for level in 1..=depth {
        let refs = vec![format!("*l{}", level - 1); width];
        if flow {
            text.push_str(&format!("{pad}L{level}: &l{level} [{}]\n", refs.join(", ")));
        } else {
            text.push_str(&format!("{pad}L{level}: &l{level}\n"));
            for r in refs {
                text.push_str(&format!("{pad}  - {r}\n"));
            }
        }
    }
    text
}

/// One mutation of `bytes`; returns what it did.
fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>) -> String {
    let mut all = lines(bytes);
    let line = rng
        .random_range(0..all.len().max(1))
        .min(all.len().saturating_sub(1));
    match rng.random_range(0..20) {
        0 => {
            all.remove(line);
            *bytes = join(&all);
            format!("delete line {}", line + 1)
        }
        1 => {
            let copy = all[line].clone();
            all.insert(line, copy);
            *bytes = join(&all);
            format!("duplicate line {}", line + 1)
        }
        2 | 3 => {
            // Retype the value of a `key: value` line.
            let value = *pick(rng, VALUES);
            let text = String::from_utf8_lossy(&all[line]).into_owned();
            let replaced = match text.find(": ") {
                Some(colon) => format!("{}: {value}", &text[..colon]),
                None => match text.find("- ") {
                    Some(dash) => format!("{}- {value}", &text[..dash]),
                    None => format!("{text} {value}"),
                },
            };
            all[line] = replaced.into_bytes();
            *bytes = join(&all);
            format!("retype line {} to {value:?}", line + 1)
        }
        4 => {
            // Nest a value deeply.
            let levels = *pick(rng, &[20, 99, 101, 129, 1_000, 5_000]);
            let text = String::from_utf8_lossy(&all[line]).into_owned();
            let value = nested(rng, levels);
            all[line] = match text.find(": ") {
                Some(colon) => format!("{}: {value}", &text[..colon]),
                None => format!("{text}{value}"),
            }
            .into_bytes();
            *bytes = join(&all);
            format!("nest line {} {levels} levels", line + 1)
        }
        5 => {
            // An alias bomb somewhere a map is.
            let width = rng.random_range(2..12);
            let depth = rng.random_range(2..10);
            let flow = rng.random_bool(0.5);
            let indent = all[line].iter().take_while(|b| **b == b' ').count();
            let block = bomb(indent, width, depth, flow);
            all.insert(line, block.trim_end().as_bytes().to_vec());
            *bytes = join(&all);
            format!(
                "alias bomb {width}x{depth} at line {}{}",
                line + 1,
                if flow { " (flow)" } else { "" }
            )
        }
        6 => {
            // An anchor and aliases of a real part of the manifest.
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mutated = text
                .replacen("service:", "service: &svc", 1)
                .replacen(
                    "dependencies:",
                    "dependencies:\n  again: *svc\n  more: *svc",
                    1,
                )
                .replacen("  env:", "  env: &env", 1)
                + "\nextra: [*svc, *svc, *env, *env]\n";
            *bytes = mutated.into_bytes();
            "anchors of the service and env, aliased".into()
        }
        7 => {
            let cut = rng.random_range(0..=bytes.len());
            bytes.truncate(cut);
            format!("truncate at byte {cut}")
        }
        8 => {
            let at = rng.random_range(0..=bytes.len());
            let count = rng.random_range(1..64);
            let garbage: Vec<u8> = (0..count).map(|_| rng.random()).collect();
            bytes.splice(at..at, garbage);
            format!("{count} random bytes at {at}")
        }
        9 => {
            let count = rng.random_range(1..4096);
            *bytes = (0..count).map(|_| rng.random()).collect();
            format!("{count} random bytes only")
        }
        10 => {
            let at = rng.random_range(0..=bytes.len());
            bytes.insert(at, 0);
            format!("NUL at byte {at}")
        }
        11 => {
            const BOMS: [&[u8]; 3] = [&[0xef, 0xbb, 0xbf], &[0xff, 0xfe], &[0xfe, 0xff]];
            let bom = *pick(rng, &BOMS);
            bytes.splice(0..0, bom.iter().copied());
            format!("BOM {bom:02x?}")
        }
        12 => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            *bytes = text.replace('\n', "\r\n").into_bytes();
            "CRLF line ends".into()
        }
        13 => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            *bytes = text.replace('\n', "\r").into_bytes();
            "CR line ends".into()
        }
        14 => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            *bytes = text
                .replacen("  ", "\t", rng.random_range(1..4))
                .into_bytes();
            "tabs for indentation".into()
        }
        15 | 16 => {
            let insert = *pick(rng, INSERTS);
            let at = rng.random_range(0..=bytes.len());
            bytes.splice(at..at, insert.bytes());
            format!("insert {insert:?} at byte {at}")
        }
        17 => {
            // A key renamed to something close, far, empty or strange.
            let text = String::from_utf8_lossy(&all[line]).into_owned();
            let key = *pick(
                rng,
                &[
                    "servce",
                    "",
                    "\"\"",
                    "? [a]",
                    "1",
                    "~",
                    "NAME",
                    "name name",
                    "日本",
                ],
            );
            let indent = text.len() - text.trim_start().len();
            all[line] = match text.find(':') {
                Some(colon) => format!("{}{key}{}", &text[..indent], &text[colon..]),
                None => text,
            }
            .into_bytes();
            *bytes = join(&all);
            format!("rename the key of line {} to {key:?}", line + 1)
        }
        18 => {
            // A long value: a long name, a long path.
            let length = *pick(rng, &[64, 256, 300, 5_000, 100_000]);
            let text = String::from_utf8_lossy(&all[line]).into_owned();
            let long = "a".repeat(length);
            all[line] = match text.find(": ") {
                Some(colon) => format!("{}: {long}", &text[..colon]),
                None => format!("{text}{long}"),
            }
            .into_bytes();
            *bytes = join(&all);
            format!("a {length}-character value on line {}", line + 1)
        }
        _ => {
            // Indentation shifted on a few lines.
            let count = rng.random_range(1..4).min(all.len());
            for offset in 0..count {
                let index = (line + offset).min(all.len() - 1);
                if rng.random_bool(0.5) {
                    all[index].splice(0..0, *b" ");
                } else if all[index].first() == Some(&b' ') {
                    all[index].remove(0);
                }
            }
            *bytes = join(&all);
            format!(
                "shift the indentation of {count} lines from line {}",
                line + 1
            )
        }
    }
}

/// Writes line `i` of a wide document.
type Line = fn(usize) -> String;

fn generate(bases: &[Base]) -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(setting("SANDBOX_FUZZ_SEED", SEED));
    let mut cases = Vec::new();
    for index in 0..setting("SANDBOX_FUZZ_CASES", CASES as u64) as usize {
        let base_index = if rng.random_bool(0.8) { 0 } else { 1 };
        let base = &bases[base_index];
        let manifest = pick(&mut rng, &base.manifests).clone();
        let named = rng.random_bool(0.15);
        let target = if named {
            Target::Named(base.named[rng.random_range(0..base.named.len())])
        } else {
            Target::Manifest
        };
        let original = match &target {
            Target::Manifest => base.source.join(&manifest),
            Target::Named(file) => base.source.join(file),
        };
        let mut bytes = std::fs::read(&original).unwrap();
        let count = rng.random_range(1..=3);
        let what: Vec<String> = (0..count).map(|_| mutate(&mut rng, &mut bytes)).collect();
        let shown = match &target {
            Target::Manifest => manifest.clone(),
            Target::Named(file) => format!("{manifest} with {file} mutated"),
        };
        cases.push(Case {
            index,
            base: base_index,
            manifest,
            target,
            bytes,
            what: format!("{shown}: {}", what.join("; ")),
        });
    }
    // Size bounds, once each: just over 1 MiB, and exactly 1 MiB.
    let valid = std::fs::read(bases[0].source.join("valid.yaml")).unwrap();
    for size in [(1 << 20) + 1, 1 << 20] {
        let mut bytes = valid.clone();
        let comment = format!("# {}\n", "x".repeat(125));
        while bytes.len() + comment.len() <= size {
            bytes.extend_from_slice(comment.as_bytes());
        }
        bytes.resize(size, b'#');
        cases.push(Case {
            index: cases.len(),
            base: 0,
            manifest: "valid.yaml".into(),
            target: Target::Manifest,
            bytes,
            what: format!("valid.yaml padded to {size} bytes"),
        });
    }
    // Wide documents near the size bound: every check must be linear.
    let head = "version: 1\nservice:\n  name: o\n  image: x\n";
    let wide: [(&str, Line); 4] = [
        ("an env of 80k variables", |i| format!("    K{i}: v\n")),
        ("80k checks", |i| {
            format!("    - {{ name: c{}, request: {{ path: / }} }}\n", i % 500)
        }),
        ("40k dependencies", |i| format!("  d{i}: {{ image: x }}\n")),
        ("80k repeated keys", |_| "    K: v\n".to_owned()),
    ];
    for (what, line) in wide {
        let mut text = head.to_owned();
        text.push_str(match what {
            "40k dependencies" => "dependencies:\n",
            "80k checks" => "  checks:\n",
            _ => "  env:\n",
        });
        let mut i = 0;
        while text.len() < 1_000_000 {
            text.push_str(&line(i));
            i += 1;
        }
        cases.push(Case {
            index: cases.len(),
            base: 0,
            manifest: "valid.yaml".into(),
            target: Target::Manifest,
            bytes: text.into_bytes(),
            what: what.to_owned(),
        });
    }
    cases
}

// ---- running --------------------------------------------------------------

/// What running a case showed, when it broke a rule.
struct Failure {
    what: String,
    input: Vec<u8>,
    problem: String,
}

/// Runs one case; its exit code, or what broke a rule.
fn run_case(folder: &Path, case: &Case) -> Result<i32, Failure> {
    let manifest = match case.target {
        Target::Manifest => {
            std::fs::write(folder.join(CASE_FILE), &case.bytes).unwrap();
            CASE_FILE.to_owned()
        }
        Target::Named(file) => {
            std::fs::write(folder.join(file), &case.bytes).unwrap();
            case.manifest.clone()
        }
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_sandbox"));
    command
        .current_dir(folder)
        .args(["validate", "-f", &manifest])
        .env_remove("SANDBOX_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = limit_memory(&mut command).spawn().unwrap();
    let pid = child.id();
    let mut stderr = child.stderr.take().unwrap();
    let (done, wait) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        let _ = done.send((child.wait(), text));
    });
    let started = Instant::now();
    let fail = |problem: String| {
        Err(Failure {
            what: case.what.clone(),
            input: case.bytes.clone(),
            problem,
        })
    };
    let (status, stderr) = match wait.recv_timeout(CASE_TIMEOUT) {
        Ok((status, stderr)) => (
            status.unwrap(),
            String::from_utf8_lossy(&stderr).into_owned(),
        ),
        Err(_) => {
            // SAFETY: kill(2) on the pid of the child this case started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            return fail(format!("no answer within {CASE_TIMEOUT:?}"));
        }
    };
    let elapsed = started.elapsed();
    let broken = match status.code() {
        None => Some(format!("ended by a signal ({status:?})")),
        Some(0 | 2) if stderr.contains("panicked") => Some("a panic".to_owned()),
        Some(0) => None,
        Some(2) if !stderr.lines().any(has_position) => {
            Some("exit 2 without a problem that names a line".to_owned())
        }
        Some(2) => None,
        Some(code) => Some(format!("exit {code}")),
    };
    match broken {
        Some(problem) => fail(format!("{problem} after {elapsed:?}\nstderr:\n{stderr}")),
        None => Ok(status.code().unwrap_or_default()),
    }
}

/// Whether a line reads `FILE:LINE:` (and perhaps `COL:`) before its message.
fn has_position(line: &str) -> bool {
    let mut parts = line.splitn(3, ':');
    let file = parts.next().unwrap_or("");
    let number = parts.next().unwrap_or("");
    !file.is_empty()
        && !file.starts_with(' ')
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The input as text for a failure message, cut short.
fn shown(input: &[u8]) -> String {
    let text = String::from_utf8_lossy(&input[..input.len().min(600)]);
    let more = if input.len() > 600 {
        format!("... ({} bytes in all)", input.len())
    } else {
        String::new()
    };
    format!("{text:?}{more}")
}

fn the_loader_survives_mutated_manifests() {
    let bases = bases();
    let cases = generate(&bases);
    assert!(cases.len() >= 300);
    let work = tempfile::tempdir().unwrap();
    let (sender, outcomes) = mpsc::channel();
    let cases = std::sync::Arc::new(cases);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for worker in 0..WORKERS {
            let (cases, next, sender, bases) =
                (cases.clone(), next.clone(), sender.clone(), &bases);
            let root = work.path().join(format!("w{worker}"));
            scope.spawn(move || {
                let folders: Vec<PathBuf> = bases
                    .iter()
                    .enumerate()
                    .map(|(i, base)| {
                        let folder = root.join(format!("b{i}"));
                        copy_tree(&base.source, &folder);
                        folder
                    })
                    .collect();
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = cases.get(index) else { break };
                    let folder = &folders[case.base];
                    let failure = run_case(folder, case);
                    // Put back a named file the case replaced.
                    if let Target::Named(file) = case.target {
                        std::fs::copy(bases[case.base].source.join(file), folder.join(file))
                            .unwrap();
                    }
                    sender.send((case.index, failure)).unwrap();
                }
            });
        }
    });
    drop(sender);
    let mut failures: Vec<(usize, Failure)> = Vec::new();
    let mut codes = [0usize; 3];
    for (index, outcome) in outcomes {
        match outcome {
            Ok(code) => codes[code as usize] += 1,
            Err(failure) => failures.push((index, failure)),
        }
    }
    failures.sort_by_key(|(index, _)| *index);
    let report: Vec<String> = failures
        .iter()
        .take(8)
        .map(|(index, f)| {
            format!(
                "case {index} ({}): {}\ninput: {}\n",
                f.what,
                f.problem,
                shown(&f.input)
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases broke the rules (in {:?}):\n{}",
        failures.len(),
        cases.len(),
        started.elapsed(),
        report.join("\n")
    );
    eprintln!(
        "{} cases in {:?}: {} valid, {} invalid",
        cases.len(),
        started.elapsed(),
        codes[0],
        codes[2]
    );
    // The mutations both keep manifests valid and break them, often.
    let tenth = cases.len() / 10;
    assert!(
        codes[0] >= tenth / 2 && codes[2] >= tenth,
        "valid {}, invalid {}: the generator has drifted",
        codes[0],
        codes[2]
    );
}

cases! {
    docker: [],
    plain: [
        the_loader_survives_mutated_manifests,
    ],
}
