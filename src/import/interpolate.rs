//! Compose's variable interpolation and its `.env` format, as the Compose
//! specification describes them ("Interpolation", "Use an environment file"):
//!
//! - `$VAR` and `${VAR}`: the variable's value, blank when it is not set
//!   (Compose warns; so does the import report);
//! - `${VAR:-default}` (unset or empty) and `${VAR-default}` (unset); the
//!   default may itself hold `${...}`;
//! - `${VAR:?message}` (unset or empty) and `${VAR?message}` (unset): an
//!   error with the message;
//! - `${VAR:+other}` and `${VAR+other}`: `other` when set;
//! - `$$`: a literal `$`; any other `$` is an error, as in Compose.
//!
//! Variables come from the process environment first, then from the `.env`
//! file beside the Compose file.

use std::collections::HashMap;

/// Where variables are looked up: the process environment over `.env`.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// The process environment.
    pub process: HashMap<String, String>,
    /// The `.env` file beside the Compose file.
    pub dotenv: HashMap<String, String>,
}

impl Vars {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.process
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .map(String::as_str)
    }
}

/// Why a text cannot be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${VAR:?message}` with `VAR` unset (or empty).
    Required { name: String, message: String },
    /// A `$` that starts nothing Compose knows.
    Syntax(String),
}

impl std::fmt::Display for InterpolateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InterpolateError::Required { name, message } if message.is_empty() => {
                write!(f, "the variable `{name}` is required but not set")
            }
            InterpolateError::Required { name, message } => {
                write!(
                    f,
                    "the variable `{name}` is required but not set: {message}"
                )
            }
            InterpolateError::Syntax(message) => f.write_str(message),
        }
    }
}

/// Interpolates `text`. Every variable read that is not set (and has no
/// default) is added to `unset`, once.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolateError> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                let end = closing_brace(&chars, i + 2).ok_or_else(|| {
                    InterpolateError::Syntax(format!(
                        "`{}` opens `${{` without a closing `}}`",
                        shorten(text)
                    ))
                })?;
                let inner: String = chars[i + 2..end].iter().collect();
                out.push_str(&braced(&inner, text, lookup, unset)?);
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_')
                {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                out.push_str(&value_or_blank(&name, lookup, unset));
                i = end;
            }
            _ => {
                return Err(InterpolateError::Syntax(format!(
                    "`{}` has a `$` that starts no variable",
                    shorten(text)
                )));
            }
        }
    }
    Ok(out)
}

/// The index of the `}` that closes a `${` whose body starts at `from`,
/// skipping nested `${...}`.
fn closing_brace(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '$' if chars.get(i + 1) == Some(&'$') => i += 1,
            '$' if chars.get(i + 1) == Some(&'{') => {
                depth += 1;
                i += 1;
            }
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn braced(
    inner: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolateError> {
    let name_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(InterpolateError::Syntax(format!(
            "`{}` has `${{{inner}}}`, which names no variable",
            shorten(text)
        )));
    }
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let operator = [":-", ":?", ":+", "-", "?", "+"]
        .into_iter()
        .find(|op| rest.starts_with(op));
    let Some(operator) = operator else {
        if rest.is_empty() {
            return Ok(value_or_blank(name, lookup, unset));
        }
        return Err(InterpolateError::Syntax(format!(
            "`{}` has `${{{inner}}}`; after the name Compose takes `:-`, `-`, `:?`, `?`, `:+` or `+`",
            shorten(text)
        )));
    };
    let argument = &rest[operator.len()..];
    let nested = |unset: &mut Vec<String>| interpolate(argument, lookup, unset);
    Ok(match operator {
        ":-" if non_empty => value.unwrap_or_default(),
        ":-" => nested(unset)?,
        "-" if set => value.unwrap_or_default(),
        "-" => nested(unset)?,
        ":?" | "?" => {
            let ok = if operator == ":?" { non_empty } else { set };
            if !ok {
                return Err(InterpolateError::Required {
                    name: name.to_owned(),
                    message: nested(unset)?,
                });
            }
            value.unwrap_or_default()
        }
        ":+" if non_empty => nested(unset)?,
        "+" if set => nested(unset)?,
        _ => String::new(),
    })
}

fn value_or_blank(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> String {
    match lookup(name) {
        Some(value) => value,
        None => {
            if !unset.iter().any(|u| u == name) {
                unset.push(name.to_owned());
            }
            String::new()
        }
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 60 {
        let short: String = text.chars().take(57).collect();
        format!("{short}...")
    } else {
        text.to_owned()
    }
}

/// One line of an env file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

/// A variable of an env file: `KEY=value`, or `KEY` alone (its value then
/// comes from the environment, `None` when it is not set there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvVar {
    pub name: String,
    pub value: Option<String>,
    /// 1-based.
    pub line: usize,
}

/// Reads an env file (`.env` or an `env_file`): `KEY=value` lines (`export`
/// may come first, `KEY: value` works too), `#` comments, single-quoted
/// values taken literally, double-quoted ones with `\n`-style escapes over
/// several lines, unquoted ones trimmed and cut at ` #`. Double-quoted and
/// unquoted values are interpolated with the variables read before them,
/// then `lookup`.
pub fn parse_dotenv(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<Vec<DotenvVar>, DotenvError> {
    let mut vars: Vec<DotenvVar> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let number = index + 1;
        let line = lines[index].trim_start_matches('\u{feff}').trim();
        index += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let split = line.find(['=', ':']);
        let (name, raw) = match split {
            Some(at) => (line[..at].trim(), Some(line[at + 1..].trim_start())),
            None => (line, None),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(DotenvError {
                line: number,
                message: format!("`{}` is not a `NAME=value` line", shorten(line)),
            });
        }
        let Some(raw) = raw else {
            vars.push(DotenvVar {
                name: name.to_owned(),
                value: None,
                line: number,
            });
            continue;
        };
        let known = |key: &str| -> Option<String> {
            vars.iter()
                .rev()
                .find(|v| v.name == key)
                .and_then(|v| v.value.clone())
                .or_else(|| lookup(key))
        };
        let error = |message: String| DotenvError {
            line: number,
            message,
        };
        let value = if let Some(body) = raw.strip_prefix('\'') {
            let Some(end) = body.find('\'') else {
                return Err(error(format!("`{name}` opens a `'` that is not closed")));
            };
            body[..end].to_owned()
        } else if let Some(first) = raw.strip_prefix('"') {
            // A double-quoted value may go on over the next lines.
            let mut body = first.to_owned();
            let end = loop {
                if let Some(end) = closing_quote(&body) {
                    break end;
                }
                let Some(next) = lines.get(index) else {
                    return Err(error(format!("`{name}` opens a `\"` that is not closed")));
                };
                body.push('\n');
                body.push_str(next);
                index += 1;
            };
            let unescaped = unescape(&body[..end]);
            interpolate(&unescaped, &known, unset).map_err(|e| error(e.to_string()))?
        } else {
            let cut = raw.find(" #").map_or(raw, |at| &raw[..at]).trim_end();
            interpolate(cut, &known, unset).map_err(|e| error(e.to_string()))?
        };
        vars.push(DotenvVar {
            name: name.to_owned(),
            value: Some(value),
            line: number,
        });
    }
    Ok(vars)
}

/// Where an unescaped `"` is in `body`.
fn closing_quote(body: &str) -> Option<usize> {
    let mut escaped = false;
    for (at, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(at),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            // `\$` stays escaped for the interpolation that follows.
            Some('$') => out.push_str("$$"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn run(text: &str, vars: &[(&str, &str)]) -> Result<(String, Vec<String>), InterpolateError> {
        let mut unset = Vec::new();
        let out = interpolate(text, &with(vars), &mut unset)?;
        Ok((out, unset))
    }

    #[test]
    fn plain_and_braced_variables() {
        let vars = [("A", "1"), ("EMPTY", "")];
        assert_eq!(run("x-$A-${A}", &vars).unwrap().0, "x-1-1");
        assert_eq!(
            run("$A_B", &vars).unwrap(),
            (String::new(), vec!["A_B".into()])
        );
        assert_eq!(run("no dollar", &[]).unwrap().0, "no dollar");
        let (out, unset) = run("${MISSING}/${MISSING}/$OTHER", &vars).unwrap();
        assert_eq!(out, "//");
        assert_eq!(unset, vec!["MISSING".to_owned(), "OTHER".to_owned()]);
    }

    #[test]
    fn defaults_tell_unset_from_empty() {
        let vars = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(run("${SET:-d}", &vars).unwrap().0, "v");
        assert_eq!(run("${EMPTY:-d}", &vars).unwrap().0, "d");
        assert_eq!(run("${EMPTY-d}", &vars).unwrap().0, "");
        assert_eq!(run("${NONE-d}", &vars).unwrap().0, "d");
        assert_eq!(run("${NONE:-}", &vars).unwrap(), (String::new(), vec![]));
        assert_eq!(
            run("${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}|${NONE+alt}", &vars)
                .unwrap()
                .0,
            "alt||alt|"
        );
        // A default may hold variables of its own.
        assert_eq!(run("${NONE:-${SET}-x}", &vars).unwrap().0, "v-x");
        assert_eq!(run("${NONE:-a:b}", &vars).unwrap().0, "a:b");
    }

    #[test]
    fn required_variables_fail_with_their_message() {
        let vars = [("EMPTY", "")];
        assert_eq!(
            run("${TOKEN:?set TOKEN first}", &vars).unwrap_err(),
            InterpolateError::Required {
                name: "TOKEN".into(),
                message: "set TOKEN first".into()
            }
        );
        assert!(run("${EMPTY:?no}", &vars).is_err());
        assert_eq!(run("${EMPTY?no}", &vars).unwrap().0, "");
        let error = run("${TOKEN?}", &vars).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the variable `TOKEN` is required but not set"
        );
    }

    #[test]
    fn dollars_escape_and_stray_ones_fail() {
        assert_eq!(run("$$HOME and $${X}", &[]).unwrap().0, "$HOME and ${X}");
        assert_eq!(
            run("echo $$(cat /run/secret)", &[]).unwrap().0,
            "echo $(cat /run/secret)"
        );
        assert!(run("cost: 5$", &[]).is_err());
        assert!(run("$(date)", &[]).is_err());
        assert!(run("${A", &[]).is_err());
        assert!(run("${}", &[]).is_err());
        assert!(run("${A B}", &[]).is_err());
    }

    #[test]
    fn env_files_read_as_compose_reads_them() {
        let text = "# comment\n\nexport A=1\nB = two words # comment\nC='lit $A # kept'\nD=\"x\\ny $A\"\nE: yaml-ish\nF=${A}-${NOPE:-d}\nPASSED\nG=\"multi\nline\"\nH=\nI=a#b\n";
        let mut unset = Vec::new();
        let vars = parse_dotenv(text, &with(&[("PASSED", "from env")]), &mut unset).unwrap();
        let get = |n: &str| {
            vars.iter()
                .find(|v| v.name == n)
                .map(|v| v.value.clone())
                .unwrap()
        };
        assert_eq!(get("A").as_deref(), Some("1"));
        assert_eq!(get("B").as_deref(), Some("two words"));
        assert_eq!(get("C").as_deref(), Some("lit $A # kept"));
        assert_eq!(get("D").as_deref(), Some("x\ny 1"));
        assert_eq!(get("E").as_deref(), Some("yaml-ish"));
        assert_eq!(get("F").as_deref(), Some("1-d"));
        assert_eq!(get("PASSED"), None);
        assert_eq!(get("G").as_deref(), Some("multi\nline"));
        assert_eq!(get("H").as_deref(), Some(""));
        assert_eq!(get("I").as_deref(), Some("a#b"));
        assert_eq!(vars.iter().find(|v| v.name == "G").unwrap().line, 10);
        assert!(unset.is_empty());
    }

    #[test]
    fn broken_env_file_lines_name_their_line() {
        let mut unset = Vec::new();
        let error = parse_dotenv("A=1\nnot a line\n", &with(&[]), &mut unset).unwrap_err();
        assert_eq!(error.line, 2);
        let error = parse_dotenv("A='open\n", &with(&[]), &mut unset).unwrap_err();
        assert_eq!(error.line, 1);
    }
}
