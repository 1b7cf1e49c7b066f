//! The only writers of stdout and stderr. See the policy in the module
//! header of `output`.

use std::io::{self, Write};

use crate::{Error, Result};

/// Writes `text` to stdout and flushes it.
pub fn print(text: &str) -> Result<()> {
    print_bytes(text.as_bytes())
}

/// Writes `text` and a newline to stdout.
pub fn println(text: &str) -> Result<()> {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    print_bytes(line.as_bytes())
}

/// Writes `bytes` to stdout and flushes them.
pub fn print_bytes(bytes: &[u8]) -> Result<()> {
    write_out(&mut io::stdout().lock(), bytes)
}

/// Prints one JSON document (pretty, on its own lines) on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("output documents serialize");
    println(&text)
}

/// Prints one JSON document on one line (the form of `--follow --json`).
pub fn print_json_line<T: serde::Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string(value).expect("output documents serialize");
    println(&text)
}

/// Writes `text` to stderr. A stderr that is closed or full loses the text:
/// diagnostics must never end (or crash) the command they describe.
pub fn eprint(text: &str) {
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// Writes `text` and a newline to stderr (see [`eprint`]).
pub fn eprintln(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    eprint(&line);
}

/// Prints a failed command's error on stderr: `error: ...`, then one
/// `caused by: ...` per source. Errors that carry an exit status only, and a
/// stdout closed by its reader, print nothing.
pub fn report(error: &Error) {
    if matches!(error, Error::Status(_) | Error::StdoutClosed) {
        return;
    }
    let mut text = format!("error: {error}\n");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!("caused by: {cause}\n"));
        source = cause.source();
    }
    eprint(&text);
}

/// An error and its causes on one line, `: `-separated (for JSON messages).
pub fn one_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An I/O error as a person reads it: `No space left on device`, without
/// the `(os error 28)` that `Display` adds.
pub fn describe_io(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_owned(),
        _ => text,
    }
}

/// Writes and flushes, mapping failures to the two stdout errors.
fn write_out(out: &mut impl Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// A failed write to stdout: its reader went away (`| head`), or something
/// else (a full disk).
pub fn stdout_error(error: io::Error) -> Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Error::StdoutClosed
    } else {
        Error::Stdout(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing(io::ErrorKind, Option<i32>);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(match self.1 {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::from(self.0),
            })
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_stops_quietly_and_other_failures_say_why() {
        let closed = write_out(&mut Failing(io::ErrorKind::BrokenPipe, None), b"x");
        assert!(matches!(closed, Err(Error::StdoutClosed)));
        assert_eq!(closed.unwrap_err().exit_code(), 0);
        // ENOSPC, as `> /dev/full` gives.
        let full = write_out(&mut Failing(io::ErrorKind::Other, Some(28)), b"x").unwrap_err();
        assert_eq!(full.exit_code(), 1);
        assert_eq!(
            full.to_string(),
            "cannot write to stdout: No space left on device"
        );
        assert!(std::error::Error::source(&full).is_none());
    }

    #[test]
    fn written_text_arrives_whole() {
        let mut buffer = Vec::new();
        write_out(&mut buffer, b"one\ntwo").unwrap();
        assert_eq!(buffer, b"one\ntwo");
    }

    #[test]
    fn one_line_joins_causes() {
        let error = Error::io("cannot write x", io::Error::from_raw_os_error(13));
        assert_eq!(
            one_line(&error),
            "cannot write x: Permission denied (os error 13)"
        );
    }
}
