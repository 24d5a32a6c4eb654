//! Regex rewrite rules: applied one after another over the whole body, like `sed -e r1 -e r2`.
use std::fmt::Write;

use regex::bytes::{Regex, RegexBuilder};

pub use super::literal::RuleError;

/// A compiled program above this size is refused: a pathological pattern (`\w{1000}{1000}`)
/// becomes a construction error instead of eating a worker's memory.
const COMPILED_SIZE_LIMIT: usize = 10 * (1 << 20);

pub enum RegexPattern {
    /// Matches UTF-8 text: Unicode classes, `.` is one code point (Python `re` on `str`).
    Text(String),
    /// Matches raw bytes: ASCII-only classes, `.` is one byte (Python `re` on `bytes`).
    Bytes(Vec<u8>),
}

pub struct RegexRules {
    rules: Vec<(Regex, Vec<u8>)>,
}

impl RegexRules {
    pub fn new(pairs: Vec<(RegexPattern, Vec<u8>)>) -> Result<Self, RuleError> {
        let mut rules = Vec::with_capacity(pairs.len());
        for (index, (pattern, replacement)) in pairs.into_iter().enumerate() {
            let built = match pattern {
                RegexPattern::Text(text) => RegexBuilder::new(&text)
                    .size_limit(COMPILED_SIZE_LIMIT)
                    .build(),
                RegexPattern::Bytes(bytes) => RegexBuilder::new(&bytes_pattern_syntax(&bytes))
                    .unicode(false)
                    .size_limit(COMPILED_SIZE_LIMIT)
                    .build(),
            };
            let regex = built.map_err(|err| RuleError {
                index,
                message: format!("invalid regex: {err}"),
            })?;
            check_group_references(&regex, &replacement)
                .map_err(|message| RuleError { index, message })?;
            rules.push((regex, replacement));
        }
        Ok(Self { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn apply(&self, body: &[u8]) -> Option<Vec<u8>> {
        // Stays `None` until a rule matches, so a body no rule touches is never copied.
        let mut rewritten: Option<Vec<u8>> = None;
        for (regex, replacement) in &self.rules {
            let haystack = rewritten.as_deref().unwrap_or(body);
            if let std::borrow::Cow::Owned(next) =
                regex.replace_all(haystack, replacement.as_slice())
            {
                rewritten = Some(next);
            }
        }
        rewritten
    }
}

/// The regex crate takes a `&str` pattern, so a bytes pattern's non-ASCII bytes are spelled as
/// `\xHH` escapes; with Unicode off each escape is that raw byte, also inside a class
/// (`[\xE9\xE8]`), which a `(?-u:\xE9)` group could not be.
/// The regex crate expands a reference to a group the pattern does not have to nothing, and
/// reads `$1lo` as the group named `1lo`: refuse both at construction, where the user can
/// fix them, instead of silently deleting text from every response.
fn check_group_references(regex: &Regex, replacement: &[u8]) -> Result<(), String> {
    let is_name_byte = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let mut rest = replacement;
    while let Some(dollar) = rest.iter().position(|&b| b == b'$') {
        let after = rest.get(dollar + 1..).unwrap_or_default();
        let (name, braced, consumed) = match after.first() {
            Some(b'$') => {
                rest = after.get(1..).unwrap_or_default();
                continue;
            }
            Some(b'{') => match after.iter().position(|&b| b == b'}') {
                Some(close) => (after.get(1..close).unwrap_or_default(), true, close + 1),
                // `${` without `}` is literal text to the regex crate.
                None => (&[][..], false, 0),
            },
            _ => {
                let len = after.iter().take_while(|b| is_name_byte(b)).count();
                (after.get(..len).unwrap_or_default(), false, len)
            }
        };
        rest = after.get(consumed..).unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        let name = String::from_utf8_lossy(name);
        let exists = match name.parse::<usize>() {
            Ok(number) => number < regex.captures_len(),
            Err(_) => regex.capture_names().flatten().any(|n| n == name),
        };
        if !exists {
            let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
            let hint = if !braced && !digits.is_empty() && digits.len() < name.len() {
                format!(
                    " (write ${{{digits}}}{} for group {digits} followed by text)",
                    name.get(digits.len()..).unwrap_or("")
                )
            } else {
                String::new()
            };
            let shown = if braced {
                format!("${{{name}}}")
            } else {
                format!("${name}")
            };
            return Err(format!(
                "the replacement refers to {shown}, but the pattern has no group {name:?}{hint}"
            ));
        }
    }
    Ok(())
}

fn bytes_pattern_syntax(pattern: &[u8]) -> String {
    let mut syntax = String::with_capacity(pattern.len());
    let mut bytes = pattern.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte == b'\\' {
            match bytes.next() {
                // An escaped raw byte means the byte itself, as in Python's `re`.
                Some(escaped) if !escaped.is_ascii() => push_byte_escape(&mut syntax, escaped),
                // Kept as a pair so `\\` followed by a raw byte is not read as an escape.
                Some(escaped) => {
                    syntax.push('\\');
                    syntax.push(char::from(escaped));
                }
                None => syntax.push('\\'),
            }
        } else if byte.is_ascii() {
            syntax.push(char::from(byte));
        } else {
            push_byte_escape(&mut syntax, byte);
        }
    }
    syntax
}

fn push_byte_escape(syntax: &mut String, byte: u8) {
    // Writing to a String cannot fail.
    let _ = write!(syntax, "\\x{byte:02X}");
}

#[cfg(test)]
#[path = "regex_rules_tests.rs"]
mod tests;
