//! The registry's client side, for the CLI: fetching what it answers,
//! telling it the host URLs, and rendering it as a table.

use std::fmt::Write as _;
use std::time::Duration;

use super::{HealthStatus, ServicesDoc};
use crate::health::http;

/// How long a call to the registry may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /services` on the registry at `registry_url` (`http://127.0.0.1:P`).
pub async fn services(registry_url: &str) -> Result<ServicesDoc, String> {
    let url = format!("{}/services", registry_url.trim_end_matches('/'));
    let answer = http::request("GET", &url, &[], None, TIMEOUT)
        .await
        .map_err(|e| format!("cannot reach the registry at {registry_url}: {e}"))?;
    if answer.status != 200 {
        return Err(format!(
            "the registry answered {} to GET /services: {}",
            answer.status,
            crate::health::excerpt(&answer.text(), 200)
        ));
    }
    serde_json::from_slice(&answer.body)
        .map_err(|e| format!("the registry's answer to GET /services is not understood: {e}"))
}

/// `PUT /_sandbox/hosts`: sets the host URL of each named entry, with the
/// sandbox's token when it has one.
pub async fn put_hosts(
    registry_url: &str,
    token: Option<&str>,
    hosts: &[(String, String)],
) -> Result<(), String> {
    let url = format!("{}/_sandbox/hosts", registry_url.trim_end_matches('/'));
    let body: serde_json::Map<String, serde_json::Value> = hosts
        .iter()
        .map(|(name, url)| (name.clone(), serde_json::Value::String(url.clone())))
        .collect();
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    headers.extend(token.map(crate::registry::token::header));
    let answer = http::request(
        "PUT",
        &url,
        &headers,
        Some(serde_json::to_vec(&body).expect("maps serialize")),
        TIMEOUT,
    )
    .await
    .map_err(|e| format!("cannot reach the registry at {registry_url}: {e}"))?;
    if answer.status == 200 {
        return Ok(());
    }
    let reason = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| answer.text());
    Err(format!(
        "the registry refused the host URLs ({}): {reason}",
        answer.status
    ))
}

/// `PUT /_sandbox/healthy`: these entries passed their readiness checks.
pub async fn put_healthy(
    registry_url: &str,
    token: Option<&str>,
    names: &[String],
) -> Result<(), String> {
    let url = format!("{}/_sandbox/healthy", registry_url.trim_end_matches('/'));
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    headers.extend(token.map(crate::registry::token::header));
    let body = serde_json::to_vec(names).expect("names serialize");
    let answer = http::request("PUT", &url, &headers, Some(body), TIMEOUT)
        .await
        .map_err(|e| format!("cannot reach the registry at {registry_url}: {e}"))?;
    if answer.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "the registry refused the healthy entries ({}): {}",
            answer.status,
            answer.text()
        ))
    }
}

/// Puts entries in the order `sandbox status` shows them: the service
/// first, then dependencies by name.
fn sort_like_status(doc: &mut ServicesDoc) {
    doc.services
        .sort_by(|a, b| (a.role != "service", &a.name).cmp(&(b.role != "service", &b.name)));
}

/// The registry's answer as a table (NAME ROLE KIND OWNER HEALTH HOST URL
/// API), in the order of `sandbox status`, followed by one line per entry
/// that is not up, saying why.
pub fn render_table(doc: &ServicesDoc) -> String {
    let mut doc = doc.clone();
    sort_like_status(&mut doc);
    let doc = &doc;
    let header = ["NAME", "ROLE", "KIND", "OWNER", "HEALTH", "HOST URL", "API"];
    let rows: Vec<[String; 7]> = doc
        .services
        .iter()
        .map(|e| {
            let api = match &e.api {
                None => "-".to_owned(),
                Some(api) => match (&api.description, &api.openapi) {
                    (Some(d), Some(_)) => format!("{d} (openapi)"),
                    (Some(d), None) => d.clone(),
                    (None, Some(_)) => "openapi".to_owned(),
                    (None, None) => "-".to_owned(),
                },
            };
            [
                e.name.clone(),
                e.role.clone(),
                e.kind.to_string(),
                e.owner.clone().unwrap_or_else(|| "-".into()),
                e.health.status.to_string(),
                e.host_url.clone().unwrap_or_else(|| "-".into()),
                api,
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (n, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if n + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    for e in &doc.services {
        if e.health.status != HealthStatus::Up {
            let _ = writeln!(
                out,
                "{} is {}: {}",
                e.name, e.health.status, e.health.detail
            );
        }
    }
    out
}

/// Lines waiting to go to the registry; past this, lines are dropped
/// rather than holding the process's output back.
const LOG_BACKLOG: usize = 4096;

/// A sink that also sends each `ENTRY | line` it is given to the
/// registry's `POST /logs/{entry}` (with the token), so the dashboard shows
/// the output of processes run on the host; `inner` gets every line as
/// before. Lines go in batches, in the background, never blocking the
/// caller; a registry that does not answer loses them, nothing else.
pub fn forwarding_logs(
    registry_url: String,
    token: Option<String>,
    inner: crate::host::process::Sink,
) -> crate::host::process::Sink {
    let (lines, mut queued) = tokio::sync::mpsc::channel::<String>(LOG_BACKLOG);
    tokio::spawn(async move {
        let mut headers = vec![("content-type".to_owned(), "text/plain".to_owned())];
        if let Some(token) = token {
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
        }
        while let Some(first) = queued.recv().await {
            let mut batch: std::collections::BTreeMap<String, String> = Default::default();
            let mut next = Some(first);
            while let Some(line) = next.take() {
                if let Some((entry, text)) = line.split_once(" | ") {
                    let body = batch.entry(entry.to_owned()).or_default();
                    body.push_str(text);
                    body.push('\n');
                }
                next = queued.try_recv().ok();
            }
            for (entry, body) in batch {
                let url = format!("{}/logs/{entry}", registry_url.trim_end_matches('/'));
                let _ =
                    http::request("POST", &url, &headers, Some(body.into_bytes()), TIMEOUT).await;
            }
        }
    });
    std::sync::Arc::new(move |line: &str| {
        inner(line);
        let _ = lines.try_send(line.to_owned());
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Kind;
    use crate::registry::{ApiDoc, EntryDoc, HealthDoc};

    fn entry(name: &str, role: &str, kind: Kind, status: HealthStatus, detail: &str) -> EntryDoc {
        EntryDoc {
            name: name.into(),
            role: role.into(),
            kind,
            owner: None,
            internal_url: Some(format!("http://{name}:80")),
            host_url: None,
            api: None,
            health: HealthDoc {
                status,
                checked_at: Some("2026-11-25T16:07:03.042Z".into()),
                detail: detail.into(),
            },
        }
    }

    #[test]
    fn table() {
        let mut orders = entry(
            "orders",
            "service",
            Kind::Build,
            HealthStatus::Up,
            "GET /healthz answered 200",
        );
        orders.owner = Some("team-orders".into());
        orders.host_url = Some("http://127.0.0.1:49153".into());
        orders.api = Some(ApiDoc {
            description: Some("Orders API".into()),
            openapi: Some("/services/orders/openapi".into()),
        });
        let mut payments = entry(
            "payments",
            "dependency",
            Kind::Stub,
            HealthStatus::Down,
            "connection refused to payments:80",
        );
        payments.owner = Some("team-payments".into());
        let postgres = entry(
            "postgres",
            "dependency",
            Kind::Image,
            HealthStatus::Starting,
            "not probed yet",
        );
        // The registry's own order is not status's: the table follows status.
        let doc = ServicesDoc {
            sandbox: "shop".into(),
            services: vec![postgres, payments, orders],
        };
        insta::assert_snapshot!(render_table(&doc), @r"
        NAME      ROLE        KIND   OWNER          HEALTH    HOST URL                API
        orders    service     build  team-orders    up        http://127.0.0.1:49153  Orders API (openapi)
        payments  dependency  stub   team-payments  down      -                       -
        postgres  dependency  image  -              starting  -                       -
        payments is down: connection refused to payments:80
        postgres is starting: not probed yet
        ");
    }
}
