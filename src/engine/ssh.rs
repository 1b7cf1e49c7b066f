//! `ssh://` engines, reached as the docker CLI reaches them: the system
//! `ssh` client runs `docker system dial-stdio` on the remote host, and the
//! engine's API is spoken over that process's stdin and stdout. A unix
//! socket private to this process carries bollard's connections, one ssh
//! process each (bollard keeps idle connections for reuse).

use std::path::PathBuf;
use std::process::Stdio;

/// The remote host and the ssh arguments that reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// `[user@]host`.
    pub destination: String,
    pub port: Option<u16>,
}

impl Remote {
    /// Parses `ssh://[user@]host[:port]`.
    pub fn parse(endpoint: &str) -> std::io::Result<Remote> {
        let rest = endpoint
            .strip_prefix("ssh://")
            .unwrap_or(endpoint)
            .trim_end_matches('/');
        let (user, host_port) = match rest.rsplit_once('@') {
            Some((user, hp)) => (Some(user), hp),
            None => (None, rest),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => (
                h,
                Some(p.parse::<u16>().map_err(|_| {
                    std::io::Error::other(format!("`{p}` is not a port in {endpoint}"))
                })?),
            ),
            None => (host_port, None),
        };
        if host.is_empty() {
            return Err(std::io::Error::other(format!("no host in {endpoint}")));
        }
        Ok(Remote {
            destination: match user {
                Some(u) => format!("{u}@{host}"),
                None => host.to_owned(),
            },
            port,
        })
    }

    /// `ssh` with the options every session uses: no prompts, and the extra arguments of `SANDBOX_SSH_ARGS` (for
    /// example `-F FILE` or `-i KEY`).
    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("ssh");
        // No connection sharing: sshd allows 10 sessions per connection
        // (`MaxSessions`), fewer than the connections a parallel `up` opens.
        command.args(["-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]);
        if std::env::var_os("SANDBOX_SSH_SHARE").is_some_and(|v| v == "1") {
            let control = std::env::temp_dir().join("sandbox-ssh-%C");
            command
                .args(["-o", "ControlMaster=auto", "-o", "ControlPersist=60"])
                .arg("-o")
                .arg(format!("ControlPath={}", control.display()));
        }
        if let Ok(extra) = std::env::var("SANDBOX_SSH_ARGS") {
            command.args(extra.split_whitespace());
        }
        if let Some(port) = self.port {
            command.args(["-p", &port.to_string()]);
        }
        command
    }
}

/// Starts the bridge for `endpoint` and returns the socket to connect to.
pub async fn bridge(endpoint: &str) -> std::io::Result<PathBuf> {
    let remote = Remote::parse(endpoint)?;
    let dir = std::env::temp_dir();
    remove_stale(&dir);
    let socket = dir.join(format!(
        "sandbox-ssh-{}-{}.sock",
        std::process::id(),
        rand_suffix()
    ));
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket)?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let remote = remote.clone();
            tokio::spawn(async move {
                let child = remote
                    .command()
                    .args(["-T", "--", &remote.destination])
                    .args(["docker", "system", "dial-stdio"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .kill_on_drop(true)
                    .spawn();
                let Ok(mut child) = child else { return };
                let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                    return;
                };
                let mut pipe = tokio::io::join(stdout, stdin);
                let _ = tokio::io::copy_bidirectional(&mut stream, &mut pipe).await;
                let _ = child.kill().await;
            });
        }
    });
    Ok(socket)
}

/// Removes the sockets of processes that have ended.
fn remove_stale(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("sandbox-ssh-")
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if name.ends_with(".sock") && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_host_port() {
        let r = Remote::parse("ssh://me@box:2222").unwrap();
        assert_eq!((r.destination.as_str(), r.port), ("me@box", Some(2222)));
        let r = Remote::parse("ssh://box").unwrap();
        assert_eq!((r.destination.as_str(), r.port), ("box", None));
        assert!(Remote::parse("ssh://me@box:x").is_err());
        assert!(Remote::parse("ssh://").is_err());
    }
}
