//! Entries run as processes on this machine (`sandbox up --host`, PRODUCT.md
//! 6.2): their environment, the process, its port, and the foreground loop
//! that ties them to the sandbox's forwarder.

pub mod env;
pub mod port;
pub mod process;
pub mod run;

mod link;

use std::time::{Duration, Instant};

use crate::agent::config::ADMIN_PORT;
use crate::engine::{ContainerInfo, labels};
use crate::manifest::Kind;

/// Before `down`: stops the host processes that a killed `up --host` left
/// behind, as the forwarders of `containers` remember them. A process is
/// stopped only when it is this host's and is still the one recorded (its
/// process group leader has the recorded start time, or has ended and left
/// members of its group, whose id no new process can take). Returns the
/// entries whose processes were stopped.
pub async fn stop_left_behind(containers: &[ContainerInfo]) -> Vec<String> {
    let mut stopped = Vec::new();
    for container in containers {
        if let Some(entry) = stop_left_behind_by(container).await {
            stopped.push(entry);
        }
    }
    stopped
}

/// [`stop_left_behind`] for one forwarder; the entry whose process was
/// stopped, if one was.
pub async fn stop_left_behind_by(container: &ContainerInfo) -> Option<String> {
    if container.label(labels::KIND) != Some(Kind::Host.as_str()) || !container.is_running() {
        return None;
    }
    let port = container.published.get(&ADMIN_PORT)?;
    let url = format!("http://127.0.0.1:{port}");
    let holder = link::holder(&url, container.label(labels::TOKEN))
        .await
        .ok()??;
    if holder.host != crate::runner::lock::host_name() || holder.pid <= 1 {
        return None;
    }
    let ours = match crate::runner::lock::process_start(holder.pid) {
        Some(started) => started == holder.started,
        // The leader ended: what is left of its group is ours.
        None => true,
    };
    if !ours || !group_exists(holder.pid) {
        return None;
    }
    process::signal_group(holder.pid, libc::SIGTERM);
    let deadline = Instant::now() + process::STOP_GRACE;
    while group_exists(holder.pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    process::signal_group(holder.pid, libc::SIGKILL);
    Some(holder.entry)
}

/// Whether any live process is in process group `pgid`.
fn group_exists(pgid: u32) -> bool {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return false;
    };
    processes.flatten().any(|process| {
        process
            .file_name()
            .to_str()
            .is_some_and(|n| n.parse::<u32>().is_ok())
            && std::fs::read_to_string(process.path().join("stat")).is_ok_and(|stat| {
                // Fields after the command name: state, ppid, pgrp.
                stat.rsplit_once(") ").is_some_and(|(_, rest)| {
                    let mut fields = rest.split_whitespace();
                    let state = fields.next();
                    let pgrp = fields.nth(1);
                    state != Some("Z") && pgrp == Some(pgid.to_string().as_str())
                })
            })
    })
}
