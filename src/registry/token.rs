//! The sandbox's token: what the control interface of its agents (and the
//! registry's `PUT /_sandbox/hosts` and `/_sandbox/healthy`) asks for before
//! changing anything.
//!
//! The CLI makes it when it plans a fresh agent (32 random bytes, hex),
//! writes it into each agent's configuration file (not its environment,
//! which `docker inspect` and the process table show) and into the agent
//! containers' `dev.sandbox.token` label, where later CLI processes read it
//! from the engine. Containers on the sandbox network see neither. Requests
//! carry it as `Authorization: Bearer TOKEN`.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use rand::TryRngCore;
use rand::rngs::OsRng;

/// A fresh token: 32 random bytes from the operating system, as hex.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    if OsRng.try_fill_bytes(&mut bytes).is_err() {
        // No OS randomness: fall back on a generator seeded from what varies
        // between processes, still unguessable from inside the network.
        use rand::{Rng, SeedableRng};
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default()
            ^ u64::from(std::process::id()).rotate_left(32);
        rand::rngs::StdRng::seed_from_u64(seed).fill(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Authorization` header that carries `token`.
pub fn header(token: &str) -> (String, String) {
    ("authorization".to_owned(), format!("Bearer {token}"))
}

/// Whether `headers` carry `expected` (compared in constant time). With no
/// expected token (an agent started by hand, as the tests and benchmarks
/// do) every request is allowed.
pub fn allows(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let Some(given) = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    same(given.trim().as_bytes(), expected.as_bytes())
}

/// Whether a token sent outside HTTP (the tunnel's hello) is `expected`,
/// compared in constant time; with no expected token anything passes, as
/// in [`allows`].
pub fn matches(given: Option<&str>, expected: Option<&str>) -> bool {
    match (expected, given) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(expected), Some(given)) => same(given.as_bytes(), expected.as_bytes()),
    }
}

/// What a refused request is told.
pub const REFUSED: &str = "this changes the sandbox and needs its token: send `Authorization: Bearer TOKEN` (the `sandbox` CLI reads it from the agent container's dev.sandbox.token label)";

/// Byte equality whose time does not depend on where the bytes differ.
fn same(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let difference = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_digits_and_differ() {
        let a = generate();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, generate());
    }

    #[test]
    fn only_the_right_bearer_passes() {
        let mut headers = HeaderMap::new();
        assert!(allows(&headers, None));
        assert!(!allows(&headers, Some("abc")));
        headers.insert(AUTHORIZATION, "Bearer abd".parse().unwrap());
        assert!(!allows(&headers, Some("abc")));
        headers.insert(AUTHORIZATION, "Bearer ab".parse().unwrap());
        assert!(!allows(&headers, Some("abc")));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(!allows(&headers, Some("abc")));
        headers.insert(AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert!(allows(&headers, Some("abc")));
    }
}
