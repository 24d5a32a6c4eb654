//! Regex rewrite rules: applied one after another over the whole body, like `sed -e r1 -e r2`,
//! with the total work per body bounded by a budget linear in its size.
//!
//! Why a budget: finding all leftmost-first matches is not linear even with a DFA. Each
//! search scans on past its match while a longer alternative might still win, and the next
//! search rescans those bytes: `\w+X|a` on `a` * n scans n²/2 bytes (the regex crate says
//! so: its iterators are O(m n²) in the worst case). Every search here runs on a lazy DFA
//! that reports how many bytes it really scanned; when a rule has scanned
//! [`WORK_PER_BYTE`] times the body (plus [`WORK_ALLOWANCE`]) it stops and the body is sent
//! unchanged. Within the budget the matches are exactly the regex crate's `replace_all`.
//!
//! The lazy DFA cannot evaluate a Unicode word boundary (`\b`, `\B` in a str pattern) on
//! non-ASCII bytes; such a search runs on the regex crate's full engine instead, in windows
//! of at most [`FALLBACK_WINDOW`], each charged in full: there a match longer than half a
//! window may be missed or cut short (see [`Rule::find_windowed`]).
use std::fmt::Write;

use parking_lot::Mutex;
use regex_automata::hybrid;
use regex_automata::meta;
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::iter::Searcher;
use regex_automata::util::prefilter::Prefilter;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, Match, MatchError, MatchKind, PatternID};

pub use super::literal::RuleError;

/// A compiled program above this size is refused: a pathological pattern (`\w{1000}{1000}`)
/// becomes a construction error instead of eating a worker's memory.
const COMPILED_SIZE_LIMIT: usize = 10 * (1 << 20);

/// The lazy DFA's transition cache per rule and thread (the regex crate's default).
const DFA_CACHE_BYTES: usize = 2 * (1 << 20);

/// Bytes a rule may scan per body byte. Ordinary rules scan each byte about once (a search
/// stops where its match can no longer grow); only alternatives that keep a long match
/// possible past a short one (`\w+X|a`) rescan, and those stop here.
pub const WORK_PER_BYTE: usize = 16;

/// Scanning every rule may do on top of [`WORK_PER_BYTE`], so small bodies never run out.
pub const WORK_ALLOWANCE: usize = 64 * 1024;

/// The most the full engine searches at once when the lazy DFA cannot (see the module docs).
pub const FALLBACK_WINDOW: usize = 4 * 1024;

/// The window a fallback search starts with: matches are usually short and close, and each
/// search is charged its whole window.
const FIRST_WINDOW: usize = 64;

pub enum RegexPattern {
    /// Matches UTF-8 text: Unicode classes, `.` is one code point (Python `re` on `str`).
    Text(String),
    /// Matches raw bytes: ASCII-only classes, `.` is one byte (Python `re` on `bytes`).
    Bytes(Vec<u8>),
}

/// The outcome of running the rules over one body.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// No rule matched.
    Unchanged,
    Rewritten(Vec<u8>),
    /// A rule used up its work budget: the body must be sent as it was.
    OverBudget,
}

struct Rule {
    /// Captures for `$1` replacements, and searches the lazy DFA cannot do.
    full: meta::Regex,
    /// The counted search (None when the pattern is too large for a lazy DFA).
    lazy: Option<hybrid::regex::Regex>,
    /// Lazy DFA caches for reuse across bodies (one is taken per body).
    caches: Mutex<Vec<hybrid::regex::Cache>>,
    replacement: Vec<u8>,
    /// The replacement refers to groups (`$`): each match needs its captures.
    expands: bool,
}

pub struct RegexRules {
    rules: Vec<Rule>,
}

/// The scanning one rule has left for the body at hand.
struct Budget {
    left: usize,
}

impl Budget {
    fn for_body(len: usize) -> Self {
        Budget {
            left: len
                .saturating_mul(WORK_PER_BYTE)
                .saturating_add(WORK_ALLOWANCE),
        }
    }

    /// Charge `bytes` of scanning; false once the budget is gone.
    fn charge(&mut self, bytes: usize) -> bool {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                true
            }
            None => {
                self.left = 0;
                false
            }
        }
    }
}

/// The regex crate's `Error` text for a failed build (its `Display`), so messages stay the
/// ones users know.
fn build_error(err: &meta::BuildError) -> String {
    match (err.size_limit(), err.syntax_error()) {
        (Some(limit), _) => format!("Compiled regex exceeds size limit of {limit} bytes."),
        (None, Some(syntax)) => syntax.to_string(),
        (None, None) => err.to_string(),
    }
}

impl Rule {
    fn new(pattern: &str, unicode: bool, replacement: Vec<u8>) -> Result<Rule, String> {
        // `regex::bytes::Regex` semantics: leftmost-first, and empty matches may split a
        // UTF-8 sequence (the body is bytes).
        let syntax = syntax::Config::new().unicode(unicode).utf8(false);
        let full = meta::Builder::new()
            .configure(
                meta::Config::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .utf8_empty(false)
                    .nfa_size_limit(Some(COMPILED_SIZE_LIMIT))
                    .hybrid_cache_capacity(DFA_CACHE_BYTES),
            )
            .syntax(syntax)
            .build(pattern)
            .map_err(|err| format!("invalid regex: {}", build_error(&err)))?;
        check_group_references(&full, &replacement)?;
        let prefilter = syntax::parse_with(pattern, &syntax)
            .ok()
            .and_then(|hir| Prefilter::from_hir_prefix(MatchKind::LeftmostFirst, &hir));
        let lazy = hybrid::regex::Builder::new()
            .syntax(syntax)
            .thompson(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(COMPILED_SIZE_LIMIT))
                    .which_captures(WhichCaptures::None),
            )
            .dfa(
                hybrid::dfa::Config::new()
                    .prefilter(prefilter)
                    .unicode_word_boundary(true)
                    .cache_capacity(DFA_CACHE_BYTES)
                    // Never give up on a thrashing cache: the budget bounds the work.
                    .minimum_cache_clear_count(None),
            )
            .build(pattern)
            .ok();
        Ok(Rule {
            full,
            lazy,
            caches: Mutex::new(Vec::new()),
            expands: replacement.contains(&b'$'),
            replacement,
        })
    }

    /// The next leftmost-first match in `input`, charged to `budget`. An exhausted budget
    /// ends the search with an error.
    fn find(
        &self,
        input: &Input<'_>,
        cache: Option<&mut hybrid::regex::Cache>,
        budget: &mut Budget,
    ) -> Result<Option<Match>, MatchError> {
        if let (Some(lazy), Some(cache)) = (&self.lazy, cache) {
            let (clears, before) = {
                let forward = cache.forward();
                (forward.clear_count(), forward.search_total_len())
            };
            let found = lazy.try_search(cache, input);
            let forward = cache.forward();
            // The cache counts the bytes its searches scanned, but restarts the count when
            // it is cleared: then charge the most this search could have scanned. The
            // reverse search scans back from the match end no further than the forward one
            // came, so the forward count bounds both.
            let scanned = if forward.clear_count() == clears {
                forward.search_total_len().saturating_sub(before)
            } else {
                input.end().saturating_sub(input.start())
            };
            if !budget.charge(scanned) {
                return Err(MatchError::gave_up(input.start()));
            }
            if let Ok(found) = found {
                return Ok(found);
            }
            // The DFA quit (a Unicode word boundary next to a non-ASCII byte).
        }
        self.find_windowed(input, budget)
    }

    /// The full engine, one window at a time, charged the whole window. A match is looked
    /// for in a window of [`FIRST_WINDOW`] bytes, doubled while it finds nothing or a match
    /// that reaches its end (perhaps cut short), up to [`FALLBACK_WINDOW`]; a full window
    /// without a match proves that no match of at most half a window starts in its first
    /// half, so the next one starts half a window on. Look-around sees past the window (the
    /// haystack is whole), so the match found is the regex crate's unless a longer match
    /// the crate would prefer crosses the window's end (then a shorter match inside it may
    /// be taken: the documented bound on this path).
    fn find_windowed(
        &self,
        input: &Input<'_>,
        budget: &mut Budget,
    ) -> Result<Option<Match>, MatchError> {
        let mut start = input.start();
        let mut window = FIRST_WINDOW;
        loop {
            let end = input.end().min(start.saturating_add(window));
            if !budget.charge(end.saturating_sub(start)) {
                return Err(MatchError::gave_up(start));
            }
            let found = self.full.search(&input.clone().span(start..end));
            let at_end = end >= input.end();
            match found {
                Some(found) if found.end() < end || at_end || window >= FALLBACK_WINDOW => {
                    return Ok(Some(found));
                }
                None if at_end => return Ok(None),
                None if window >= FALLBACK_WINDOW => start = start.saturating_add(window / 2),
                _ => window = window.saturating_mul(2),
            }
        }
    }

    /// Every match replaced; None when nothing matched, Err when the budget ran out.
    fn replace_all(&self, haystack: &[u8]) -> Result<Option<Vec<u8>>, ()> {
        let mut cache = self.lazy.as_ref().map(|lazy| {
            self.caches
                .lock()
                .pop()
                .unwrap_or_else(|| lazy.create_cache())
        });
        let mut budget = Budget::for_body(haystack.len());
        let mut captures = self.expands.then(|| self.full.create_captures());
        let mut searcher = Searcher::new(Input::new(haystack));
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        let ended = loop {
            let found = searcher.try_advance(|input| self.find(input, cache.as_mut(), &mut budget));
            let found = match found {
                Ok(Some(found)) => found,
                Ok(None) => break Ok(()),
                Err(_) => break Err(()),
            };
            let out = out.get_or_insert_with(|| Vec::with_capacity(haystack.len()));
            out.extend_from_slice(haystack.get(copied..found.start()).unwrap_or_default());
            match captures.as_mut() {
                Some(captures) => {
                    // The captures of exactly this match: the leftmost-first match anchored at
                    // its start and ending by its end is this match, so this scans only it.
                    let span = Input::new(haystack)
                        .span(found.range())
                        .anchored(Anchored::Yes);
                    self.full.search_captures(&span, captures);
                    captures.interpolate_bytes_into(haystack, &self.replacement, out);
                }
                None => out.extend_from_slice(&self.replacement),
            }
            copied = found.end();
        };
        if let Some(cache) = cache {
            self.caches.lock().push(cache);
        }
        ended?;
        Ok(out.map(|mut out| {
            out.extend_from_slice(haystack.get(copied..).unwrap_or_default());
            out
        }))
    }
}

impl RegexRules {
    pub fn new(pairs: Vec<(RegexPattern, Vec<u8>)>) -> Result<Self, RuleError> {
        let mut rules = Vec::with_capacity(pairs.len());
        for (index, (pattern, replacement)) in pairs.into_iter().enumerate() {
            let built = match pattern {
                RegexPattern::Text(text) => Rule::new(&text, true, replacement),
                RegexPattern::Bytes(bytes) => {
                    Rule::new(&bytes_pattern_syntax(&bytes), false, replacement)
                }
            };
            rules.push(built.map_err(|message| RuleError { index, message })?);
        }
        Ok(Self { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn apply(&self, body: &[u8]) -> Applied {
        // Stays `None` until a rule matches, so a body no rule touches is never copied.
        let mut rewritten: Option<Vec<u8>> = None;
        for rule in &self.rules {
            let haystack = rewritten.as_deref().unwrap_or(body);
            match rule.replace_all(haystack) {
                Ok(Some(next)) => rewritten = Some(next),
                Ok(None) => {}
                Err(()) => return Applied::OverBudget,
            }
        }
        match rewritten {
            Some(rewritten) => Applied::Rewritten(rewritten),
            None => Applied::Unchanged,
        }
    }
}

/// The regex crate's replacement syntax expands a reference to a group the pattern does not
/// have to nothing, and reads `$1lo` as the group named `1lo`: refuse both at construction,
/// where the user can fix them, instead of silently deleting text from every response.
fn check_group_references(regex: &meta::Regex, replacement: &[u8]) -> Result<(), String> {
    let groups = regex.group_info();
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
            Ok(number) => number < groups.group_len(PatternID::ZERO),
            Err(_) => groups.to_index(PatternID::ZERO, &name).is_some(),
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

/// The regex crate takes a `&str` pattern, so a bytes pattern's non-ASCII bytes are spelled as
/// `\xHH` escapes; with Unicode off each escape is that raw byte, also inside a class
/// (`[\xE9\xE8]`), which a `(?-u:\xE9)` group could not be.
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
