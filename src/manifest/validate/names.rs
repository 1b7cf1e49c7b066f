//! Names: entry and sandbox names, reserved names, environment variable names,
//! and suggestions for typos.

use std::path::Path;

use super::super::{is_valid_name, name_from_folder};

/// Names that no entry may take: the registry's network alias.
pub(super) const RESERVED: &[&str] = &["registry"];

/// The closest of `candidates` to `word`, when it is close enough to be a typo.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word_lower, c), *c))
        .filter(|(distance, candidate)| {
            *distance <= 2.max(candidate.len() / 3) && *distance < candidate.len().max(word.len())
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

pub(super) fn name_help(name: &str) -> String {
    let fixed = name_from_folder(Path::new(name));
    let rule =
        "use lowercase letters, digits and `-`, starting with a letter, at most 40 characters";
    if is_valid_name(&fixed) && fixed != name {
        format!("{rule}, e.g. `{fixed}`")
    } else {
        rule.to_owned()
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
