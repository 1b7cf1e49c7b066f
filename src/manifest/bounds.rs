//! Bounds on what the loader reads (PRODUCT.md 6.1): a manifest's size, its
//! encoding, and how far YAML aliases may expand and nest a document.
//!
//! Both YAML readers build what aliases expand to: the position tree copies
//! an anchor's node for every alias, and serde_yaml replays its events. A
//! few hundred bytes of nested aliases ("billion laughs") expand to billions
//! of nodes, so every YAML text is first walked here as an event stream,
//! which builds nothing: each anchor's expanded size and height are counted,
//! and a document that would expand past a small multiple of the nodes it is
//! written with, or nest deeper than [`MAX_DEPTH`], is refused at the alias
//! or node that crossed the bound, before either reader sees it.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use yaml_rust2::parser::{Event, Parser};

use super::tree::{At, SyntaxError, position};

/// The largest manifest read: 1 MiB.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// Nesting deeper than this is refused rather than risking the stack; no
/// manifest comes near it (serde_yaml's own limit is 128, serde_json's too).
pub const MAX_DEPTH: usize = 100;

/// A document may expand to this many times the nodes it is written with...
const EXPANSION_FACTOR: u64 = 10;
/// ...or to this many nodes, whichever is more, so small documents may use
/// aliases freely.
const EXPANSION_FLOOR: u64 = 10_000;

/// The largest file a manifest names (stub files, recordings, OpenAPI
/// documents) that is read: 64 MiB. Large bodies live beside a recording,
/// so its own file stays small.
pub const MAX_NAMED_BYTES: u64 = 64 << 20;

/// Reads a manifest of at most [`MAX_MANIFEST_BYTES`], never more than one
/// byte past the bound. `Ok(Err(..))` when it is too large or not UTF-8.
pub fn read_manifest(path: &Path) -> std::io::Result<Result<String, SyntaxError>> {
    read_bounded(
        path,
        MAX_MANIFEST_BYTES,
        "the manifest",
        "a manifest may be at most 1 MiB",
        "a manifest describes the sandbox; move data such as stub routes and recordings into files it names (`stub.files`, `replay`)",
    )
}

/// Reads a file a manifest names (`what`, e.g. "the stub file") of at most
/// [`MAX_NAMED_BYTES`]; see [`read_manifest`].
pub fn read_named(path: &Path, what: &str) -> std::io::Result<Result<String, SyntaxError>> {
    read_bounded(
        path,
        MAX_NAMED_BYTES,
        what,
        "a file a manifest names may be at most 64 MiB",
        "split it, or keep large bodies in files beside it",
    )
}

fn read_bounded(
    path: &Path,
    limit: u64,
    what: &str,
    rule: &str,
    help: &str,
) -> std::io::Result<Result<String, SyntaxError>> {
    let file = std::fs::File::open(path)?;
    let declared = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::new();
    if declared <= limit {
        file.take(limit + 1).read_to_end(&mut bytes)?;
    }
    let length = declared.max(bytes.len() as u64);
    if length > limit {
        return Ok(Err(SyntaxError {
            at: (1, 1),
            message: format!(
                "{what} is {}; {rule}",
                size(length, limit, bytes.len() as u64 > limit)
            ),
            help: Some(help.into()),
        }));
    }
    Ok(text(bytes, what))
}

/// A size over `limit` for messages: `1.3 MiB`, or the bytes when that would
/// read as the limit itself; `more than` when only a prefix was read.
fn size(bytes: u64, limit: u64, partial: bool) -> String {
    let mib = |n: u64| format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64);
    let shown = if mib(bytes) == mib(limit) {
        format!("{bytes} bytes")
    } else {
        mib(bytes)
    };
    if partial {
        format!("more than {shown}")
    } else {
        shown
    }
}

/// `bytes` as text, or where the first byte that is not UTF-8 is. A UTF-8
/// byte order mark is dropped (editors do not count it as a column).
pub fn text(bytes: Vec<u8>, what: &str) -> Result<String, SyntaxError> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(SyntaxError {
            at: (1, 1),
            message: format!("{what} is UTF-16 text; it must be UTF-8"),
            help: Some("save the file as UTF-8 (your editor's encoding setting)".into()),
        });
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(text)
        }
        Err(error) => {
            let valid_up_to = error.utf8_error().valid_up_to();
            let bytes = error.as_bytes();
            let before = std::str::from_utf8(&bytes[..valid_up_to]).unwrap_or_default();
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            Err(SyntaxError {
                at: (line, column),
                message: format!(
                    "{what} is not UTF-8 text: byte 0x{:02x} here is not part of a UTF-8 character",
                    bytes[valid_up_to]
                ),
                help: Some("save the file as UTF-8 (your editor's encoding setting)".into()),
            })
        }
    }
}

/// One open collection while scanning.
struct Open {
    anchor: usize,
    /// Nodes below it and itself, with aliases expanded.
    size: u64,
    /// Levels below it and itself, with aliases expanded.
    height: usize,
}

/// Walks `text`'s YAML events and refuses a document that aliases would
/// expand past its bound or nest deeper than [`MAX_DEPTH`]; a syntax error is
/// refused too, so no parser ever reads a text this scan did not finish.
pub fn check_yaml(text: &str) -> Result<(), SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    // Per anchor id: its expanded size and height.
    let mut anchors: HashMap<usize, (u64, usize)> = HashMap::new();
    let mut open: Vec<Open> = Vec::new();
    // Nodes as written, and as expanded so far.
    let mut written: u64 = 0;
    let mut expanded: u64 = 0;
    // Where each alias is, with the expanded count once it is read.
    let mut aliases: Vec<(At, u64)> = Vec::new();
    loop {
        let (event, mark) = parser.next_token().map_err(|error| SyntaxError {
            at: position(error.marker()),
            message: format!("YAML syntax error: {}", error.info()),
            help: None,
        })?;
        let at = position(&mark);
        // A finished node: its anchor, expanded size and height.
        let done = match event {
            Event::StreamEnd => break,
            Event::Scalar(_, _, anchor, _) => {
                written += 1;
                expanded = expanded.saturating_add(1);
                Some((anchor, 1, 1))
            }
            Event::Alias(id) => {
                written += 1;
                let (size, height) = anchors.get(&id).copied().unwrap_or((1, 1));
                expanded = expanded.saturating_add(size);
                aliases.push((at, expanded));
                if open.len() + height > MAX_DEPTH {
                    return Err(too_deep(at, "this alias"));
                }
                Some((0, size, height))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                written += 1;
                expanded = expanded.saturating_add(1);
                if open.len() >= MAX_DEPTH {
                    return Err(too_deep(at, "the document"));
                }
                open.push(Open {
                    anchor,
                    size: 1,
                    height: 1,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                open.pop().map(|done| (done.anchor, done.size, done.height))
            }
            _ => None,
        };
        if let Some((anchor, size, height)) = done {
            if anchor != 0 {
                anchors.insert(anchor, (size, height));
            }
            if let Some(parent) = open.last_mut() {
                parent.size = parent.size.saturating_add(size);
                parent.height = parent.height.max(height + 1);
            }
        }
    }
    let bound = EXPANSION_FLOOR.max(written.saturating_mul(EXPANSION_FACTOR));
    if let Some((at, _)) = aliases.iter().find(|(_, count)| *count > bound) {
        return Err(SyntaxError {
            at: *at,
            message: format!(
                "aliases expand the document past {bound} nodes here; it is written with {written}"
            ),
            help: Some(format!(
                "a document may expand through aliases (`*name`) to at most {EXPANSION_FACTOR} times its own size; write the repeated values out, or use fewer aliases"
            )),
        });
    }
    Ok(())
}

fn too_deep(at: At, what: &str) -> SyntaxError {
    SyntaxError {
        at,
        message: format!("{what} nests deeper than {MAX_DEPTH} levels"),
        help: Some("a manifest needs only a few levels; flatten the value".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_may_repeat_small_anchors_freely() {
        let text = "a: &x {k: [1, 2, 3]}\nb: *x\nc: *x\nd: [*x, *x, *x]\n";
        assert_eq!(check_yaml(text), Ok(()));
    }

    #[test]
    fn a_billion_laughs_is_refused_at_the_alias_that_crosses_the_bound() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (name, previous) in ["b", "c", "d", "e", "f", "g"].iter().zip("abcdef".chars()) {
            let aliases = vec![format!("*{previous}"); 9].join(", ");
            text.push_str(&format!("{name}: &{name} [{aliases}]\n"));
        }
        let error = check_yaml(&text).unwrap_err();
        // Each alias of `d` adds 7381 nodes: the first on `e`'s line crosses 10k.
        assert_eq!(error.at.0, 5, "{error:?}");
        assert!(error.message.contains("past 10000 nodes"), "{error:?}");
    }

    #[test]
    fn depth_is_bounded_as_written_and_as_expanded() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let error = check_yaml(&deep).unwrap_err();
        assert_eq!(error.at, (1, MAX_DEPTH + 1));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(check_yaml(&ok), Ok(()));
        // Each alias adds the anchor's height where it is used.
        let half = MAX_DEPTH / 2 + 1;
        let text = format!(
            "a: &a {}1{}\nb: {}*a{}\n",
            "[".repeat(half),
            "]".repeat(half),
            "[".repeat(half),
            "]".repeat(half)
        );
        let error = check_yaml(&text).unwrap_err();
        assert_eq!(error.at.0, 2, "{error:?}");
    }

    #[test]
    fn text_names_the_first_byte_that_is_not_utf8() {
        let error = text(b"a: 1\nbb: \xc3\x28\n".to_vec(), "the manifest").unwrap_err();
        assert_eq!(error.at, (2, 5));
        assert_eq!(text(b"\xef\xbb\xbfa: 1\n".to_vec(), "x").unwrap(), "a: 1\n");
        assert!(
            text(b"\xff\xfea\x00".to_vec(), "the manifest")
                .unwrap_err()
                .message
                .contains("UTF-16")
        );
    }

    #[test]
    fn sizes_read_as_mib_unless_that_reads_as_the_bound() {
        let limit = MAX_MANIFEST_BYTES;
        assert_eq!(size(1_363_149, limit, false), "1.3 MiB");
        assert_eq!(size((1 << 20) + 1, limit, false), "1048577 bytes");
        assert_eq!(size(5 << 20, limit, true), "more than 5.0 MiB");
    }
}
