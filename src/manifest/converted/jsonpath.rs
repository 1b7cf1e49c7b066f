//! JSONPath as WireMock evaluates it (Jayway JsonPath), run on an RFC 9535
//! implementation (serde_json_path).
//!
//! The two agree on most expressions. Where WireMock's documented examples
//! use Jayway's own syntax, it is rewritten once, when the expression is
//! read: `@.['a']` is `@['a']`, `@.things.size()` and `.length()` are
//! `length(@.things)`, and `@.name =~ /Req.*/i` is
//! `match(@.name, '(?i)Req.*')` (Jayway's `=~` matches the whole string, as
//! `match` does). Jayway also applies a filter to an object itself rather
//! than to its members (`$[?(@.name == 'Tom')]` selects `{"name": "Tom"}`),
//! so every top-level filter is run on an object as on a list of that one
//! object. Anything else Jayway has and RFC 9535 does not (`in`, `size`,
//! `empty`, other functions) fails to parse, and the mapping is refused.

use std::borrow::Cow;

use serde_json::Value;
use serde_json_path::JsonPath;

/// A JSONPath expression, parsed once.
#[derive(Debug, Clone)]
pub struct JsonQuery {
    /// The part before the first top-level filter.
    head: JsonPath,
    /// Each top-level filter with what follows it up to the next, as a
    /// query of its own (`$[?(...)].rest`).
    filters: Vec<JsonPath>,
    /// Jayway's "definite" path: one value or none (no filter, wildcard,
    /// deep scan, union or slice). Its result is the value itself, so an
    /// empty list there still counts as found.
    definite: bool,
}

impl JsonQuery {
    /// Parses a Jayway-style expression; the error says what is wrong and,
    /// where Jayway syntax has an RFC 9535 spelling, how to write it.
    pub fn parse(expression: &str) -> Result<JsonQuery, String> {
        let trimmed = expression.trim();
        if trimmed.is_empty() {
            return Err("the expression is empty".into());
        }
        // Jayway reads `name` and `.name` as `$.name`.
        let mut text = if trimmed.starts_with('$') {
            trimmed.to_owned()
        } else if trimmed.starts_with('[') || trimmed.starts_with('.') {
            format!("${trimmed}")
        } else {
            format!("$.{trimmed}")
        };
        text = rewrite_regex_operators(&text)?;
        text = rewrite_dot_brackets(&text);
        text = rewrite_size_calls(&text)?;
        let pieces = split_filters(&text);
        let parse = |piece: &str| {
            JsonPath::parse(piece).map_err(|error| {
                let shown = if piece == expression {
                    String::new()
                } else {
                    format!(" (read as `{piece}`)")
                };
                format!(
                    "not a JSONPath expression{shown}: {} at character {}",
                    error.message(),
                    error.position()
                )
            })
        };
        let head = parse(&pieces[0])?;
        let filters = pieces[1..]
            .iter()
            .map(|piece| parse(&format!("${piece}")))
            .collect::<Result<Vec<_>, _>>()?;
        let definite = filters.is_empty() && is_definite(&pieces[0]);
        Ok(JsonQuery {
            head,
            filters,
            definite,
        })
    }

    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// What the expression selects in `document`.
    pub fn select<'v>(&self, document: &'v Value) -> Vec<Cow<'v, Value>> {
        let mut nodes: Vec<Cow<'v, Value>> = self
            .head
            .query(document)
            .all()
            .into_iter()
            .map(Cow::Borrowed)
            .collect();
        for filter in &self.filters {
            let mut next = Vec::new();
            for node in &nodes {
                // Jayway filters an object as itself, a list by its items.
                let wrapped;
                let target: &Value = if node.is_object() {
                    wrapped = Value::Array(vec![node.as_ref().clone()]);
                    &wrapped
                } else {
                    node.as_ref()
                };
                next.extend(
                    filter
                        .query(target)
                        .all()
                        .into_iter()
                        .map(|found| Cow::Owned(found.clone())),
                );
            }
            nodes = next;
        }
        nodes
    }

    /// Whether the expression finds something, as WireMock's
    /// `matchesJsonPath` without a nested matcher decides: a definite path
    /// must lead to a value that is not null, any other must select at least
    /// one node.
    pub fn finds(&self, document: &Value) -> bool {
        let nodes = self.select(document);
        if self.definite {
            nodes.first().is_some_and(|node| !node.is_null())
        } else {
            !nodes.is_empty()
        }
    }

    /// The selection as the strings a nested matcher is given, as WireMock
    /// coerces them: nothing for a missing or null value, a string as
    /// itself, a number or boolean as its text, an object as JSON; a list
    /// (what an indefinite path selects, or an array a definite one leads
    /// to) item by item, or whole as JSON when the matcher is `equalToJson`.
    pub fn strings(&self, document: &Value, whole_json: bool) -> Vec<String> {
        let nodes = self.select(document);
        let list: Vec<&Value> = if self.definite {
            match nodes.first().map(Cow::as_ref) {
                None | Some(Value::Null) => return Vec::new(),
                Some(Value::Array(items)) => items.iter().collect(),
                Some(single) => return vec![text_of(single)],
            }
        } else {
            nodes.iter().map(Cow::as_ref).collect()
        };
        if whole_json {
            return vec![Value::Array(list.into_iter().cloned().collect()).to_string()];
        }
        list.into_iter().map(text_of).collect()
    }
}

/// A selected value as text: a string as itself, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// For each character of `text`: whether it is inside a quoted string (the
/// quotes included).
fn quoted_mask(text: &[char]) -> Vec<bool> {
    let mut mask = vec![false; text.len()];
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (index, &c) in text.iter().enumerate() {
        match quote {
            Some(open) => {
                mask[index] = true;
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == open {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                mask[index] = true;
                quote = Some(c);
            }
            None => {}
        }
    }
    mask
}

/// Where the path that ends just before `end` starts (`@.a['b'].c`), if
/// there is one starting with `@` or `$`.
fn path_start(text: &[char], mask: &[bool], end: usize) -> Option<usize> {
    let mut index = end;
    while index > 0 {
        let c = text[index - 1];
        if c == ']' && !mask[index - 1] {
            // Back to the matching `[`, over quoted names.
            let mut depth = 0usize;
            let mut at = index;
            loop {
                if at == 0 {
                    return None;
                }
                at -= 1;
                if mask[at] {
                    continue;
                }
                match text[at] {
                    ']' => depth += 1,
                    '[' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            index = at;
        } else if !mask[index - 1]
            && (c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '*' | '@' | '$'))
        {
            index -= 1;
        } else {
            break;
        }
    }
    matches!(text.get(index), Some('@' | '$')).then_some(index)
}

/// `X =~ /re/flags` becomes `match(X, 're')`.
fn rewrite_regex_operators(text: &str) -> Result<String, String> {
    let mut chars: Vec<char> = text.chars().collect();
    loop {
        let mask = quoted_mask(&chars);
        let Some(at) = (0..chars.len().saturating_sub(1))
            .find(|&i| !mask[i] && chars[i] == '=' && chars[i + 1] == '~')
        else {
            return Ok(chars.into_iter().collect());
        };
        let mut left_end = at;
        while left_end > 0 && chars[left_end - 1] == ' ' {
            left_end -= 1;
        }
        let Some(left_start) = path_start(&chars, &mask, left_end) else {
            return Err("Jayway's `=~` needs a path such as `@.name` on its left".into());
        };
        let mut index = at + 2;
        while chars.get(index) == Some(&' ') {
            index += 1;
        }
        if chars.get(index) != Some(&'/') {
            return Err(
                "Jayway's `=~` needs a regular expression in slashes on its right, e.g. `=~ /Req.*/i`"
                    .into(),
            );
        }
        index += 1;
        let mut pattern = String::new();
        loop {
            match chars.get(index) {
                None => return Err("the regular expression after `=~` has no closing `/`".into()),
                Some('/') => break,
                Some('\\') if chars.get(index + 1) == Some(&'/') => {
                    pattern.push('/');
                    index += 2;
                }
                Some(&c) => {
                    pattern.push(c);
                    index += 1;
                }
            }
        }
        index += 1;
        let mut flags = String::new();
        while let Some(&c) = chars.get(index).filter(|c| c.is_ascii_alphabetic()) {
            if !matches!(c, 'i' | 'm' | 's' | 'x') {
                return Err(format!(
                    "the regular expression flag `{c}` after `=~` is not supported (i, m, s and x are)"
                ));
            }
            flags.push(c);
            index += 1;
        }
        if !flags.is_empty() {
            pattern = format!("(?{flags}){pattern}");
        }
        let literal = pattern.replace('\\', "\\\\").replace('\'', "\\'");
        let left: String = chars[left_start..left_end].iter().collect();
        let replacement: Vec<char> = format!("match({left}, '{literal}')").chars().collect();
        chars.splice(left_start..index, replacement);
    }
}

/// `@.['a']` becomes `@['a']`.
fn rewrite_dot_brackets(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mask = quoted_mask(&chars);
    let mut out = String::with_capacity(text.len());
    for (index, &c) in chars.iter().enumerate() {
        if c == '.'
            && !mask[index]
            && chars.get(index + 1) == Some(&'[')
            && index > 0
            && chars[index - 1] != '.'
        {
            continue;
        }
        out.push(c);
    }
    out
}

/// Jayway's functions called on a path: `size()` and `length()` become
/// RFC 9535's `length(...)`; the others have no RFC spelling.
fn rewrite_size_calls(text: &str) -> Result<String, String> {
    let mut chars: Vec<char> = text.chars().collect();
    loop {
        let mask = quoted_mask(&chars);
        let call = (0..chars.len()).find_map(|i| {
            if mask[i] || chars[i] != '.' {
                return None;
            }
            let name: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            let after = i + 1 + name.len();
            (!name.is_empty()
                && chars.get(after) == Some(&'(')
                && chars.get(after + 1) == Some(&')'))
            .then_some((i, name, after + 2))
        });
        let Some((dot, name, end)) = call else {
            return Ok(chars.into_iter().collect());
        };
        if name != "size" && name != "length" {
            return Err(format!(
                "Jayway's function `.{name}()` has no RFC 9535 JSONPath equivalent; the agent runs RFC 9535 JSONPath"
            ));
        }
        let depth = (0..dot)
            .filter(|&i| !mask[i])
            .fold(0i32, |depth, i| match chars[i] {
                '[' => depth + 1,
                ']' => depth - 1,
                _ => depth,
            });
        if depth <= 0 {
            return Err(format!(
                "Jayway's `.{name}()` outside a filter has no RFC 9535 equivalent; test it in one, e.g. `$[?(length(@.things) == 2)]`"
            ));
        }
        let Some(start) = path_start(&chars, &mask, dot) else {
            return Err(format!(
                "`.{name}()` needs a path such as `@.things` before it"
            ));
        };
        let path: String = chars[start..dot].iter().collect();
        let replacement: Vec<char> = format!("length({path})").chars().collect();
        chars.splice(start..end, replacement);
    }
}

/// Splits before every filter selector at the top level: `$.a[?(...)].b`
/// is `$.a` and `[?(...)].b`.
fn split_filters(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mask = quoted_mask(&chars);
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    for (index, &c) in chars.iter().enumerate() {
        if mask[index] {
            continue;
        }
        match c {
            '[' => {
                if depth == 0 {
                    let next = chars[index + 1..].iter().find(|c| !c.is_whitespace());
                    if next == Some(&'?') && index > start {
                        pieces.push(chars[start..index].iter().collect());
                        start = index;
                    }
                }
                depth += 1;
            }
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    pieces.push(chars[start..].iter().collect());
    pieces
}

/// Jayway's definite path: no deep scan, wildcard, filter, union or slice.
fn is_definite(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mask = quoted_mask(&chars);
    let mut depth = 0usize;
    for (index, &c) in chars.iter().enumerate() {
        if mask[index] {
            continue;
        }
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '*' | '?' => return false,
            '.' if chars.get(index + 1) == Some(&'.') => return false,
            ':' | ',' if depth > 0 => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn finds(expression: &str, document: Value) -> bool {
        JsonQuery::parse(expression).unwrap().finds(&document)
    }

    #[test]
    fn presence_needs_a_value_that_is_not_null() {
        assert!(finds("$.name", json!({"name": "Wiremock"})));
        assert!(!finds("$.name", json!({"price": 15})));
        assert!(!finds("$.name", json!({"name": null})));
        assert!(
            finds("$.empty", json!({"empty": []})),
            "a definite path's empty list is a value"
        );
        assert!(
            finds("name", json!({"name": 1})),
            "Jayway's `name` is `$.name`"
        );
        assert!(!finds("$..missing", json!({"a": {"b": 1}})));
        assert!(
            finds("$..b", json!({"a": {"b": null}})),
            "an indefinite path found a node"
        );
    }

    #[test]
    fn the_documented_filter_examples_match_as_in_wiremock() {
        // request-matching: "Equality matching"
        let equality = "$.things[?(@.name == 'RequiredThing')]";
        assert!(finds(
            equality,
            json!({"things": {"name": "RequiredThing"}})
        ));
        assert!(finds(
            equality,
            json!({"things": [{"name": "RequiredThing"}, {"name": "Wiremock"}]})
        ));
        assert!(!finds(equality, json!({"price": 15})));
        assert!(!finds(equality, json!({"things": {"name": "Wiremock"}})));
        // "Regex matching"
        let regex = "$.things[?(@.name =~ /Required.*/i)]";
        assert!(finds(regex, json!({"things": {"name": "RequiredThing"}})));
        assert!(finds(
            regex,
            json!({"things": [{"name": "Required"}, {"name": "Wiremock"}]})
        ));
        assert!(
            finds(regex, json!({"things": [{"name": "required"}]})),
            "flag i"
        );
        assert!(!finds(regex, json!({"things": {"name": "Wiremock"}})));
        assert!(!finds(
            regex,
            json!({"things": [{"name": "Thing"}, {"name": "Wiremock"}]})
        ));
        // "Size matching"
        let size = "$[?(@.things.size() == 2)]";
        assert!(finds(
            size,
            json!({"things": [{"name": "RequiredThing"}, {"name": "Wiremock"}]})
        ));
        assert!(!finds(size, json!({"things": [{"name": "RequiredThing"}]})));
    }

    #[test]
    fn jayway_spellings_are_rewritten_once() {
        // Spring Cloud Contract writes these.
        assert!(finds(
            "$[?(@.['loanAmount'] == 99999)]",
            json!({"loanAmount": 99999})
        ));
        assert!(finds(
            "$[?(@.['client.id'] =~ /[0-9]{10}/)]",
            json!({"client.id": "1234567890"})
        ));
        assert!(
            !finds(
                "$[?(@.['client.id'] =~ /[0-9]{10}/)]",
                json!({"client.id": "12345678901"})
            ),
            "`=~` matches the whole string"
        );
        assert!(finds("$[?(@.name =~ /a\\/b/)]", json!({"name": "a/b"})));
        assert!(finds(
            "$[?(@.n == 'x=~y' || @.n =~ /x'y/)]",
            json!({"n": "x'y"})
        ));
        assert!(finds("$[?(@.a.length() == 1)]", json!({"a": "b"})));
    }

    #[test]
    fn nested_matchers_get_strings_as_wiremock_coerces_them() {
        let query = JsonQuery::parse("$..todoItem").unwrap();
        let document = json!({"a": {"todoItem": "wash"}, "b": [{"todoItem": 3}]});
        let mut found = query.strings(&document, false);
        found.sort();
        assert_eq!(found, ["3", "wash"]);
        let outer = JsonQuery::parse("$.outer").unwrap();
        assert_eq!(
            outer.strings(&json!({"outer": {"inner": 42}}), true),
            [r#"{"inner":42}"#]
        );
        let tags = JsonQuery::parse("$.tags").unwrap();
        assert_eq!(tags.strings(&json!({"tags": ["a", 1]}), false), ["a", "1"]);
        assert_eq!(
            tags.strings(&json!({"tags": ["a", 1]}), true),
            [r#"["a",1]"#]
        );
        assert!(tags.strings(&json!({"tags": null}), false).is_empty());
        assert!(tags.strings(&json!({}), false).is_empty());
    }

    #[test]
    fn what_rfc_9535_cannot_say_is_refused_with_the_reason() {
        let error = JsonQuery::parse("$.a.length()").unwrap_err();
        assert!(error.contains("outside a filter"), "{error}");
        let error = JsonQuery::parse("$.a.min()").unwrap_err();
        assert!(error.contains("`.min()` has no RFC 9535"), "{error}");
        let error = JsonQuery::parse("$[?(@.a in ['x'])]").unwrap_err();
        assert!(error.starts_with("not a JSONPath expression"), "{error}");
        assert!(JsonQuery::parse("  ").is_err());
        let error = JsonQuery::parse("$[?(@.a =~ 'x')]").unwrap_err();
        assert!(error.contains("in slashes"), "{error}");
        let error = JsonQuery::parse("$[?(@.a =~ /x/g)]").unwrap_err();
        assert!(error.contains("flag `g`"), "{error}");
    }

    #[test]
    fn definite_paths_are_told_apart() {
        for (expression, definite) in [
            ("$.a.b", true),
            ("$['a'][0]", true),
            ("$['a.b']", true),
            ("$..a", false),
            ("$.a[*]", false),
            ("$.a[0,1]", false),
            ("$.a[0:2]", false),
            ("$.a[?(@.b)]", false),
        ] {
            assert_eq!(
                JsonQuery::parse(expression).unwrap().is_definite(),
                definite,
                "{expression}"
            );
        }
    }
}
