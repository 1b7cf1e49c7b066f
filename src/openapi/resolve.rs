//! Following `$ref`s inside a bundle (every one is `#/...` there).

use serde_json::Value;

/// How many `$ref`s in a row are followed before giving up (a loop).
const MAX_HOPS: usize = 32;

/// The value a `#/...` reference points at.
pub fn target<'a>(document: &'a Value, reference: &str) -> Option<&'a Value> {
    document.pointer(reference.strip_prefix('#')?)
}

/// Follows `value`'s `$ref`s: where it really is (its pointer) and what.
pub fn follow<'a>(document: &'a Value, pointer: &str, value: &'a Value) -> (String, &'a Value) {
    let mut pointer = pointer.to_owned();
    let mut value = value;
    for _ in 0..MAX_HOPS {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match target(document, reference) {
            Some(found) => {
                pointer = reference.trim_start_matches('#').to_owned();
                value = found;
            }
            None => break,
        }
    }
    (pointer, value)
}

/// Follows a schema's `$ref`s.
pub fn schema<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    follow(document, "", value).1
}
