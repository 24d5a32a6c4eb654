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
mod tests {

    #[test]
    fn group_reference_table() {
        // (pattern, replacement, accepted): the regex crate would silently expand unknown
        // groups to "" (`$1lo` is the group "1lo").
        let cases: [(&str, &str, bool); 10] = [
            ("H(el)lo", "J${1}lo", true),
            ("H(el)lo", "J$1", true),
            ("H(el)lo", "J$1lo", false),
            ("H(el)lo", "J$2", false),
            ("H(?P<mid>el)lo", "J${mid}lo", true),
            ("H(?P<mid>el)lo", "J$mid", true),
            ("H(?P<mid>el)lo", "J$other", false),
            ("Hello", "costs $$5", true),
            ("Hello", "a $ alone, ${ unclosed", true),
            ("Hello", "$0 is the whole match", true),
        ];
        for (pattern, replacement, accepted) in cases {
            let result = RegexRules::new(vec![(
                RegexPattern::Text(pattern.to_owned()),
                replacement.as_bytes().to_vec(),
            )]);
            assert_eq!(result.is_ok(), accepted, "{pattern} -> {replacement}");
        }
        let err = RegexRules::new(vec![(
            RegexPattern::Text("H(el)lo".to_owned()),
            b"J$1lo".to_vec(),
        )])
        .err()
        .unwrap();
        assert!(err.message.contains("${1}lo"), "{}", err.message);
    }

    use super::*;

    fn text(pattern: &str, replacement: &str) -> (RegexPattern, Vec<u8>) {
        (
            RegexPattern::Text(pattern.to_string()),
            replacement.as_bytes().to_vec(),
        )
    }

    fn bytes(pattern: &[u8], replacement: &[u8]) -> (RegexPattern, Vec<u8>) {
        (RegexPattern::Bytes(pattern.to_vec()), replacement.to_vec())
    }

    #[test]
    fn apply_cases() {
        type Row<'a> = (
            &'a str,
            Vec<(RegexPattern, Vec<u8>)>,
            &'a [u8],
            Option<&'a [u8]>,
        );
        let rows: Vec<Row> = vec![
            (
                "numbered_groups_in_replacement",
                vec![text(r"(\w+)@(\w+)", "$2 at $1")],
                b"mail bob@example now",
                Some(b"mail example at bob now"),
            ),
            (
                "named_groups_in_replacement",
                vec![text(r"(?P<user>\w+)@", "${user} at ")],
                b"bob@example",
                Some(b"bob at example"),
            ),
            (
                "double_dollar_is_a_literal_dollar",
                vec![text(r"\d+", "$$$0")],
                b"price 5",
                Some(b"price $5"),
            ),
            (
                "replaces_every_non_overlapping_match",
                vec![text("aa", "b")],
                b"aaaaa",
                Some(b"bba"),
            ),
            (
                "rules_apply_in_sequence_like_sed",
                vec![text("a", "b"), text("b", "c")],
                b"ab",
                Some(b"cc"),
            ),
            (
                "later_rule_sees_earlier_output",
                vec![text("cat", "dog"), text("dog", "wolf")],
                b"cat",
                Some(b"wolf"),
            ),
            (
                "only_some_rules_match",
                vec![text("x", "y"), text("cat", "dog"), text("z", "w")],
                b"cat",
                Some(b"dog"),
            ),
            (
                "none_when_nothing_matches",
                vec![text("x", "y"), text("z", "w")],
                b"cat",
                None,
            ),
            (
                "some_even_when_the_replacement_is_identical",
                vec![text("cat", "cat")],
                b"cat",
                Some(b"cat"),
            ),
            ("empty_rules_return_none", vec![], b"cat", None),
            ("empty_body_without_match", vec![text("a", "b")], b"", None),
            (
                "text_dot_is_one_code_point",
                vec![text("^.$", "X")],
                "\u{e9}".as_bytes(),
                Some(b"X"),
            ),
            (
                "text_classes_are_unicode",
                vec![text(r"\w+", "W")],
                "caf\u{e9} ok".as_bytes(),
                Some(b"W W"),
            ),
            (
                "text_pattern_skips_invalid_utf8",
                vec![text("b", "B")],
                b"a\xffb",
                Some(b"a\xffB"),
            ),
            (
                "bytes_pattern_matches_raw_0xff",
                vec![bytes(b"\xff+", b"-")],
                b"a\xff\xffb",
                Some(b"a-b"),
            ),
            (
                "bytes_pattern_high_bytes_inside_a_class",
                vec![bytes(b"[\xe9\xe8]", b"e")],
                b"caf\xe9 \xe8re",
                Some(b"cafe ere"),
            ),
            (
                "bytes_pattern_escaped_high_byte_is_literal",
                vec![bytes(b"\\\xe9", b"e")],
                b"\xe9",
                Some(b"e"),
            ),
            (
                "bytes_pattern_escaped_backslash_before_high_byte",
                vec![bytes(b"\\\\\xe9", b"e")],
                b"\\\xe9",
                Some(b"e"),
            ),
            (
                "bytes_dot_is_one_byte",
                vec![bytes(b"^..$", b"X")],
                "\u{e9}".as_bytes(),
                Some(b"X"),
            ),
            (
                "bytes_pattern_ascii_syntax_and_groups",
                vec![bytes(b"(\\d+)\xa0(\\w+)", b"$2=$1")],
                b"10\xa0kg",
                Some(b"kg=10"),
            ),
            (
                "bytes_replacement_may_be_non_utf8",
                vec![text("x", "\u{0}"), bytes(b"\x00", b"\xfe")],
                b"axb",
                Some(b"a\xfeb"),
            ),
        ];
        for (name, pairs, body, expected) in rows {
            let rules = RegexRules::new(pairs).unwrap();
            assert_eq!(rules.apply(body).as_deref(), expected, "{name}");
        }
    }

    #[test]
    fn construction_errors() {
        type Row<'a> = (&'a str, Vec<(RegexPattern, Vec<u8>)>, usize, &'a str);
        let rows: Vec<Row> = vec![
            (
                "unclosed_group_names_its_index",
                vec![text("ok", ""), text("(", "")],
                1,
                "unclosed group",
            ),
            (
                "first_bad_rule_is_reported",
                vec![text("[", ""), text("(", "")],
                0,
                "unclosed character class",
            ),
            (
                "bytes_pattern_syntax_error",
                vec![text("ok", ""), text("ok", ""), bytes(b"\xff(", b"")],
                2,
                "unclosed group",
            ),
            (
                "oversized_program_is_an_error_not_a_panic",
                vec![text(r"\w{1000}{1000}", "")],
                0,
                "size limit",
            ),
            (
                "unicode_class_in_bytes_pattern_is_refused",
                vec![bytes(br"\p{Greek}", b"")],
                0,
                "Unicode",
            ),
        ];
        for (name, pairs, index, message) in rows {
            let Err(err) = RegexRules::new(pairs) else {
                panic!("{name}: compiled");
            };
            assert_eq!(err.index, index, "{name}");
            assert!(err.message.contains(message), "{name}: {}", err.message);
        }
    }

    #[test]
    fn is_empty_reflects_the_rule_count() {
        assert!(RegexRules::new(vec![]).unwrap().is_empty());
        assert!(!RegexRules::new(vec![text("a", "b")]).unwrap().is_empty());
    }

    #[test]
    fn bytes_pattern_syntax_spelling() {
        let rows: &[(&str, &[u8], &str)] = &[
            ("ascii_passes_through", br"a+\d", r"a+\d"),
            ("high_byte_becomes_hex_escape", b"\xff", r"\xFF"),
            ("escaped_high_byte_drops_the_backslash", b"\\\xe9", r"\xE9"),
            ("escaped_backslash_is_kept", b"\\\\\xe9", r"\\\xE9"),
            ("trailing_backslash_is_kept_for_the_parser", b"a\\", "a\\"),
        ];
        for (name, pattern, expected) in rows {
            assert_eq!(bytes_pattern_syntax(pattern), *expected, "{name}");
        }
    }
}
