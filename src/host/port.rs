//! Whether a port on 127.0.0.1 is taken, and by which process when the
//! system can tell (Linux: `/proc/net/tcp*` and each process's open
//! sockets).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// A process that listens on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Its command line, or its name.
    pub command: String,
}

/// Whether something listens on 127.0.0.1:`port` (or on every address).
pub fn is_taken(port: u16) -> bool {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_err()
}

/// The processes that listen on `port`, as far as this user can see them.
pub fn holders(port: u16) -> Vec<Holder> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return found;
    };
    for process in processes.flatten() {
        let Some(pid) = process.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| {
                target
                    .to_str()
                    .and_then(|t| t.strip_prefix("socket:["))
                    .and_then(|t| t.strip_suffix(']'))
                    .and_then(|t| t.parse::<u64>().ok())
                    .is_some_and(|inode| inodes.contains(&inode))
            })
        });
        if holds {
            found.push(Holder {
                pid,
                command: command_line(pid),
            });
        }
    }
    found
}

fn command_line(pid: u32) -> String {
    let line = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    if line.is_empty() {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| c.trim().to_owned())
            .unwrap_or_default()
    } else {
        line
    }
}

/// The socket inodes listening on `port` (TCP state 0A), IPv4 and IPv6.
fn listening_inodes(port: u16) -> Vec<u64> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if *state == "0A"
                && local_port == Some(port)
                && let Ok(inode) = inode.parse()
                && inode != 0
            {
                inodes.push(inode);
            }
        }
    }
    inodes
}

/// "port 8080 on 127.0.0.1 is already in use by process 123 (`python3 -m
/// http.server 8080`)", or as much of it as the system tells.
pub fn describe_taken(port: u16) -> String {
    let holders = holders(port);
    match holders.as_slice() {
        [] => format!(
            "port {port} on 127.0.0.1 is already in use (by a process this user cannot see)"
        ),
        [one] => format!(
            "port {port} on 127.0.0.1 is already in use by process {} (`{}`)",
            one.pid, one.command
        ),
        many => format!(
            "port {port} on 127.0.0.1 is already in use by processes {}",
            many.iter()
                .map(|h| format!("{} (`{}`)", h.pid, h.command))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_names_the_process_that_holds_it() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(is_taken(port));
        let me = std::process::id();
        assert!(
            holders(port).iter().any(|h| h.pid == me),
            "{:?}",
            holders(port)
        );
        assert!(describe_taken(port).contains(&format!("process {me}")));
        drop(listener);
        assert!(!is_taken(port));
        assert!(holders(port).is_empty());
    }
}
