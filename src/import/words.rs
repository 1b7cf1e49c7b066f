//! Shell words: a Compose `command:` or `entrypoint:` string split as
//! Compose splits it (quotes and backslashes, no shell), and a healthcheck's
//! shell line read far enough to recognise `curl ... || exit 1`.

/// Splits a command string into words the way Compose does: whitespace
/// separates, `'...'` is literal, `"..."` keeps `\"`, `\\` and `\$`
/// escapes, a backslash outside quotes escapes the next character. `None`
/// when a quote is left open.
pub fn split(text: &str) -> Option<Vec<String>> {
    let tokens = tokenize(text, false)?;
    Some(
        tokens
            .into_iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(w),
                _ => None,
            })
            .collect(),
    )
}

/// A piece of a shell line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Word(String),
    /// `|`, `||`, `&&` or `;`.
    Operator(&'static str),
    /// A redirection that changes nothing a probe reports (`>/dev/null`,
    /// `2>&1`, `2>/dev/null`, `&>/dev/null`).
    Quiet,
}

/// Reads a shell line into words and operators. `None` when it uses what
/// this reader does not follow (an expansion, a subshell, another
/// redirection, an open quote): such a line is run as it is, never guessed.
pub fn shell(text: &str) -> Option<Vec<Token>> {
    tokenize(text, true)
}

fn tokenize(text: &str, shell: bool) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let flush = |word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => {
                flush(&mut word, &mut in_word, &mut tokens);
                i += 1;
            }
            '\'' => {
                let end = chars[i + 1..].iter().position(|&c| c == '\'')? + i + 1;
                word.extend(&chars[i + 1..end]);
                in_word = true;
                i = end + 1;
            }
            '"' => {
                in_word = true;
                i += 1;
                loop {
                    let c = *chars.get(i)?;
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) => {
                            word.push(chars[i + 1]);
                            i += 1;
                        }
                        '$' | '`' if shell => return None,
                        other => word.push(other),
                    }
                    i += 1;
                }
                i += 1;
            }
            '\\' => {
                word.push(*chars.get(i + 1)?);
                in_word = true;
                i += 2;
            }
            _ if !shell => {
                word.push(c);
                in_word = true;
                i += 1;
            }
            '|' | '&' | ';' => {
                flush(&mut word, &mut in_word, &mut tokens);
                let next = chars.get(i + 1).copied();
                let (operator, width) = match (c, next) {
                    ('|', Some('|')) => ("||", 2),
                    ('|', _) => ("|", 1),
                    ('&', Some('&')) => ("&&", 2),
                    (';', _) => (";", 1),
                    ('&', Some('>')) => {
                        let (quiet, width) = quiet_redirect(&chars[i + 2..])?;
                        tokens.push(quiet);
                        i += 2 + width;
                        continue;
                    }
                    _ => return None,
                };
                tokens.push(Token::Operator(operator));
                i += width;
            }
            '>' => {
                // `2>...` starts as a word `2`; `>` alone is stdout.
                if in_word && word != "1" && word != "2" {
                    return None;
                }
                word.clear();
                in_word = false;
                let (quiet, width) = quiet_redirect(&chars[i + 1..])?;
                tokens.push(quiet);
                i += 1 + width;
            }
            '$' | '`' | '(' | ')' | '<' | '{' | '}' => return None,
            '#' if !in_word => return None,
            _ => {
                word.push(c);
                in_word = true;
                i += 1;
            }
        }
    }
    flush(&mut word, &mut in_word, &mut tokens);
    Some(tokens)
}

/// After a `>`: `/dev/null` or `&1`/`&2` (spaces allowed before a path).
fn quiet_redirect(rest: &[char]) -> Option<(Token, usize)> {
    let text: String = rest.iter().collect();
    if let Some(after) = text.strip_prefix("&1").or_else(|| text.strip_prefix("&2"))
        && after.chars().next().is_none_or(char::is_whitespace)
    {
        return Some((Token::Quiet, 2));
    }
    let skipped = text.len() - text.trim_start().len();
    let target = text.trim_start();
    let after = target.strip_prefix("/dev/null")?;
    if after
        .chars()
        .next()
        .is_none_or(|c| c.is_whitespace() || matches!(c, '|' | '&' | ';'))
    {
        Some((Token::Quiet, skipped + "/dev/null".len()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(tokens: &[Token]) -> Vec<String> {
        tokens
            .iter()
            .map(|t| match t {
                Token::Word(w) => w.clone(),
                Token::Operator(o) => format!("<{o}>"),
                Token::Quiet => "<quiet>".into(),
            })
            .collect()
    }

    #[test]
    fn command_strings_split_like_compose() {
        assert_eq!(
            split("bundle exec puma -C config/puma.rb").unwrap(),
            ["bundle", "exec", "puma", "-C", "config/puma.rb"]
        );
        assert_eq!(
            split(r#"bash -c 'eval "echo \"$$(cat x)\"" > y'"#).unwrap(),
            ["bash", "-c", r#"eval "echo \"$$(cat x)\"" > y"#]
        );
        assert_eq!(
            split(r#"a "b c" d\ e "q\"t""#).unwrap(),
            ["a", "b c", "d e", "q\"t"]
        );
        assert_eq!(split("x && y").unwrap(), ["x", "&&", "y"]);
        assert_eq!(split("''").unwrap(), [""]);
        assert!(split("open 'quote").is_none());
    }

    #[test]
    fn shell_lines_keep_operators_and_quiet_redirections() {
        let tokens = shell("curl -sf localhost:3000/health | grep -q 'OK' || exit 1").unwrap();
        assert_eq!(
            words(&tokens),
            [
                "curl",
                "-sf",
                "localhost:3000/health",
                "<|>",
                "grep",
                "-q",
                "OK",
                "<||>",
                "exit",
                "1"
            ]
        );
        let tokens = shell("wget -qO- http://localhost/ >/dev/null 2>&1 && true; x").unwrap();
        assert_eq!(
            words(&tokens),
            [
                "wget",
                "-qO-",
                "http://localhost/",
                "<quiet>",
                "<quiet>",
                "<&&>",
                "true",
                "<;>",
                "x"
            ]
        );
        assert_eq!(words(&shell("a &>/dev/null").unwrap()), ["a", "<quiet>"]);
    }

    #[test]
    fn shell_lines_with_expansions_are_not_followed() {
        for line in [
            "curl $URL",
            "curl \"$URL\"",
            "test $(date)",
            "a > /tmp/out",
            "a < in",
            "(a)",
            "a & b",
            "a `b`",
            "# comment",
            "a 'open",
        ] {
            assert!(shell(line).is_none(), "{line}");
        }
        assert_eq!(
            words(&shell("curl 'http://x/?a=$b'").unwrap()),
            ["curl", "http://x/?a=$b"]
        );
    }
}
