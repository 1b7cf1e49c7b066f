//! gRPC status codes, by name (`NOT_FOUND`) or number (5).

/// The codes in order: a code's number is its index.
pub const NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

pub const OK: u32 = 0;
pub const CANCELLED: u32 = 1;
pub const UNKNOWN: u32 = 2;
pub const INVALID_ARGUMENT: u32 = 3;
pub const RESOURCE_EXHAUSTED: u32 = 8;
pub const UNIMPLEMENTED: u32 = 12;
pub const INTERNAL: u32 = 13;
pub const UNAVAILABLE: u32 = 14;

/// The code a manifest names: a name (any case) or a number 0..16.
pub fn parse(text: &str) -> Option<u32> {
    let text = text.trim();
    if let Ok(number) = text.parse::<u32>() {
        return (number < NAMES.len() as u32).then_some(number);
    }
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
        .map(|i| i as u32)
}

/// A code's name; `CODE_<n>` for one gRPC does not define.
pub fn name(code: u32) -> String {
    NAMES
        .get(code as usize)
        .map_or_else(|| format!("CODE_{code}"), |n| (*n).to_owned())
}
