//! A process that `up --host` runs on this machine: started in a process
//! group of its own (so stopping it stops what it started, e.g. `cargo run`
//! and the program it runs), its output prefixed line by line, its last
//! lines kept for a failure message, stopped with SIGTERM, then SIGKILL.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Lines of output kept for a failure message.
pub const TAIL_LINES: usize = 20;
/// Time between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// What to start.
#[derive(Debug, Clone)]
pub struct Launch {
    pub entry: String,
    pub command: Vec<String>,
    pub dir: PathBuf,
    pub env: IndexMap<String, String>,
}

/// Where the output of a host process goes, one line at a time.
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// Why a process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("`{program}` was not found{}; check `host.command` of `{entry}`", on_path(program))]
    NotFound { entry: String, program: String },
    #[error("cannot start `{program}` for `{entry}`: {error}")]
    Failed {
        entry: String,
        program: String,
        error: std::io::Error,
    },
    #[error("`host.command` of `{entry}` is empty")]
    Empty { entry: String },
}

fn on_path(program: &str) -> &'static str {
    if program.contains('/') {
        ""
    } else {
        " on PATH"
    }
}

/// A running host process.
pub struct HostProcess {
    child: Child,
    pid: u32,
    tail: Arc<Mutex<VecDeque<String>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    exited: Option<ExitStatus>,
}

impl HostProcess {
    /// Starts `launch`, its stdout and stderr lines given to `sink` prefixed
    /// with `prefix`.
    pub fn spawn(launch: &Launch, prefix: String, sink: Sink) -> Result<HostProcess, LaunchError> {
        let Some((program, args)) = launch.command.split_first() else {
            return Err(LaunchError::Empty {
                entry: launch.entry.clone(),
            });
        };
        // A relative path with a `/` is taken from the working directory.
        let program_path = if program.contains('/') && !program.starts_with('/') {
            launch.dir.join(program)
        } else {
            PathBuf::from(program)
        };
        let mut command = Command::new(&program_path);
        command
            .args(args)
            .current_dir(&launch.dir)
            .envs(&launch.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own: Ctrl-C at the terminal reaches `sandbox`,
            // which stops the whole group in order.
            .process_group(0)
            .kill_on_drop(false);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; nothing else runs between
        // fork and exec.
        unsafe {
            command.pre_exec(|| {
                // Should `sandbox` itself die, so does the process.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                LaunchError::NotFound {
                    entry: launch.entry.clone(),
                    program: program.clone(),
                }
            } else {
                LaunchError::Failed {
                    entry: launch.entry.clone(),
                    program: program.clone(),
                    error,
                }
            }
        })?;
        let pid = child.id().unwrap_or(0);
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(pump(
                stdout,
                prefix.clone(),
                sink.clone(),
                tail.clone(),
            )));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(pump(stderr, prefix, sink, tail.clone())));
        }
        Ok(HostProcess {
            child,
            pid,
            tail,
            readers,
            exited: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits until the process exits and its output is read to the end.
    pub async fn wait(&mut self) -> ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let status = match self.child.wait().await {
            Ok(status) => status,
            Err(_) => std::os::unix::process::ExitStatusExt::from_raw(0),
        };
        for reader in self.readers.drain(..) {
            // The group may hold the pipes open after the leader exits: do
            // not wait long for them.
            let _ = tokio::time::timeout(Duration::from_millis(500), reader).await;
        }
        self.exited = Some(status);
        status
    }

    /// Stops the process and everything in its group: SIGTERM, then
    /// SIGKILL after `grace`.
    pub async fn stop(&mut self, grace: Duration) -> ExitStatus {
        if self.exited.is_none() {
            signal_group(self.pid, libc::SIGTERM);
            if tokio::time::timeout(grace, self.child.wait()).await.is_err() {
                signal_group(self.pid, libc::SIGKILL);
            }
        }
        // What the leader left running in its group goes too.
        signal_group(self.pid, libc::SIGKILL);
        self.wait().await
    }

    /// The last lines of output.
    pub fn last_lines(&self) -> Vec<String> {
        self.tail
            .lock()
            .map(|tail| tail.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Sends `signal` to the process group led by `pid`.
pub fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid > 1 {
        // SAFETY: kill has no memory effects; a gone group gives ESRCH.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

async fn pump(
    stream: impl AsyncRead + Unpin,
    prefix: String,
    sink: Sink,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = BufReader::new(stream);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match lines.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\n', '\r']);
        sink(&format!("{prefix}{line}"));
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.to_owned());
        }
    }
}

/// How a process ended, in words.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => "exited".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect() -> (Sink, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let into = lines.clone();
        (
            Arc::new(move |line: &str| into.lock().unwrap().push(line.to_owned())),
            lines,
        )
    }

    fn launch(command: &[&str]) -> Launch {
        Launch {
            entry: "orders".into(),
            command: command.iter().map(|s| s.to_string()).collect(),
            dir: std::env::temp_dir(),
            env: IndexMap::from([("GREETING".to_owned(), "hello".to_owned())]),
        }
    }

    #[tokio::test]
    async fn output_is_prefixed_and_the_last_lines_are_kept() {
        let (sink, lines) = collect();
        let mut process = HostProcess::spawn(
            &launch(&["sh", "-c", "echo $GREETING; echo oops >&2; exit 3"]),
            "orders | ".into(),
            sink,
        )
        .unwrap();
        let status = process.wait().await;
        assert_eq!(status.code(), Some(3));
        let mut seen = lines.lock().unwrap().clone();
        seen.sort();
        assert_eq!(seen, vec!["orders | hello", "orders | oops"]);
        let mut tail = process.last_lines();
        tail.sort();
        assert_eq!(tail, vec!["hello", "oops"]);
        assert_eq!(describe_exit(status), "exited with code 3");
    }

    #[tokio::test]
    async fn a_missing_program_is_named() {
        let (sink, _) = collect();
        let error = HostProcess::spawn(&launch(&["no-such-program-xyz"]), String::new(), sink)
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "`no-such-program-xyz` was not found on PATH; check `host.command` of `orders`"
        );
    }

    #[tokio::test]
    async fn stop_ends_the_whole_group_even_a_child_that_ignores_sigterm() {
        let (sink, lines) = collect();
        // The shell starts a grandchild that ignores SIGTERM and reports its pid.
        let mut process = HostProcess::spawn(
            &launch(&["sh", "-c", "sh -c 'trap \"\" TERM; echo $$; while :; do sleep 1; done' & wait"]),
            String::new(),
            sink,
        )
        .unwrap();
        let grandchild: i32 = loop {
            if let Some(line) = lines.lock().unwrap().first() {
                break line.parse().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        process.stop(Duration::from_millis(300)).await;
        // A zombie waiting for its reaper is gone too.
        let alive = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while alive(grandchild) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive(grandchild), "the grandchild outlived stop()");
    }
}
