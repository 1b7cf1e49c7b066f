//! Whether a request matches a route, and how it differs from one.

use http::header::HeaderValue;
use serde_json::Value;

use super::{Captures, CompiledRoute, RequestView, Segment};

impl CompiledRoute {
    pub(super) fn describe(&self) -> String {
        if let Some(converted) = &self.converted {
            return converted.describe();
        }
        format!(
            "{} {}",
            self.method.as_deref().unwrap_or("ANY"),
            self.path_text.as_deref().unwrap_or("*")
        )
    }

    pub(super) fn matches<'r, 'q>(
        &'r self,
        request: &RequestView<'q>,
        segments: &[&'q str],
        json: &mut Option<Option<Value>>,
    ) -> Option<Captures<'r, 'q>> {
        if let Some(converted) = &self.converted {
            return converted.matches(request, json).then(Vec::new);
        }
        // A GET route answers HEAD too (hyper leaves the body out).
        if let Some(method) = &self.method
            && !request.method.as_str().eq_ignore_ascii_case(method)
            && !(request.method == http::Method::HEAD && method == "GET")
        {
            return None;
        }
        let mut captures = Vec::new();
        if let Some(template) = &self.path {
            if template.len() != segments.len() {
                return None;
            }
            for (expected, actual) in template.iter().zip(segments) {
                match expected {
                    Segment::Literal(literal) if literal != actual => return None,
                    Segment::Literal(_) => {}
                    Segment::Param(name) => captures.push((name.as_str(), *actual)),
                }
            }
        }
        for (name, value) in &self.query {
            if !request.has_query(name, value) {
                return None;
            }
        }
        for (name, value) in &self.headers {
            if request.headers.get(name).map(HeaderValue::as_bytes) != Some(value.as_bytes()) {
                return None;
            }
        }
        if let Some(body) = &self.body
            && request.body != body.as_ref()
        {
            return None;
        }
        if let Some(expected) = &self.json {
            let parsed = json.get_or_insert_with(|| serde_json::from_slice(request.body).ok());
            match parsed {
                Some(actual) if json_contains(actual, expected) => {}
                _ => return None,
            }
        }
        Some(captures)
    }

    /// How the request differs from this route, each reason with a weight:
    /// the lowest total is the closest route.
    pub(super) fn differences(
        &self,
        request: &RequestView<'_>,
        segments: &[&str],
        json: Option<&Value>,
    ) -> Vec<(u32, String)> {
        if let Some(converted) = &self.converted {
            return converted.differences(request, json);
        }
        let mut out = Vec::new();
        if let Some(method) = &self.method
            && !request.method.as_str().eq_ignore_ascii_case(method)
        {
            out.push((
                4,
                format!("method is {}, route wants {method}", request.method),
            ));
        }
        if let Some(template) = &self.path {
            if template.len() != segments.len() {
                out.push((
                    6,
                    format!(
                        "path has {} segment{}, route has {}",
                        segments.len(),
                        plural(segments.len()),
                        template.len()
                    ),
                ));
            } else {
                for (index, (expected, actual)) in template.iter().zip(segments).enumerate() {
                    if let Segment::Literal(literal) = expected
                        && literal != actual
                    {
                        out.push((
                            3,
                            format!(
                                "path segment {} is `{actual}`, route wants `{literal}`",
                                index + 1
                            ),
                        ));
                    }
                }
            }
        }
        for (name, value) in &self.query {
            match request.query(name) {
                None => out.push((
                    1,
                    format!("query parameter `{name}` is missing (route wants `{value}`)"),
                )),
                Some(actual) if !request.has_query(name, value) => out.push((
                    1,
                    format!("query parameter `{name}` is `{actual}`, route wants `{value}`"),
                )),
                Some(_) => {}
            }
        }
        for (name, value) in &self.headers {
            match request.headers.get(name) {
                None => out.push((
                    1,
                    format!("header `{name}` is missing (route wants `{value}`)"),
                )),
                Some(actual) if actual.as_bytes() != value.as_bytes() => out.push((
                    1,
                    format!(
                        "header `{name}` is `{}`, route wants `{value}`",
                        String::from_utf8_lossy(actual.as_bytes())
                    ),
                )),
                Some(_) => {}
            }
        }
        if let Some(body) = &self.body
            && request.body != body.as_ref()
        {
            out.push((1, "body differs from the route's `body`".to_owned()));
        }
        if let Some(expected) = &self.json {
            match json {
                None => out.push((1, "body is not JSON (route wants JSON fields)".to_owned())),
                Some(actual) => {
                    if let Some(reason) = json_difference(actual, expected, "") {
                        out.push((1, reason));
                    }
                }
            }
        }
        out
    }
}

pub(super) fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// Whether `actual` contains `expected`: objects by subset (recursively),
/// arrays and scalars by equality.
pub fn json_contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => expected.iter().all(|(key, value)| {
            actual
                .get(key)
                .is_some_and(|found| json_contains(found, value))
        }),
        _ => actual == expected,
    }
}

/// The first way `actual` fails to contain `expected`, for diagnostics.
pub(super) fn json_difference(actual: &Value, expected: &Value, at: &str) -> Option<String> {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => {
            expected.iter().find_map(|(key, value)| {
                let field = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match actual.get(key) {
                    None => Some(format!(
                        "body field `{field}` is missing (route wants {value})"
                    )),
                    Some(found) => json_difference(found, value, &field),
                }
            })
        }
        _ if actual == expected => None,
        _ if at.is_empty() => Some(format!("body is {actual}, route wants {expected}")),
        _ => Some(format!(
            "body field `{at}` is {actual}, route wants {expected}"
        )),
    }
}
