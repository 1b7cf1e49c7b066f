//! `sandbox faults` and `sandbox limits`: change them on a running dependency.

use clap::Args;

use std::time::Duration;

use super::Globals;
use crate::health::http;
use crate::manifest::{ByteRate, Rate, Span};
use crate::{Error, Result};

/// How long a call to the agent's control API may take.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
pub struct FaultsArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// The dependency.
    pub dependency: String,
    /// Added before each answer, e.g. `200ms`.
    #[arg(long, value_name = "DURATION")]
    pub latency: Option<String>,
    /// Random extra latency, up to this much.
    #[arg(long, value_name = "DURATION")]
    pub jitter: Option<String>,
    /// Share of answers replaced by an error, 0..1.
    #[arg(long, value_name = "RATE")]
    pub error_rate: Option<f64>,
    /// Status of injected errors.
    #[arg(long, value_name = "STATUS")]
    pub error_status: Option<u16>,
    /// Share of connections dropped, 0..1.
    #[arg(long, value_name = "RATE")]
    pub reset_rate: Option<f64>,
    /// Bytes per second of each answer, e.g. `64KiB/s`.
    #[arg(long, value_name = "BYTES/s")]
    pub bandwidth: Option<String>,
    /// Seed for reproducible randomness.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Remove every fault.
    #[arg(long)]
    pub clear: bool,
    /// Print the faults in force as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LimitsArgs {
    #[command(flatten)]
    pub manifest: super::FileArg,
    /// The dependency.
    pub dependency: String,
    /// Requests per unit of time, e.g. `10/s`.
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,
    /// Requests allowed at once above the rate.
    #[arg(long)]
    pub burst: Option<u32>,
    /// Requests in flight at once.
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// Count each caller separately (`true`) or all together (`false`).
    #[arg(long, value_name = "BOOL")]
    pub per_caller: Option<bool>,
    /// Remove every limit.
    #[arg(long)]
    pub clear: bool,
    /// Print the limits in force as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Adds the limits and faults in force, as every agent reports them, to the
/// status document's entries.
pub(crate) async fn add_in_force(
    found: &crate::runner::status::Found,
    doc: &mut crate::runner::status::StatusDoc,
) {
    for agent in found.admin_urls() {
        let url = format!("{agent}/_sandbox/state");
        let Ok(answer) = http::request("GET", &url, &[], None, TIMEOUT).await else {
            continue;
        };
        let Ok(state) = serde_json::from_slice::<serde_json::Value>(&answer.body) else {
            continue;
        };
        for served in state["served"].as_array().into_iter().flatten() {
            let Some(entry) = doc
                .entries
                .iter_mut()
                .find(|e| served["name"] == e.name.as_str())
            else {
                continue;
            };
            let in_force = |key: &str| {
                let value = &served[key];
                let empty = value.is_null()
                    || value
                        .as_object()
                        .is_some_and(|o| o.values().all(|v| v.is_null()));
                (!empty).then(|| value.clone())
            };
            entry.limits = in_force("limits");
            entry.faults = in_force("faults");
        }
    }
}

/// Reads what the agent that fronts `dependency` says of it (its `key` in
/// force among the rest); also returns that agent's URL and the sandbox's
/// token.
async fn in_force(
    globals: &Globals,
    dependency: &str,
    key: &str,
) -> Result<(String, serde_json::Value, Option<String>)> {
    let sandbox = globals.sandbox_name()?;
    let engine = super::connect().await?;
    let found = super::find_running(&engine, &sandbox).await?;
    let agent = found
        .admin_url(Some(dependency))
        .ok_or_else(|| Error::Failed(format!("the agent of `{sandbox}` is not running")))?;
    let answer = http::request(
        "GET",
        &format!("{agent}/_sandbox/state"),
        &[],
        None,
        TIMEOUT,
    )
    .await
    .map_err(|e| Error::Failed(format!("cannot reach the agent at {agent}: {e}")))?;
    let state: serde_json::Value = serde_json::from_slice(&answer.body)
        .map_err(|e| Error::Failed(format!("the agent's state is not understood: {e}")))?;
    let served = state["served"].as_array().cloned().unwrap_or_default();
    let Some(current) = served.iter().find(|s| s["name"] == dependency) else {
        let reason = if found.container_of(dependency).is_some() {
            format!(
                "`{dependency}` runs without a proxy in front of it; declare `{key}:` for it in the manifest (`{key}: {{}}` is enough) and run `sandbox up` so that {key} can be changed at run time"
            )
        } else {
            format!(
                "no dependency named `{dependency}` in sandbox `{sandbox}`; see `sandbox status`"
            )
        };
        return Err(Error::Usage(reason));
    };
    Ok((agent, current.clone(), found.token().map(str::to_owned)))
}

async fn put(
    agent: &str,
    token: Option<&str>,
    dependency: &str,
    key: &str,
    value: &serde_json::Value,
) -> Result<serde_json::Value> {
    let url = format!("{agent}/_sandbox/{key}/{dependency}");
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    headers.extend(token.map(crate::registry::token::header));
    let body = serde_json::to_vec(value).expect("JSON values serialize");
    let answer = http::request("PUT", &url, &headers, Some(body), TIMEOUT)
        .await
        .map_err(|e| Error::Failed(format!("cannot reach the agent at {agent}: {e}")))?;
    if answer.status == 401 {
        return Err(Error::Failed(format!(
            "the agent at {agent} refused the sandbox's token; run `sandbox up` again to give the agents a token they know"
        )));
    }
    if answer.status != 200 {
        return Err(Error::Usage(format!(
            "the agent refused the new {key}: {}",
            answer.text()
        )));
    }
    serde_json::from_slice(&answer.body)
        .map_err(|e| Error::Failed(format!("the agent's answer is not understood: {e}")))
}

fn show(key: &str, dependency: &str, value: &serde_json::Value, json: bool) -> Result<()> {
    if json {
        return crate::output::print_json(value);
    }
    let pairs: Vec<String> = value
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k}: {v}"))
                .collect()
        })
        .unwrap_or_default();
    if pairs.is_empty() {
        crate::output::println(&format!("{dependency}: no {key}"))
    } else {
        crate::output::println(&format!("{dependency}: {key} {}", pairs.join(", ")))
    }
}

fn set<T: serde::Serialize>(
    object: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: Option<T>,
) {
    if let Some(value) = value {
        object.insert(
            key.to_owned(),
            serde_json::to_value(value).expect("values serialize"),
        );
    }
}

fn share(flag: &str, value: Option<f64>) -> Result<Option<f64>> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => Err(Error::Usage(format!(
            "--{flag} {v}: a share of calls is between 0 and 1, such as 0.2"
        ))),
        other => Ok(other),
    }
}

fn parsed<T: std::str::FromStr<Err = String>>(
    flag: &str,
    value: &Option<String>,
) -> Result<Option<T>> {
    value
        .as_deref()
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| Error::Usage(format!("--{flag}: {e}")))
        })
        .transpose()
}

pub async fn faults(globals: &Globals, args: FaultsArgs) -> Result<()> {
    let latency: Option<Span> = parsed("latency", &args.latency)?;
    let jitter: Option<Span> = parsed("jitter", &args.jitter)?;
    let bandwidth: Option<ByteRate> = parsed("bandwidth", &args.bandwidth)?;
    let error_rate = share("error-rate", args.error_rate)?;
    let reset_rate = share("reset-rate", args.reset_rate)?;
    if let Some(status) = args.error_status
        && !(400..=599).contains(&status)
    {
        return Err(Error::Usage(format!(
            "--error-status {status}: an injected error is a 4xx or 5xx status, such as 503"
        )));
    }
    let (agent, served, token) = in_force(globals, &args.dependency, "faults").await?;
    if served["tcp_only"] == true && error_rate.is_some_and(|rate| rate > 0.0) {
        return Err(Error::Usage(format!(
            "--error-rate {}: {}",
            error_rate.unwrap_or_default(),
            crate::agent::admin::tcp_error_rate(&args.dependency)
                .replace("`reset_rate`", "--reset-rate")
                .replace("`latency`", "--latency")
        )));
    }
    let current = served["faults"].clone();
    let mut object = match (args.clear, current) {
        (false, serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    set(&mut object, "latency", latency);
    set(&mut object, "jitter", jitter);
    set(&mut object, "error_rate", error_rate);
    set(&mut object, "error_status", args.error_status);
    set(&mut object, "reset_rate", reset_rate);
    set(&mut object, "bandwidth", bandwidth);
    set(&mut object, "seed", args.seed);
    object.retain(|_, v| !v.is_null());
    let now = put(
        &agent,
        token.as_deref(),
        &args.dependency,
        "faults",
        &serde_json::Value::Object(object),
    )
    .await?;
    show("faults", &args.dependency, &now, args.json)
}

pub async fn limits(globals: &Globals, args: LimitsArgs) -> Result<()> {
    let rate: Option<Rate> = parsed("rate", &args.rate)?;
    for (flag, value) in [("burst", args.burst), ("concurrency", args.concurrency)] {
        if value == Some(0) {
            return Err(Error::Usage(format!("--{flag} 0: allow at least 1")));
        }
    }
    let (agent, served, token) = in_force(globals, &args.dependency, "limits").await?;
    let current = served["limits"].clone();
    let mut object = match (args.clear, current) {
        (false, serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    set(&mut object, "rate", rate);
    set(&mut object, "burst", args.burst);
    set(&mut object, "concurrency", args.concurrency);
    set(&mut object, "per_caller", args.per_caller);
    object.retain(|_, v| !v.is_null());
    let now = put(
        &agent,
        token.as_deref(),
        &args.dependency,
        "limits",
        &serde_json::Value::Object(object),
    )
    .await?;
    show("limits", &args.dependency, &now, args.json)
}
