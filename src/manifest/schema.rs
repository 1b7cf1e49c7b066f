//! The manifest's JSON Schema (`sandbox schema`), for editors.
//!
//! schemars derives the skeleton from the model; the rules that the derive
//! cannot see (a `build` that is a string or a map, name patterns, port and
//! status ranges, exactly one kind per dependency) are written onto it here,
//! so the schema describes what validation accepts.

use serde_json::{Value, json};

use super::Manifest;

const NAME_PATTERN: &str = "^[a-z][a-z0-9-]{0,39}$";
const ENV_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]*$";

/// The JSON Schema of a recording file (`sandbox schema --recording`).
pub fn recording_schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(super::Recording)).unwrap_or(Value::Null);
    patch(
        &mut schema,
        "/properties/version",
        json!({"type": "integer", "const": super::recording::RECORDING_VERSION}),
    );
    schema
}

/// The JSON Schema of `sandbox.yaml`.
pub fn json_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or(Value::Null);

    patch(
        &mut schema,
        "/properties/version",
        json!({"type": "integer", "const": 1}),
    );
    patch(
        &mut schema,
        "/properties/name",
        json!({"pattern": NAME_PATTERN}),
    );
    patch(
        &mut schema,
        "/properties/dependencies",
        json!({"propertyNames": {"pattern": NAME_PATTERN, "not": {"const": "registry"}}}),
    );
    patch(
        &mut schema,
        "/$defs/Service/properties/name",
        json!({"pattern": NAME_PATTERN}),
    );
    patch(
        &mut schema,
        "/$defs/Service",
        json!({"oneOf": [{"required": ["build"]}, {"required": ["image"]}]}),
    );
    let kinds: Vec<Value> = ["stub", "replay", "record", "image", "build"]
        .iter()
        .map(|k| json!({"required": [k]}))
        .collect();
    patch(&mut schema, "/$defs/Dependency", json!({ "oneOf": kinds }));
    patch(
        &mut schema,
        "/$defs/Health",
        json!({"oneOf": [{"required": ["http"]}, {"required": ["tcp"]}, {"required": ["exec"]}]}),
    );

    // A build is a context folder, or a map; a replay is a file, or a map.
    for (def, short) in [
        ("Build", "A build context folder with a Dockerfile inside."),
        (
            "Replay",
            "A recording (`.yaml`, `.yml`) or a HAR 1.2 file (`.har`).",
        ),
    ] {
        if let Some(node) = schema.pointer_mut(&format!("/$defs/{def}")) {
            let description = node.get("description").cloned().unwrap_or(Value::Null);
            let mut map = node.take();
            if let Some(object) = map.as_object_mut() {
                object.remove("description");
            }
            *node = json!({
                "description": description,
                "oneOf": [{"type": "string", "description": short}, map],
            });
        }
    }

    for entry in ["Service", "Dependency"] {
        patch(
            &mut schema,
            &format!("/$defs/{entry}/properties/ports/additionalProperties"),
            json!({"minimum": 1}),
        );
        patch(
            &mut schema,
            &format!("/$defs/{entry}/properties/env"),
            json!({"propertyNames": {"pattern": ENV_PATTERN}}),
        );
    }
    for port in ["Debug", "Stub", "Record"] {
        patch(
            &mut schema,
            &format!("/$defs/{port}/properties/port"),
            json!({"minimum": 1}),
        );
    }
    for status in ["Health", "Expect", "Respond"] {
        patch(
            &mut schema,
            &format!("/$defs/{status}/properties/status"),
            json!({"minimum": 100, "maximum": 599}),
        );
    }
    patch(
        &mut schema,
        "/$defs/Faults/properties/error_status",
        json!({"minimum": 400, "maximum": 599}),
    );
    for share in ["error_rate", "reset_rate"] {
        patch(
            &mut schema,
            &format!("/$defs/Faults/properties/{share}"),
            json!({"minimum": 0, "maximum": 1}),
        );
    }
    for count in ["burst", "concurrency"] {
        patch(
            &mut schema,
            &format!("/$defs/Limits/properties/{count}"),
            json!({"minimum": 1}),
        );
    }
    patch(
        &mut schema,
        "/$defs/Record/properties/upstream",
        json!({"pattern": "^http://[^/?#@]+/?$"}),
    );
    schema
}

/// Merges `extra`'s keys into the object at `pointer`, when it exists.
fn patch(schema: &mut Value, pointer: &str, extra: Value) {
    if let (Some(Value::Object(target)), Value::Object(extra)) =
        (schema.pointer_mut(pointer), extra)
    {
        target.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_is_a_string_or_a_map_and_keys_are_denied() {
        let schema = json_schema();
        let build = schema
            .pointer("/$defs/Build/oneOf")
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(build[0]["type"], "string");
        assert_eq!(build[1]["additionalProperties"], false);
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema
                .pointer("/$defs/Service/additionalProperties")
                .unwrap(),
            false
        );
        assert_eq!(schema.pointer("/$defs/Duration/type").unwrap(), "string");
        assert!(schema.pointer("/$defs/Rate/pattern").is_some());
        assert_eq!(schema.pointer("/properties/version/const").unwrap(), 1);
    }
}
