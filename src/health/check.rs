//! Semantic checks (`sandbox check`): a real request to a running entry and
//! a comparison of the answer with what the manifest expects. The comparison
//! is pure ([`compare`]) and says precisely what differed.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::excerpt;
use super::http;
use crate::manifest::{Check, Expect};

/// How much of a body a difference quotes.
const QUOTE: usize = 200;

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub name: String,
    pub passed: bool,
    /// The answer's status; `None` when no answer came.
    pub status: Option<u16>,
    /// What differed from the expectation (or why no answer came).
    pub difference: Option<String>,
    pub duration_ms: u64,
}

/// Sends `check.request` to `base_url` (`http://127.0.0.1:P`) and compares
/// the answer with `check.expect`.
pub async fn run_check(base_url: &str, check: &Check, timeout: Duration) -> CheckOutcome {
    run_check_answer(base_url, check, timeout).await.0
}

/// [`run_check`], keeping the answer (for `check --contract`).
pub async fn run_check_answer(
    base_url: &str,
    check: &Check,
    timeout: Duration,
) -> (CheckOutcome, Option<http::HttpAnswer>) {
    let started = Instant::now();
    let request = &check.request;
    let path = if request.path.starts_with('/') {
        request.path.clone()
    } else {
        format!("/{}", request.path)
    };
    let url = format!("{}{path}", base_url.trim_end_matches('/'));
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let body = if let Some(json) = &request.json {
        if !has(&headers, "content-type") {
            headers.push(("content-type".into(), "application/json".into()));
        }
        Some(serde_json::to_vec(json).unwrap_or_default())
    } else {
        request.body.as_ref().map(|b| b.clone().into_bytes())
    };
    if !has(&headers, "user-agent") {
        headers.push(("user-agent".into(), "sandbox-check".into()));
    }
    let answer = http::request(&request.method, &url, &headers, body, timeout).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    match answer {
        Err(reason) => (
            CheckOutcome {
                name: check.name.clone(),
                passed: false,
                status: None,
                difference: Some(format!(
                    "{} {path}: {reason}",
                    request.method.to_ascii_uppercase()
                )),
                duration_ms,
            },
            None,
        ),
        Ok(answer) => {
            let difference = compare(&check.expect, answer.status, &answer.body);
            (
                CheckOutcome {
                    name: check.name.clone(),
                    passed: difference.is_none(),
                    status: Some(answer.status),
                    difference,
                    duration_ms,
                },
                Some(answer),
            )
        }
    }
}

/// Compares an answer with an expectation; `None` when it passes, else every
/// difference found, joined by `; `.
pub fn compare(expect: &Expect, status: u16, body: &[u8]) -> Option<String> {
    let mut differences = Vec::new();
    match expect.status {
        Some(want) if want != status => {
            differences.push(format!("expected status {want}, got {status}"))
        }
        None if !(200..300).contains(&status) => {
            differences.push(format!("expected a 2xx status, got {status}"))
        }
        _ => {}
    }
    let text = String::from_utf8_lossy(body);
    // Not a let chain: the crate's rust-version (1.85) predates them.
    if let Some(needle) = expect
        .contains
        .as_ref()
        .filter(|n| !text.contains(n.as_str()))
    {
        differences.push(format!(
            "body does not contain `{needle}`; body was: {}",
            excerpt(&text, QUOTE)
        ));
    }
    if let Some(want) = &expect.json {
        match serde_json::from_slice::<Value>(body) {
            Err(e) => differences.push(format!(
                "body is not JSON ({e}); body was: {}",
                excerpt(&text, QUOTE)
            )),
            Ok(got) => {
                let mut found = Vec::new();
                subset("", want, &got, &mut found);
                differences.extend(found);
            }
        }
    }
    if differences.is_empty() {
        None
    } else {
        Some(differences.join("; "))
    }
}

/// Collects where `got` fails to contain `want`: objects may carry more
/// fields than expected; arrays must have the expected length, element by
/// element; numbers compare by value (`1` equals `1.0`).
fn subset(at: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    let name = |at: &str| {
        if at.is_empty() {
            "the body".to_owned()
        } else {
            format!("field `{at}`")
        }
    };
    match (want, got) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, w) in want {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match got.get(key) {
                    Some(g) => subset(&path, w, g, out),
                    None => out.push(format!(
                        "field `{path}`: expected {}, got nothing",
                        short(w)
                    )),
                }
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                out.push(format!(
                    "{}: expected {} items, got {}",
                    name(at),
                    want.len(),
                    got.len()
                ));
                return;
            }
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                subset(&format!("{at}[{i}]"), w, g, out);
            }
        }
        (Value::Number(w), Value::Number(g)) if w.as_f64() == g.as_f64() => {}
        (w, g) if w == g => {}
        (w, g) => out.push(format!(
            "{}: expected {}, got {}",
            name(at),
            short(w),
            short(g)
        )),
    }
}

/// A JSON value quoted briefly.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}

/// One line per check (`PASS`/`FAIL`, entry, name, time), the difference
/// indented below a failure, and a summary line.
pub fn render_checks(entries: &[(String, CheckOutcome)]) -> String {
    let entry_width = entries
        .iter()
        .map(|(e, _)| e.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (entry, outcome) in entries {
        let verdict = if outcome.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "{verdict}  {entry:<entry_width$}  {}  ({}ms)",
            outcome.name, outcome.duration_ms
        );
        if let Some(difference) = &outcome.difference {
            for line in difference.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    let failed = entries.iter().filter(|(_, o)| !o.passed).count();
    let _ = writeln!(out, "{} passed, {failed} failed", entries.len() - failed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(status: Option<u16>, contains: Option<&str>, json: Option<Value>) -> Expect {
        Expect {
            status,
            contains: contains.map(str::to_owned),
            json,
        }
    }

    #[test]
    fn status_differences() {
        assert_eq!(compare(&expect(Some(201), None, None), 201, b""), None);
        assert_eq!(
            compare(&expect(Some(201), None, None), 400, b""),
            Some("expected status 201, got 400".into())
        );
        assert_eq!(compare(&Expect::default(), 204, b""), None);
        assert_eq!(
            compare(&Expect::default(), 500, b"boom"),
            Some("expected a 2xx status, got 500".into())
        );
    }

    #[test]
    fn contains_differences_quote_the_body() {
        assert_eq!(
            compare(
                &expect(None, Some("\"id\""), None),
                200,
                br#"{"error": "no sku"}"#
            ),
            Some(r#"body does not contain `"id"`; body was: {"error": "no sku"}"#.into())
        );
        assert_eq!(
            compare(&expect(None, Some("id"), None), 200, br#"{"id": 7}"#),
            None
        );
    }

    #[test]
    fn json_subset_differences_name_the_field() {
        let body = br#"{"id": 7, "state": "pending", "total": 10.0, "items": [{"sku": "A1", "qty": 2}], "meta": {"v": 1}}"#;
        assert_eq!(
            compare(
                &expect(None, None, Some(json!({"id": 7, "total": 10}))),
                200,
                body
            ),
            None
        );
        assert_eq!(
            compare(
                &expect(None, None, Some(json!({"state": "settled"}))),
                200,
                body
            ),
            Some("field `state`: expected \"settled\", got \"pending\"".into())
        );
        assert_eq!(
            compare(
                &expect(None, None, Some(json!({"items": [{"sku": "A1", "qty": 1}], "meta": {"w": true}}))),
                200,
                body
            ),
            Some("field `items[0].qty`: expected 1, got 2; field `meta.w`: expected true, got nothing".into())
        );
        assert_eq!(
            compare(&expect(None, None, Some(json!({"items": []}))), 200, body),
            Some("field `items`: expected 0 items, got 1".into())
        );
        assert_eq!(
            compare(
                &expect(Some(200), None, Some(json!({"a": 1}))),
                200,
                b"not json"
            ),
            Some("body is not JSON (expected ident at line 1 column 2); body was: not json".into())
        );
    }

    #[test]
    fn rendering() {
        let entries = vec![
            (
                "orders".to_owned(),
                CheckOutcome {
                    name: "create an order".into(),
                    passed: true,
                    status: Some(201),
                    difference: None,
                    duration_ms: 12,
                },
            ),
            (
                "payments".to_owned(),
                CheckOutcome {
                    name: "settles".into(),
                    passed: false,
                    status: Some(200),
                    difference: Some("field `state`: expected \"settled\", got \"pending\"".into()),
                    duration_ms: 3,
                },
            ),
        ];
        insta::assert_snapshot!(render_checks(&entries), @r#"
        PASS  orders    create an order  (12ms)
        FAIL  payments  settles  (3ms)
              field `state`: expected "settled", got "pending"
        1 passed, 1 failed
        "#);
    }
}
