//! Response templates: `{{path.x}}`, `{{query.x}}` and `{{header.x}}`
//! filled into an answer.

use bytes::Bytes;
use http::header::HeaderValue;
use serde_json::Value;

use crate::agent::body::{self, Body};

use super::{BodyTemplate, Captures, CompiledRespond, Part, RequestView, Template};

impl Template {
    pub(super) fn parse(text: &str) -> Template {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(length) = rest[start + 2..].find("}}") else {
                break;
            };
            let inner = rest[start + 2..start + 2 + length].trim();
            let part = match inner.split_once('.') {
                Some(("path", name)) => Some(Part::Path(name.to_owned())),
                Some(("query", name)) => Some(Part::Query(name.to_owned())),
                Some(("header", name)) => Some(Part::Header(name.to_ascii_lowercase())),
                _ => None,
            };
            let literal_end = start + 2 + length + 2;
            match part {
                Some(part) => {
                    if start > 0 {
                        parts.push(Part::Literal(rest[..start].to_owned()));
                    }
                    parts.push(part);
                }
                // Not a placeholder we know: kept as written.
                None => parts.push(Part::Literal(rest[..literal_end].to_owned())),
            }
            rest = &rest[literal_end..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Template { parts }
    }

    pub(super) fn is_literal(&self) -> bool {
        self.parts
            .iter()
            .all(|part| matches!(part, Part::Literal(_)))
    }

    pub(super) fn render(&self, request: &RequestView<'_>, captures: &Captures<'_, '_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Path(name) => {
                    if let Some((_, value)) = captures.iter().find(|(key, _)| key == name) {
                        out.push_str(
                            &percent_encoding::percent_decode_str(value).decode_utf8_lossy(),
                        );
                    }
                }
                Part::Query(name) => out.push_str(request.query(name).unwrap_or("")),
                Part::Header(name) => {
                    if let Some(value) = request.headers.get(name.as_str()) {
                        out.push_str(&String::from_utf8_lossy(value.as_bytes()));
                    }
                }
            }
        }
        out
    }
}

pub(super) fn render_json(
    value: &Value,
    request: &RequestView<'_>,
    captures: &Captures<'_, '_>,
) -> Value {
    match value {
        Value::String(text) if text.contains("{{") => {
            Value::String(Template::parse(text).render(request, captures))
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| render_json(item, request, captures))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), render_json(item, request, captures)))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl CompiledRespond {
    pub(super) fn render(
        &self,
        request: &RequestView<'_>,
        captures: &Captures<'_, '_>,
    ) -> http::Response<Body> {
        let bytes = match &self.body {
            BodyTemplate::Empty => Bytes::new(),
            BodyTemplate::Fixed(bytes, _) => bytes.clone(),
            BodyTemplate::Text(template) => Bytes::from(template.render(request, captures)),
            BodyTemplate::Json(value) => Bytes::from(
                serde_json::to_vec(&render_json(value, request, captures)).unwrap_or_default(),
            ),
        };
        let mut response = http::Response::new(body::full(bytes));
        *response.status_mut() = self.status;
        if let Some(reason) = &self.reason {
            response.extensions_mut().insert(reason.clone());
        }
        let headers = response.headers_mut();
        headers.reserve(self.headers.len());
        for (name, ready, template) in &self.headers {
            let value = match ready {
                Some(value) => Ok(value.clone()),
                None => HeaderValue::from_str(&template.render(request, captures)),
            };
            if let Ok(value) = value {
                headers.append(name.clone(), value);
            }
        }
        response
    }
}
