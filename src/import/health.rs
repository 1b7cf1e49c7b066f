//! A Compose healthcheck as a manifest's health check: a `curl` or `wget`
//! of a URL on the container itself becomes an `http` check (that is what
//! the sandbox's registry calls, from inside the network); anything else is
//! run as it is, `exec`.

use std::time::Duration;

use super::words::{self, Token};

/// A healthcheck's `test`, as Compose reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// `["CMD", args...]`: run directly.
    Cmd(Vec<String>),
    /// `["CMD-SHELL", line]` or a string: run by `sh -c`.
    Shell(String),
    /// `["NONE"]`: the image's check is turned off.
    None,
}

/// What a manifest's `health` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// GET `path` on the container's `port`; the body must contain `contains`.
    Http {
        path: String,
        port: u16,
        contains: Option<String>,
    },
    Exec(Vec<String>),
}

/// Docker's defaults for the timing of a healthcheck.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_RETRIES: u32 = 3;

/// The probe a test makes. `hosts` are the names the container answers to
/// besides `localhost` (its service name, `container_name`, `hostname`).
pub fn probe(test: &Test, hosts: &[&str]) -> Option<Probe> {
    match test {
        Test::None => None,
        Test::Cmd(args) => Some(
            fetch(args, hosts)
                .map(|(path, port)| Probe::Http {
                    path,
                    port,
                    contains: None,
                })
                .unwrap_or_else(|| Probe::Exec(args.clone())),
        ),
        Test::Shell(line) => Some(
            shell_probe(line, hosts)
                .unwrap_or_else(|| Probe::Exec(vec!["sh".into(), "-c".into(), line.clone()])),
        ),
    }
}

/// A shell line of the shapes `FETCH`, `FETCH || exit 1`, `FETCH | grep -q
/// TEXT` (then `|| exit 1` or `|| false` may follow).
fn shell_probe(line: &str, hosts: &[&str]) -> Option<Probe> {
    let tokens: Vec<Token> = words::shell(line)?
        .into_iter()
        .filter(|t| *t != Token::Quiet)
        .collect();
    let mut segments: Vec<(Option<&'static str>, Vec<String>)> = vec![(None, Vec::new())];
    for token in tokens {
        match token {
            Token::Word(word) => segments.last_mut()?.1.push(word),
            Token::Operator(op) => segments.push((Some(op), Vec::new())),
            Token::Quiet => {}
        }
    }
    // A trailing `|| exit 1` / `|| false` only turns a failure into exit 1.
    if let [.., (Some("||"), last)] = segments.as_slice()
        && (last == &["false"] || (last.len() == 2 && last[0] == "exit" && last[1] != "0"))
    {
        segments.pop();
    }
    let (path, port) = fetch(&segments.first()?.1, hosts)?;
    let contains = match segments.as_slice() {
        [_] => None,
        [_, (Some("|"), grep)] => Some(grep_text(grep)?),
        _ => return None,
    };
    Some(Probe::Http {
        path,
        port,
        contains,
    })
}

/// `grep -q TEXT` (or `-qF`, `-F -q`, `--quiet`, `-s`): the text a body
/// must contain. A pattern with regular-expression characters is not a
/// plain text unless `-F` says so.
fn grep_text(words: &[String]) -> Option<String> {
    let (program, args) = words.split_first()?;
    if program != "grep" {
        return None;
    }
    let mut quiet = false;
    let mut fixed = false;
    let mut pattern = None;
    for arg in args {
        match arg.as_str() {
            "--quiet" | "--silent" => quiet = true,
            "--fixed-strings" => fixed = true,
            "--no-messages" => {}
            flag if flag.starts_with('-') && flag.len() > 1 && pattern.is_none() => {
                for c in flag[1..].chars() {
                    match c {
                        'q' => quiet = true,
                        'F' => fixed = true,
                        's' => {}
                        _ => return None,
                    }
                }
            }
            text if pattern.is_none() => pattern = Some(text.to_owned()),
            _ => return None,
        }
    }
    let pattern = pattern?;
    let plain = fixed
        || !pattern.contains([
            '.', '[', ']', '*', '^', '$', '\\', '+', '?', '(', ')', '{', '}', '|',
        ]);
    (quiet && plain && !pattern.is_empty()).then_some(pattern)
}

/// A `curl` or `wget` of one URL on the container itself, with options
/// that change nothing of what the sandbox's http check does: its path and
/// port. Any option that sends something else (a header, a method, a body,
/// credentials) leaves the test as it is.
fn fetch(args: &[String], hosts: &[&str]) -> Option<(String, u16)> {
    let (program, args) = args.split_first()?;
    let program = program.rsplit('/').next().unwrap_or(program);
    let (flags, valued): (&[char], &[char]) = match program {
        "curl" => (
            &['f', 's', 'S', 'L', 'I', 'k', 'q', 'v', 'g'],
            &['o', 'm', 'w', 'A', 'Y', 'y'],
        ),
        "wget" => (&['q', 'S', 'v'], &['O', 'T', 't', 'Y', 'U']),
        _ => return None,
    };
    let long_flags: &[&str] = match program {
        "curl" => &[
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--head",
            "--insecure",
            "--fail-early",
            "--fail-with-body",
            "--compressed",
            "--globoff",
            "--no-progress-meter",
            "--verbose",
            "--http1.1",
            "--ipv4",
            "-4",
        ],
        _ => &[
            "--spider",
            "--quiet",
            "--no-verbose",
            "-nv",
            "--server-response",
            "--no-check-certificate",
            "--no-proxy",
            "--verbose",
            "-4",
            "--inet4-only",
        ],
    };
    let long_valued: &[&str] = match program {
        "curl" => &[
            "--output",
            "--max-time",
            "--connect-timeout",
            "--retry",
            "--retry-delay",
            "--retry-max-time",
            "--noproxy",
            "--write-out",
            "--user-agent",
            "--speed-limit",
            "--speed-time",
        ],
        _ => &[
            "--output-document",
            "--timeout",
            "--tries",
            "--proxy",
            "--user-agent",
            "--connect-timeout",
            "--read-timeout",
            "--dns-timeout",
            "--wait",
        ],
    };
    let mut url = None;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if let Some(long) = arg.strip_prefix("--").map(|_| arg.as_str()) {
            let name = long.split_once('=').map_or(long, |(n, _)| n);
            if long_flags.contains(&name) && !long.contains('=') {
                continue;
            }
            if long_valued.contains(&name) {
                if !long.contains('=') {
                    i += 1;
                }
                continue;
            }
            if program == "curl" && name == "--request" {
                let method = long
                    .split_once('=')
                    .map(|(_, m)| m.to_owned())
                    .or_else(|| {
                        i += 1;
                        args.get(i - 1).cloned()
                    })?;
                if matches!(method.as_str(), "GET" | "HEAD") {
                    continue;
                }
            }
            return None;
        }
        if long_flags.contains(&arg.as_str()) {
            continue;
        }
        if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            // Bundled flags (`-fsSL`, `-qO-`): a valued one takes the rest
            // of the word, or the next word.
            let chars: Vec<char> = short.chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                if flags.contains(&c) {
                    k += 1;
                } else if valued.contains(&c) {
                    if k + 1 == chars.len() {
                        i += 1;
                    }
                    break;
                } else if program == "curl" && c == 'X' {
                    let method: String = if k + 1 < chars.len() {
                        chars[k + 1..].iter().collect()
                    } else {
                        i += 1;
                        args.get(i - 1)?.clone()
                    };
                    if !matches!(method.as_str(), "GET" | "HEAD") {
                        return None;
                    }
                    break;
                } else {
                    return None;
                }
            }
            continue;
        }
        if url.is_some() {
            return None;
        }
        url = Some(arg.clone());
    }
    local_url(&url?, hosts)
}

/// The path and port of a plain-HTTP URL on the container itself:
/// `http://localhost:8080/health`, `localhost:3000/health` (curl's default
/// scheme), `http://127.0.0.1/`, or the container's own name.
fn local_url(url: &str, hosts: &[&str]) -> Option<(String, u16)> {
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some(_) => return None,
        None => url,
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let local = ["localhost", "127.0.0.1", "0.0.0.0", "::1", "::"]
        .iter()
        .chain(hosts)
        .any(|h| h.eq_ignore_ascii_case(host));
    if !local {
        return None;
    }
    let port = match port {
        Some(port) => port.parse::<u16>().ok().filter(|p| *p > 0)?,
        None => 80,
    };
    let path = path.split('#').next().unwrap_or_default();
    let path = if path.is_empty() {
        "/".to_owned()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    Some((path, port))
}

/// Reads a Go duration, as Compose writes them: `30s`, `1m30s`, `1.5s`,
/// `500ms`, `2h`, `10us`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad =
        || format!("`{text}` is not a duration; write it as Compose does, e.g. `30s` or `1m30s`");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| bad())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// How long Compose would wait before it gives up on a container: the
/// start period, then `retries` checks each of which may take `interval`
/// and `timeout`. Each part is Docker's default when not given.
pub fn total_wait(
    interval: Option<Duration>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    start_period: Option<Duration>,
) -> Duration {
    let interval = interval
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_INTERVAL);
    let timeout = timeout.filter(|d| !d.is_zero()).unwrap_or(DEFAULT_TIMEOUT);
    let retries = retries.filter(|r| *r > 0).unwrap_or(DEFAULT_RETRIES);
    start_period.unwrap_or_default() + (interval + timeout) * retries
}

/// A duration as a manifest writes it (one unit: `90s`, `20m`, `1500ms`),
/// rounded up to whole milliseconds.
pub fn span(duration: Duration) -> String {
    let ms = duration.as_millis() + u128::from(duration.subsec_nanos() % 1_000_000 != 0);
    if ms == 0 {
        "0ms".into()
    } else if ms % 3_600_000 == 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1_000 == 0 {
        format!("{}s", ms / 1_000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Test {
        Test::Cmd(args.iter().map(|a| a.to_string()).collect())
    }

    fn http(path: &str, port: u16, contains: Option<&str>) -> Option<Probe> {
        Some(Probe::Http {
            path: path.into(),
            port,
            contains: contains.map(Into::into),
        })
    }

    #[test]
    fn curl_and_wget_of_the_container_become_http_checks() {
        let hosts = ["storage"];
        assert_eq!(
            probe(
                &cmd(&["CMD", "curl", "-f", "http://localhost:8080/health"][1..]),
                &hosts
            ),
            http("/health", 8080, None)
        );
        assert_eq!(
            probe(
                &Test::Shell("wget -qO- http://localhost/health || exit 1".into()),
                &hosts
            ),
            http("/health", 80, None)
        );
        assert_eq!(
            probe(
                &cmd(&[
                    "wget",
                    "--no-verbose",
                    "--tries=1",
                    "--spider",
                    "http://storage:5000/status"
                ]),
                &hosts
            ),
            http("/status", 5000, None)
        );
        assert_eq!(
            probe(
                &Test::Shell(
                    "curl -s --noproxy localhost localhost:3000/health | grep -q 'OK' || exit 1"
                        .into()
                ),
                &hosts
            ),
            http("/health", 3000, Some("OK"))
        );
        assert_eq!(
            probe(
                &Test::Shell(
                    "curl -fsSL -o /dev/null http://127.0.0.1:9000/_health?full=1 >/dev/null 2>&1"
                        .into()
                ),
                &hosts
            ),
            http("/_health?full=1", 9000, None)
        );
        assert_eq!(
            probe(
                &cmd(&["/usr/bin/curl", "-X", "GET", "http://[::1]:81"]),
                &hosts
            ),
            http("/", 81, None)
        );
        assert_eq!(
            probe(&cmd(&["curl", "--max-time=5", "0.0.0.0:81/a"]), &hosts),
            http("/a", 81, None)
        );
    }

    #[test]
    fn anything_else_runs_as_written() {
        let hosts: [&str; 0] = [];
        let exec = |args: &[&str]| Some(Probe::Exec(args.iter().map(|a| a.to_string()).collect()));
        assert_eq!(
            probe(&cmd(&["pg_isready", "-U", "postgres"]), &hosts),
            exec(&["pg_isready", "-U", "postgres"])
        );
        let shell = |line: &str| (Test::Shell(line.into()), exec(&["sh", "-c", line]));
        for line in [
            "mysqladmin ping -h 127.0.0.1 --password=\"$(cat /run/secrets/db)\" --silent",
            "curl -sSfL --head -o /dev/null -H \"Authorization: Bearer x\" http://localhost:4000/api/health",
            "curl -f http://other-service:80/",
            "curl -f https://localhost/health",
            "curl -f http://localhost/ && echo ok",
            "curl http://localhost/ | grep -v fail",
            "curl http://localhost/ | grep -q 'a.*b'",
            "curl -d x=1 http://localhost/",
            "valkey-cli ping | grep PONG",
            "echo stats | nc 127.0.0.1 11211",
        ] {
            let (test, expected) = shell(line);
            assert_eq!(probe(&test, &hosts), expected, "{line}");
        }
        assert_eq!(probe(&Test::None, &hosts), None);
    }

    #[test]
    fn go_durations_and_the_total_wait() {
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "10", "5 s", "1d", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        // interval 10s, timeout 5s, 5 retries: 75s.
        let total = total_wait(
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(5)),
            Some(5),
            None,
        );
        assert_eq!(span(total), "75s");
        // Docker's defaults: 3 x (30s + 30s).
        assert_eq!(span(total_wait(None, None, None, None)), "3m");
        let total = total_wait(
            Some(Duration::from_secs(3)),
            None,
            Some(5),
            Some(Duration::from_secs(30)),
        );
        assert_eq!(span(total), "195s");
        assert_eq!(span(Duration::from_millis(1500)), "1500ms");
        assert_eq!(span(Duration::from_secs(7200)), "2h");
    }
}
