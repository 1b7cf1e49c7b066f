//! The recording file format (PRODUCT.md section 4): what a `record`
//! dependency writes and a `replay` dependency answers from.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

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
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

impl Recording {
    pub fn new() -> Self {
        Recording {
            version: RECORDING_VERSION,
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
                query: BTreeMap::from([("q".into(), "x".into())]),
                headers: BTreeMap::new(),
                body: None,
                body_base64: None,
            },
            response: RecordedResponse {
                status: 200,
                headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
                body: Some("{\"id\":1}".into()),
                body_base64: None,
            },
        });
        let text = recording.to_yaml();
        assert_eq!(Recording::parse(&text).unwrap(), recording);
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
