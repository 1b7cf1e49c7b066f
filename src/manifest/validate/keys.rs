//! The keys each level of the manifest allows: the source of "unknown key"
//! errors and their suggestions.

pub const TOP: &[&str] = &["version", "name", "owner", "service", "dependencies"];
pub const SERVICE: &[&str] = &[
    "name", "owner", "build", "image", "command", "env", "ports", "health", "checks", "api",
    "debug", "host", "watch", "limits", "faults",
];
pub const DEPENDENCY: &[&str] = &[
    "stub", "replay", "record", "image", "build", "owner", "command", "env", "ports", "health",
    "checks", "api", "debug", "host", "watch", "limits", "faults",
];
/// The keys that choose a dependency's kind.
pub const KINDS: &[&str] = &["stub", "replay", "record", "image", "build"];
/// Keys that only make sense for a container of the entry's own.
pub const CONTAINER_ONLY: &[&str] = &[
    "command", "env", "ports", "health", "debug", "host", "watch",
];
pub const BUILD: &[&str] = &["context", "dockerfile", "args"];
pub const HEALTH: &[&str] = &[
    "http", "tcp", "exec", "port", "status", "contains", "timeout",
];
pub const CHECK: &[&str] = &["name", "request", "expect"];
pub const CHECK_REQUEST: &[&str] = &["method", "path", "port", "headers", "json", "body"];
pub const EXPECT: &[&str] = &["status", "contains", "json"];
pub const API: &[&str] = &["openapi", "description"];
pub const DEBUG: &[&str] = &["port", "command", "env"];
pub const HOST: &[&str] = &["command", "dir", "port", "env"];
pub const WATCH: &[&str] = &["path", "action", "target", "ignore"];
pub const STUB: &[&str] = &[
    "port", "routes", "files", "wiremock", "openapi", "validate", "proto",
];
pub const ROUTE: &[&str] = &["match", "respond"];
pub const ROUTE_MATCH: &[&str] = &["method", "path", "query", "headers", "json", "body", "grpc"];
pub const RESPOND: &[&str] = &[
    "status",
    "headers",
    "json",
    "body",
    "delay",
    "grpc_status",
    "message",
    "stream",
];
pub const RECORD: &[&str] = &["upstream", "to", "redact", "port", "proto"];
pub const REPLAY: &[&str] = &["file", "timing"];
pub const LIMITS: &[&str] = &["rate", "burst", "concurrency", "per_caller"];
pub const FAULTS: &[&str] = &[
    "latency",
    "jitter",
    "error_rate",
    "error_status",
    "reset_rate",
    "bandwidth",
    "seed",
];
pub const ROUTE_FILE: &[&str] = &["routes"];

/// The key lists above, the serde model and `sandbox schema` must agree for
/// every map of the manifest: validation reports unknown keys from these
/// lists, serde reads the model, and editors complete from the schema.
#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    use super::*;
    use crate::manifest::model::*;
    use crate::manifest::schema::json_schema;

    /// The fields serde knows for `T`, from its "unknown field" error.
    fn serde_keys<T: DeserializeOwned>() -> Vec<String> {
        let error = match serde_yaml::from_str::<T>("__no_such_key__: 1") {
            Ok(_) => panic!("an unknown key is accepted"),
            Err(error) => error.to_string(),
        };
        let expected = error
            .split_once("expected")
            .unwrap_or_else(|| panic!("no list of fields in: {error}"))
            .1;
        let mut keys: Vec<String> = expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    }

    /// The property names of a map in the schema.
    fn schema_keys(schema: &Value, pointer: &str) -> Vec<String> {
        let mut keys: Vec<String> = schema
            .pointer(pointer)
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("the schema has no {pointer}"))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        keys.sort();
        keys
    }

    #[test]
    fn key_lists_the_model_and_the_schema_agree_for_every_map() {
        let schema = json_schema();
        // (list, serde's fields, where the schema lists them)
        let maps: Vec<(&str, &[&str], Vec<String>, &str)> = vec![
            ("TOP", TOP, serde_keys::<Manifest>(), "/properties"),
            (
                "SERVICE",
                SERVICE,
                serde_keys::<Service>(),
                "/$defs/Service/properties",
            ),
            (
                "DEPENDENCY",
                DEPENDENCY,
                serde_keys::<Dependency>(),
                "/$defs/Dependency/properties",
            ),
            (
                "BUILD",
                BUILD,
                serde_keys::<Build>(),
                "/$defs/Build/oneOf/1/properties",
            ),
            (
                "HEALTH",
                HEALTH,
                serde_keys::<Health>(),
                "/$defs/Health/properties",
            ),
            (
                "CHECK",
                CHECK,
                serde_keys::<Check>(),
                "/$defs/Check/properties",
            ),
            (
                "CHECK_REQUEST",
                CHECK_REQUEST,
                serde_keys::<CheckRequest>(),
                "/$defs/CheckRequest/properties",
            ),
            (
                "EXPECT",
                EXPECT,
                serde_keys::<Expect>(),
                "/$defs/Expect/properties",
            ),
            ("API", API, serde_keys::<Api>(), "/$defs/Api/properties"),
            (
                "DEBUG",
                DEBUG,
                serde_keys::<Debug>(),
                "/$defs/Debug/properties",
            ),
            ("HOST", HOST, serde_keys::<Host>(), "/$defs/Host/properties"),
            (
                "WATCH",
                WATCH,
                serde_keys::<WatchRule>(),
                "/$defs/WatchRule/properties",
            ),
            ("STUB", STUB, serde_keys::<Stub>(), "/$defs/Stub/properties"),
            (
                "ROUTE",
                ROUTE,
                serde_keys::<Route>(),
                "/$defs/Route/properties",
            ),
            (
                "ROUTE_MATCH",
                ROUTE_MATCH,
                serde_keys::<RouteMatch>(),
                "/$defs/RouteMatch/properties",
            ),
            (
                "RESPOND",
                RESPOND,
                serde_keys::<Respond>(),
                "/$defs/Respond/properties",
            ),
            (
                "REPLAY",
                REPLAY,
                serde_keys::<Replay>(),
                "/$defs/Replay/oneOf/1/properties",
            ),
            (
                "RECORD",
                RECORD,
                serde_keys::<Record>(),
                "/$defs/Record/properties",
            ),
            (
                "LIMITS",
                LIMITS,
                serde_keys::<Limits>(),
                "/$defs/Limits/properties",
            ),
            (
                "FAULTS",
                FAULTS,
                serde_keys::<Faults>(),
                "/$defs/Faults/properties",
            ),
        ];
        let mut covered = Vec::new();
        for (name, list, serde, pointer) in &maps {
            assert_eq!(&sorted(list), serde, "keys::{name} and the model differ");
            assert_eq!(
                sorted(list),
                schema_keys(&schema, pointer),
                "keys::{name} and the schema ({pointer}) differ"
            );
            covered.push(pointer.split('/').nth(2).unwrap_or("").to_owned());
        }
        // Every map the schema describes has a list here.
        for (def, body) in schema["$defs"].as_object().unwrap() {
            let is_map = body.get("properties").is_some()
                || body["oneOf"]
                    .as_array()
                    .is_some_and(|ways| ways.iter().any(|w| w.get("properties").is_some()));
            assert!(
                !is_map || covered.contains(def),
                "the schema's map `{def}` has no key list in validate::keys"
            );
        }
        // The kinds and container-only keys are keys of a dependency.
        for key in KINDS.iter().chain(CONTAINER_ONLY) {
            assert!(DEPENDENCY.contains(key), "`{key}` is not a dependency key");
        }
        assert_eq!(
            serde_yaml::from_str::<super::super::RouteFile>("__no_such_key__: 1")
                .map(|_| ())
                .unwrap_err()
                .to_string()
                .split('`')
                .nth(3),
            Some(ROUTE_FILE[0])
        );
    }
}
