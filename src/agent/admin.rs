//! The agent's control API, on `admin_port` (7701 in the sandbox). JSON in
//! and out; errors are `{"error": "..."}`.
//!
//! - `GET /_sandbox/ready` → 200 `{"ready": true}` once every port is bound
//!   (503 `{"ready": false}` before).
//! - `GET /_sandbox/calls?since=SEQ&dependency=NAME&limit=N` → `{"calls":
//!   [CALL, ...], "next": SEQ}`: calls with sequence number `>= since`
//!   (default 0), oldest first, at most `limit` (default: all); pass `next`
//!   as `since` to get only newer calls. `CALL` = `{"seq", "time" (RFC 3339
//!   UTC, ms), "dependency", "method", "path" (with query), "status" (0 when
//!   the connection was dropped by a fault), "duration_ms", "matched"
//!   (`route 1: GET /payments/{id}`, `interaction 3`, `upstream http://…`,
//!   `target host:port`; null when nothing matched), "traceparent",
//!   "caller" (an entry name, or `host`), "limited" (`rate`|`concurrency`|
//!   null), "fault" (`error`|`latency`|`reset`|`bandwidth`|null)}`. Raw TCP
//!   connections of a proxy are journaled with method `TCP` and path
//!   `:PORT`.
//! - `GET /_sandbox/state` → `{"served": [{"name", "mode"
//!   (`stub`|`replay`|`record`|`proxy`), "port", "private_port", "tcp_only",
//!   "limits":
//!   LIMITS|null, "faults": FAULTS|null}]}`, limits and faults in the
//!   manifest's own units (`50/s`, `100ms`, `64KiB/s` as bytes per second).
//! - `PUT /_sandbox/faults/{dep}` with a faults object (the manifest's
//!   `faults` keys; the complete new set, `{}` clears) → 200 with the faults
//!   now in force; 404 for an unknown dependency, 400 with a reason for a bad
//!   body or an `error_rate` on a dependency whose ports are all TCP
//!   (`tcp_only` in the state). Takes effect on the next call; a new seed restarts the sequence.
//! - `PUT /_sandbox/limits/{dep}` likewise with a limits object; counters
//!   (buckets) start afresh.
//! - `POST /_sandbox/flush` writes every recording now (synced to disk) →
//!   200 `{"recordings": [RECORDING, ...]}`, one per record dependency;
//!   `sandbox down` calls it before removing the agent.
//! - `GET /_sandbox/host` (an agent standing for an entry run on the host,
//!   see [`crate::tunnel`]) → `{"holder": HOLDER|null, "connected": bool}`:
//!   the last process the CLI reported (`{"host", "pid", "started",
//!   "entry"}`, kept after its session ends, so that `sandbox down` can stop
//!   a process a killed `up --host` left behind; null when the CLI said none
//!   runs), and whether a tunnel session is connected now. 404 on other
//!   agents.
//!
//! `RECORDING` = `{"dependency", "file" (as the manifest names it, relative
//! to its folder), "error" (why the last write failed; null once a write
//! succeeds)}`; `GET /_sandbox/state` shows it too, as `"recording":
//! {"file", "error"}` on each record dependency (null on the others).
//!
//! Reads (`ready`, `calls`, `state`) are open to anything on the network.
//! Everything that changes state (`PUT` faults and limits, `POST flush`)
//! needs the sandbox's token, `Authorization: Bearer TOKEN` (see
//! [`crate::registry::token`]): without it, 401 `{"error": "..."}` and
//! nothing changes. `GET /_sandbox/host` needs it too: it names a process
//! of the developer's machine, which containers have no business knowing.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::body::{self, Body};
use super::client::Recording;
use super::faults;
use super::limits;
use super::serve::{Agent, Dropped};
use crate::manifest::{Faults, Limits};
use crate::registry::token;

const MAX_BODY: usize = 1024 * 1024;

/// What a read of private state without the token is told.
const PRIVATE: &str = "this names a process on the developer's machine and needs the sandbox's token: send `Authorization: Bearer TOKEN` (the `sandbox` CLI reads it from the agent container's dev.sandbox.token label)";

/// Answers one control request.
pub async fn handle(
    agent: Arc<Agent>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Dropped> {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = request.method().clone();
    let changes = matches!(
        (&method, segments.as_slice()),
        (&Method::PUT, ["_sandbox", "faults" | "limits", _])
            | (&Method::POST, ["_sandbox", "flush"])
    );
    let private = matches!(
        (&method, segments.as_slice()),
        (&Method::GET, ["_sandbox", "host"])
    );
    if (changes || private) && !token::allows(request.headers(), agent.token.as_deref()) {
        let refused = if changes { token::REFUSED } else { PRIVATE };
        let mut response = error(StatusCode::UNAUTHORIZED, refused);
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
        return Ok(response);
    }
    let response = match (&method, segments.as_slice()) {
        (&Method::GET, ["_sandbox", "ready"]) => {
            if agent.ready.load(Ordering::Acquire) {
                body::json(StatusCode::OK, &json!({"ready": true}))
            } else {
                body::json(StatusCode::SERVICE_UNAVAILABLE, &json!({"ready": false}))
            }
        }
        (&Method::GET, ["_sandbox", "calls"]) => calls(&agent, request.uri().query()),
        (&Method::GET, ["_sandbox", "state"]) => state(&agent),
        (&Method::PUT, ["_sandbox", "faults", name]) => match agent.dep(name) {
            None => unknown(name),
            Some(dep) => match read::<Faults>(request, faults::check).await {
                Err(reason) => error(StatusCode::BAD_REQUEST, &format!("bad faults: {reason}")),
                Ok(new) if dep.tcp_only && new.error_rate.is_some_and(|rate| rate > 0.0) => {
                    error(StatusCode::BAD_REQUEST, &tcp_error_rate(dep.name))
                }
                Ok(new) => {
                    dep.set_faults(Some(new));
                    body::json(
                        StatusCode::OK,
                        &dep.faults.load().faults.clone().unwrap_or_default(),
                    )
                }
            },
        },
        (&Method::PUT, ["_sandbox", "limits", name]) => match agent.dep(name) {
            None => unknown(name),
            Some(dep) => match read::<Limits>(request, limits::check).await {
                Err(reason) => error(StatusCode::BAD_REQUEST, &format!("bad limits: {reason}")),
                Ok(new) => {
                    dep.set_limits(Some(new));
                    body::json(
                        StatusCode::OK,
                        &dep.limits.load().limits.clone().unwrap_or_default(),
                    )
                }
            },
        },
        (&Method::POST, ["_sandbox", "flush"]) => flush(&agent).await,
        (&Method::GET, ["_sandbox", "host"]) => match &agent.tunnel {
            Some(hub) => body::json(StatusCode::OK, &hub.state()),
            None => error(
                StatusCode::NOT_FOUND,
                "this agent stands for no entry run on the host",
            ),
        },
        (_, ["_sandbox", "ready" | "calls" | "state" | "flush" | "host"])
        | (_, ["_sandbox", "faults" | "limits", _]) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{method} is not allowed on {path}"),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            &format!("no control endpoint at {path}"),
        ),
    };
    Ok(response)
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    body::json(status, &json!({"error": message}))
}

fn unknown(name: &str) -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        &format!("this agent serves no dependency named `{name}`"),
    )
}

async fn read<T: DeserializeOwned>(
    request: Request<Incoming>,
    check: fn(&T) -> Result<(), String>,
) -> Result<T, String> {
    let bytes = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("cannot read the body: {e}"))?
        .to_bytes();
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &bytes[..]
    };
    let value: T = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    check(&value)?;
    Ok(value)
}

fn calls(agent: &Agent, query: Option<&str>) -> Response<Body> {
    let mut since = 0u64;
    let mut dependency = None;
    let mut limit = usize::MAX;
    for (key, value) in body::query_pairs(query) {
        match key.as_ref() {
            "since" => match value.parse() {
                Ok(number) => since = number,
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!("since must be a number, not `{value}`"),
                    );
                }
            },
            "limit" => match value.parse() {
                Ok(number) => limit = number,
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!("limit must be a number, not `{value}`"),
                    );
                }
            },
            "dependency" if !value.is_empty() => dependency = Some(value.into_owned()),
            _ => {}
        }
    }
    let (calls, next) = agent.journal.since(since, dependency.as_deref(), limit);
    let views: Vec<_> = calls.iter().map(|(seq, call)| call.view(*seq)).collect();
    body::json(StatusCode::OK, &json!({"calls": views, "next": next}))
}

fn state(agent: &Agent) -> Response<Body> {
    let served: Vec<_> = agent
        .deps
        .iter()
        .map(|dep| {
            json!({
                "name": dep.name,
                "mode": dep.mode,
                "port": dep.port,
                "private_port": dep.private_port,
                "tcp_only": dep.tcp_only,
                "limits": dep.limits.load().limits,
                "faults": dep.faults.load().faults,
                "recording": dep.recorder().map(|recorder| json!({
                    "file": recorder.file_name(),
                    "error": recorder.failure(),
                })),
            })
        })
        .collect();
    body::json(StatusCode::OK, &json!({"served": served}))
}

/// Why an error rate is refused on a dependency whose ports are all TCP.
pub fn tcp_error_rate(name: &str) -> String {
    format!(
        "`{name}` has only TCP ports, and an error rate answers HTTP calls with an error status: it cannot apply to a TCP connection; use `reset_rate` to drop connections or `latency` to slow them"
    )
}

/// Writes every recording now and says how each write went.
async fn flush(agent: &Arc<Agent>) -> Response<Body> {
    let mut recordings = Vec::new();
    for dep in &agent.deps {
        let Some(recorder) = dep.recorder().cloned() else {
            continue;
        };
        let written = tokio::task::spawn_blocking(move || {
            let result = recorder.flush(true);
            (recorder, result)
        })
        .await;
        let (file, error) = match written {
            Ok((recorder, result)) => (recorder.file_name().to_owned(), result.err()),
            Err(panic) => (
                dep.name.to_owned(),
                Some(format!("the write stopped: {panic}")),
            ),
        };
        recordings.push(Recording {
            dependency: dep.name.to_owned(),
            file,
            error,
        });
    }
    body::json(StatusCode::OK, &json!({"recordings": recordings}))
}
