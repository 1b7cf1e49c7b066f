//! The CLI's side of the agent's control API (see [`super::admin`]): for
//! recordings, how each one's writes go, and writing them all now; for an
//! entry run on the host, which process serves it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::health::http;
use crate::registry::token;
use crate::tunnel::{Holder, HostState};

/// How long a call to the control API may take (a flush syncs to disk).
const TIMEOUT: Duration = Duration::from_secs(10);

/// A record dependency's recording and how its last write went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub dependency: String,
    /// The file as the manifest names it, relative to the manifest's folder.
    pub file: String,
    /// Why the last write failed; `None` when it succeeded.
    pub error: Option<String>,
}

#[derive(Deserialize)]
struct State {
    #[serde(default)]
    served: Vec<ServedState>,
}

#[derive(Deserialize)]
struct ServedState {
    name: String,
    #[serde(default)]
    recording: Option<RecordingState>,
}

#[derive(Deserialize)]
struct RecordingState {
    file: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Flushed {
    recordings: Vec<Recording>,
}

/// The recordings that cannot be written, as every agent at `admin_urls`
/// reports them (`GET /_sandbox/state`); an agent that does not answer adds
/// nothing (the commands that ask say so elsewhere).
pub async fn recording_errors(admin_urls: &[String]) -> Vec<Recording> {
    let mut failed = Vec::new();
    for agent in admin_urls {
        let url = format!("{agent}/_sandbox/state");
        let Ok(answer) = http::request("GET", &url, &[], None, TIMEOUT).await else {
            continue;
        };
        let Ok(state) = serde_json::from_slice::<State>(&answer.body) else {
            continue;
        };
        for served in state.served {
            if let Some(RecordingState {
                file,
                error: Some(error),
            }) = served.recording
            {
                failed.push(Recording {
                    dependency: served.name,
                    file,
                    error: Some(error),
                });
            }
        }
    }
    failed
}

/// `POST /_sandbox/flush`: the agent writes every recording now and says how
/// each write went.
pub async fn flush(admin_url: &str, token: Option<&str>) -> Result<Vec<Recording>, String> {
    let url = format!("{admin_url}/_sandbox/flush");
    let headers: Vec<(String, String)> = token.map(token::header).into_iter().collect();
    let answer = http::request("POST", &url, &headers, Some(Vec::new()), TIMEOUT)
        .await
        .map_err(|e| format!("cannot reach the agent at {admin_url}: {e}"))?;
    if answer.status != 200 {
        return Err(format!(
            "the agent at {admin_url} answered {} to POST /_sandbox/flush: {}",
            answer.status,
            crate::health::excerpt(&answer.text(), 200)
        ));
    }
    serde_json::from_slice::<Flushed>(&answer.body)
        .map(|flushed| flushed.recordings)
        .map_err(|e| format!("the agent's answer to POST /_sandbox/flush is not understood: {e}"))
}

/// `GET /_sandbox/host` of the agent standing for an entry run on the host:
/// the last process the CLI reported (kept after the `up --host` that
/// reported it died) and whether a tunnel session is connected.
pub async fn host_state(admin_url: &str, token: Option<&str>) -> Result<HostState, String> {
    let url = format!("{admin_url}/_sandbox/host");
    let headers: Vec<(String, String)> = token.map(token::header).into_iter().collect();
    let answer = http::request("GET", &url, &headers, None, TIMEOUT)
        .await
        .map_err(|e| format!("cannot reach the agent at {admin_url}: {e}"))?;
    if answer.status != 200 {
        return Err(format!(
            "the agent at {admin_url} answered {} to GET /_sandbox/host: {}",
            answer.status,
            crate::health::excerpt(&answer.text(), 200)
        ));
    }
    serde_json::from_slice::<HostState>(&answer.body)
        .map_err(|e| format!("the agent's answer to GET /_sandbox/host is not understood: {e}"))
}

/// The process on the host that the agent at `admin_url` last heard of
/// (see [`host_state`]); `None` when the CLI said none runs or never said.
/// Stop it only if [`Holder::is_running_here`].
pub async fn holder(admin_url: &str, token: Option<&str>) -> Result<Option<Holder>, String> {
    host_state(admin_url, token).await.map(|state| state.holder)
}
