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
mod tests {
    use super::*;

    /// Direct port of the Python reference in the design brief.
    fn reference(body: &[u8], rules: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < body.len() {
            let mut best: Option<&(Vec<u8>, Vec<u8>)> = None;
            for rule in rules {
                if body[i..].starts_with(&rule.0) && best.is_none_or(|b| rule.0.len() > b.0.len()) {
                    best = Some(rule);
                }
            }
            match best {
                Some((old, new)) => {
                    out.extend_from_slice(new);
                    i += old.len();
                }
                None => {
                    out.push(body[i]);
                    i += 1;
                }
            }
        }
        out
    }

    fn compile(rules: &[(Vec<u8>, Vec<u8>)]) -> Arc<LiteralRules> {
        Arc::new(LiteralRules::new(rules.to_vec()).unwrap())
    }

    fn stream(rules: &Arc<LiteralRules>, chunks: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut replacer = StreamingReplacer::new(Arc::clone(rules));
        let mut out = Vec::new();
        for chunk in chunks {
            replacer.push(chunk, &mut out);
            let bound = rules.longest_pattern().max(1);
            assert!(
                replacer.carried() < bound,
                "carry {} not below longest pattern {bound}",
                replacer.carried()
            );
        }
        replacer.finish(&mut out);
        assert_eq!(replacer.carried(), 0);
        (out, replacer.changed())
    }

    /// Whole body, one-byte chunks (with empty chunks between them), and every split into two
    /// and three pieces: a match is cut at every possible boundary.
    fn chunkings(body: &[u8]) -> Vec<Vec<&[u8]>> {
        let mut all = vec![vec![body], vec![&body[..0], body, &body[..0]]];
        let mut bytes = vec![&body[..0]];
        for i in 0..body.len() {
            bytes.push(&body[i..=i]);
            bytes.push(&body[..0]);
        }
        all.push(bytes);
        for a in 0..=body.len() {
            all.push(vec![&body[..a], &body[a..]]);
            for b in a..=body.len() {
                all.push(vec![&body[..a], &body[a..b], &body[b..]]);
            }
        }
        all
    }

    fn pairs(rules: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
        rules
            .iter()
            .map(|(p, r)| (p.to_vec(), r.to_vec()))
            .collect()
    }

    #[test]
    fn replacement_cases() {
        type Row<'a> = (&'a str, &'a [(&'a [u8], &'a [u8])], &'a [u8], &'a [u8]);
        let rows: &[Row] = &[
            (
                "longest_wins_at_same_start",
                &[(b"he", b"X"), (b"hello", b"Y")],
                b"hello help",
                b"Y Xlp",
            ),
            (
                "leftmost_wins_over_overlapping_later_match",
                &[(b"abc", b"1"), (b"bcd", b"2")],
                b"abcd",
                b"1d",
            ),
            (
                "leftmost_wins_whatever_the_rule_order",
                &[(b"bcd", b"2"), (b"abc", b"1")],
                b"abcd",
                b"1d",
            ),
            (
                "failed_long_candidate_falls_back_to_later_start",
                &[(b"aaab", b"X"), (b"ab", b"Y")],
                b"aaaab",
                b"aX",
            ),
            (
                "pattern_at_body_start_and_end",
                &[(b"ab", b"X")],
                b"ab-ab",
                b"X-X",
            ),
            ("adjacent_matches", &[(b"ab", b"X")], b"ababab", b"XXX"),
            (
                "partial_match_at_end_stays_literal",
                &[(b"abc", b"X")],
                b"xxab",
                b"xxab",
            ),
            (
                "pattern_longer_than_the_chunks",
                &[(b"abcdefghij", b"<alphabet>")],
                b"-abcdefghij-abcdefghi",
                b"-<alphabet>-abcdefghi",
            ),
            (
                "replacement_containing_pattern_is_never_rescanned",
                &[(b"a", b"aa")],
                b"aaa",
                b"aaaaaa",
            ),
            (
                "replacement_forming_another_pattern_is_never_rescanned",
                &[(b"b", b"a"), (b"aa", b"X")],
                b"ab",
                b"aa",
            ),
            (
                "identical_patterns_first_wins",
                &[(b"x", b"1"), (b"x", b"2")],
                b"xyx",
                b"1y1",
            ),
            (
                "empty_replacement_deletes",
                &[(b"--", b"")],
                b"a--b----c",
                b"abc",
            ),
            ("empty_rules_are_identity", &[], b"hello", b"hello"),
            ("empty_body", &[(b"a", b"b")], b"", b""),
            (
                "non_utf8_bytes",
                &[(b"\xff\xfe", b"\x00"), (b"\xc3", b"\xc3\xa9")],
                b"a\xff\xfe\xffb\xc3",
                b"a\x00\xffb\xc3\xa9",
            ),
        ];
        for (name, rules, body, expected) in rows {
            let rules = pairs(rules);
            assert_eq!(reference(body, &rules), *expected, "{name}: reference");
            let compiled = compile(&rules);
            let mut out = Vec::new();
            let changed = compiled.replace_all(body, &mut out);
            assert_eq!(out, *expected, "{name}: replace_all");
            assert_eq!(changed, out != *body, "{name}: changed");
            for chunks in chunkings(body) {
                let (streamed, streamed_changed) = stream(&compiled, &chunks);
                assert_eq!(streamed, *expected, "{name}: chunks {chunks:?}");
                assert_eq!(
                    streamed_changed, changed,
                    "{name}: changed, chunks {chunks:?}"
                );
            }
        }
    }

    #[test]
    fn changed_is_true_when_replacement_equals_pattern() {
        let compiled = compile(&pairs(&[(b"a", b"a")]));
        let mut out = Vec::new();
        assert!(compiled.replace_all(b"a", &mut out));
        assert!(stream(&compiled, &[b"a"]).1);
        assert!(!stream(&compiled, &[b"b"]).1);
    }

    #[test]
    fn construction() {
        type Row<'a> = (
            &'a str,
            &'a [(&'a [u8], &'a [u8])],
            Result<(bool, usize), usize>,
        );
        let rows: &[Row] = &[
            ("empty_rules_are_allowed", &[], Ok((true, 0))),
            (
                "longest_pattern_counts_bytes",
                &[(b"ab", b""), ("\u{e9}t\u{e9}".as_bytes(), b"")],
                Ok((false, 5)),
            ),
            (
                "empty_pattern_names_its_index",
                &[(b"a", b"b"), (b"", b"c")],
                Err(1),
            ),
            (
                "first_empty_pattern_is_reported",
                &[(b"", b""), (b"", b"")],
                Err(0),
            ),
        ];
        for (name, rules, expected) in rows {
            let got = LiteralRules::new(pairs(rules))
                .map(|r| (r.is_empty(), r.longest_pattern()))
                .map_err(|e| {
                    assert!(e.message.contains("empty"), "{name}: {}", e.message);
                    assert!(e.to_string().starts_with(&format!("rule {}: ", e.index)));
                    e.index
                });
            assert_eq!(got, *expected, "{name}");
        }
    }

    #[test]
    fn streaming_large_body_in_uneven_chunks() {
        let compiled = compile(&pairs(&[
            (b"</body>", b"<script/></body>"),
            (b"foo", b"bar"),
        ]));
        let mut body = b"foo ".repeat(10_000);
        body.extend_from_slice(b"</body>");
        let mut expected = Vec::new();
        compiled.replace_all(&body, &mut expected);
        for size in [1, 2, 3, 6, 7, 8, 4096] {
            let chunks: Vec<&[u8]> = body.chunks(size).collect();
            assert_eq!(stream(&compiled, &chunks).0, expected, "chunk size {size}");
        }
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn word(&mut self, alphabet: &[u8], min: usize, max: usize) -> Vec<u8> {
            let len = min + self.below(max - min + 1);
            (0..len)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect()
        }
    }

    #[test]
    fn randomized_streaming_matches_replace_all_and_reference() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for case in 0..5000 {
            let alphabet: &[u8] = if case % 2 == 0 { b"ab" } else { b"abc" };
            let rule_count = rng.below(5);
            let rules: Vec<(Vec<u8>, Vec<u8>)> = (0..rule_count)
                .map(|_| {
                    let pattern = rng.word(alphabet, 1, 5);
                    let replacement = rng.word(b"abcXY", 0, 4);
                    (pattern, replacement)
                })
                .collect();
            let body = rng.word(alphabet, 0, 200);
            let expected = reference(&body, &rules);
            let compiled = compile(&rules);
            let mut whole = Vec::new();
            compiled.replace_all(&body, &mut whole);
            assert_eq!(
                whole, expected,
                "replace_all: rules {rules:?} body {body:?}"
            );

            for _ in 0..4 {
                let mut chunks: Vec<&[u8]> = Vec::new();
                let mut start = 0;
                while start < body.len() {
                    let len = match rng.below(4) {
                        0 => 0,
                        1 => 1,
                        _ => rng.below(12),
                    };
                    let end = (start + len).min(body.len());
                    chunks.push(&body[start..end]);
                    start = end;
                }
                let (streamed, _) = stream(&compiled, &chunks);
                assert_eq!(
                    streamed, expected,
                    "streaming: rules {rules:?} chunks {chunks:?}"
                );
            }
        }
    }
}
