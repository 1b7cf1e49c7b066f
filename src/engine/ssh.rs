//! `ssh://` engines, reached as the docker CLI reaches them: the system
//! `ssh` client runs `docker system dial-stdio` on the remote host, and the
//! engine's API is spoken over that session's stdin and stdout. A unix
//! socket private to this process carries bollard's connections.
//!
//! Sessions share ssh connections: a process keeps a few master
//! connections of its own (`ssh -M`, control sockets in the runtime
//! directory) and opens each session on one with fewer than
//! [`SESSIONS_PER_MASTER`] sessions, so a default sshd (`MaxSessions 10`,
//! `MaxStartups 10:30:100`) serves a parallel `up` without refusing
//! sessions or dropping handshakes. Masters end with the process that
//! started them.
//!
//! A master also carries published ports: the forwarder of a sandbox asks
//! its master for `-L 127.0.0.1:LOCAL:TARGET` (`ssh -O forward`), so the
//! bytes of a host URL go ssh -> sshd -> the container (see
//! [`super::forward`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// Sessions one master carries at most (sshd's default `MaxSessions` is
/// 10; two are left for `ssh -O` requests and a margin).
pub const SESSIONS_PER_MASTER: usize = 8;
/// How long a master may take to connect and authenticate.
const MASTER_DEADLINE: Duration = Duration::from_secs(20);

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

    /// `ssh` with the options every invocation uses: no prompts, no
    /// connection sharing of the user's own configuration, and the extra
    /// arguments of `SANDBOX_SSH_ARGS` (for example `-F FILE` or `-i KEY`).
    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("ssh");
        command.args(["-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]);
        if let Ok(extra) = std::env::var("SANDBOX_SSH_ARGS") {
            command.args(extra.split_whitespace());
        }
        if let Some(port) = self.port {
            command.args(["-p", &port.to_string()]);
        }
        command
    }
}

/// Where this machine keeps the control sockets of ssh masters.
fn control_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("sandbox-ssh")
}

/// One ssh connection to the remote host, with a control socket that
/// sessions and port forwards are opened through.
pub struct Master {
    remote: Remote,
    control: PathBuf,
    child: Mutex<tokio::process::Child>,
    sessions: AtomicUsize,
}

impl Master {
    /// Connects to `remote`; returns once the connection is authenticated
    /// and its control socket listens.
    pub async fn start(remote: &Remote) -> std::io::Result<Master> {
        let dir = control_dir();
        std::fs::create_dir_all(&dir)?;
        remove_stale(&dir);
        // Short: a control socket's path must fit in 108 bytes.
        let control = dir.join(format!("{}-{}", std::process::id(), next_number()));
        let _ = std::fs::remove_file(&control);
        let mut command = remote.command();
        command
            .args(["-M", "-N", "-S"])
            .arg(&control)
            .args([
                "-o",
                "ControlPersist=no",
                "-o",
                "ServerAliveInterval=15",
                "-o",
                "ServerAliveCountMax=3",
                "-o",
                "ExitOnForwardFailure=no",
                "--",
                &remote.destination,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // SAFETY: prctl(2) in the child before exec; it only sets a flag.
        // The master ends when this process does, however it ends.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let deadline = tokio::time::Instant::now() + MASTER_DEADLINE;
        loop {
            if let Some(status) = child.try_wait()? {
                let mut reason = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = stderr.read_to_string(&mut reason).await;
                }
                let reason = reason.trim();
                return Err(std::io::Error::other(format!(
                    "ssh to {} ended ({status}){}{reason}",
                    remote.destination,
                    if reason.is_empty() { "" } else { ": " }
                )));
            }
            if is_socket(&control) {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.start_kill();
                return Err(std::io::Error::other(format!(
                    "ssh to {} did not connect within {}s",
                    remote.destination,
                    MASTER_DEADLINE.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Master {
            remote: remote.clone(),
            control,
            child: Mutex::new(child),
            sessions: AtomicUsize::new(0),
        })
    }

    /// Whether the connection is still up.
    pub fn alive(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        matches!(child.try_wait(), Ok(None)) && is_socket(&self.control)
    }

    /// `ssh` that goes through this master.
    fn client(&self) -> tokio::process::Command {
        let mut command = self.remote.command();
        command
            .arg("-S")
            .arg(&self.control)
            .args(["-o", "ControlMaster=no"]);
        command
    }

    /// Runs `ssh -O OPERATION -L 127.0.0.1:LOCAL:TARGET`.
    async fn control_forward(
        &self,
        operation: &str,
        local: u16,
        target: &str,
    ) -> std::io::Result<()> {
        let out = self
            .client()
            .args(["-O", operation, "-L"])
            .arg(format!("127.0.0.1:{local}:{target}"))
            .args(["--", &self.remote.destination])
            .stdin(Stdio::null())
            .output()
            .await?;
        if out.status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "ssh -O {operation} 127.0.0.1:{local} -> remote {target}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Listens on this machine's 127.0.0.1:`local` and carries each
    /// connection to `target` (`HOST:PORT`) as the remote host reaches it.
    pub async fn forward(&self, local: u16, target: &str) -> std::io::Result<()> {
        self.control_forward("forward", local, target).await
    }

    /// Stops a forward made by [`Master::forward`].
    pub async fn cancel(&self, local: u16, target: &str) -> std::io::Result<()> {
        self.control_forward("cancel", local, target).await
    }

    /// Whether the remote host reaches an HTTP server at `target`
    /// (`HOST:PORT`): a request through a forward of a free local port
    /// gets an HTTP answer within `deadline`.
    pub async fn reaches_http(&self, target: &str, deadline: Duration) -> bool {
        let Some(local) = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()
            .map(|a| a.port())
        else {
            return false;
        };
        if self.forward(local, target).await.is_err() {
            return false;
        }
        let answered = tokio::time::timeout(deadline, async {
            use tokio::io::AsyncReadExt;
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", local)).await?;
            stream
                .write_all(b"GET / HTTP/1.0\r\nHost: sandbox\r\n\r\n")
                .await?;
            let mut head = [0u8; 5];
            stream.read_exact(&mut head).await?;
            std::io::Result::Ok(&head == b"HTTP/")
        })
        .await;
        let _ = self.cancel(local, target).await;
        matches!(answered, Ok(Ok(true)))
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.start_kill();
        let _ = std::fs::remove_file(&self.control);
    }
}

fn is_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// The masters of one remote host in this process, each carrying at most
/// [`SESSIONS_PER_MASTER`] sessions.
struct Pool {
    remote: Remote,
    masters: tokio::sync::Mutex<Vec<Arc<Master>>>,
}

/// A session's claim on a master; released when dropped.
struct Claim(Arc<Master>);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pool {
    /// A master with room for one more session, started when none has.
    /// Masters start one at a time, so that sshd sees few handshakes at
    /// once.
    async fn claim(&self) -> std::io::Result<Claim> {
        let mut masters = self.masters.lock().await;
        masters.retain(|m| m.alive() || m.sessions.load(Ordering::Acquire) > 0);
        for master in masters.iter() {
            if !master.alive() {
                continue;
            }
            let taken = master
                .sessions
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < SESSIONS_PER_MASTER).then_some(n + 1)
                });
            if taken.is_ok() {
                return Ok(Claim(master.clone()));
            }
        }
        let master = Arc::new(Master::start(&self.remote).await?);
        master.sessions.store(1, Ordering::Release);
        masters.push(master.clone());
        Ok(Claim(master))
    }

    /// Carries one engine connection over `docker system dial-stdio`.
    async fn dial(&self, mut stream: tokio::net::UnixStream) -> std::io::Result<()> {
        let claim = self.claim().await?;
        let mut child = claim
            .0
            .client()
            .args(["-T", "--", &self.remote.destination])
            .args(["docker", "system", "dial-stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Ok(());
        };
        let (mut read, mut write) = stream.split();
        let up = async {
            let _ = tokio::io::copy(&mut read, &mut stdin).await;
            // Closing stdin is what ends the session's input (a pipe's
            // shutdown does not close it).
            drop(stdin);
        };
        let down = async {
            let _ = tokio::io::copy(&mut stdout, &mut write).await;
            let _ = write.shutdown().await;
        };
        tokio::join!(up, down);
        let _ = child.kill().await;
        drop(claim);
        Ok(())
    }
}

/// Starts the bridge for `endpoint` and returns the socket to connect to.
pub async fn bridge(endpoint: &str) -> std::io::Result<PathBuf> {
    let remote = Remote::parse(endpoint)?;
    let dir = control_dir();
    std::fs::create_dir_all(&dir)?;
    remove_stale(&dir);
    let socket = dir.join(format!("{}-{}.sock", std::process::id(), next_number()));
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket)?;
    let pool = Arc::new(Pool {
        remote,
        masters: tokio::sync::Mutex::new(Vec::new()),
    });
    // The first master now: a host that cannot be reached is reported by
    // `connect`, not by the first request.
    let first = pool.claim().await?;
    drop(first);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let pool = pool.clone();
            tokio::spawn(async move {
                let _ = pool.dial(stream).await;
            });
        }
    });
    Ok(socket)
}

/// Connects every new HTTP connection to the bridge's socket.
#[derive(Clone)]
struct BridgeConnector {
    socket: Arc<PathBuf>,
}

impl tower_service::Service<hyper::Uri> for BridgeConnector {
    type Response = hyper_util::rt::TokioIo<tokio::net::UnixStream>;
    type Error = std::io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = std::io::Result<Self::Response>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let socket = self.socket.clone();
        Box::pin(async move {
            let stream = tokio::net::UnixStream::connect(socket.as_path()).await?;
            Ok(hyper_util::rt::TokioIo::new(stream))
        })
    }
}

/// How long an idle engine connection (an ssh session) is kept for reuse.
const IDLE_CONNECTION: Duration = Duration::from_secs(30);

/// A client of the engine at `endpoint` (`ssh://...`) that keeps its
/// connections for reuse: each one is an ssh session running `docker
/// system dial-stdio` on the remote host, far dearer to open than a
/// socket, so requests share them (bollard's own clients open one per
/// request).
pub async fn connect(endpoint: &str, timeout: u64) -> std::io::Result<bollard::Docker> {
    let socket = bridge(endpoint).await?;
    let connector = BridgeConnector {
        socket: Arc::new(socket),
    };
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(IDLE_CONNECTION)
        .pool_max_idle_per_host(SESSIONS_PER_MASTER)
        .build(connector);
    super::pooled(client, "http://docker".into(), timeout)
}

/// Removes the sockets of processes that have ended (named `PID-N`).
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next() else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn next_number() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
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
