//! Literal rewrite rules: every (pattern, replacement) pair applied in one left-to-right pass,
//! like nginx `sub_filter` with several pairs, over a whole body or a stream of chunks.
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, Input, MatchKind};

/// A rule the user gave cannot be compiled; `index` is its position in the user's list so the
/// binding layer can point at it (`rules[3]: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub index: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: {}", self.index, self.message)
    }
}

impl std::error::Error for RuleError {}

/// Compiled literal rules. Immutable after construction, so one instance is shared (through an
/// `Arc`) by every response a worker serves.
pub struct LiteralRules {
    /// Leftmost-longest is exactly the reference semantics: the earliest match start wins, the
    /// longest pattern among those starting there.
    automaton: AhoCorasick,
    /// Indexed by the automaton's pattern id.
    replacements: Vec<Vec<u8>>,
    longest: usize,
}

impl LiteralRules {
    pub fn new(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Self, RuleError> {
        // A later duplicate can never win (the reference only replaces on a strictly longer
        // pattern), so it is dropped here rather than trusting the automaton's tie-break.
        let mut seen: HashSet<&[u8]> = HashSet::with_capacity(pairs.len());
        let mut keep = Vec::with_capacity(pairs.len());
        for (index, (pattern, _)) in pairs.iter().enumerate() {
            if pattern.is_empty() {
                return Err(RuleError {
                    index,
                    message: "the pattern is empty; an empty pattern would match between every \
                              byte"
                        .to_string(),
                });
            }
            keep.push(seen.insert(pattern.as_slice()));
        }
        drop(seen);

        let mut patterns = Vec::with_capacity(pairs.len());
        let mut replacements = Vec::with_capacity(pairs.len());
        for ((pattern, replacement), kept) in pairs.into_iter().zip(keep) {
            if kept {
                patterns.push(pattern);
                replacements.push(replacement);
            }
        }
        let longest = patterns.iter().map(Vec::len).max().unwrap_or(0);
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .map_err(|err| RuleError {
                // Only the rule set as a whole can be too large for the automaton; no single
                // rule is at fault, so the error points at the first one.
                index: 0,
                message: format!("the literal rules are too large to compile: {err}"),
            })?;
        Ok(Self {
            automaton,
            replacements,
            longest,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.replacements.is_empty()
    }

    pub fn longest_pattern(&self) -> usize {
        self.longest
    }

    pub fn replace_all(&self, body: &[u8], out: &mut Vec<u8>) -> bool {
        let (_, changed) = self.replace_until(body, 0, body.len(), out);
        changed
    }

    /// Replaces the matches in `hay[from..]` that start before `limit` and copies the unmatched
    /// bytes up to `limit`. Returns where scanning must resume (past `limit` when the last match
    /// ends beyond it) and whether anything was replaced.
    fn replace_until(
        &self,
        hay: &[u8],
        from: usize,
        limit: usize,
        out: &mut Vec<u8>,
    ) -> (usize, bool) {
        let limit = limit.min(hay.len());
        let mut pos = from.min(hay.len());
        let mut changed = false;
        if pos >= limit {
            return (pos, changed);
        }
        // find_iter only panics for anchored searches; the automaton is built with the default
        // unanchored start kind, and `pos <= hay.len()` keeps the span valid.
        for found in self
            .automaton
            .find_iter(Input::new(hay).span(pos..hay.len()))
        {
            if found.start() >= limit {
                break;
            }
            // Matches arrive in order, non-overlapping, at or after `pos`, inside `hay`, and
            // pattern ids index the list `replacements` mirrors: `get` never misses, but a
            // miss could only drop bytes, never panic inside a server worker.
            out.extend_from_slice(hay.get(pos..found.start()).unwrap_or_default());
            out.extend_from_slice(
                self.replacements
                    .get(found.pattern().as_usize())
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            );
            pos = found.end();
            changed = true;
        }
        if pos < limit {
            // `limit <= hay.len()` was clamped above.
            out.extend_from_slice(hay.get(pos..limit).unwrap_or_default());
            pos = limit;
        }
        (pos, changed)
    }
}

/// Streams a body through `LiteralRules`, holding back only the tail that could still be the
/// start of a match (fewer bytes than the longest pattern), so the output equals
/// `replace_all` on the whole body whatever the chunking.
pub struct StreamingReplacer {
    rules: Arc<LiteralRules>,
    /// Unscanned bytes from the previous chunks; scanning resumes at its first byte.
    carry: Vec<u8>,
    /// Carry plus the head of the next chunk: reused so a push allocates nothing once warm.
    seam: Vec<u8>,
    changed: bool,
}

impl StreamingReplacer {
    pub fn new(rules: Arc<LiteralRules>) -> Self {
        Self {
            rules,
            carry: Vec::new(),
            seam: Vec::new(),
            changed: false,
        }
    }

    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let rules = &*self.rules;
        if rules.is_empty() {
            out.extend_from_slice(chunk);
            return;
        }
        // A match starting before `safe_end` lies wholly in carry + chunk, and so does every
        // pattern that could compete with it there, so it is final; later starts must wait.
        let reach = rules.longest.saturating_sub(1);
        let carried = self.carry.len();
        let safe_end = (carried + chunk.len()).saturating_sub(reach);

        let mut resume_in_chunk = 0;
        if carried > 0 {
            // Any match starting inside the carry ends within `reach` bytes of the chunk, so
            // only that head is copied next to the carry; the rest is searched in place.
            let head = chunk.get(..reach).unwrap_or(chunk);
            self.seam.clear();
            self.seam.extend_from_slice(&self.carry);
            self.seam.extend_from_slice(head);
            let limit = carried.min(safe_end);
            let (pos, changed) = rules.replace_until(&self.seam, 0, limit, out);
            self.changed |= changed;
            if limit < carried {
                // The chunk is shorter than `reach`: the seam holds all of it.
                self.carry.clear();
                self.carry
                    .extend_from_slice(self.seam.get(pos..).unwrap_or_default());
                return;
            }
            resume_in_chunk = pos.saturating_sub(carried); // `pos >= limit == carried` here.
        }

        // `safe_end >= carried` here: when it was smaller the seam branch returned.
        let (pos, changed) = rules.replace_until(
            chunk,
            resume_in_chunk,
            safe_end.saturating_sub(carried),
            out,
        );
        self.changed |= changed;
        self.carry.clear();
        self.carry
            .extend_from_slice(chunk.get(pos..).unwrap_or_default());
    }

    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let (_, changed) = self
            .rules
            .replace_until(&self.carry, 0, self.carry.len(), out);
        self.changed |= changed;
        self.carry.clear();
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    pub fn carried(&self) -> usize {
        self.carry.len()
    }
}

#[cfg(test)]
#[path = "literal_tests.rs"]
mod tests;
