//! The recording file format (PRODUCT.md section 4): what a `record`
//! dependency writes and a `replay` dependency answers from.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// The only recording version this build reads and writes.
pub const RECORDING_VERSION: u32 = 1;

/// Header names always stored as `<redacted>`.
pub const DEFAULT_REDACT: [&str; 4] = [
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// What a redacted header value is replaced with.
pub const REDACTED: &str = "<redacted>";

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    pub version: u32,
    /// The `.proto` files (relative to the manifest's folder) its gRPC
    /// messages were recorded with, as JSON; replay compiles them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proto: Vec<String>,
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Query parameters, percent-decoded: a name's one value, or its
    /// values in the order they came (`tag: [a, b]` for `?tag=a&tag=b`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: Query,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// A body over 64 KiB: the file beside the recording that holds it,
    /// named by its sha256 (`bodies/<sha256>`); replay matches a request
    /// body of the same sha256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<String>,
}

/// A recorded request's query: each name with its values.
pub type Query = BTreeMap<String, QueryValues>;

/// The values of one query parameter, in the order they came; never empty.
/// One value is written as a string (as every recording before repeated
/// names were kept), several as a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryValues(Vec<String>);

impl QueryValues {
    /// A parameter with one value.
    pub fn one(value: impl Into<String>) -> Self {
        QueryValues(vec![value.into()])
    }

    /// The values, in order; at least one.
    pub fn values(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for QueryValues {
    /// `a` for one value, `[a, b]` for several (for messages).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => f.write_str(one),
            many => write!(f, "[{}]", many.join(", ")),
        }
    }
}

/// The query of `?a=1&b=x&a=2` as a recording holds it: `a: [1, 2], b: x`.
pub fn query_from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Query
where
    K: Into<String>,
    V: Into<String>,
{
    let mut query = Query::new();
    for (name, value) in pairs {
        query
            .entry(name.into())
            .or_insert_with(|| QueryValues(Vec::new()))
            .0
            .push(value.into());
    }
    query
}

impl Serialize for QueryValues {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => {
                let mut seq = serializer.serialize_seq(Some(many.len()))?;
                for value in many {
                    seq.serialize_element(value)?;
                }
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for QueryValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Values;

        impl<'de> Visitor<'de> for Values {
            type Value = QueryValues;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<QueryValues, E> {
                Ok(QueryValues::one(value))
            }

            // A YAML scalar such as `page: 1` reads as a number here (the
            // reader cannot know a list was not meant); its text is kept,
            // as reading it into a string did before lists were allowed.
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<QueryValues, E> {
                Ok(QueryValues::one(value.to_string()))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<QueryValues, E> {
                Ok(QueryValues::one(value.to_string()))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<QueryValues, E> {
                Ok(QueryValues::one(value.to_string()))
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<QueryValues, E> {
                Ok(QueryValues::one(value.to_string()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<QueryValues, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element::<String>()? {
                    values.push(value);
                }
                if values.is_empty() {
                    return Err(de::Error::invalid_length(
                        0,
                        &"at least one value (leave the name out for none)",
                    ));
                }
                Ok(QueryValues(values))
            }
        }

        deserializer.deserialize_any(Values)
    }
}

impl JsonSchema for QueryValues {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("QueryValues")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A query parameter's value, or its values in order when the name is repeated.",
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1}
            ]
        })
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    pub status: u16,
    /// The caller went away (or the upstream failed) before the body ended:
    /// what was received is kept, and this is no complete answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    /// A body over 64 KiB: the file beside the recording that holds it,
    /// named by its sha256 (`bodies/<sha256>`), instead of `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// How the answer arrived, for `replay: { timing: recorded }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
}

/// How a recorded answer arrived (PRODUCT.md section 6.3): the wait for its
/// headers, then its body as chunks, each with the time since the one
/// before. Chunks closer together than [`Timing::MERGE_MS`] are stored as
/// one, and a recording keeps at most [`Timing::MAX_CHUNKS`] of them (the
/// rest of the body joins the last), so a long download stays a short line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Milliseconds from the request sent upstream to the response headers.
    pub first_byte_ms: u64,
    /// `[bytes, ms]`: the body's chunks in order, each with the
    /// milliseconds since the previous chunk (the first: since the
    /// headers). Left out when the body came with its headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<(u64, u64)>,
}

impl Timing {
    /// Chunks that arrive closer together than this are one chunk.
    pub const MERGE_MS: u64 = 5;
    /// The most chunks a recorded answer keeps.
    pub const MAX_CHUNKS: usize = 256;

    /// A body of `bytes` that arrived `gap_ms` after the previous chunk.
    pub fn add_chunk(&mut self, bytes: u64, gap_ms: u64) {
        let full = self.chunks.len() >= Self::MAX_CHUNKS;
        match self.chunks.last_mut() {
            Some(last) if gap_ms < Self::MERGE_MS || full => last.0 += bytes,
            _ => self.chunks.push((bytes, gap_ms)),
        }
    }

    /// Leaves the chunks out when the whole body came at once with the
    /// headers: nothing to pace.
    pub fn settle(&mut self) {
        if let [(_, gap)] = self.chunks.as_slice()
            && *gap < Self::MERGE_MS
        {
            self.chunks.clear();
        }
    }
}

/// A body as a recording stores it: text when UTF-8, else base64; nothing
/// when empty. Returns `(body, body_base64)`.
pub fn stored_body(bytes: &[u8]) -> (Option<String>, Option<String>) {
    use base64::Engine as _;
    if bytes.is_empty() {
        (None, None)
    } else {
        match std::str::from_utf8(bytes) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            ),
        }
    }
}

/// The bytes of a stored body (`body_base64` wins, as replay reads it).
pub fn body_bytes(text: Option<&str>, base64: Option<&str>) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    match (text, base64) {
        (_, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| format!("body_base64 is not base64: {e}")),
        (Some(text), None) => Ok(text.as_bytes().to_vec()),
        (None, None) => Ok(Vec::new()),
    }
}

impl Recording {
    pub fn new() -> Self {
        Recording {
            version: RECORDING_VERSION,
            proto: Vec::new(),
            interactions: Vec::new(),
        }
    }

    /// Parses a recording; the error carries the line and column when the
    /// YAML parser knows them.
    pub fn parse(text: &str) -> Result<Recording, (Option<(usize, usize)>, String)> {
        if text.trim().is_empty() {
            return Ok(Recording::new());
        }
        super::bounds::check_yaml(text).map_err(|error| (Some(error.at), error.message))?;
        let recording: Recording = serde_yaml::from_str(text).map_err(|error| {
            let at = error.location().map(|l| (l.line(), l.column()));
            (at, error.to_string())
        })?;
        if recording.version != RECORDING_VERSION {
            return Err((
                None,
                format!(
                    "recording version {} is not supported; this build reads version {RECORDING_VERSION}",
                    recording.version
                ),
            ));
        }
        recording.check_bodies(text)?;
        Ok(recording)
    }

    /// Every `body_base64` must decode: a replay could not answer it.
    fn check_bodies(&self, text: &str) -> Result<(), (Option<(usize, usize)>, String)> {
        use base64::Engine as _;
        for (i, interaction) in self.interactions.iter().enumerate() {
            for (side, body) in [
                ("request", &interaction.request.body_base64),
                ("response", &interaction.response.body_base64),
            ] {
                let Some(body) = body else { continue };
                if let Err(error) = base64::engine::general_purpose::STANDARD.decode(body.trim()) {
                    // Where the field is, when the position tree can say.
                    let at = super::tree::parse(text).ok().flatten().and_then(|root| {
                        let interaction = root.entry("interactions")?.value.items()?.get(i)?;
                        let field = interaction.entry(side)?.value.entry("body_base64")?;
                        Some(field.value.at)
                    });
                    return Err((
                        at,
                        format!(
                            "interaction {}: `{side}.body_base64` is not base64 ({error})",
                            i + 1
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("a recording always serializes")
    }

    /// Writes the recording so that a crash at any moment leaves either the
    /// previous complete file or the new one: a temporary file in the same
    /// folder, flushed to disk, then renamed over the target.
    pub fn write_atomically(&self, path: &Path) -> std::io::Result<()> {
        let folder = path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(folder)?;
        let mut file = tempfile::Builder::new()
            .prefix(".sandbox-recording-")
            .suffix(".tmp")
            .tempfile_in(folder)?;
        file.write_all(self.to_yaml().as_bytes())?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_body_that_is_not_base64_is_refused_at_its_line() {
        let text = "version: 1\ninteractions:\n  - request: { method: GET, path: /x }\n    response:\n      status: 200\n      body_base64: \"!!!\"\n";
        let (at, message) = Recording::parse(text).unwrap_err();
        assert_eq!(at, Some((6, 20)), "{message}");
        assert!(
            message.contains("`response.body_base64` is not base64"),
            "{message}"
        );
        let good = text.replace("!!!", "iVBORw0KGgo=");
        assert!(Recording::parse(&good).is_ok());
    }
    use super::*;

    #[test]
    fn recordings_round_trip_through_yaml() {
        let mut recording = Recording::new();
        recording.interactions.push(Interaction {
            request: RecordedRequest {
                method: "GET".into(),
                path: "/items/1".into(),
                query: query_from_pairs([("q", "x"), ("tag", "a"), ("tag", "b")]),
                headers: BTreeMap::new(),
                body: None,
                body_base64: None,
                body_file: None,
            },
            response: RecordedResponse {
                status: 200,
                headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
                body: Some("{\"id\":1}".into()),
                body_base64: None,
                incomplete: false,
                body_file: None,
                timing: None,
            },
        });
        let text = recording.to_yaml();
        assert!(text.contains("q: x\n"), "{text}");
        assert!(text.contains("tag:\n      - a\n      - b\n"), "{text}");
        assert_eq!(Recording::parse(&text).unwrap(), recording);
        // And through JSON, as the agent's configuration carries it.
        let json = serde_json::to_string(&recording).unwrap();
        assert_eq!(serde_json::from_str::<Recording>(&json).unwrap(), recording);
    }

    #[test]
    fn a_query_value_is_a_string_or_a_list_of_them() {
        let text = "version: 1\ninteractions:\n  - request: { method: GET, path: /x, query: { page: 1, q: x, tag: [b, a], on: true } }\n    response: { status: 200 }\n";
        let query = &Recording::parse(text).unwrap().interactions[0]
            .request
            .query;
        let shown: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(shown, ["on=true", "page=1", "q=x", "tag=[b, a]"]);
        assert_eq!(query["tag"].values(), ["b", "a"]);
        for (bad, expected) in [
            ("tag: []", "at least one value"),
            ("tag: { a: b }", "a string or a list of strings"),
            ("tag: [[a]]", "expected a string"),
        ] {
            let text = text.replace("tag: [b, a]", bad);
            let (at, message) = Recording::parse(&text).unwrap_err();
            assert!(at.is_some(), "{message}");
            assert!(message.contains(expected), "{bad}: {message}");
        }
    }

    #[test]
    fn timing_merges_close_chunks_and_keeps_a_bounded_list() {
        let mut timing = Timing::default();
        timing.add_chunk(10, 0);
        timing.add_chunk(5, 2);
        timing.add_chunk(7, 300);
        timing.add_chunk(1, 1);
        assert_eq!(timing.chunks, [(15, 0), (8, 300)]);
        for _ in 0..1000 {
            timing.add_chunk(1, 50);
        }
        assert_eq!(timing.chunks.len(), Timing::MAX_CHUNKS);
        let total: u64 = timing.chunks.iter().map(|(bytes, _)| bytes).sum();
        assert_eq!(total, 1023, "no byte is lost to the cap");
        let mut at_once = Timing::default();
        at_once.add_chunk(100, 0);
        at_once.settle();
        assert!(at_once.chunks.is_empty());
        let text = "version: 1\ninteractions:\n  - request: { method: GET, path: /x }\n    response: { status: 200, timing: { first_byte_ms: 120, chunks: [[3, 0], [4, 300]] } }\n";
        let timing = Recording::parse(text).unwrap().interactions[0]
            .response
            .timing
            .clone()
            .unwrap();
        assert_eq!(timing.first_byte_ms, 120);
        assert_eq!(timing.chunks, [(3, 0), (4, 300)]);
        let (at, message) =
            Recording::parse(&text.replace("first_byte_ms", "first_byte")).unwrap_err();
        assert!(
            at.is_some() && message.contains("unknown field"),
            "{message}"
        );
    }

    #[test]
    fn a_torn_recording_names_its_line() {
        let (at, message) =
            Recording::parse("version: 1\ninteractions:\n  - request: [\n").unwrap_err();
        assert!(at.is_some(), "{message}");
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.yaml");
        Recording::new().write_atomically(&path).unwrap();
        Recording::new().write_atomically(&path).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("rec.yaml")]);
    }
}
