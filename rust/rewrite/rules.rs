//! Rewrite's rule book (pure: no pyo3): the rules as given, compiled once for UTF-8 and
//! on demand for each other response charset, with the defaults.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::literal::LiteralRules;
use super::regex_rules::{RegexPattern, RegexRules};
use crate::http::media_type::MediaTypes;

/// Why a rule could not be encoded for a charset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// No codec knows this charset name.
    UnknownCharset,
    /// The text has characters the charset cannot represent.
    Unencodable,
}

/// Encodes text in a named charset (Python's codecs know every name an app may use).
pub trait Codec: Sync {
    fn encode(&self, text: &str, charset: &str) -> Result<Vec<u8>, EncodeError>;
}

pub const DEFAULT_CONTENT_TYPES: [&str; 8] = [
    "text/html",
    "text/plain",
    "text/css",
    "text/xml",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/xhtml+xml",
];

pub const DEFAULT_MAX_BUFFER: usize = 8 * 1024 * 1024;

/// Charsets seen in the wild are few; past this many distinct ones, rules for a new charset
/// are compiled per response instead of cached, so a misbehaving app cannot grow memory.
const MAX_CACHED_CHARSETS: usize = 32;

/// One side of a rule as the user gave it.
#[derive(Clone)]
pub enum Side {
    Text(String),
    Bytes(Vec<u8>),
}

/// Rules compiled for one response charset.
#[derive(Clone)]
pub enum Compiled {
    Literal(Arc<LiteralRules>),
    Regex(Arc<RegexRules>),
    /// No rule applies to this charset: responses in it pass through untouched.
    Nothing,
}

/// The immutable configuration of one `Rewrite` instance, shared by all its responses, plus
/// the per-charset compiled rules (compiled once, then read under a lock never held while
/// Python runs).
pub struct RuleBook {
    rules: Vec<(Side, Side)>,
    regex: bool,
    content_types: MediaTypes,
    max_buffer: usize,
    /// The rules for UTF-8 (and charset-less) responses, compiled at construction: the common
    /// case needs no lock and no map lookup.
    utf8: Compiled,
    by_charset: RwLock<HashMap<String, Compiled>>,
}

fn is_utf8_label(charset: &str) -> bool {
    matches!(charset, "utf-8" | "utf8" | "utf_8")
}

fn is_ascii_label(charset: &str) -> bool {
    matches!(charset, "us-ascii" | "ascii")
}

impl RuleBook {
    /// Compile the UTF-8 rules now: the common case is ready before the first request and
    /// every bad pattern is reported at construction, not at request time. The error is the
    /// whole message, naming the rule.
    pub fn new(
        rules: Vec<(Side, Side)>,
        regex: bool,
        content_types: MediaTypes,
        max_buffer: usize,
    ) -> Result<RuleBook, String> {
        let bad =
            |index: usize, message: &str| format!("Rewrite(rules=...): rules[{index}]: {message}");
        let utf8 = if regex {
            let pairs = rules
                .iter()
                .map(|(old, new)| (regex_pattern(old), utf8_side(new)))
                .collect();
            let compiled = RegexRules::new(pairs).map_err(|e| bad(e.index, &e.message))?;
            Compiled::Regex(Arc::new(compiled))
        } else {
            let pairs = rules
                .iter()
                .map(|(old, new)| (utf8_side(old), utf8_side(new)))
                .collect();
            let compiled = LiteralRules::new(pairs).map_err(|e| bad(e.index, &e.message))?;
            Compiled::Literal(Arc::new(compiled))
        };
        Ok(RuleBook {
            rules,
            regex,
            content_types,
            max_buffer,
            utf8,
            by_charset: RwLock::new(HashMap::new()),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn content_types(&self) -> &MediaTypes {
        &self.content_types
    }

    pub fn regex(&self) -> bool {
        self.regex
    }

    pub fn max_buffer(&self) -> usize {
        self.max_buffer
    }

    /// The rules for a response in `charset`, and a one-line notice when some could not apply.
    pub fn compiled_for(&self, codec: &dyn Codec, charset: &str) -> (Compiled, Option<String>) {
        if is_utf8_label(charset) {
            return (self.utf8.clone(), None);
        }
        if let Some(compiled) = self.by_charset.read().get(charset) {
            return (compiled.clone(), None);
        }
        // Compile without holding the lock: the codec may call into Python.
        let (compiled, notice) = if self.regex {
            self.compile_regex(charset)
        } else {
            self.compile_literal(codec, charset)
        };
        let mut cache = self.by_charset.write();
        if cache.len() < MAX_CACHED_CHARSETS {
            cache.insert(charset.to_owned(), compiled.clone());
        }
        (compiled, notice)
    }

    fn compile_literal(&self, codec: &dyn Codec, charset: &str) -> (Compiled, Option<String>) {
        let mut skipped = Vec::new();
        let mut pairs = Vec::with_capacity(self.rules.len());
        // utf-16, utf-32 and utf-8-sig start every encoded string with a byte order mark,
        // which occurs once at the start of a body, never before each match.
        let bom = codec.encode("", charset).unwrap_or_default();
        for (i, (old, new)) in self.rules.iter().enumerate() {
            match (
                encode(codec, old, charset, &bom),
                encode(codec, new, charset, &bom),
            ) {
                (Ok(old), Ok(new)) => pairs.push((old, new)),
                (Err(e), _) | (_, Err(e)) => {
                    if e == EncodeError::UnknownCharset {
                        let compiled = bytes_only_literal(&self.rules);
                        let notice = format!(
                            "unknown charset {charset:?}: only bytes rules are applied to these responses"
                        );
                        return (compiled, Some(notice));
                    }
                    skipped.push(i);
                }
            }
        }
        let notice = (!skipped.is_empty()).then(|| {
            format!("rules {skipped:?} cannot be encoded in charset {charset:?} and are not applied to these responses")
        });
        (literal(pairs), notice)
    }

    fn compile_regex(&self, charset: &str) -> (Compiled, Option<String>) {
        let text_ok = is_utf8_label(charset) || is_ascii_label(charset);
        let mut skipped = Vec::new();
        let mut pairs = Vec::new();
        for (i, (old, new)) in self.rules.iter().enumerate() {
            match (old, new) {
                (Side::Bytes(p), Side::Bytes(r)) => {
                    pairs.push((RegexPattern::Bytes(p.clone()), r.clone()))
                }
                _ if !text_ok => skipped.push(i),
                (old, new) => pairs.push((regex_pattern(old), utf8_side(new))),
            }
        }
        let notice = (!skipped.is_empty()).then(|| {
            format!("regex rules {skipped:?} are text and apply to UTF-8 responses only, not charset {charset:?}")
        });
        let compiled = match RegexRules::new(pairs) {
            Ok(rules) => Compiled::Regex(Arc::new(rules)),
            // Every rule compiled at construction, so this does not happen; if it did, the
            // response would pass through rather than fail.
            Err(_) => Compiled::Nothing,
        };
        (compiled, notice)
    }
}

fn regex_pattern(side: &Side) -> RegexPattern {
    match side {
        Side::Text(t) => RegexPattern::Text(t.clone()),
        Side::Bytes(b) => RegexPattern::Bytes(b.clone()),
    }
}

fn utf8_side(side: &Side) -> Vec<u8> {
    match side {
        Side::Text(t) => t.as_bytes().to_vec(),
        Side::Bytes(b) => b.clone(),
    }
}

/// Patterns were validated non-empty at construction and encoding keeps them non-empty, so
/// compilation does not fail; if it did, the response would pass through rather than fail.
fn literal(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Compiled {
    match LiteralRules::new(pairs) {
        Ok(rules) => Compiled::Literal(Arc::new(rules)),
        Err(_) => Compiled::Nothing,
    }
}

fn bytes_only_literal(rules: &[(Side, Side)]) -> Compiled {
    literal(
        rules
            .iter()
            .filter_map(|(old, new)| match (old, new) {
                (Side::Bytes(o), Side::Bytes(n)) => Some((o.clone(), n.clone())),
                _ => None,
            })
            .collect(),
    )
}

/// Encode one side of a rule for a response charset, without the charset's byte order mark.
fn encode(
    codec: &dyn Codec,
    side: &Side,
    charset: &str,
    bom: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    match side {
        Side::Bytes(b) => Ok(b.clone()),
        Side::Text(t) if is_utf8_label(charset) => Ok(t.as_bytes().to_vec()),
        Side::Text(t) => {
            let bytes = codec.encode(t, charset)?;
            Ok(bytes.strip_prefix(bom).map(<[u8]>::to_vec).unwrap_or(bytes))
        }
    }
}
